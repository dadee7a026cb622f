"""Search: names, descriptions and contents at the tip, as page, fragment and API."""

from urllib.parse import unquote_to_bytes

import pytest

from tests import gitutil
from tests.conftest import HX
from tests.htmlutil import parse
from vcsweb import descriptions
from vcsweb.gitstore import Repository
from vcsweb.gitstore.grep import MAX_FILE_BYTES, MAX_LINE_BYTES
from vcsweb.search import service

LATIN1_NAME = b"caf\xe9-menu.txt"
FILES = {
    "README.md": "# Handbook\n\nHow to deploy the handbook site.\n",
    "src/deploy.py": "def deploy():\n    return 'DEPLOY now'\n",
    "src/app.py": "print('hello')\n",
    "notes/100% done.txt": "progress report\n",
    "notes/C# tips #1.txt": "sharp notes\n",
    "notes/space name.txt": "with a space\n",
    "notes/plain.txt": "nothing to see\n",
    "escape.txt": "x < y; lt and a &amp; b\n",
    "xss.html": "<script>alert('xss-needle')</script>\n",
    "image.bin": b"\x89PNG\x00\x01 binary-needle \x00\xff\n",
    "latin1.txt": b"price: 5\xe9 latin-needle\n",
    LATIN1_NAME: "menu of the day\n",
    "gone.txt": "zebra crossing\n",
}


@pytest.fixture(scope="module")
def search_repo(tmp_path_factory):
    """A repository with odd names, a binary file and a file deleted at the tip."""
    path = tmp_path_factory.mktemp("search") / "work"
    gitutil.make_repo(path, FILES)
    gitutil.commit_files(path, {"gone.txt": None}, "Delete gone.txt")
    return path


@pytest.fixture
def app(make_app, search_repo):
    app = make_app(search_repo)
    describe(app, "README.md", "Start here: how the handbook is deployed")
    describe(app, "src", "Sources of the deploy tooling")
    describe(app, "notes/plain.txt", "Reviewed 100% by the team")
    describe(app, "notes/space name.txt", "Notes with under_scores")
    describe(app, "src/app.py", "A line with <img src=x onerror=alert(1)> xss-needle")
    describe(app, "gone.txt", "zebra stripes of a deleted file")
    return app


def describe(app, path: str, text: str) -> None:
    """Save a description as the admin would (even for a file no longer there)."""
    with app.app_context():
        descriptions.save(path, text, None, "admin")


def results(response) -> dict[str, list[str]]:
    """Return, per kind shown, the text of each hit's link (and line)."""
    assert response.status_code == 200, response.data[:500]
    found = {}
    for section in parse(response.data).find_all("section", class_="search-group"):
        kind = section.get("id").removeprefix("results-")
        if kind == "contents":
            found[kind] = [
                f"{li.one('a', class_='entry').text()}:{line.one('span').text()}"
                for li in section.find_all("li")
                if li.find("a", class_="entry")
                for line in li.find_all("a")
                if line.find("span", class_="lineno")
            ]
        else:
            found[kind] = [a.text() for a in section.find_all("a", class_="entry")]
    return found


def test_finds_a_file_by_name_description_and_content(client):
    found = results(client.get("/search?q=deploy"))

    assert found["names"] == ["src/deploy.py"]
    assert found["descriptions"] == ["README.md", "src/"]
    assert found["contents"] == ["README.md:3", "src/deploy.py:1", "src/deploy.py:2"]


def test_hits_link_to_the_file_and_content_hits_to_their_line(client):
    page = parse(client.get("/search?q=deploy").data)

    names = page.one("section", id="results-names")
    assert names.one("a", class_="entry").get("href") == "/blob/src/deploy.py"
    descriptions_ = page.one("section", id="results-descriptions")
    links = [a.get("href") for a in descriptions_.find_all("a", class_="entry")]
    assert links == ["/blob/README.md", "/tree/src"]
    lines = page.one("section", id="results-contents").find_all(
        "ol", class_="search-lines"
    )
    hrefs = [a.get("href") for ol in lines for a in ol.find_all("a")]
    # Markdown is shown rendered, without line numbers; its source view has them.
    assert hrefs == [
        "/blob/README.md?view=source#L-3",
        "/blob/src/deploy.py#L-1",
        "/blob/src/deploy.py#L-2",
    ]


def test_a_content_hit_links_to_a_line_the_file_page_has(client):
    page = client.get("/blob/src/deploy.py")

    assert b'id="L-2"' in page.data


def test_matches_are_highlighted_in_every_kind(client):
    html = client.get("/search?q=deploy").get_data(as_text=True)

    assert "src/<mark>deploy</mark>.py" in html
    assert "how the handbook is <mark>deploy</mark>ed" in html
    assert "return &#39;<mark>DEPLOY</mark> now&#39;" in html


def test_search_ignores_case(client):
    lower = results(client.get("/search?q=deploy"))
    upper = results(client.get("/search?q=DePlOy"))

    assert upper == lower
    assert upper["contents"][-1] == "src/deploy.py:2"


def test_names_are_shown_with_their_description(client):
    page = parse(client.get("/search?q=app.py").data)

    hit = page.one("section", id="results-names").one("li")
    assert hit.one("a", class_="entry").text() == "src/app.py"
    assert "xss-needle" in hit.one("span", class_="desc-text").text()


def test_wildcards_in_the_query_are_plain_characters(client):
    percent = results(client.get("/search?q=100%25"))
    underscore = results(client.get("/search?q=_"))

    assert percent["names"] == ["notes/100% done.txt"]
    assert percent["descriptions"] == ["notes/plain.txt"]
    assert underscore["descriptions"] == ["notes/space name.txt"]
    assert results(client.get("/search?q=r_s"))["descriptions"] == [
        "notes/space name.txt"
    ]
    assert results(client.get("/search?q=d%25b"))["descriptions"] == []


@pytest.mark.parametrize(
    ("query", "name", "href"),
    [
        ("%25 done", "notes/100% done.txt", "/blob/notes/100%25%20done.txt"),
        ("tips %231", "notes/C# tips #1.txt", "/blob/notes/C%23%20tips%20%231.txt"),
        ("space name", "notes/space name.txt", "/blob/notes/space%20name.txt"),
        ("-menu", "caf\ufffd-menu.txt", "/blob/caf%E9-menu.txt"),
    ],
)
def test_odd_names_are_found_and_their_links_work(client, query, name, href):
    page = parse(client.get(f"/search?q={query}").data)

    link = page.one("section", id="results-names").one("a", class_="entry")
    assert link.text() == name
    assert link.get("href") == href
    # As a WSGI server passes it: the URL's bytes, percent-decoded, as latin-1.
    raw = unquote_to_bytes(href).decode("latin-1")
    assert client.get(href, environ_overrides={"PATH_INFO": raw}).status_code == 200


def test_a_file_deleted_at_the_tip_is_not_found(client, search_repo):
    # The deleted file keeps its description in the database, and its name
    # and content in the history.
    assert "zebra" in gitutil.git(search_repo, "show", "HEAD~1:gone.txt")

    found = results(client.get("/search?q=zebra"))

    assert found == {"names": [], "descriptions": [], "contents": []}
    assert results(client.get("/search?q=gone"))["names"] == []


def test_binary_files_are_not_searched_for_contents(client):
    assert results(client.get("/search?q=binary-needle"))["contents"] == []
    assert results(client.get("/search?q=image.bin"))["names"] == ["image.bin"]


def test_lines_that_are_not_utf8_are_shown_readably(client):
    html = client.get("/search?q=latin-needle").get_data(as_text=True)

    assert "price: 5\ufffd <mark>latin-needle</mark>" in html


def test_script_in_content_and_description_is_shown_as_text(client):
    response = client.get("/search?q=xss-needle")
    html = response.get_data(as_text=True)

    assert results(response)["contents"] == ["xss.html:1"]
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#39;<mark>xss-needle</mark>&#39;)&lt;/script&gt;" in html
    )
    assert "&lt;img src=x onerror=alert(1)&gt; <mark>xss-needle</mark>" in html


def test_a_query_with_markup_is_escaped_everywhere(client):
    html = client.get("/search?q=<b>x</b>").get_data(as_text=True)

    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_match_is_never_marked_inside_an_escaped_character(client):
    html = client.get("/search?q=lt", headers=HX).get_data(as_text=True)

    assert "x &lt; y; <mark>lt</mark> and a &amp;amp; b" in html
    assert "&<mark>" not in html


def test_one_character_searches_names_and_descriptions_but_not_contents(client):
    page = parse(client.get("/search?q=%23").data)

    names = page.one("section", id="results-names")
    assert [a.text() for a in names.find_all("a", class_="entry")] == [
        "notes/C# tips #1.txt"
    ]
    contents = page.one("section", id="results-contents")
    assert "at least 2 characters" in contents.text()
    assert contents.find("ol") is None


def test_one_character_on_the_contents_tab_shows_only_the_hint(client):
    for headers in ({}, HX):
        response = client.get("/search?q=a&kind=contents", headers=headers)

        found = parse(response.data).one(id="search-results")
        assert response.status_code == 200
        assert "Nothing matches" not in found.text()
        assert found.find("p", class_="search-summary") is None
        contents = found.one("section", id="results-contents")
        assert contents.one("p", class_="search-none").text() == (
            "Type at least 2 characters to search inside files."
        )


def test_an_empty_query_shows_help_and_searches_nothing(client):
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        page = parse(client.get(url).data)
        assert page.find("section", class_="search-group") is None
        assert "Find files by their name" in page.one(id="search-results").text()


def test_an_over_long_query_is_refused_with_a_reason(client):
    query = "x" * 201

    page = client.get(f"/search?q={query}")
    fragment = client.get(f"/search?q={query}", headers=HX)

    assert page.status_code == 400
    assert "at most 200 characters" in parse(page.data).one("p", class_="error").text()
    assert parse(page.data).one("input", id="search-q").get("value") == query
    assert fragment.status_code == 400
    assert fragment.data.startswith(b'<div id="search-results"')
    assert b"at most 200 characters" in fragment.data
    assert client.get(f"/search?q={'x' * 200}").status_code == 200


def test_an_unknown_kind_is_refused(client):
    response = client.get("/search?q=deploy&kind=everything")

    assert response.status_code == 400
    assert b"Unknown kind" in response.data


def test_htmx_gets_the_results_alone_and_a_browser_the_page(client):
    fragment = client.get("/search?q=deploy", headers=HX)
    page = client.get("/search?q=deploy")
    restored = client.get(
        "/search?q=deploy", headers={**HX, "HX-History-Restore-Request": "true"}
    )

    assert fragment.data.startswith(b'<div id="search-results"')
    assert b"<html" not in fragment.data
    assert "HX-Request" in fragment.headers["Vary"]
    assert "HX-Request" in page.headers["Vary"]
    for full in (page, restored):
        tree = parse(full.data)
        box = tree.one("input", id="search-q")
        assert box.get("value") == "deploy"
        assert box.get("hx-get") == "/search"
        assert box.get("hx-target") == "#search-results"
        assert "delay:300ms" in box.get("hx-trigger")
        assert box.get("hx-push-url") == "true"
        assert tree.one("form", class_="search-form").get("action") == "/search"
        assert tree.find(id="search-results") is not None


def test_the_top_bar_has_a_search_form_that_works_without_javascript(client):
    page = parse(client.get("/").data)

    form = page.one("form", class_="topsearch")
    assert form.get("method") == "get"
    assert form.get("action") == "/search"
    assert form.one("input").get("name") == "q"


def test_an_empty_repository_has_nothing_to_search(make_app, repo_path):
    client = make_app(repo_path).test_client()

    page = client.get("/search?q=anything")
    api = client.get("/api/search?q=anything")

    assert page.status_code == 200
    assert b"Nothing to search yet" in page.data
    assert api.status_code == 200
    assert api.get_json()["revision"] is None


def test_visitors_are_sent_to_sign_in(app):
    visitor = app.test_client(user=None)

    assert visitor.get("/search?q=deploy").status_code == 302
    assert visitor.get("/api/search?q=deploy").status_code == 401


def test_a_viewer_can_search(app):
    viewer = app.test_client(user="viewer")

    assert results(viewer.get("/search?q=deploy"))["names"] == ["src/deploy.py"]


# Pagination and caps -----------------------------------------------------


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory):
    """120 files named page-NNN.txt, each with one match; six with 100 matches."""
    path = tmp_path_factory.mktemp("search-big") / "work"
    files = {f"pages/page-{i:03}.txt": "one paging-needle here\n" for i in range(120)}
    many = "".join(f"line {n} flood-needle\n" for n in range(100))
    files |= {f"flood/f{i}.txt": many for i in range(6)}
    gitutil.make_repo(path, files)
    return path


@pytest.fixture
def big(make_app, big_repo):
    return make_app(big_repo).test_client()


def test_one_kind_is_paged_fifty_at_a_time(big):
    first = parse(big.get("/search?q=paging-needle&kind=contents").data)
    last = parse(big.get("/search?q=paging-needle&kind=contents&page=3").data)

    assert len(first.find_all("ol", class_="search-lines")) == 50
    assert "Page 1 of 3" in first.one("nav", class_="pager").text()
    assert first.one("a", rel="next").get("href") == (
        "/search?q=paging-needle&kind=contents&page=2"
    )
    assert first.find("section", id="results-names") is None
    assert len(last.find_all("ol", class_="search-lines")) == 20
    names = [a.text() for a in last.find_all("a", class_="entry")]
    assert names[0] == "pages/page-100.txt"
    assert names[-1] == "pages/page-119.txt"


def test_all_kinds_show_a_few_hits_each_and_link_to_the_rest(big):
    page = parse(big.get("/search?q=page-").data)

    names = page.one("section", id="results-names")
    assert len(names.find_all("a", class_="entry")) == 10
    assert names.one("span", class_="count").text() == "120"
    more = names.one("p", class_="search-more").one("a")
    assert more.get("href") == "/search?q=page-&kind=names"
    assert "120" in more.text()


def test_content_search_stops_at_its_cap_and_says_so(big):
    page = parse(big.get("/search?q=flood-needle&kind=contents").data)

    contents = page.one("section", id="results-contents")
    assert contents.one("span", class_="count").text() == "500+"
    assert "More than 500 matching lines" in contents.text()
    assert "Refine the search" in contents.text()
    assert "Page 1 of 10" in contents.one("nav", class_="pager").text()


def test_a_page_past_the_end_shows_the_last_page(big):
    page = parse(big.get("/search?q=page-&kind=names&page=99").data)

    assert "Page 3 of 3" in page.one("nav", class_="pager").text()


# The JSON API ------------------------------------------------------------


def test_api_groups_results_by_kind_with_lines_and_ranges(client, search_repo):
    response = client.get("/api/search?q=DEPLOY")

    assert response.status_code == 200
    body = response.get_json()
    assert body["query"] == "DEPLOY"
    assert body["kind"] == "all"
    assert body["revision"] == gitutil.git(search_repo, "rev-parse", "HEAD").strip()
    assert body["names"]["total"] == 1
    assert body["names"]["results"] == [
        {
            "path": "src/deploy.py",
            "type": "file",
            "description": "",
            "ranges": [[4, 10]],
        }
    ]
    assert [r["path"] for r in body["descriptions"]["results"]] == ["README.md", "src"]
    assert body["descriptions"]["results"][1]["type"] == "folder"
    line = body["contents"]["results"][-1]
    assert line == {
        "path": "src/deploy.py",
        "type": "file",
        "description": "",
        "line": 2,
        "text": "    return 'DEPLOY now'",
        "truncated": False,
        "ranges": [[12, 18]],
    }
    start, end = line["ranges"][0]
    assert line["text"][start:end] == "DEPLOY"


def test_api_pages_one_kind(big):
    body = big.get("/api/search?q=paging-needle&kind=contents&page=3").get_json()

    assert list(body) == ["query", "kind", "revision", "contents"]
    assert body["contents"]["page"] == 3
    assert body["contents"]["pages"] == 3
    assert body["contents"]["total"] == 120
    assert len(body["contents"]["results"]) == 20
    # A page past the end answers the last one and says which it is, so a
    # client paging until page == pages stops.
    beyond = big.get("/api/search?q=paging-needle&kind=contents&page=9").get_json()
    assert beyond["contents"]["page"] == beyond["contents"]["pages"] == 3
    capped = big.get("/api/search?q=flood-needle&kind=contents").get_json()
    assert capped["contents"]["more"] is True
    assert capped["contents"]["total"] == 500


def test_api_reports_non_utf8_names_readably(client):
    body = client.get("/api/search?q=-menu&kind=names").get_json()

    assert body["names"]["results"][0]["path"] == "caf\ufffd-menu.txt"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "?q="),
        ("q=" + "x" * 201, "at most 200"),
        ("q=a%0Ab", "one line"),
        ("q=deploy&kind=files", "Unknown kind"),
    ],
)
def test_api_errors_are_json_with_status_400(client, query, message):
    response = client.get(f"/api/search?{query}")

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert message in response.get_json()["error"]


# The git side ------------------------------------------------------------


def test_grep_reads_a_bare_repository_and_odd_names(tmp_path):
    work = gitutil.make_repo(
        tmp_path / "work",
        {"we\nird.txt": "odd-needle\n", "-rf": "odd-needle too\n", "plain": "no\n"},
    )
    bare = gitutil.bare_clone(work, tmp_path / "bare.git")

    with Repository(str(bare)) as repo:
        found = repo.grep(repo.tip(), "ODD-NEEDLE", 10)

    assert [(m.path, m.number, m.text) for m in found.lines] == [
        ("-rf", 1, b"odd-needle too"),
        ("we\nird.txt", 1, b"odd-needle"),
    ]
    assert not found.more


def test_grep_leaves_out_files_too_large_to_read(tmp_path):
    large = b"large-needle\n" + b"x" * MAX_FILE_BYTES
    work = gitutil.make_repo(
        tmp_path / "work", {"big.log": large, "small.txt": "large-needle\n"}
    )

    with Repository(str(work)) as repo:
        found = repo.grep(repo.tip(), "large-needle", 10)

    assert [m.path for m in found.lines] == ["small.txt"]
    assert found.skipped == 1


def test_the_page_says_which_files_were_too_large(make_app, tmp_path):
    large = b"large-needle\n" + b"x" * MAX_FILE_BYTES
    work = gitutil.make_repo(tmp_path / "work", {"big.log": large})
    client = make_app(work).test_client()

    page = parse(client.get("/search?q=large-needle").data)

    contents = page.one("section", id="results-contents")
    assert "1 file larger than 4.0 MB was not searched" in contents.text()


def test_a_very_long_line_is_cut_around_its_match(tmp_path):
    line = "a" * 50_000 + "long-needle" + "b" * 50_000
    work = gitutil.make_repo(tmp_path / "work", {"min.js": line + "\n"})

    with Repository(str(work)) as repo:
        (match,) = repo.grep(repo.tip(), "long-needle", 10).lines

    assert len(match.text) == MAX_LINE_BYTES
    assert b"long-needle" in match.text
    assert match.cut_before and match.cut_after
    hit = service.Hit(
        "min.js",
        "file",
        match.text.decode(),
        service.ranges(match.text.decode(), "long-needle"),
    )
    shown = str(hit.snippet)
    assert shown.startswith("…") and shown.endswith("…")
    assert "<mark>long-needle</mark>" in shown
    assert len(shown) < service.SNIPPET + 40


def test_names_are_found_anywhere_below_the_root(tmp_path):
    work = gitutil.make_repo(
        tmp_path / "work",
        {"a/b/c/Deep-Report.txt": "x\n", "report.md": "x\n", "reports/x.txt": "x\n"},
    )

    with Repository(str(work)) as repo:
        found = repo.find_names(repo.tip(), "REPORT", 2)

    assert found.total == 3
    assert found.paths == ["a/b/c/Deep-Report.txt", "report.md"]


def test_existing_tells_files_from_folders_and_drops_the_missing(tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"docs/a.txt": "x\n"})

    with Repository(str(work)) as repo:
        found = repo.existing(repo.tip(), ["docs", "docs/a.txt", "gone.txt"])

    assert found == {"docs": "folder", "docs/a.txt": "file"}


def test_contents_come_from_the_tip_not_the_working_tree(make_app, tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"a.txt": "committed-needle\n"})
    (work / "a.txt").write_text("uncommitted-needle\n")
    client = make_app(work).test_client()

    committed = results(client.get("/search?q=committed-needle"))
    uncommitted = results(client.get("/search?q=uncommitted-needle"))

    assert committed["contents"] == ["a.txt:1"]
    assert uncommitted["contents"] == []


def test_a_search_out_of_time_keeps_what_it_found_and_says_so(tmp_path):
    work = gitutil.make_repo(tmp_path / "work", {"a.txt": "slow-needle\n"})

    with Repository(str(work)) as repo:
        tip = repo.tip()
        repo.find_names(tip, "a", 10)
        repo.timeout = 0
        found = repo.grep(tip, "slow-needle", 10)

    assert found.timed_out
    assert found.lines == []


def test_the_kind_chosen_stays_while_typing(client):
    page = parse(client.get("/search?q=deploy&kind=contents").data)

    assert page.one("input", id="search-kind").get("value") == "contents"
    assert page.one("input", id="search-q").get("hx-include") == "#search-kind"
    tabs = page.one("nav", class_="search-tabs")
    assert tabs.one("a", aria_current="page").text() == "Contents"
    assert page.find("section", id="results-names") is None
