"""History, old versions, diffs, the log and single commits, through the pages."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests import gitutil
from tests.htmlutil import parse
from tests.versionutil import (
    Importer,
    blob,
    count,
    error_text,
    form_fields,
    names,
    submit,
    tip,
)
from vcsweb.gitstore import Repository

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def history_rows(response) -> list:
    table = parse(response.data).one("table", class_="history-table")
    return table.one("tbody").find_all("tr")


def row_link(row, label: str) -> str | None:
    for a in row.find_all("a"):
        if a.text() == label:
            return a.get("href")
    return None


def ids_in(response) -> list[str]:
    """Return the full commit ids a history or log page lists, in order."""
    return [a.get("title") for a in parse(response.data).find_all("a", class_="sha")]


def git_log(repo, *args: str) -> list[str]:
    return gitutil.git(repo, "log", "--format=%H", *args).split()


# Long histories ----------------------------------------------------------


@pytest.fixture
def long_repo(tmp_path):
    """60 commits to log.txt by two authors; every tenth also touches docs/x.md."""
    path = gitutil.init(tmp_path / "long.git", bare=True)
    build = Importer()
    for n in range(60):
        files = {"log.txt": "".join(f"entry {i}\n" for i in range(n + 1))}
        if n % 10 == 0:
            files["docs/x.md"] = f"# Version {n}\n"
        author = (
            "Ada Lovelace <ada@example.com>"
            if n % 2 == 0
            else "Grace Hopper <grace@example.com>"
        )
        build.commit(files, f"Entry {n}\n", author=author)
    build.run(path)
    return path


@pytest.fixture
def long_web(make_app, long_repo):
    return make_app(long_repo).test_client()


def test_history_shows_fifty_commits_a_page_newest_first(long_web, long_repo):
    expected = git_log(long_repo, "main", "--", "log.txt")
    assert len(expected) == 60

    first = long_web.get("/history/log.txt")
    second = long_web.get("/history/log.txt?page=2")

    assert first.status_code == 200
    assert ids_in(first) == expected[:50]
    assert ids_in(second) == expected[50:]
    pager = parse(first.data).one("nav", class_="pager")
    assert "commits 1–50" in pager.text()
    assert pager.one("a", rel="next").get("href") == "/history/log.txt?page=2"
    assert pager.find("a", rel="prev") is None
    pager = parse(second.data).one("nav", class_="pager")
    assert "Page 2" in pager.text()
    assert "commits 51–60" in pager.text()
    assert pager.one("a", rel="prev").get("href") == "/history/log.txt?page=1"
    assert pager.find("a", rel="next") is None


def test_history_preselects_the_newest_pair_to_compare(long_web, long_repo):
    expected = git_log(long_repo, "main", "--", "log.txt")

    page = parse(long_web.get("/history/log.txt").data)

    checked = {
        i.get("name"): i.get("value")
        for i in page.find_all("input", type="radio")
        if "checked" in i.attrs
    }
    assert checked == {"to": expected[0], "from": expected[1]}
    form = page.one("form", class_="history")
    assert form.get("action") == "/diff/log.txt"
    older = parse(long_web.get("/history/log.txt?page=2").data)
    assert not [i for i in older.find_all("input") if "checked" in i.attrs]


def test_comparing_two_picked_versions_shows_the_lines_between_them(long_web):
    page = parse(long_web.get("/history/log.txt").data)
    picks = page.find_all("input", type="radio")
    newest = picks[1].get("value")
    oldest_on_page = picks[-2].get("value")

    diff = long_web.get(f"/diff/log.txt?from={oldest_on_page}&to={newest}")

    added = parse(diff.data).find_all("tr", class_="add")
    assert [r.find_all("td")[1].text() for r in added] == [
        str(n) for n in range(12, 61)
    ]
    assert added[0].find("pre").text() == "+entry 11"


def test_history_rows_link_to_view_diff_and_restore(long_web, long_repo):
    expected = git_log(long_repo, "main", "--", "log.txt")

    rows = history_rows(long_web.get("/history/log.txt"))

    newest, second = rows[0], rows[1]
    assert row_link(newest, "View") == f"/blob/log.txt?rev={expected[0]}"
    diff = urlsplit(row_link(newest, "Diff"))
    assert diff.path == "/diff/log.txt"
    assert parse_qs(diff.query) == {"from": [expected[1]], "to": [expected[0]]}
    # The newest version is the current one: nothing to restore.
    assert row_link(newest, "Restore") is None
    assert row_link(second, "Restore") == f"/restore/log.txt?rev={expected[1]}"
    for href in (row_link(second, "View"), row_link(second, "Diff")):
        assert long_web.get(href).status_code == 200


def test_the_first_commit_of_a_file_has_a_diff_from_nothing(long_web, long_repo):
    rows = history_rows(long_web.get("/history/log.txt?page=2"))
    root = git_log(long_repo, "main", "--", "log.txt")[-1]

    href = row_link(rows[-1], "Diff")

    assert href is not None
    diff = parse(long_web.get(href).data)
    assert diff.one("span", class_="badge").text() == "added"
    assert [r.find("pre").text() for r in diff.find_all("tr", class_="add")] == [
        "+entry 0"
    ]
    assert (
        root[:7] in parse(long_web.get(href).data).one("p", class_="lastchange").text()
    )


def test_folder_history_lists_commits_that_changed_something_inside(
    long_web, long_repo
):
    page = long_web.get("/history/docs")

    assert ids_in(page) == git_log(long_repo, "main", "--", "docs")
    assert len(ids_in(page)) == 6
    assert not parse(page.data).find_all("input", type="radio")


def test_log_pages_through_every_commit(long_web, long_repo):
    expected = git_log(long_repo, "main")

    first = long_web.get("/commits")
    second = long_web.get("/commits?page=2")

    assert ids_in(first) == expected[:50]
    assert ids_in(second) == expected[50:]
    assert parse(first.data).one("a", rel="next").get("href") == "/commits?page=2"
    assert parse(second.data).find("a", rel="next") is None


def test_log_filters_by_path_prefix(long_web, long_repo):
    page = long_web.get("/commits?path=docs")

    assert ids_in(page) == git_log(long_repo, "main", "--", "docs")
    assert len(ids_in(page)) == 6
    assert parse(page.data).one("input", id="log-path").get("value") == "docs"


def test_log_filters_by_author_name_or_email_ignoring_case(long_web, long_repo):
    expected = git_log(long_repo, "main", "--author=grace")
    assert len(expected) == 30

    by_name = long_web.get("/commits?author=GRACE")
    by_email = long_web.get("/commits?author=grace@example.com")

    assert ids_in(by_name) == expected
    assert ids_in(by_email) == expected
    authors = {a.text() for a in parse(by_name.data).find_all("span", class_="author")}
    assert authors == {"Grace Hopper"}


def test_log_filters_combine_and_keep_them_on_the_pager(long_web, long_repo):
    both = long_web.get("/commits?path=docs&author=ada")

    assert ids_in(both) == git_log(long_repo, "main", "--author=ada", "--", "docs")
    nothing = long_web.get("/commits?author=nobody")
    assert ids_in(nothing) == []
    assert "No commits match these filters." in parse(nothing.data).text()


def test_log_author_filter_is_text_not_a_pattern(long_web):
    page = long_web.get("/commits?author=.*")

    assert page.status_code == 200
    assert ids_in(page) == []


# Renames: C35 ------------------------------------------------------------

NOTES = "Notes\n\n" + "".join(f"point {n}\n" for n in range(1, 9))


@pytest.fixture
def renamed(make_app, tmp_path):
    """notes.txt with three commits and a description, renamed and edited on the web."""
    path = tmp_path / "notes"
    gitutil.init(path)
    versions = [NOTES + f"{n} draft\n" for n in ("first", "second", "third")]
    for n, text in enumerate(versions, 1):
        gitutil.commit_files(path, {"notes.txt": text}, f"Notes, draft {n}")
    client = make_app(path).test_client()
    for text in ("Meeting notes", "Meeting notes of the team"):
        saved = client.put("/api/files/notes.txt", json={"description": text})
        assert saved.status_code == 200

    moved = submit(client, "/rename/notes.txt", target="docs/notes.md")
    assert moved.status_code == 303
    assert moved.headers["Location"] == "/blob/docs/notes.md"
    for text in (NOTES + "fourth draft\n", NOTES + "fifth draft\n"):
        edited = submit(client, "/edit/docs/notes.md", text=text.replace("\n", "\r\n"))
        assert edited.status_code == 303
    return client, path, versions


def test_history_follows_the_rename_with_the_old_name_on_older_rows(renamed):
    client, repo, _ = renamed

    page = client.get("/history/docs/notes.md")

    rows = history_rows(page)
    assert ids_in(page) == git_log(repo, "--follow", "main", "--", "docs/notes.md")
    statuses = [r.one("span", class_="badge").text() for r in rows]
    assert statuses == [
        "modified",
        "modified",
        "renamed",
        "modified",
        "modified",
        "added",
    ]
    assert "from notes.txt" in rows[2].one("td", class_="status").text()
    for row in rows[3:]:
        assert "as notes.txt" in row.one("td", class_="status").text()
        assert row_link(row, "View").startswith("/blob/notes.txt?rev=")


def test_view_links_of_old_names_show_that_version(renamed):
    client, repo, versions = renamed

    rows = history_rows(client.get("/history/docs/notes.md"))

    for row, text in zip(rows[3:], reversed(versions), strict=True):
        page = client.get(row_link(row, "View"))
        assert page.status_code == 200
        assert (
            parse(page.data).one("div", class_="code").find("code").raw_text() == text
        )
        assert "old version" in parse(page.data).one("p", class_="banner").text()


def test_diff_links_show_each_change_also_before_the_rename(renamed):
    client, _, _ = renamed
    rows = history_rows(client.get("/history/docs/notes.md"))
    expected = [
        ("fifth draft", "fourth draft"),
        ("fourth draft", "third draft"),
        None,
        ("third draft", "second draft"),
        ("second draft", "first draft"),
    ]

    for row, change in zip(rows, expected, strict=False):
        page = parse(client.get(row_link(row, "Diff")).data)
        if change is None:
            head = page.one("header", class_="diff-head").text()
            assert "notes.txt → docs/notes.md" in head
            assert "Renamed without changes." in page.text()
            continue
        added = [r.find("pre").text() for r in page.find_all("tr", class_="add")]
        removed = [r.find("pre").text() for r in page.find_all("tr", class_="del")]
        assert added == [f"+{change[0]}"], row_link(row, "Diff")
        assert removed == [f"−{change[1]}"]


def test_comparing_versions_from_before_the_rename(renamed):
    client, repo, _ = renamed
    ids = git_log(repo, "--follow", "main", "--", "docs/notes.md")

    before = parse(client.get(f"/diff/docs/notes.md?from={ids[5]}&to={ids[3]}").data)
    across = parse(client.get(f"/diff/docs/notes.md?from={ids[5]}&to={ids[0]}").data)

    added = [r.find("pre").text() for r in before.find_all("tr", class_="add")]
    assert added == ["+third draft"]
    head = across.one("header", class_="diff-head").text()
    assert "notes.txt → docs/notes.md" in head
    added = [r.find("pre").text() for r in across.find_all("tr", class_="add")]
    assert added == ["+fifth draft"]


def test_restoring_the_first_version_writes_it_to_the_current_name(renamed):
    client, repo, versions = renamed
    before = count(repo)
    rows = history_rows(client.get("/history/docs/notes.md"))
    first = git_log(repo, "--follow", "main", "--", "docs/notes.md")[-1]

    confirm = client.get(row_link(rows[-1], "Restore"))
    assert confirm.status_code == 200
    assert "Restore docs/notes.md?" in parse(confirm.data).one("h1").text()
    action, fields = form_fields(confirm)
    assert fields["from"] == "notes.txt"
    assert fields["rev"] == first
    done = client.post(action, data=fields)

    assert done.status_code == 303
    assert done.headers["Location"] == "/blob/docs/notes.md"
    assert count(repo) == before + 1
    assert blob(repo, "main", "docs/notes.md") == versions[0].encode()
    assert names(repo) == ["docs/notes.md"]
    assert len(history_rows(client.get("/history/docs/notes.md"))) == 7


def test_the_description_and_its_history_moved_with_the_rename(renamed):
    client, _, _ = renamed

    page = parse(client.get("/blob/docs/notes.md").data)

    assert (
        page.one("section", class_="file-desc")
        .text()
        .startswith("Meeting notes of the team")
    )
    saved = page.one("details", class_="desc-history")
    assert "2 saved versions" in saved.one("summary").text()
    texts = [q.text() for q in saved.find_all("blockquote")]
    assert texts == ["Meeting notes of the team", "Meeting notes"]
    assert client.get("/api/files/notes.txt").status_code == 404


def test_description_history_text_can_be_used_again(renamed):
    client, _, _ = renamed
    page = client.get("/blob/docs/notes.md")
    action, fields = form_fields(page, "/meta-restore/docs/notes.md")

    done = client.post(action, data=fields)

    assert done.status_code == 303
    entry = client.get("/api/files/docs/notes.md").get_json()
    assert entry["description"] == "Meeting notes"
    assert entry["version"] == 3


def test_the_rename_commit_page_shows_old_and_new_name(renamed):
    client, repo, _ = renamed
    rename = git_log(repo, "--diff-filter=R", "main")[0]

    page = parse(client.get(f"/commit/{rename}").data)

    head = page.one("header", class_="diff-head")
    assert head.one("span", class_="badge").text() == "renamed"
    assert "notes.txt → docs/notes.md" in head.text()
    assert page.one("h1").text() == "Rename notes.txt to docs/notes.md"


# Files with the same text are not copies of each other -------------------

PRICES = "".join(f"item {n}: full price\n" for n in range(1, 9))


@pytest.fixture
def lookalikes(make_app, tmp_path):
    """A file added with the text of another one (not a copy), then renamed."""
    path = tmp_path / "shop"
    gitutil.init(path)
    gitutil.commit_files(path, {"odd dir/100%.txt": PRICES}, "Add the price list")
    gitutil.commit_files(
        path, {"odd dir/100%.txt": PRICES + "valid all year\n"}, "Extend it"
    )
    added = gitutil.commit_files(
        path, {"50% off.txt": PRICES + "valid all year\n"}, "Add the sale"
    )
    moved = gitutil.commit_files(
        path,
        {"50% off.txt": None, "sale/50% off.txt": PRICES + "valid all year\n"},
        "Move the sale into its folder",
    )
    return make_app(path).test_client(), path, [moved, added]


def test_history_follows_a_rename_but_claims_no_copy_from_a_lookalike(lookalikes):
    client, _, commits = lookalikes

    page = client.get("/history/sale/50%25%20off.txt")

    assert page.status_code == 200
    assert ids_in(page) == commits
    rows = history_rows(page)
    statuses = [r.one("span", class_="badge").text() for r in rows]
    assert statuses == ["renamed", "added"]
    assert rows[0].one("td", class_="status").text() == "renamed from 50% off.txt"
    assert rows[1].one("td", class_="status").text() == "added as 50% off.txt"
    assert "100%" not in page.text
    assert parse(page.data).find("a", rel="next") is None


def test_history_pages_end_where_the_file_began(lookalikes):
    _, repo, commits = lookalikes

    with Repository(str(repo)) as store:
        tip_id = store.tip()
        first, more = store.file_history(tip_id, "sale/50% off.txt", 0, 1)
        second, more_after = store.file_history(tip_id, "sale/50% off.txt", 1, 1)
        beyond, _ = store.file_history(tip_id, "sale/50% off.txt", 2, 1)
        names = store.former_names(tip_id, "sale/50% off.txt")

    assert [r.commit.id for r in first] == commits[:1]
    assert more
    assert [(r.commit.id, r.status, r.old_path) for r in second] == [
        (commits[1], "added", None)
    ]
    assert not more_after
    assert beyond == []
    assert names == ["sale/50% off.txt", "50% off.txt"]


def test_api_history_and_diffs_leave_the_lookalike_out(lookalikes):
    client, _, commits = lookalikes
    first = gitutil.git(lookalikes[1], "rev-list", "--max-parents=0", "main").strip()

    found = client.get("/api/history/sale/50%25%20off.txt").get_json()["revisions"]
    diff = parse(client.get(f"/diff/sale/50%25%20off.txt?from={first}").data)

    assert [(r["status"], r["old_path"]) for r in found] == [
        ("renamed", "50% off.txt"),
        ("added", None),
    ]
    heads = [h.text() for h in diff.find_all("header", class_="diff-head")]
    assert len(heads) == 1
    assert "sale/50% off.txt" in heads[0]
    assert "100%" not in heads[0]


# Diffs -------------------------------------------------------------------


@pytest.fixture
def poem(make_app, tmp_path):
    """A 30-line file changed in two places far apart, plus binary and large files."""
    path = tmp_path / "poem"
    gitutil.init(path)
    lines = [f"line {n} of the quiet poem\n" for n in range(1, 31)]
    old_big = "".join(f"row {n}\n" for n in range(200_000))
    first = gitutil.commit_files(
        path,
        {
            "poem.txt": "".join(lines),
            "logo.png": PNG + b"\0" * 204_800,
            "zero.txt": "looks like text\n",
            "big.log": old_big,
        },
        "Add the poem, the logo and the log",
    )
    lines[2] = "line 3 of the loud poem\n"
    lines[24] = "line 25 of the quiet song\n"
    second = gitutil.commit_files(
        path,
        {
            "poem.txt": "".join(lines),
            "logo.png": PNG + b"\1" * 153_600,
            "zero.txt": "looks like\0text\n",
            "big.log": old_big + "one more row\n",
        },
        "Change a word in two places",
    )
    return make_app(path).test_client(), path, first, second


def test_unified_diff_numbers_lines_marks_words_and_folds_the_rest(poem):
    client, _, first, second = poem

    page = client.get(f"/diff/poem.txt?from={first}&to={second}")

    assert page.status_code == 200
    tree = parse(page.data)
    table = tree.one("table", class_="diff")
    assert "unified" in table.classes
    changed = [
        (r.find_all("td")[0].text(), r.find_all("td")[1].text(), r.find("pre").text())
        for r in table.find_all("tr")
        if r.get("class") in {"add", "del"}
    ]
    assert changed == [
        ("3", "", "−line 3 of the quiet poem"),
        ("", "3", "+line 3 of the loud poem"),
        ("25", "", "−line 25 of the quiet poem"),
        ("", "25", "+line 25 of the quiet song"),
    ]
    marks = [m.text() for m in table.find_all("mark")]
    assert marks == ["quiet", "loud", "poem", "song"]
    folds = [r.text() for r in table.find_all("tr", class_="fold")]
    assert len(folds) == 1
    assert folds[0].startswith("⋯ 15 unchanged lines")
    head = tree.one("header", class_="diff-head")
    assert head.one("span", class_="counts").text() == "+2 −2"


def test_side_by_side_diff_pairs_lines_and_is_remembered(poem):
    client, _, first, second = poem
    url = f"/diff/poem.txt?from={first}&to={second}"

    split = client.get(url + "&view=split")

    assert "diff_view=split" in split.headers["Set-Cookie"]
    table = parse(split.data).one("table", class_="diff")
    assert "split" in table.classes
    pair = [r for r in table.find_all("tr") if r.find("td", class_="del") is not None][
        0
    ]
    cells = [td.text() for td in pair.find_all("td")]
    assert cells == ["3", "line 3 of the quiet poem", "3", "line 3 of the loud poem"]

    again = parse(client.get(url).data)
    assert "split" in again.one("table", class_="diff").classes
    switch = again.one("nav", class_="view-switch")
    assert switch.one(aria_current="true").text() == "Side by side"

    back = client.get(url + "&view=unified")
    assert "diff_view=unified" in back.headers["Set-Cookie"]
    assert "unified" in parse(client.get(url).data).one("table", class_="diff").classes


def test_view_switch_links_keep_the_compared_revisions(poem):
    client, _, first, second = poem

    page = parse(client.get(f"/diff/poem.txt?from={first}&to={second}").data)

    links = {
        a.text(): a.get("href")
        for a in page.one("nav", class_="view-switch").find_all("a")
    }
    for view, label in (("split", "Side by side"), ("unified", "Unified")):
        href = links[label]
        assert f"from={first}" in href
        assert f"to={second}" in href
        assert f"view={view}" in href


def test_binary_diff_gives_sizes_and_no_bytes(poem):
    client, _, first, second = poem

    page = client.get(f"/diff/logo.png?from={first}&to={second}")

    assert page.status_code == 200
    assert len(page.data) < 20_000
    tree = parse(page.data)
    assert tree.one("p", class_="placeholder").text() == (
        "Binary file changed (200 KB → 150 KB)."
    )
    assert tree.find("table", class_="diff") is None
    assert b"\x89PNG" not in page.data


def test_a_nul_byte_makes_a_text_file_binary_in_the_diff(poem):
    client, _, first, second = poem

    page = parse(client.get(f"/diff/zero.txt?from={first}&to={second}").data)

    assert page.one("p", class_="placeholder").text() == (
        "Binary file changed (16 B → 16 B)."
    )


def test_large_file_diff_is_suppressed_with_sizes(poem):
    client, repo, first, second = poem
    old_size = len(blob(repo, first, "big.log"))

    page = client.get(f"/diff/big.log?from={first}&to={second}")

    assert len(page.data) < 20_000
    text = parse(page.data).one("p", class_="placeholder").text()
    assert text.startswith("Large file: the line diff is not shown.")
    assert f"{old_size / 1024 / 1024:.1f} MB" in text


def test_commit_page_lists_every_file_with_a_jump_list(poem):
    client, _, _, second = poem

    page = parse(client.get(f"/commit/{second}").data)

    index = [a.text() for a in page.one("ol", class_="diff-index").find_all("a")]
    assert index == ["big.log", "logo.png", "poem.txt", "zero.txt"]
    summary = page.one("p", class_="summary").text()
    assert summary.startswith("4 files changed")


def test_restoring_an_old_binary_brings_back_the_same_blob(poem):
    client, repo, first, _ = poem
    old_blob = gitutil.git(repo, "rev-parse", f"{first}:logo.png").strip()

    done = submit(client, f"/restore/logo.png?rev={first}")

    assert done.status_code == 303
    assert gitutil.git(repo, "rev-parse", "main:logo.png").strip() == old_blob
    assert gitutil.git(repo, "log", "-1", "--format=%s").strip() == (
        f"Restore logo.png to {first[:7]}"
    )


# Commits -----------------------------------------------------------------


@pytest.fixture
def merged(make_app, tmp_path):
    """A root commit, a side branch and a merge of it."""
    path = tmp_path / "merged"
    gitutil.init(path)
    root = gitutil.commit_files(
        path, {"a.txt": "one\ntwo\n", "docs/b.md": "# B\n"}, "Start the project"
    )
    gitutil.git(path, "checkout", "-q", "-b", "side")
    side = gitutil.commit_files(path, {"side.txt": "from the side\n"}, "Side work")
    gitutil.git(path, "checkout", "-q", "main")
    ours = gitutil.commit_files(path, {"a.txt": "one\n2\n"}, "Main work")
    gitutil.git(path, "merge", "-q", "--no-ff", "-m", "Merge the side work", "side")
    merge = tip(path)
    return make_app(path).test_client(), root, side, ours, merge


def test_merge_commit_page_lists_both_parents_and_diffs_the_first(merged):
    client, _, side, ours, merge = merged

    page = client.get(f"/commit/{merge}")

    assert page.status_code == 200
    tree = parse(page.data)
    assert tree.one("h1").text() == "Merge the side work"
    facts = tree.one("dl", class_="commit-facts")
    parents = [
        (a.text(), a.get("href"))
        for a in facts.find_all("a")
        if "/commit/" in a.get("href")
    ]
    assert parents == [(ours[:7], f"/commit/{ours}"), (side[:7], f"/commit/{side}")]
    assert "Parents" in facts.text()
    heads = [h.text() for h in tree.find_all("header", class_="diff-head")]
    assert len(heads) == 1
    assert "side.txt" in heads[0]


def test_root_commit_page_shows_every_file_added(merged):
    client, root, _, _, _ = merged

    page = parse(client.get(f"/commit/{root[:10]}").data)

    facts = page.one("dl", class_="commit-facts").text()
    assert "none (first commit)" in facts
    assert root in facts
    badges = [b.text() for b in page.find_all("span", class_="badge")]
    assert badges == ["added", "added"]
    added = [r.find("pre").text() for r in page.find_all("tr", class_="add")]
    assert added == ["+one", "+two", "+# B"]


def test_merge_is_newest_in_the_log_and_its_files_browsable(merged):
    client, _, _, _, merge = merged

    assert ids_in(client.get("/commits"))[0] == merge
    page = client.get(f"/?rev={merge}")
    assert page.status_code == 200
    assert "side.txt" in [
        a.text() for a in parse(page.data).find_all("a", class_="entry")
    ]


def test_commit_message_body_is_shown_below_the_subject(make_app, tmp_path):
    path = tmp_path / "body"
    gitutil.init(path)
    commit = gitutil.commit_files(
        path, {"a.txt": "a\n"}, "Add a\n\nBecause <b>we</b> needed it."
    )

    page = parse(make_app(path).test_client().get(f"/commit/{commit}").data)

    assert (
        page.one("pre", class_="commit-body").text() == "Because <b>we</b> needed it."
    )


# Revisions that do not exist ---------------------------------------------

MISSING = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "url",
    [
        "/blob/poem.txt?rev={rev}",
        "/raw/poem.txt?rev={rev}",
        "/?rev={rev}",
        "/tree/docs?rev={rev}",
        "/history/poem.txt?rev={rev}",
        "/diff/poem.txt?from={rev}&to={tip}",
        "/diff/poem.txt?from={tip}&to={rev}",
        "/commit/{rev}",
        "/restore/poem.txt?rev={rev}",
    ],
)
def test_unknown_revision_is_404_naming_it(poem, url):
    client, _, _, second = poem

    page = client.get(url.format(rev=MISSING, tip=second))

    assert page.status_code == 404
    assert f"revision {MISSING} not found" in error_text(page).lower()
    assert parse(page.data).one("section", class_="error-page").find("a") is not None


@pytest.mark.parametrize(
    "rev", ["nope", "a..b", "--output=x", "HEAD~1", "main^{tree}", "-n", "a b", "%00"]
)
def test_odd_revisions_are_404_on_every_page(poem, rev):
    client, _, _, second = poem
    for url in (
        "/history/poem.txt",
        "/commit/x",
        "/diff/poem.txt",
        "/restore/poem.txt",
    ):
        query = {"rev": rev, "from": rev, "to": second}
        target = url.replace("x", rev) if url == "/commit/x" else url
        page = client.get(target, query_string=query)
        assert page.status_code == 404, (target, rev)
        assert "revision" in error_text(page).lower()


def test_an_object_that_is_not_a_commit_is_no_revision(poem):
    client, repo, _, second = poem
    tree = gitutil.git(repo, "rev-parse", f"{second}^{{tree}}").strip()
    file = gitutil.git(repo, "rev-parse", f"{second}:poem.txt").strip()

    for rev in (tree, file):
        assert client.get(f"/commit/{rev}").status_code == 404
        assert client.get(f"/blob/poem.txt?rev={rev}").status_code == 404


def test_a_file_missing_at_a_revision_is_404_saying_which(poem):
    client, _, first, _ = poem

    page = client.get(f"/blob/nowhere.txt?rev={first}")

    assert page.status_code == 404
    assert error_text(page) == "nowhere.txt not found."
    missing = client.get("/history/nowhere.txt")
    assert missing.status_code == 404
    assert error_text(missing) == "nowhere.txt has no history on this branch."


# Old versions ------------------------------------------------------------


def test_old_version_has_a_banner_a_restore_button_and_no_edit(poem):
    client, _, first, _ = poem

    page = parse(client.get(f"/blob/poem.txt?rev={first}").data)

    banner = page.one("p", class_="banner")
    assert first[:7] in banner.text()
    assert banner.one("a").get("href") == "/blob/poem.txt"
    actions = {
        a.text(): a.get("href") for a in page.one("nav", class_="actions").find_all("a")
    }
    assert actions["Restore this version"] == f"/restore/poem.txt?rev={first}"
    assert actions["Raw"] == f"/raw/poem.txt?rev={first}"
    assert "Edit" not in actions
    assert "line 3 of the quiet poem" in page.one("div", class_="code").text()


def test_old_version_raw_has_the_old_bytes(poem):
    client, repo, first, _ = poem

    raw = client.get(f"/raw/poem.txt?rev={first[:8]}")

    assert raw.data == blob(repo, first, "poem.txt")


def test_old_folder_version_links_stay_at_that_revision(poem):
    client, _, first, _ = poem

    page = parse(client.get(f"/?rev={first}").data)

    assert first[:7] in page.one("p", class_="banner").text()
    hrefs = [a.get("href") for a in page.find_all("a", class_="entry")]
    assert f"/blob/poem.txt?rev={first}" in hrefs


def test_restore_confirmation_needs_a_post_with_a_token(poem):
    client, repo, first, _ = poem
    before = tip(repo)

    page = client.get(f"/restore/poem.txt?rev={first}")
    _, fields = form_fields(page)
    fields.pop("csrf_token")
    refused = client.post("/restore/poem.txt", data=fields)

    assert refused.status_code == 400
    assert tip(repo) == before
