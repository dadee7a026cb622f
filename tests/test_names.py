"""Every page with names Git allows: non-ASCII, URL characters, options, bad bytes."""

import os
import re
import unicodedata
import urllib.request
from io import BytesIO
from urllib.parse import quote

import pytest

from tests import gitutil
from tests.conftest import csrf_token
from tests.htmlutil import parse
from tests.versionutil import (
    Importer,
    blob,
    error_text,
    form_fields,
    names,
    submit,
    tip,
    wsgi_get,
    wsgi_post,
)

NFC = unicodedata.normalize("NFC", "crème.txt")
NFD = unicodedata.normalize("NFD", "crème.txt")
NAMES = [
    "café.txt",
    "完成.txt",
    NFC,
    NFD,
    "space name.txt",
    'say "hi".txt',
    "it's.txt",
    "C#.md",
    "what?.txt",
    "100%.txt",
    "a+b.txt",
    "line\nbreak.txt",
    "-rf.txt",
    "--help",
]
LATIN1_NAME = b"caf\xe9.txt"
LATIN1_PATH = "docs/" + os.fsdecode(LATIN1_NAME)


def text(name: str, version: str) -> str:
    return f"{name.replace(chr(10), ' ')} {version}\n"


def url(prefix: str, path: str) -> str:
    return prefix + quote(path.encode("utf-8", "surrogateescape"), safe="/")


def shown(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@pytest.fixture
def named(make_app, tmp_path):
    """docs/ holding every odd name, added and then changed with the git CLI.

    A last commit, written with fast-import, adds a name that is not UTF-8
    with Latin-1 content and a message with the byte 0xF6.
    """
    work = gitutil.init(tmp_path / "work")
    first = gitutil.commit_files(
        work, {f"docs/{n}": text(n, "v1") for n in NAMES}, "Add every name"
    )
    second = gitutil.commit_files(
        work, {f"docs/{n}": text(n, "v2") for n in NAMES}, "Change every name"
    )
    # Git's default quoting is on: its text output escapes these names.
    assert '"docs/caf\\303\\251.txt"' in gitutil.git(work, "ls-files")
    repo = gitutil.bare_clone(work, tmp_path / "named.git")
    build = Importer(parent=second)
    build.commit({b"docs/" + LATIN1_NAME: b"K\xf6gler\n"}, b"Add K\xf6gler's list\n")
    build.commit(
        {b"docs/" + LATIN1_NAME: b"K\xf6gler und S\xf6hne\n"},
        "Ergänze die Söhne\n".encode("latin-1"),
        encoding="ISO-8859-1",
    )
    build.run(repo)
    third, fourth = gitutil.git(repo, "rev-list", "-2", "main").split()[::-1]
    client = make_app(repo).test_client()
    return client, repo, first, second, third, fourth


def assert_no_git_quoting(response):
    text = response.get_data(as_text=True)
    assert "\\303" not in text
    assert "\\345" not in text
    assert '"docs/' not in text


def listing_links(client, folder: str = "docs") -> dict[str, str]:
    page = parse(wsgi_get(client, url("/tree/", folder)).data)
    return {
        a.raw_text().strip(): a.get("href") for a in page.find_all("a", class_="entry")
    }


# Names that are UTF-8: C01, C42 ------------------------------------------


def test_listing_shows_every_real_name_and_links_it(named):
    client, *_ = named

    page = client.get("/tree/docs")

    assert page.status_code == 200
    assert_no_git_quoting(page)
    links = listing_links(client)
    for name in NAMES:
        assert links[name] == url("/blob/docs/", name), name
    assert links[shown(LATIN1_NAME.decode("utf-8", "surrogateescape"))] == (
        "/blob/docs/caf%E9.txt"
    )
    # The two spellings of crème are two files with two links.
    assert links[NFC] != links[NFD]


@pytest.mark.parametrize("name", NAMES)
def test_every_page_of_a_name_answers_with_that_file(named, name):
    client, repo, first, second, *_ = named
    path = f"docs/{name}"

    page = client.get(url("/blob/", path))
    raw = client.get(url("/raw/", path))
    history = client.get(url("/history/", path))
    diff = client.get(url("/diff/", path) + f"?from={first}&to={second}")
    commit = client.get(f"/commit/{second}")

    for response in (page, raw, history, diff, commit):
        assert response.status_code == 200, (name, response.request.path)
    assert parse(page.data).one("h1").raw_text() == name
    body = parse(page.data).one("section", class_="file-body")
    assert text(name, "v2").split()[-1] in body.text()
    assert raw.data == blob(repo, "main", path) == text(name, "v2").encode()
    ids = [a.get("title") for a in parse(history.data).find_all("a", class_="sha")]
    assert ids == [second, first]
    head = parse(diff.data).one("header", class_="diff-head")
    assert head.one("span", class_="path").raw_text() == path
    added = parse(diff.data).find_all("tr", class_="add")
    assert [r.find("pre").raw_text() for r in added] == ["+" + text(name, "v2")[:-1]]
    listed = [s.raw_text() for s in parse(commit.data).find_all("span", class_="path")]
    assert path in listed
    for response in (page, history, diff, commit):
        assert_no_git_quoting(response)


def test_nfc_and_nfd_spellings_stay_two_files(named):
    client, repo, *_ = named

    nfc = client.get(url("/raw/docs/", NFC))
    nfd = client.get(url("/raw/docs/", NFD))

    assert nfc.data == text(NFC, "v2").encode()
    assert nfd.data == text(NFD, "v2").encode()
    for name, said in ((NFC, "composed"), (NFD, "decomposed")):
        saved = client.put(url("/api/files/docs/", name), json={"description": said})
        assert saved.status_code == 200
    assert client.get(url("/api/files/docs/", NFC)).get_json()["description"] == (
        "composed"
    )
    assert client.get(url("/api/files/docs/", NFD)).get_json()["description"] == (
        "decomposed"
    )


def test_descriptions_key_on_the_real_path(named, app_rows):
    client, *_ = named

    saved = client.put(
        url("/api/files/", "docs/café.txt"), json={"description": "Menu"}
    )

    assert saved.status_code == 200
    assert saved.get_json()["path"] == "docs/café.txt"
    assert app_rows() == ["docs/café.txt"]


@pytest.fixture
def app_rows(named):
    """Return the paths that have a description row in the database."""
    client = named[0]

    def read():
        from sqlalchemy import select

        from vcsweb.extensions import db
        from vcsweb.models import FileMeta

        with client.application.app_context():
            return list(db.session.scalars(select(FileMeta.path)))

    return read


def test_upload_of_a_non_ascii_name_keeps_it(named):
    client, repo, *_ = named
    decomposed = unicodedata.normalize("NFD", "naïve résumé.md")

    done = client.post(
        "/upload/docs",
        data={
            "csrf_token": csrf_token(client),
            "base": tip(repo),
            "files": [(BytesIO(b"# CV\n"), decomposed)],
        },
        content_type="multipart/form-data",
    )

    assert done.status_code == 303
    assert "docs/naïve résumé.md" in names(repo)
    assert "naïve résumé.md" in listing_links(client)
    page = client.get(url("/blob/", "docs/naïve résumé.md"))
    assert page.status_code == 200
    assert parse(page.data).find("h1").text() == "naïve résumé.md"


def test_line_break_name_can_be_renamed_and_deleted(named):
    client, repo, *_ = named

    moved = submit(
        client, url("/rename/", "docs/line\nbreak.txt"), target="docs/one line.txt"
    )

    assert moved.status_code == 303
    assert "docs/one line.txt" in names(repo)
    assert "docs/line\nbreak.txt" not in names(repo)
    gone = submit(client, url("/delete/", "docs/one line.txt"))
    assert gone.status_code == 303
    assert "docs/one line.txt" not in names(repo)


def test_a_new_name_with_a_line_break_is_refused(named):
    client, repo, *_ = named
    before = tip(repo)

    refused = submit(client, url("/rename/", "docs/café.txt"), target="docs/a\nb.txt")

    assert refused.status_code == 400
    assert "control characters" in error_text(refused)
    assert tip(repo) == before


# A name that is not UTF-8: C06 -------------------------------------------


def test_a_name_that_is_not_utf8_shows_on_every_page(named):
    client, repo, _, second, third, fourth = named

    listing = client.get("/tree/docs")
    page = wsgi_get(client, url("/blob/", LATIN1_PATH))
    raw = wsgi_get(client, url("/raw/", LATIN1_PATH))
    history = wsgi_get(client, url("/history/", LATIN1_PATH))
    diff = wsgi_get(client, url("/diff/", LATIN1_PATH) + f"?from={third}&to={fourth}")
    added = client.get(f"/commit/{third}")
    changed = client.get(f"/commit/{fourth}")

    for response in (listing, page, raw, history, diff, added, changed):
        assert response.status_code == 200, response.request.path
    assert "caf\ufffd.txt" in parse(listing.data).text()
    # The name has the replacement character only where its byte was.
    assert parse(page.data).one("h1").text() == "caf\ufffd.txt"
    assert "Kögler und Söhne" in parse(page.data).one("div", class_="code").text()
    assert "not UTF-8" in parse(page.data).one("p", class_="note").text()
    assert raw.data == b"K\xf6gler und S\xf6hne\n"
    assert raw.data == blob(repo, "main", LATIN1_PATH)
    subjects = [
        s.text() for s in parse(history.data).find_all("span", class_="subject")
    ]
    assert subjects == ["Ergänze die Söhne", "Add K\ufffdgler's list"]
    lines = [r.find("pre").raw_text() for r in parse(diff.data).find_all("tr")]
    assert lines == ["−Kögler", "+Kögler und Söhne"]
    assert parse(added.data).one("h1").text() == "Add K\ufffdgler's list"
    assert parse(changed.data).one("h1").text() == "Ergänze die Söhne"
    assert (
        "docs/caf\ufffd.txt"
        in parse(changed.data).one("header", class_="diff-head").text()
    )
    log = client.get("/commits")
    assert log.status_code == 200
    assert "Ergänze die Söhne" in parse(log.data).text()


def test_a_name_that_is_not_utf8_can_be_renamed_to_a_utf8_name(named):
    client, repo, *_ = named

    moved = submit(client, url("/rename/", LATIN1_PATH), target="docs/koegler.txt")

    assert moved.status_code == 303, moved.data
    assert blob(repo, "main", "docs/koegler.txt") == b"K\xf6gler und S\xf6hne\n"
    assert LATIN1_PATH not in names(repo)
    assert gitutil.git(repo, "log", "-1", "--format=%s").strip() == (
        "Rename docs/caf\ufffd.txt to docs/koegler.txt"
    )
    history = client.get("/history/docs/koegler.txt")
    assert history.status_code == 200
    rows = parse(history.data).one("tbody").find_all("tr")
    assert len(rows) == 3
    assert "from docs/caf\ufffd.txt" in rows[0].text()
    # The old name cannot travel in a link as text; restoring under it is
    # refused with a message, never a server error.
    restore = [a.get("href") for a in rows[-1].find_all("a") if a.text() == "Restore"]
    assert client.get(restore[0]).status_code == 404


def test_a_name_that_is_not_utf8_can_be_deleted_and_restored(named):
    client, repo, *_ = named

    gone = submit(client, url("/delete/", LATIN1_PATH))
    assert gone.status_code == 303
    assert LATIN1_PATH not in names(repo)
    deleted = parse(client.get("/deleted/docs").data)
    link = [a.get("href") for a in deleted.find_all("a") if a.text() == "Restore"]
    assert link and link[0].startswith("/restore/docs/caf%E9.txt?rev=")
    back = submit(client, link[0])

    assert back.status_code == 303
    assert blob(repo, "main", LATIN1_PATH) == b"K\xf6gler und S\xf6hne\n"


def test_a_name_that_is_not_utf8_edits_in_its_own_encoding(named):
    client, repo, *_ = named
    page = wsgi_get(client, url("/edit/", LATIN1_PATH))
    action, fields = form_fields(page)
    assert "Windows-1252" in parse(page.data).one("p", class_="editor-meta").text()
    fields["text"] = fields["text"].replace("Söhne", "Töchter").replace("\n", "\r\n")

    done = wsgi_post(client, action, data=fields)

    assert done.status_code == 303
    assert blob(repo, "main", LATIN1_PATH) == b"K\xf6gler und T\xf6chter\n"


def test_a_name_that_is_not_utf8_takes_no_description(named):
    client, *_ = named
    target = url("/api/files/", LATIN1_PATH)

    refused = client.put(
        target,
        json={"description": "list"},
        environ_overrides={"PATH_INFO": "/api/files/docs/caf\xe9.txt"},
    )

    assert refused.status_code == 422
    assert "UTF-8" in refused.get_json()["error"]


def test_a_name_that_is_not_utf8_through_a_real_server(serve, tmp_path):
    repo = gitutil.init(tmp_path / "served.git", bare=True)
    build = Importer()
    build.commit({b"docs/" + LATIN1_NAME: b"K\xf6gler\n"}, b"Add K\xf6gler\n")
    build.run(repo)
    site = serve(repo, workers=1)

    def fetch(path: str) -> bytes:
        sent = urllib.request.Request(
            site + path, headers={"Authorization": f"Bearer {site.token}"}
        )
        with urllib.request.urlopen(sent, timeout=20) as response:
            assert response.status == 200, path
            return response.read()

    links = {
        a.text(): a.get("href")
        for a in parse(fetch("/tree/docs")).find_all("a", class_="entry")
    }
    assert links == {"caf\ufffd.txt": "/blob/docs/caf%E9.txt"}
    assert parse(fetch(links["caf\ufffd.txt"])).one("h1").text() == "caf\ufffd.txt"
    assert fetch("/raw/docs/caf%E9.txt") == b"K\xf6gler\n"
    history = parse(fetch("/history/docs/caf%E9.txt"))
    assert len(history.one("tbody").find_all("tr")) == 1


# Names that look like options: C05 ---------------------------------------

OPTION_NAMES = ["-rf.txt", "--help", "--output=x.txt"]


@pytest.fixture
def optioned(make_app, tmp_path, monkeypatch):
    """A repository with one file, and a working folder to watch for strays."""
    work = gitutil.make_repo(tmp_path / "start", {"README.md": "# Start\n"})
    repo = gitutil.bare_clone(work, tmp_path / "opts.git")
    monkeypatch.chdir(tmp_path)
    return make_app(repo).test_client(), repo, tmp_path


def test_option_like_names_are_only_names(optioned):
    client, repo, folder = optioned
    seen = []

    for name in OPTION_NAMES:
        done = client.post(
            "/upload/",
            data={
                "csrf_token": csrf_token(client),
                "base": tip(repo),
                "files": [(BytesIO(f"{name}\n".encode()), name)],
            },
            content_type="multipart/form-data",
        )
        assert done.status_code == 303, name
        seen.append(done)
    assert names(repo) == sorted(["README.md", *OPTION_NAMES])
    for name in OPTION_NAMES:
        history = client.get(url("/history/", name))
        seen.append(history)
        ids = [a.get("title") for a in parse(history.data).find_all("a", class_="sha")]
        assert (
            ids == gitutil.git(repo, "log", "--format=%H", "main", "--", name).split()
        )
        assert len(ids) == 1
        page = client.get(url("/blob/", name))
        seen.append(page)
        assert parse(page.data).one("h1").text() == name
        assert client.get(url("/raw/", name)).data == f"{name}\n".encode()

    moved = submit(client, "/rename/-rf.txt", target="-n.txt")
    seen.append(moved)
    assert moved.status_code == 303
    assert "-n.txt" in names(repo) and "-rf.txt" not in names(repo)
    gone = submit(client, "/delete/-n.txt")
    seen.append(gone)
    assert gone.status_code == 303
    assert "-n.txt" not in names(repo)

    assert "x.txt" not in names(repo)
    strays = [p for p in folder.rglob("x.txt")]
    assert strays == []
    for response in seen:
        assert "usage: git" not in response.get_data(as_text=True)


# Raw files: C11 and C31 --------------------------------------------------

DOWNLOADS = {
    "(тест).txt": b"test\n",
    "отчёт 2024.pdf": b"%PDF-1.4\n" + b"\0" * 20,
    'a"b.txt': b"quote\n",
    "semi;colon.txt": b"semi\n",
    "cr\r\nlf.txt": b"line break in the name\n",
    "😆": b"laugh\n",
}


@pytest.fixture
def rawfiles(make_app, tmp_path):
    files = dict(DOWNLOADS)
    files["README.rst"] = "Grüße — 日本語\n".encode()
    files["legacy.txt"] = b"Gr\xfc\xdfe\n"
    repo = gitutil.make_repo(tmp_path / "raw", files)
    return make_app(repo).test_client(), repo


def test_raw_utf8_text_says_utf8(rawfiles):
    client, _ = rawfiles

    raw = client.get("/raw/README.rst")

    assert raw.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.data.decode("utf-8") == "Grüße — 日本語\n"
    assert raw.headers["X-Content-Type-Options"] == "nosniff"


def test_raw_latin1_text_is_not_claimed_as_utf8(rawfiles):
    client, _ = rawfiles

    raw = client.get("/raw/legacy.txt")
    page = client.get("/blob/legacy.txt")

    assert "utf-8" not in raw.headers["Content-Type"].lower()
    assert raw.headers["Content-Type"] == "text/plain; charset=windows-1252"
    assert raw.data == b"Gr\xfc\xdfe\n"
    assert page.status_code == 200
    assert "Grüße" in parse(page.data).one("div", class_="code").text()


@pytest.mark.parametrize("name", sorted(DOWNLOADS))
def test_downloads_carry_the_real_name_safely(rawfiles, name):
    client, repo = rawfiles

    raw = client.get(url("/raw/", name) + "?download=1")

    assert raw.status_code == 200
    assert raw.data == blob(repo, "main", name)
    header = raw.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    match = re.fullmatch(
        r'attachment; filename="([^"]*)"; filename\*=UTF-8\'\'(\S+)', header
    )
    assert match, header
    fallback, encoded = match.groups()
    assert fallback.isascii()
    assert ";" not in fallback and '"' not in fallback
    clean = name.replace("\r", "").replace("\n", "")
    assert encoded == quote(clean, safe="")


# Markdown and descriptions: C40 ------------------------------------------

HOSTILE = (
    "Hello **there**\n\n"
    "<img src=x onerror=alert(1)>\n\n"
    "[click](javascript:alert(2)) [c2](JaVaScRiPt:alert(3)) [ok](https://example.com)\n\n"
    '<a href="data:text/html,<script>alert(4)</script>">d</a>\n\n'
    "<iframe src=//evil.example></iframe>\n\n"
    "<svg><script>alert(5)</script></svg>\n"
)


@pytest.fixture
def readme(make_app, tmp_path):
    repo = gitutil.make_repo(tmp_path / "md", {"README.md": HOSTILE})
    return make_app(repo).test_client()


def test_readme_renders_without_scripts_handlers_or_odd_links(readme):
    page = parse(readme.get("/blob/README.md").data)

    body = page.one("div", class_="markdown-body")
    assert body.find("strong").text() == "there"
    for tag in ("script", "iframe", "svg", "form"):
        assert body.find(tag) is None, tag
    for element in body.iter():
        assert not any(a.startswith("on") for a in element.attrs), element
    hrefs = [a.get("href") for a in body.find_all("a")]
    assert "https://example.com" in hrefs
    for href in hrefs:
        assert href is None or href.startswith(("http:", "https:", "mailto:")), href
    assert "alert(5)" not in body.text()


def test_a_hostile_description_is_stored_as_typed_and_shown_as_text(readme):
    saved = readme.put("/api/files/README.md", json={"description": HOSTILE})
    assert saved.status_code == 200

    entry = readme.get("/api/files/README.md").get_json()
    folder = parse(readme.get("/").data)
    page = parse(readme.get("/blob/README.md").data)

    assert entry["description"] == HOSTILE.strip()
    for where in (folder, page.one("section", class_="file-desc")):
        desc = where.find("div", class_="desc")
        assert desc.find("img") is None
        assert desc.find("iframe") is None
        assert desc.find("script") is None
        assert "<img src=x onerror=alert(1)>" in desc.text()


# Symbolic links and submodules -------------------------------------------


@pytest.fixture
def links(make_app, tmp_path):
    work = gitutil.init(tmp_path / "links")
    (work / "real.txt").write_text("real\n")
    os.symlink("/etc/passwd", work / "passwd")
    os.symlink("../../outside", work / "up")
    os.symlink("real.txt", work / "here")
    gitutil.git(work, "add", "--", "real.txt", "passwd", "up", "here")
    gitutil.git(
        work,
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,0123456789abcdef0123456789abcdef01234567,sub",
    )
    gitutil.git(work, "commit", "-q", "-m", "Add links and a submodule")
    return make_app(work).test_client(), work


def test_symlinks_show_their_target_text_and_are_never_followed(links):
    client, _ = links
    listing = parse(client.get("/").data)
    kinds = {
        row.find("a", class_="entry").text(): row.get("class")
        for row in listing.one("tbody").find_all("tr")
    }
    assert kinds["passwd"] == "symlink"
    assert kinds["sub"] == "submodule"

    for name, target in (("passwd", "/etc/passwd"), ("up", "../../outside")):
        page = parse(client.get(f"/blob/{name}").data)
        assert "symbolic link" in page.one("div", class_="file-meta").text()
        code = page.one("div", class_="code").one("td", class_="code")
        assert code.raw_text().strip() == target
        raw = client.get(f"/raw/{name}")
        assert raw.data == target.encode()
    assert b"root:" not in client.get("/raw/passwd").data


def test_a_submodule_is_shown_as_one(links):
    client, work = links

    page = parse(client.get("/blob/sub").data)
    raw = client.get("/raw/sub")
    history = client.get("/history/sub")
    commit = client.get(f"/commit/{tip(work)}")

    text = page.one("p", class_="placeholder").text()
    assert text == (
        "Submodule, pinned at commit 0123456789abcdef0123456789abcdef01234567. "
        "Its files live in another repository."
    )
    labels = [a.text() for a in page.one("nav", class_="actions").find_all("a")]
    assert "Download" not in labels and "Edit" not in labels
    assert raw.status_code == 404
    assert history.status_code == 200
    assert commit.status_code == 200
    heads = [
        h.text() for h in parse(commit.data).find_all("header", class_="diff-head")
    ]
    assert any("sub" in h for h in heads)
    assert client.get("/tree/sub").status_code in {302, 404}
