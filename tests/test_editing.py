"""Changing files in the browser: edit, new file, rename, delete and restore."""

import codecs
from urllib.parse import quote

import pytest

from tests import gitutil
from tests.htmlutil import parse
from tests.versionutil import (
    blob,
    count,
    error_text,
    form_fields,
    mode,
    names,
    submit,
    tip,
    wsgi_get,
    wsgi_post,
)


def as_a_browser_sends(text: str) -> str:
    """Return text area content the way a browser submits it.

    The HTML parser turns every CR LF and lone CR into LF, and a submitted
    form turns every line break into CR LF, whatever the file had.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def open_editor(client, path: str) -> tuple[str, dict[str, str]]:
    page = wsgi_get(client, "/edit/" + quote(path.encode("utf-8", "surrogateescape")))
    assert page.status_code == 200, page.data
    return form_fields(page)


def save_edit(client, path: str, change) -> object:
    """Open the editor, change the text as a person would, and save."""
    action, fields = open_editor(client, path)
    typed = fields["text"].replace("\r\n", "\n").replace("\r", "\n")
    fields["text"] = as_a_browser_sends(change(typed))
    return wsgi_post(client, action, data=fields)


def numstat(repo, path: str) -> str:
    return gitutil.git(repo, "diff", "--numstat", "main~1", "main", "--", path).strip()


def add_files(repo, files: dict, message: str, executable=()) -> str:
    """Commit files with exact bytes (and executable bits) through the git CLI."""
    for name, data in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if name in executable:
            target.chmod(0o755)
        gitutil.git(repo, "add", "--", name)
    gitutil.git(repo, "commit", "-q", "-m", message)
    return tip(repo)


# Line endings, encodings and modes: C15, C14, C06 ------------------------

ENDINGS = {
    "win.bat": b"@echo off\r\nrem greet\r\necho hello world\r\npause\r\n",
    "unix.sh": b"#!/bin/sh\nset -e\necho hello world\nexit 0\n",
    "mixed.txt": b"one\r\ntwo\nthree hello\r\nfour\nfive\r\n",
    "oldmac.txt": b"one\rtwo\rthree hello\rfour\r",
    "tail.txt": b"first\nsecond\nthird hello",
}


@pytest.fixture
def texts(make_app, tmp_path):
    """Files with every kind of line ending, encoding and mode a person may have."""
    path = gitutil.init(tmp_path / "texts")
    add_files(path, ENDINGS, "Add files with their own line endings", ["unix.sh"])
    add_files(
        path,
        {
            "bom8.txt": codecs.BOM_UTF8 + b"name,value\r\nalpha,1\r\nbeta,2\r\n",
            "export.csv": codecs.BOM_UTF16_LE + "a,b\r\nc,d\r\n".encode("utf-16-le"),
            "legacy.txt": "Gr\xfc\xdfe aus K\xf6ln\nzweite Zeile\n".encode("latin-1"),
            "data.bin": bytes(range(256)) * 4,
            "big.txt": b"x" * 2000 + b"\n",
        },
        "Add encodings",
    )
    return make_app(path, VCSWEB_EDIT_LIMIT=1500).test_client(), path


@pytest.mark.parametrize("name", sorted(ENDINGS))
def test_one_changed_word_keeps_every_line_ending(texts, name):
    client, repo = texts
    before = ENDINGS[name]

    done = save_edit(client, name, lambda t: t.replace("hello", "howdy"))

    assert done.status_code == 303, done.data
    assert done.headers["Location"] == f"/blob/{name}"
    assert blob(repo, "main", name) == before.replace(b"hello", b"howdy")
    # A changed line in a file whose lines all end in CR alone is, for Git,
    # a change of the whole (single-line) file.
    assert numstat(repo, name) == f"1\t1\t{name}"


def test_the_executable_bit_is_kept(texts):
    client, repo = texts

    save_edit(client, "unix.sh", lambda t: t.replace("exit 0", "exit 1"))

    assert mode(repo, "main", "unix.sh") == "100755"
    assert b"\r" not in blob(repo, "main", "unix.sh")


def test_added_lines_take_the_files_own_ending(texts):
    client, repo = texts

    save_edit(client, "win.bat", lambda t: t.replace("pause\n", "echo bye\npause\n"))

    assert blob(repo, "main", "win.bat") == (
        b"@echo off\r\nrem greet\r\necho hello world\r\necho bye\r\npause\r\n"
    )


def test_a_missing_final_newline_stays_missing(texts):
    client, repo = texts

    save_edit(client, "tail.txt", lambda t: t.replace("first", "1st"))

    assert blob(repo, "main", "tail.txt") == b"1st\nsecond\nthird hello"


def test_the_editor_says_the_endings_are_kept(texts):
    client, _ = texts

    page = parse(client.get("/edit/win.bat").data)

    assert "Windows line endings (kept)" in page.one("p", class_="editor-meta").text()


def test_utf8_bom_is_kept_and_not_shown(texts):
    client, repo = texts
    _, fields = open_editor(client, "bom8.txt")
    assert fields["text"].startswith("name,value")

    save_edit(client, "bom8.txt", lambda t: t.replace("beta,2", "beta,3"))

    assert blob(repo, "main", "bom8.txt") == (
        codecs.BOM_UTF8 + b"name,value\r\nalpha,1\r\nbeta,3\r\n"
    )
    patch = gitutil.git(repo, "diff", "main~1", "main", "--", "bom8.txt")
    assert [line for line in patch.split("\n") if line[:1] in {"+", "-"}][2:] == [
        "-beta,2\r",
        "+beta,3\r",
    ]


def test_utf8_bom_diff_page_shows_only_the_edited_line(texts):
    client, repo = texts
    save_edit(client, "bom8.txt", lambda t: t.replace("beta,2", "beta,3"))
    new = tip(repo)
    old = gitutil.git(repo, "rev-parse", "main~1").strip()

    page = parse(client.get(f"/diff/bom8.txt?from={old}&to={new}").data)

    changed = [
        r.find("pre").text()
        for r in page.find_all("tr")
        if r.get("class") in {"add", "del"}
    ]
    assert changed == ["−beta,2", "+beta,3"]
    assert "\ufeff" not in page.text()


def test_utf16_with_bom_is_shown_as_text_and_edited_as_utf16(texts):
    client, repo = texts
    page = parse(client.get("/blob/export.csv").data)
    assert "UTF-16-LE with BOM" in page.one("div", class_="file-meta").text()
    assert "a,b" in page.one("div", class_="code").text()
    _, fields = open_editor(client, "export.csv")
    assert fields["text"].replace("\r\n", "\n") == "a,b\nc,d\n"

    save_edit(client, "export.csv", lambda t: t.replace("c,d", "c,e"))

    assert blob(repo, "main", "export.csv") == (
        codecs.BOM_UTF16_LE + "a,b\r\nc,e\r\n".encode("utf-16-le")
    )


def test_latin1_file_keeps_its_bytes_and_says_its_encoding(texts):
    client, repo = texts
    page = parse(client.get("/edit/legacy.txt").data)
    assert "Windows-1252" in page.one("p", class_="editor-meta").text()
    assert "Grüße aus Köln" in page.one("textarea").raw_text()

    save_edit(client, "legacy.txt", lambda t: t.replace("Zeile", "Zeile geändert"))

    assert blob(repo, "main", "legacy.txt") == (
        "Gr\xfc\xdfe aus K\xf6ln\nzweite Zeile ge\xe4ndert\n".encode("latin-1")
    )


def test_a_character_the_files_encoding_cannot_hold_is_refused(texts):
    client, repo = texts
    before = tip(repo)

    refused = save_edit(client, "legacy.txt", lambda t: t.replace("Zeile", "行"))

    assert refused.status_code == 422
    assert "Windows-1252 cannot hold" in error_text(refused)
    assert "zweite 行" in parse(refused.data).one("textarea").raw_text()
    assert tip(repo) == before


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (
            "big.txt",
            "too large to edit in the browser (2,001 bytes; the limit is 1,500)",
        ),
        ("data.bin", "binary or in an encoding the browser editor cannot keep"),
    ],
)
def test_files_the_editor_cannot_keep_are_refused_before_typing(texts, name, says):
    client, _ = texts

    page = client.get(f"/edit/{name}")

    assert page.status_code == 422
    assert says in error_text(page)
    assert parse(page.data).find("textarea") is None


def test_binary_file_page_offers_no_edit(texts):
    client, _ = texts

    page = parse(client.get("/blob/data.bin").data)

    labels = [a.text() for a in page.one("nav", class_="actions").find_all("a")]
    assert "Edit" not in labels
    assert "Download" in labels


def test_saving_unchanged_text_makes_no_commit(texts):
    client, repo = texts
    before = tip(repo)

    done = save_edit(client, "win.bat", lambda t: t)

    assert done.status_code == 303
    assert tip(repo) == before
    page = client.get(done.headers["Location"])
    assert "No changes: win.bat already had this text." in page.text


def test_the_commit_message_is_the_one_typed(texts):
    client, repo = texts
    action, fields = open_editor(client, "unix.sh")
    fields["text"] = as_a_browser_sends(fields["text"].replace("set -e", "set -eu"))
    fields["message"] = "Stop on unset variables"

    client.post(action, data=fields)

    assert gitutil.git(repo, "log", "-1", "--format=%s").strip() == (
        "Stop on unset variables"
    )
    assert gitutil.git(repo, "log", "-1", "--format=%s", "main~1").strip() == (
        "Add encodings"
    )


# Lost updates: C27 -------------------------------------------------------


def test_stale_editor_gets_409_with_the_typed_text_and_their_change(texts):
    client, repo = texts
    action, mine = open_editor(client, "win.bat")
    theirs = save_edit(client, "win.bat", lambda t: t.replace("rem greet", "rem hi"))
    assert theirs.status_code == 303
    after_theirs = tip(repo)

    mine["text"] = as_a_browser_sends(
        mine["text"].replace("\r\n", "\n").replace("pause", "pause and wait")
    )
    refused = client.post(action, data=mine)

    assert refused.status_code == 409
    assert tip(repo) == after_theirs
    page = parse(refused.data)
    assert "pause and wait" in page.one("textarea").raw_text()
    assert "rem greet" in page.one("textarea").raw_text()
    conflict = page.one("section", class_="conflict-view")
    changed = [r.find("pre").text() for r in conflict.find_all("tr", class_="add")]
    assert changed == ["+rem hi"]
    _, again = form_fields(refused)
    assert again["base"] == after_theirs


def test_saving_again_from_the_conflict_view_commits_the_merged_text(texts):
    client, repo = texts
    action, mine = open_editor(client, "win.bat")
    save_edit(client, "win.bat", lambda t: t.replace("rem greet", "rem hi"))
    mine["text"] = as_a_browser_sends(mine["text"].replace("pause", "pause 5"))
    refused = client.post(action, data=mine)

    _, fields = form_fields(refused)
    fields["text"] = as_a_browser_sends(
        fields["text"].replace("\r\n", "\n").replace("rem greet", "rem hi")
    )
    done = client.post(action, data=fields)

    assert done.status_code == 303
    assert blob(repo, "main", "win.bat") == (
        b"@echo off\r\nrem hi\r\necho hello world\r\npause 5\r\n"
    )


def test_a_stale_editor_for_another_file_commits_on_top(texts):
    client, repo = texts
    action, mine = open_editor(client, "tail.txt")
    save_edit(client, "win.bat", lambda t: t.replace("rem greet", "rem hi"))
    theirs = tip(repo)

    mine["text"] = as_a_browser_sends(mine["text"].replace("second", "2nd"))
    done = client.post(action, data=mine)

    assert done.status_code == 303
    assert gitutil.git(repo, "rev-parse", "main~1").strip() == theirs
    assert blob(repo, "main", "win.bat").startswith(b"@echo off\r\nrem hi")


def test_editing_a_file_deleted_meanwhile_is_a_conflict(texts):
    client, repo = texts
    action, mine = open_editor(client, "tail.txt")
    assert submit(client, "/delete/tail.txt").status_code == 303
    after = tip(repo)

    refused = client.post(action, data=mine | {"text": "kept\r\n"})

    assert refused.status_code == 409
    assert "kept" in parse(refused.data).one("textarea").raw_text()
    assert tip(repo) == after


# New files ---------------------------------------------------------------


@pytest.fixture
def tree(make_app, tmp_path):
    """docs/ with two files and a subfolder, each with a description, and a.txt."""
    path = gitutil.init(tmp_path / "tree")
    gitutil.commit_files(
        path,
        {
            "a.txt": "a\n",
            "docs/guide.md": "# Guide\n",
            "docs/faq.md": "# FAQ\n",
            "docs/img/logo.svg": "<svg/>\n",
        },
        "Add the docs",
    )
    client = make_app(path).test_client()
    for name, text in (
        ("docs/guide.md", "How to start"),
        ("docs/guide.md", "How to start, step by step"),
        ("docs/faq.md", "Questions people ask"),
        ("docs/img/logo.svg", "The logo"),
        ("a.txt", "The letter a"),
    ):
        assert (
            client.put(f"/api/files/{name}", json={"description": text}).status_code
            == 200
        )
    return client, path


def description(client, path: str) -> str:
    return client.get("/api/files/" + quote(path)).get_json()["description"]


def test_new_file_is_committed_with_lf_endings(tree):
    client, repo = tree

    done = submit(
        client, "/new/docs", name="new.txt", text="hello\r\nworld\r\n", message=""
    )

    assert done.status_code == 303
    assert done.headers["Location"] == "/blob/docs/new.txt"
    assert blob(repo, "main", "docs/new.txt") == b"hello\nworld\n"
    assert gitutil.git(repo, "log", "-1", "--format=%s").strip() == "Add docs/new.txt"


def test_new_file_with_a_taken_name_is_409_and_keeps_the_text(tree):
    client, repo = tree
    before = tip(repo)

    refused = submit(client, "/new/docs", name="faq.md", text="my own faq\r\n")

    assert refused.status_code == 409
    page = parse(refused.data)
    assert "faq.md" in page.one("p", class_="error").text()
    assert page.one("textarea").raw_text().strip() == "my own faq"
    assert page.one("input", id="new-name").get("value") == "faq.md"
    assert tip(repo) == before


@pytest.mark.parametrize("name", ["../escape.txt", ".git/config", "a\\b.txt", ""])
def test_new_file_with_a_bad_name_is_refused(tree, name):
    client, repo = tree
    before = tip(repo)

    refused = submit(client, "/new/docs", name=name, text="x\r\n")

    assert refused.status_code in {400, 422}
    assert error_text(refused)
    assert tip(repo) == before


def test_new_file_in_an_empty_repository_is_the_first_commit(client, repo_path):
    done = submit(client, "/new/", name="README.md", text="# Hello\r\n")

    assert done.status_code == 303
    assert gitutil.git(repo_path, "rev-list", "--parents", "main").split() == [
        tip(repo_path)
    ]
    assert blob(repo_path, "main", "README.md") == b"# Hello\n"


# Rename and move ---------------------------------------------------------


def test_rename_a_folder_moves_every_files_description(tree):
    client, repo = tree

    done = submit(client, "/rename/docs", target="manual")

    assert done.status_code == 303
    assert done.headers["Location"] == "/blob/manual"
    assert names(repo) == [
        "a.txt",
        "manual/faq.md",
        "manual/guide.md",
        "manual/img/logo.svg",
    ]
    assert description(client, "manual/guide.md") == "How to start, step by step"
    assert description(client, "manual/faq.md") == "Questions people ask"
    assert description(client, "manual/img/logo.svg") == "The logo"
    page = parse(client.get("/blob/manual/guide.md").data)
    assert "2 saved versions" in page.one("details", class_="desc-history").text()
    assert count(repo) == 2


def test_moving_a_file_into_another_folder(tree):
    client, repo = tree

    done = submit(client, "/rename/a.txt", target="docs/img/a.txt")

    assert done.status_code == 303
    assert "docs/img/a.txt" in names(repo)
    assert "a.txt" not in names(repo)
    assert description(client, "docs/img/a.txt") == "The letter a"
    assert gitutil.git(repo, "log", "-1", "--format=%s").strip() == (
        "Rename a.txt to docs/img/a.txt"
    )


def test_rename_onto_an_existing_file_is_409(tree):
    client, repo = tree
    before = tip(repo)

    refused = submit(client, "/rename/docs/faq.md", target="docs/guide.md")

    assert refused.status_code == 409
    assert "docs/guide.md already exists" in error_text(refused)
    page = parse(refused.data)
    assert page.one("input", id="rename-target").get("value") == "docs/guide.md"
    assert tip(repo) == before
    assert description(client, "docs/guide.md") == "How to start, step by step"


def test_moving_a_folder_into_itself_is_422(tree):
    client, repo = tree
    before = tip(repo)

    refused = submit(client, "/rename/docs", target="docs/img/docs")

    assert refused.status_code == 422
    assert "cannot be moved into itself" in error_text(refused)
    assert tip(repo) == before


def test_moving_below_a_file_is_refused(tree):
    client, repo = tree
    before = tip(repo)

    refused = submit(client, "/rename/docs/faq.md", target="a.txt/faq.md")

    assert refused.status_code == 409
    assert "a.txt" in error_text(refused)
    assert tip(repo) == before


def test_renaming_to_the_same_name_is_422(tree):
    client, _ = tree

    refused = submit(client, "/rename/a.txt", target="a.txt")

    assert refused.status_code == 422


# Delete and bring back ---------------------------------------------------


def test_delete_asks_first_then_commits(tree):
    client, repo = tree
    page = parse(client.get("/delete/docs/faq.md").data)
    assert page.one("h1").text() == "Delete file docs/faq.md?"

    done = submit(client, "/delete/docs/faq.md")

    assert done.status_code == 303
    assert done.headers["Location"] == "/tree/docs"
    assert "docs/faq.md" not in names(repo)
    assert gitutil.git(repo, "log", "-1", "--format=%s").strip() == "Delete docs/faq.md"
    assert "Deleted docs/faq.md in commit" in client.get("/tree/docs").text


def test_deleted_file_comes_back_from_deleted_files_with_its_description(tree):
    client, repo = tree
    submit(client, "/delete/docs/faq.md")

    listing = parse(client.get("/deleted/docs").data)
    row = listing.one("table", class_="entries").one("tbody").one("tr")
    assert row.one("td", class_="name").text() == "docs/faq.md"
    restore = [a.get("href") for a in row.find_all("a") if a.text() == "Restore"][0]
    done = submit(client, restore)

    assert done.status_code == 303
    assert blob(repo, "main", "docs/faq.md") == b"# FAQ\n"
    assert description(client, "docs/faq.md") == "Questions people ask"
    assert "No deleted files here" in client.get("/deleted/docs").text


def test_deleted_folder_lists_each_file_to_bring_back(tree):
    client, repo = tree
    page = parse(client.get("/delete/docs").data)
    assert page.one("h1").text() == "Delete folder docs?"

    assert submit(client, "/delete/docs").status_code == 303

    assert names(repo) == ["a.txt"]
    listing = parse(client.get("/deleted/").data)
    rows = listing.one("table", class_="entries").one("tbody").find_all("tr")
    listed = sorted(r.one("td", class_="name").text() for r in rows)
    assert listed == ["docs/faq.md", "docs/guide.md", "docs/img/logo.svg"]
    for row in rows:
        href = [a.get("href") for a in row.find_all("a") if a.text() == "Restore"][0]
        assert submit(client, href).status_code == 303
    assert names(repo) == [
        "a.txt",
        "docs/faq.md",
        "docs/guide.md",
        "docs/img/logo.svg",
    ]
    assert description(client, "docs/img/logo.svg") == "The logo"
    assert description(client, "docs/guide.md") == "How to start, step by step"


def test_deleting_the_last_file_of_a_folder_goes_to_the_nearest_folder_left(tree):
    client, repo = tree

    done = submit(client, "/delete/docs/img/logo.svg")

    assert done.status_code == 303
    assert done.headers["Location"] == "/tree/docs"
    assert "docs/img/logo.svg" not in names(repo)
    page = client.get(done.headers["Location"])
    assert page.status_code == 200
    notice = parse(page.data).one("p", class_="notice").text()
    assert notice.startswith("Deleted docs/img/logo.svg in commit")
    assert "“Deleted files” in docs" in notice
    deleted_link = [
        a.get("href")
        for a in parse(page.data).find_all("a", class_="button")
        if a.text() == "Deleted files"
    ]
    assert deleted_link == ["/deleted/docs"]
    for listing_url in ("/deleted/docs", "/deleted/docs/img"):
        listing = client.get(listing_url)
        assert listing.status_code == 200, listing_url
        rows = parse(listing.data).one("tbody").find_all("tr")
        assert [r.one("td", class_="name").text() for r in rows] == [
            "docs/img/logo.svg"
        ]


def test_deleting_a_folder_that_held_everything_goes_to_the_top(make_app, tmp_path):
    repo = gitutil.make_repo(tmp_path / "nested", {"a/b/only.txt": "only\n"})
    client = make_app(repo).test_client()

    done = submit(client, "/delete/a/b")

    assert done.status_code == 303
    assert done.headers["Location"] == "/"
    notice = parse(client.get("/").data).one("p", class_="notice").text()
    assert "“Deleted files” in the top folder" in notice
    rows = parse(client.get("/deleted/a").data).one("tbody").find_all("tr")
    assert [r.one("td", class_="name").text() for r in rows] == ["a/b/only.txt"]


def test_view_last_version_of_a_deleted_file(tree):
    client, _ = tree
    submit(client, "/delete/docs/faq.md")
    row = parse(client.get("/deleted/docs").data).one("tbody").one("tr")

    view = [a.get("href") for a in row.find_all("a") if a.text() == "View last version"]
    page = client.get(view[0])

    assert page.status_code == 200
    assert (
        parse(page.data).one("section", class_="file-body").find("h1").text() == "FAQ"
    )


# The same action twice: C45 ----------------------------------------------


def test_restoring_the_same_version_twice_makes_one_commit(tree):
    client, repo = tree
    first = tip(repo)
    save_edit(client, "a.txt", lambda t: "b\n")
    page = client.get(f"/restore/a.txt?rev={first}")
    action, fields = form_fields(page)
    before = count(repo)

    once = client.post(action, data=fields)
    twice = client.post(action, data=fields)

    assert once.status_code == 303
    assert twice.status_code == 303
    assert count(repo) == before + 1
    assert blob(repo, "main", "a.txt") == b"a\n"
    page = client.get(twice.headers["Location"])
    assert "No changes: a.txt already has that content." in page.text


def test_deleting_twice_answers_the_second_with_a_message(tree):
    client, repo = tree
    page = client.get("/delete/docs/faq.md")
    action, fields = form_fields(page)

    once = client.post(action, data=fields)
    twice = client.post(action, data=fields)

    assert once.status_code == 303
    assert twice.status_code == 404
    assert error_text(twice) == "docs/faq.md is already deleted."
    assert count(repo) == 2
    later = client.get("/delete/docs/faq.md")
    assert later.status_code == 404
    assert error_text(later) == "docs/faq.md not found."


def test_renaming_twice_answers_the_second_with_409(tree):
    client, repo = tree
    page = client.get("/rename/a.txt")
    action, fields = form_fields(page)
    fields["target"] = "b.txt"

    once = client.post(action, data=fields)
    twice = client.post(action, data=fields)

    assert once.status_code == 303
    assert twice.status_code == 409
    assert "b.txt already exists" in error_text(twice)
    assert count(repo) == 2
    assert description(client, "b.txt") == "The letter a"


def test_saving_the_same_edit_twice_makes_one_commit(tree):
    client, repo = tree
    action, fields = open_editor(client, "a.txt")
    fields["text"] = "changed\r\n"

    once = client.post(action, data=fields)
    twice = client.post(action, data=fields)

    assert once.status_code == 303
    assert twice.status_code == 303
    assert count(repo) == 2


def test_forms_that_commit_disable_themselves_while_sending(tree):
    client, _ = tree
    for url in (
        "/edit/a.txt",
        "/new/docs",
        "/rename/a.txt",
        "/delete/a.txt",
        "/restore/a.txt?rev=main",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        form = [
            f
            for f in parse(page.data).one("main").find_all("form")
            if (f.get("method") or "").lower() == "post"
        ][0]
        assert "data-submit-once" in form.attrs, url
