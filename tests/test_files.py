"""Folder pages, file pages, raw files and uploads, through the web app."""

import re
from io import BytesIO
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from tests import gitutil
from tests.conftest import HX, csrf_token
from tests.htmlutil import parse

ADA = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2020-01-02T03:04:05+01:00",
}
GRACE = {
    "GIT_AUTHOR_NAME": "Grace Hopper",
    "GIT_AUTHOR_EMAIL": "grace@example.com",
    "GIT_AUTHOR_DATE": "2021-06-07T08:09:10-04:00",
}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
    b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
BINARY = bytes(range(256)) * 4 + b"\0" * 210  # 1,234 bytes


@pytest.fixture
def history(tmp_path):
    """A working repository with two commits by two authors on known dates."""
    path = tmp_path / "handbook"
    gitutil.init(path)
    first = gitutil.commit_files(
        path,
        {
            "b.txt": "bee\n",
            "B2.txt": "second bee\n",
            "Zeta/z.txt": "zed\n",
            "docs/guide.md": "# Guide\n",
            "docs/deep/er/leaf.txt": "leaf\n",
        },
        "Add the first files\n\nThe body explains why.",
        **ADA,
    )
    second = gitutil.commit_files(
        path,
        {"a.txt": "alpha\n", "docs/api.md": "# API\n"},
        "Add a and the API notes",
        **GRACE,
    )
    return SimpleNamespace(path=path, first=first, second=second)


@pytest.fixture
def web(make_app, history):
    return make_app(history.path).test_client()


def rows(response) -> dict:
    """Return the folder table's rows by the name they show."""
    table = parse(response.data).one("table", class_="entries")
    found = {}
    for row in table.find("tbody").find_all("tr"):
        name = row.find("a", class_="entry").text()
        found[name] = row
    return found


def alert(response) -> str:
    """Return the error message a page or fragment shows."""
    return parse(response.data).one("p", class_="error").text()


def names(response) -> list[str]:
    return list(rows(response))


def tip(repo) -> str:
    return gitutil.git(repo, "rev-parse", "main").strip()


def last_commit(repo, path: str) -> str:
    return gitutil.git(repo, "log", "-1", "--format=%H", "main", "--", path).strip()


# Folder pages ------------------------------------------------------------


def test_root_lists_folders_first_then_files_by_name_ignoring_case(web):
    page = web.get("/")

    assert page.status_code == 200
    assert names(page) == ["docs/", "Zeta/", "a.txt", "b.txt", "B2.txt"]


def test_each_row_shows_size_last_commit_author_date_and_subject(web, history):
    found = rows(web.get("/"))

    b = found["b.txt"]
    assert b.one("td", class_="size").text() == "4 B"
    assert b.one("td", class_="author").text() == "Ada Lovelace"
    commit = b.one("td", class_="commit").one("code")
    assert commit.text() == history.first[:7]
    assert commit.get("title") == history.first
    when = b.one("td", class_="date").one("time")
    assert when.get("title") == "2020-01-02 03:04:05 +0100"
    assert re.fullmatch(r"\d+ years? ago", when.text())
    subject = b.one("td", class_="subject")
    assert subject.text() == "Add the first files"
    assert "The body explains why." in subject.get("title")

    a = found["a.txt"]
    assert a.one("td", class_="author").text() == "Grace Hopper"
    assert a.one("td", class_="commit").text() == history.second[:7]
    assert a.one("time").get("title") == "2021-06-07 08:09:10 -0400"


def test_folder_rows_show_the_commit_git_log_names(web, history):
    found = rows(web.get("/"))

    for name in ["docs", "Zeta", "a.txt", "b.txt", "B2.txt"]:
        row = found[name + "/" if name in {"docs", "Zeta"} else name]
        expected = last_commit(history.path, name)
        assert row.one("td", class_="commit").one("code").get("title") == expected


def test_each_rows_commit_id_opens_that_commit(web, history):
    row = rows(web.get("/"))["a.txt"]
    link = row.find("td", class_="commit").one("a")

    assert link.get("href") == f"/commit/{history.second}"
    commit_page = web.get(link.get("href"))
    assert commit_page.status_code == 200
    assert b"Add a and the API notes" in commit_page.data


def test_descriptions_sit_under_the_names(web):
    saved = web.put("/api/files/a.txt", json={"description": "The first letter"})
    assert saved.status_code == 200

    found = rows(web.get("/"))

    name_cell = found["a.txt"].one("td", class_="name")
    assert name_cell.one("div", class_="desc").text() == "The first letter"
    empty = found["b.txt"].one("td", class_="name").one("div", class_="desc")
    assert empty.text() == "Add a description"


def test_subfolder_breadcrumbs_link_every_folder_above(web):
    page = parse(web.get("/tree/docs/deep/er").data)

    crumbs = page.one("nav", class_="crumbs")
    links = [(a.text(), a.get("href")) for a in crumbs.find_all("a")]
    assert links == [
        ("handbook", "/"),
        ("docs", "/tree/docs"),
        ("deep", "/tree/docs/deep"),
    ]
    assert crumbs.one(aria_current="page").text() == "er"
    for _, href in links:
        assert web.get(href).status_code == 200


def test_file_page_breadcrumbs_link_every_folder_of_the_file(web):
    page = parse(web.get("/blob/docs/deep/er/leaf.txt").data)

    crumbs = page.one("nav", class_="crumbs")
    hrefs = [a.get("href") for a in crumbs.find_all("a")]
    assert hrefs == ["/", "/tree/docs", "/tree/docs/deep", "/tree/docs/deep/er"]
    assert crumbs.one(aria_current="page").text() == "leaf.txt"


def test_large_folder_is_paginated(make_app, history):
    web = make_app(history.path, VCSWEB_FOLDER_PAGE_SIZE=2).test_client()

    first = web.get("/")
    assert names(first) == ["docs/", "Zeta/"]
    pager = parse(first.data).one("nav", class_="pager")
    assert "Page 1 of 3" in pager.text()
    assert "5 entries" in pager.text()
    assert pager.find("a", rel="prev") is None

    seen = names(first)
    href = pager.one("a", rel="next").get("href")
    while href:
        page = web.get(href)
        assert page.status_code == 200
        seen += names(page)
        next_link = parse(page.data).one("nav", class_="pager").find("a", rel="next")
        href = next_link.get("href") if next_link else None
    assert seen == ["docs/", "Zeta/", "a.txt", "b.txt", "B2.txt"]

    last = web.get("/?page=3")
    assert names(last) == ["B2.txt"]
    assert parse(last.data).one("nav", class_="pager").find("a", rel="prev")
    assert names(web.get("/?page=99")) == ["B2.txt"]
    assert names(web.get("/?page=0")) == ["docs/", "Zeta/"]


def test_unknown_folder_is_404_naming_it_with_a_way_to_its_parent(web):
    page = web.get("/tree/docs/nope")

    assert page.status_code == 404
    tree = parse(page.data)
    assert "docs/nope" in alert(page)
    hrefs = [a.get("href") for a in tree.one("section", class_="error-page").iter()]
    assert "/tree/docs" in hrefs
    assert "/" in hrefs


def test_file_address_under_tree_goes_to_the_file_page(web, history):
    moved = web.get("/tree/docs/guide.md")
    assert moved.status_code == 302
    assert moved.headers["Location"] == "/blob/docs/guide.md"

    old = web.get(f"/tree/b.txt?rev={history.first}")
    assert old.status_code == 302
    assert old.headers["Location"] == f"/blob/b.txt?rev={history.first}"


def test_folder_address_under_blob_goes_to_the_folder_page(web):
    moved = web.get("/blob/docs/deep")

    assert moved.status_code == 302
    assert moved.headers["Location"] == "/tree/docs/deep"


def test_old_revision_of_a_folder_shows_a_banner_and_old_entries(web, history):
    page = web.get(f"/?rev={history.first}")

    assert page.status_code == 200
    assert names(page) == ["docs/", "Zeta/", "b.txt", "B2.txt"]
    banner = parse(page.data).one("p", class_="banner")
    assert history.first[:7] in banner.text()
    assert banner.one("a").get("href") == "/"
    assert 'id="upload-form"' not in page.text
    link = rows(page)["b.txt"].one("a", class_="entry").get("href")
    assert link == f"/blob/b.txt?rev={history.first}"
    old_file = web.get(link)
    assert old_file.status_code == 200
    assert parse(old_file.data).one("p", class_="banner")


def test_old_revision_of_a_file_shows_a_banner(web, history):
    page = web.get(f"/blob/docs/guide.md?rev={history.first[:10]}")

    assert page.status_code == 200
    banner = parse(page.data).one("p", class_="banner")
    assert "old version" in banner.text()
    assert history.first[:7] in banner.text()
    assert banner.one("a").get("href") == "/blob/docs/guide.md"


def test_unknown_revision_is_404_saying_so(web):
    missing = "0123456789abcdef0123456789abcdef01234567"

    for url in ["/", "/tree/docs", "/blob/a.txt", "/raw/a.txt"]:
        page = web.get(url, query_string={"rev": missing})
        assert page.status_code == 404, url
        assert f"revision {missing} not found" in alert(page).lower(), url


def test_odd_revisions_are_404_never_500(web):
    for rev in ["nope", "a..b", "--output=x", "main:a.txt", "HEAD~99", "a.txt"]:
        page = web.get("/blob/a.txt", query_string={"rev": rev})
        assert page.status_code == 404, rev
        assert "revision" in alert(page).lower(), rev


# File pages --------------------------------------------------------------


@pytest.fixture
def files(make_app, tmp_path):
    """A repository with one file of each kind a file page shows differently."""
    path = gitutil.make_repo(
        tmp_path / "kinds",
        {
            "tool.py": "def answer():\n    return 42\n",
            "data.bin": BINARY,
            "pic.png": PNG,
            "README.md": (
                "# Title\n\nSome **bold** text.\n\n"
                "<script>alert(1)</script>\n\n"
                "<img src=x onerror=alert(2)>\n\n"
                "[click](javascript:alert(3)) [c2](JaVaScRiPt:alert(4))\n"
            ),
            "big.txt": "".join(f"line {n:05d}\n" for n in range(1, 501)),
            "notes.txt": "caf\xe9 cr\xe8me br\xfbl\xe9e\n".encode("latin-1"),
            "page.html": "<html><body><script>alert(1)</script></body></html>\n",
            "icon.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>'
            "alert(1)</script></svg>\n",
            "отчёт 2024.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"\0" * 30,
        },
    )
    return make_app(path, VCSWEB_DISPLAY_LIMIT=1000).test_client()


def test_text_file_is_highlighted_with_line_anchors(files):
    page = files.get("/blob/tool.py")

    assert page.status_code == 200
    code = parse(page.data).one("div", class_="highlight")
    assert code.find("span", class_="k").text() == "def"
    anchors = [a.get("id") for a in code.find_all("a") if a.get("id")]
    assert anchors == ["L-1", "L-2"]
    assert [a.get("href") for a in code.find_all("a") if a.get("href")] == [
        "#L-1",
        "#L-2",
    ]
    assert "def answer():\n    return 42" in code.find("code").raw_text()


def test_binary_file_says_its_size_and_offers_a_download(files):
    page = parse(files.get("/blob/data.bin").data)

    placeholder = page.one("p", class_="placeholder")
    assert "Binary file, 1,234 bytes" in placeholder.text()
    href = placeholder.one("a").get("href")
    assert href == "/raw/data.bin?download=1"
    download = files.get(href)
    assert download.data == BINARY
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_image_is_shown_from_its_raw_address(files):
    page = parse(files.get("/blob/pic.png").data)

    image = page.one("div", class_="image-preview").one("img")
    assert image.get("src") == "/raw/pic.png"
    assert files.get(image.get("src")).data == PNG


def test_markdown_is_rendered_and_sanitised(files):
    page = files.get("/blob/README.md")

    body = parse(page.data).one("div", class_="markdown-body")
    assert body.one("h1").text() == "Title"
    assert body.one("strong").text() == "bold"
    assert body.find("script") is None
    assert body.find("iframe") is None
    for node in body.iter():
        assert not any(name.startswith("on") for name in node.attrs)
        assert "javascript:" not in (node.get("href") or "").lower()
    assert b"alert(1)</script>" not in page.data
    assert b"onerror" not in page.data


def test_markdown_has_a_source_toggle(files):
    rendered = parse(files.get("/blob/README.md").data)
    toggle = rendered.one("nav", class_="actions").one(
        "a", href="/blob/README.md?view=source"
    )
    assert toggle.text() == "Source"

    source = files.get(toggle.get("href"))

    assert source.status_code == 200
    tree = parse(source.data)
    assert tree.find("div", class_="markdown-body") is None
    code = tree.one("div", class_="highlight").find("code").raw_text()
    assert "<script>alert(1)</script>" in code
    assert b"<script>alert(1)" not in source.data
    back = tree.one("nav", class_="actions").one("a", href="/blob/README.md")
    assert back.text() == "Rendered"


def test_large_file_is_cut_short_with_show_all(files):
    page = files.get("/blob/big.txt")

    tree = parse(page.data)
    banner = tree.one("p", class_="banner")
    show_all = banner.find_all("a")[0]
    assert show_all.text() == "Show all (5.4 KB)"
    assert show_all.get("href") == "/raw/big.txt"
    code = tree.one("div", class_="highlight").find("code").raw_text()
    assert "line 00001" in code
    assert "line 00500" not in code
    assert len(files.get("/raw/big.txt").data) == 5500


def test_latin1_file_is_shown_with_a_not_utf8_note(files):
    page = parse(files.get("/blob/notes.txt").data)

    assert "not UTF-8" in page.one("p", class_="note").text()
    assert "café crème brûlée" in page.one("div", class_="highlight").text()


# Raw files ---------------------------------------------------------------


def test_raw_serves_exact_bytes_with_protective_headers(files):
    raw = files.get("/raw/data.bin")

    assert raw.status_code == 200
    assert raw.data == BINARY
    assert raw.headers["Content-Length"] == str(len(BINARY))
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in raw.headers["Content-Security-Policy"]


def test_raw_html_is_plain_text_in_a_sandbox(files):
    raw = files.get("/raw/page.html")

    assert raw.mimetype == "text/plain"
    assert "sandbox" in raw.headers["Content-Security-Policy"]
    assert raw.data == b"<html><body><script>alert(1)</script></body></html>\n"


def test_raw_svg_is_sandboxed(files):
    raw = files.get("/raw/icon.svg")

    assert raw.status_code == 200
    assert "sandbox" in raw.headers["Content-Security-Policy"]
    assert "script-src" not in raw.headers["Content-Security-Policy"]
    assert raw.headers["X-Content-Type-Options"] == "nosniff"


def test_raw_non_ascii_name_has_an_encoded_filename(files):
    raw = files.get("/raw/" + quote("отчёт 2024.pdf") + "?download=1")

    assert raw.status_code == 200
    disposition = raw.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("отчёт 2024.pdf", safe="") in disposition
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback.isascii()
    assert fallback.endswith(".pdf")


# Uploads -----------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """A bare repository (as a server keeps) holding docs/a.txt and notes.txt."""
    source = gitutil.make_repo(
        tmp_path / "source", {"docs/a.txt": "old a\n", "notes.txt": "notes\n"}
    )
    return gitutil.bare_clone(source, tmp_path / "served.git")


def upload(client, folder="", files=(), hx=False, token=None, **form):
    """Post the upload form of a folder as a browser would."""
    url = "/upload/" + quote(folder)
    page = "/tree/" + quote(folder) if folder else "/"
    data = {"csrf_token": token or csrf_token(client, page), **form}
    data["files"] = [(BytesIO(content), name) for name, content in files]
    return client.post(
        url,
        data=data,
        headers=HX if hx else {},
        content_type="multipart/form-data",
    )


def show(repo, path: str) -> bytes:
    return gitutil.git(repo, "show", f"main:{path}").encode("utf-8", "surrogateescape")


def test_upload_of_one_file_commits_it_with_a_default_message(make_app, served):
    web = make_app(served).test_client()
    before = tip(served)

    response = upload(web, "docs", [("new.txt", b"fresh\n")])

    assert response.status_code == 303
    assert response.headers["Location"] == "/tree/docs"
    assert gitutil.git(served, "rev-parse", "main^").strip() == before
    assert gitutil.git(served, "log", "-1", "--format=%s", "main").strip() == (
        "Upload new.txt to docs"
    )
    assert show(served, "docs/new.txt") == b"fresh\n"
    assert show(served, "docs/a.txt") == b"old a\n"


def test_upload_of_several_files_is_one_commit_with_the_given_message(make_app, served):
    web = make_app(
        served, VCSWEB_COMMITTER_NAME="Team Robot", VCSWEB_COMMITTER_EMAIL="bot@ex.org"
    ).test_client()
    before = tip(served)

    response = upload(
        web,
        "",
        [("one.txt", b"1\n"), ("two.bin", b"\0\1\2")],
        message="Add the quarterly numbers",
    )

    assert response.status_code == 303
    assert gitutil.git(served, "rev-list", "--count", f"{before}..main").strip() == "1"
    log = gitutil.git(served, "log", "-1", "--format=%s|%an <%ae>|%cn <%ce>", "main")
    assert log.strip() == (
        "Add the quarterly numbers|Ada Admin <admin@example.com>"
        "|Team Robot <bot@ex.org>"
    )
    changed = gitutil.git(served, "diff", "--name-only", before, "main").split()
    assert changed == ["one.txt", "two.bin"]
    assert show(served, "two.bin") == b"\0\1\2"


def test_default_message_for_several_files_counts_them(make_app, served):
    web = make_app(served).test_client()

    upload(web, "", [("x.txt", b"x"), ("y.txt", b"y"), ("z.txt", b"z")])

    subject = gitutil.git(served, "log", "-1", "--format=%s", "main").strip()
    assert subject == "Upload 3 files"


def test_upload_over_an_existing_name_needs_replace(make_app, served):
    web = make_app(served).test_client()
    before = tip(served)

    refused = upload(web, "docs", [("a.txt", b"new a\n"), ("b.txt", b"b\n")])

    assert refused.status_code == 409
    assert "a.txt" in alert(refused)
    assert tip(served) == before
    assert show(served, "docs/a.txt") == b"old a\n"

    replaced = upload(web, "docs", [("a.txt", b"new a\n")], replace="on")

    assert replaced.status_code == 303
    assert gitutil.git(served, "rev-parse", "main^").strip() == before
    assert show(served, "docs/a.txt") == b"new a\n"


def test_upload_over_an_existing_name_with_htmx_is_a_409_fragment(make_app, served):
    web = make_app(served).test_client()
    before = tip(served)

    refused = upload(web, "docs", [("a.txt", b"new a\n")], hx=True)

    assert refused.status_code == 409
    assert b"<html" not in refused.data
    assert "a.txt" in alert(refused)
    assert tip(served) == before


def test_upload_from_a_stale_page_is_refused_for_a_changed_file(make_app, served):
    web = make_app(served).test_client()
    form = parse(web.get("/tree/docs").data).one("form", id="upload-form")
    base = form.one("input", name="base").get("value")
    assert base == tip(served)
    upload(web, "docs", [("a.txt", b"theirs\n")], replace="on", base=base)
    theirs = tip(served)

    mine = upload(web, "docs", [("a.txt", b"mine\n")], replace="on", base=base)

    assert mine.status_code == 409
    assert "a.txt" in alert(mine)
    assert tip(served) == theirs
    assert show(served, "docs/a.txt") == b"theirs\n"


def test_upload_from_a_stale_page_goes_on_top_for_other_files(make_app, served):
    web = make_app(served).test_client()
    base = tip(served)
    upload(web, "docs", [("a.txt", b"theirs\n")], replace="on", base=base)
    theirs = tip(served)

    mine = upload(web, "docs", [("c.txt", b"mine\n")], base=base)

    assert mine.status_code == 303
    assert gitutil.git(served, "rev-parse", "main^").strip() == theirs
    assert show(served, "docs/a.txt") == b"theirs\n"
    assert show(served, "docs/c.txt") == b"mine\n"


def test_upload_without_files_is_422(make_app, served):
    web = make_app(served).test_client()
    before = tip(served)

    nothing = upload(web, "docs", [])
    blank = upload(web, "docs", [("", b"")], hx=True)

    assert nothing.status_code == 422
    assert "Choose at least one file" in nothing.text
    assert blank.status_code == 422
    assert b"<html" not in blank.data
    assert tip(served) == before


def test_upload_with_htmx_returns_a_fragment_and_asks_the_folder_to_reload(
    make_app, served
):
    web = make_app(served).test_client()

    response = upload(web, "docs", [("c.txt", b"c\n")], hx=True)

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "folder-changed"
    assert b"<html" not in response.data
    commit = tip(served)
    fragment = parse(response.data)
    assert fragment.one("p", class_="success").text() == (
        f"Uploaded c.txt in commit {commit[:7]}."
    )
    new_base = fragment.one("input", id="upload-base")
    assert new_base.get("value") == commit
    assert new_base.get("hx-swap-oob") == "true"


def test_upload_without_htmx_redirects_and_flashes(make_app, served):
    web = make_app(served).test_client()

    response = upload(web, "docs", [("c.txt", b"c\n")])
    page = web.get(response.headers["Location"])

    notice = parse(page.data).one("p", class_="notice")
    assert notice.text() == f"Uploaded c.txt in commit {tip(served)[:7]}."
    assert "c.txt" in names(page)
    assert parse(web.get("/tree/docs").data).find("p", class_="notice") is None


def test_upload_into_a_checked_out_repository_updates_its_files(make_app, history):
    web = make_app(history.path).test_client()

    response = upload(web, "docs/deep", [("new.txt", b"new\n")])

    assert response.status_code == 303
    assert (history.path / "docs/deep/new.txt").read_bytes() == b"new\n"
    status = gitutil.git(history.path, "status", "--porcelain")
    assert status == ""


def test_upload_without_the_csrf_token_is_400_and_commits_nothing(make_app, served):
    web = make_app(served).test_client()
    before = tip(served)

    for headers in ({}, HX):
        refused = web.post(
            "/upload/docs",
            data={"files": [(BytesIO(b"x"), "x.txt")]},
            headers=headers,
            content_type="multipart/form-data",
        )
        assert refused.status_code == 400
        assert "CSRF" in alert(refused)

    assert tip(served) == before


# An empty repository -----------------------------------------------------


def test_empty_repository_shows_the_empty_state_and_the_upload_form(client):
    page = client.get("/")

    assert page.status_code == 200
    tree = parse(page.data)
    assert tree.one("div", class_="empty-state").find("h1").text() == (
        "This repository is empty"
    )
    form = tree.one("form", id="upload-form")
    assert form.get("action") == "/upload/"
    assert form.one("input", name="base").get("value") == ""
    assert form.one("input", type="file").get("name") == "files"


def test_empty_repository_has_no_folders_or_files(client):
    folder = client.get("/tree/docs")
    file = client.get("/blob/a.txt")

    assert folder.status_code == 404
    assert "repository is empty" in folder.text
    assert file.status_code == 404


def test_first_upload_makes_the_root_commit(client, repo_path):
    response = upload(client, "", [("first.txt", b"hello\n")], base="")

    assert response.status_code == 303
    parents = gitutil.git(repo_path, "rev-list", "--parents", "main").split()
    assert len(parents) == 1
    assert show(repo_path, "first.txt") == b"hello\n"
    assert names(client.get("/")) == ["first.txt"]


# Page or fragment --------------------------------------------------------


def test_page_or_fragment_responses_vary_on_hx_request(web):
    urls = ["/", "/tree/docs", "/meta-edit/a.txt", "/meta/a.txt", "/tree/nope"]
    for url in [*urls, "/?rev=nope"]:
        for headers in ({}, HX):
            response = web.get(url, headers=headers)
            assert "HX-Request" in response.headers.get("Vary", ""), (url, headers)


def test_htmx_gets_the_folder_fragment_and_a_browser_the_page(web):
    fragment = web.get("/tree/docs", headers=HX)
    page = web.get("/tree/docs")

    assert fragment.status_code == page.status_code == 200
    assert b"<html" not in fragment.data
    assert parse(fragment.data).one("section", id="folder")
    assert b"<html" in page.data
    assert parse(page.data).one("section", id="folder")
    assert parse(page.data).one("title").text() == "docs · vcsweb"


def test_history_restore_gets_the_whole_page(web):
    for url in ["/", "/tree/docs", "/meta-edit/a.txt"]:
        restore = web.get(url, headers={**HX, "HX-History-Restore-Request": "true"})
        boosted = web.get(url, headers={**HX, "HX-Boosted": "true"})
        assert parse(boosted.data).one("html"), url
        assert restore.status_code == 200, url
        tree = parse(restore.data)
        assert tree.one("html"), url
        assert tree.one("title").text().endswith("vcsweb"), url
        assert tree.find("link", rel="stylesheet") is not None, url


# Security headers --------------------------------------------------------


def test_pages_send_security_headers(web):
    for url in ["/", "/tree/docs", "/blob/a.txt", "/tree/nope"]:
        page = web.get(url)
        policy = page.headers["Content-Security-Policy"]
        directives = {
            d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()
        }
        scripts = directives.get("script-src", directives.get("default-src"))
        assert "'unsafe-inline'" not in scripts, url
        assert "'unsafe-eval'" not in scripts, url
        assert directives["frame-ancestors"] == ["'none'"], url
        assert page.headers["X-Content-Type-Options"] == "nosniff", url


def test_pages_have_no_inline_scripts_or_handlers(web):
    for url in ["/", "/blob/a.txt", "/meta-edit/a.txt"]:
        tree = parse(web.get(url).data)
        for script in tree.find_all("script"):
            assert script.get("src"), url
            assert script.raw_text().strip() == "", url
        for node in tree.iter():
            assert not [a for a in node.attrs if a.startswith("on")], (url, node)
