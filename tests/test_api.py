"""The JSON API: folder listings, one entry, saving a description."""

import json
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from tests import gitutil
from tests.conftest import HX
from tests.htmlutil import parse
from vcsweb.extensions import db
from vcsweb.models import FileMeta

GRACE = {
    "GIT_AUTHOR_NAME": "Grace Hopper",
    "GIT_AUTHOR_EMAIL": "grace@example.com",
    "GIT_AUTHOR_DATE": "2021-06-07T08:09:10-04:00",
}
ODD_NAMES = [
    "100%.txt",
    "C#.md",
    "what?.txt",
    "a+b.txt",
    "space name.txt",
    "ifcfg-eth1%3A1",
    "a%2Fb.txt",
    "%2e%2e.txt",
    "x y#z?/in & out.txt",
]


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "api"
    gitutil.init(path)
    gitutil.commit_files(path, {"docs/api.md": "# API\n"}, "Start the docs")
    gitutil.commit_files(path, {"a.txt": "alpha\n"}, "Add alpha\n\nLong body.", **GRACE)
    return path


@pytest.fixture
def app(make_app, repo):
    return make_app(repo)


@pytest.fixture
def api(app):
    return app.test_client()


def rows_stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(FileMeta))


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


# Reading -----------------------------------------------------------------


def test_list_root_gives_entries_with_their_facts(api, repo):
    listing = api.get("/api/files")

    assert listing.status_code == 200
    body = listing.get_json()
    assert body["path"] == ""
    assert body["revision"] == gitutil.git(repo, "rev-parse", "HEAD").strip()
    by_path = {e["path"]: e for e in body["entries"]}
    assert list(by_path) == ["docs", "a.txt"]
    alpha = by_path["a.txt"]
    assert alpha == {
        "path": "a.txt",
        "name": "a.txt",
        "type": "file",
        "size": 6,
        "revision": gitutil.git(
            repo, "log", "-1", "--format=%H", "--", "a.txt"
        ).strip(),
        "author": "Grace Hopper",
        "date": "2021-06-07T08:09:10-04:00",
        "message": "Add alpha",
        "description": "",
        "version": 0,
        "status": "committed",
    }
    docs = by_path["docs"]
    assert docs["type"] == "folder"
    assert docs["size"] is None
    assert docs["message"] == "Start the docs"


def test_list_a_subfolder(api):
    body = api.get("/api/files?path=docs").get_json()

    assert body["path"] == "docs"
    assert [e["path"] for e in body["entries"]] == ["docs/api.md"]


def test_list_of_an_unknown_folder_is_404(api):
    assert_json_error(api.get("/api/files?path=nope"), 404)


def test_one_entry_has_an_etag(api):
    entry = api.get("/api/files/docs/api.md")

    assert entry.status_code == 200
    assert entry.headers["ETag"] == '"v0"'
    assert entry.get_json()["path"] == "docs/api.md"
    assert entry.get_json()["type"] == "file"


def test_unknown_entry_is_404(api):
    assert_json_error(api.get("/api/files/nope.txt"), 404)


# Saving ------------------------------------------------------------------


def test_put_saves_and_returns_the_entry(api):
    saved = api.put("/api/files/a.txt", json={"description": "The first letter"})

    assert saved.status_code == 200
    assert saved.headers["ETag"] == '"v1"'
    body = saved.get_json()
    assert body["path"] == "a.txt"
    assert body["description"] == "The first letter"
    assert body["version"] == 1
    assert body["author"] == "Grace Hopper"
    again = api.get("/api/files/a.txt")
    assert again.get_json()["description"] == "The first letter"
    assert again.headers["ETag"] == '"v1"'


def test_saved_description_shows_on_the_folder_page(api):
    api.put("/api/files/docs", json={"description": "Everything written down"})

    page = parse(api.get("/").data)

    row = page.one("table", class_="entries").find("tbody").find("tr")
    assert row.one("div", class_="desc").text() == "Everything written down"


def test_stale_version_is_409_with_the_current_description(api, app):
    api.put("/api/files/a.txt", json={"description": "First"})

    stale = api.put("/api/files/a.txt", json={"description": "Late", "version": 0})

    body = assert_json_error(stale, 409)
    assert body["current"]["description"] == "First"
    assert body["current"]["version"] == 1
    assert api.get("/api/files/a.txt").get_json()["description"] == "First"

    fresh = api.put("/api/files/a.txt", json={"description": "Late", "version": 1})
    assert fresh.status_code == 200
    assert fresh.get_json()["version"] == 2


def test_stale_if_match_is_412_with_the_current_description(api):
    etag = api.get("/api/files/a.txt").headers["ETag"]
    api.put(
        "/api/files/a.txt", json={"description": "First"}, headers={"If-Match": etag}
    )

    stale = api.put(
        "/api/files/a.txt", json={"description": "Late"}, headers={"If-Match": etag}
    )

    body = assert_json_error(stale, 412)
    assert body["current"]["description"] == "First"
    assert stale.headers["ETag"] == '"v1"'
    assert api.get("/api/files/a.txt").get_json()["description"] == "First"
    fresh = api.put(
        "/api/files/a.txt",
        json={"description": "Late"},
        headers={"If-Match": stale.headers["ETag"]},
    )
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == '"v2"'


def test_if_match_that_is_no_etag_of_ours_is_412(api):
    refused = api.put(
        "/api/files/a.txt", json={"description": "x"}, headers={"If-Match": '"abc"'}
    )

    assert_json_error(refused, 412)
    assert api.get("/api/files/a.txt").get_json()["version"] == 0


def test_bad_json_is_400(api, app):
    refused = api.put(
        "/api/files/a.txt", data='{"description": ', content_type="application/json"
    )

    assert_json_error(refused, 400)
    assert rows_stored(app) == 0


WRONG_SHAPES = [
    [],
    "text",
    {},
    {"description": 5},
    {"description": None},
    {"description": "x", "version": "1"},
    {"description": "x", "version": True},
    {"description": "x", "version": 1.5},
]


def test_wrong_shapes_are_422(api, app):
    for body in WRONG_SHAPES:
        refused = api.put(
            "/api/files/a.txt", data=json.dumps(body), content_type="application/json"
        )
        assert refused.status_code == 422, body
        assert_json_error(refused, 422)

    assert rows_stored(app) == 0


def test_description_over_the_limit_is_422(api, app):
    refused = api.put("/api/files/a.txt", json={"description": "x" * 10_001})

    assert_json_error(refused, 422)
    assert rows_stored(app) == 0


def test_body_that_is_not_json_is_415(api, app):
    for content_type in ["text/plain", "application/x-www-form-urlencoded", None]:
        refused = api.put(
            "/api/files/a.txt",
            data='{"description": "x"}',
            content_type=content_type,
        )
        assert refused.status_code == 415, content_type
        assert_json_error(refused, 415)

    assert rows_stored(app) == 0


class CountingBody:
    """A request body of a given size that records how much of it was read."""

    def __init__(self, size: int):
        self.size = size
        self.taken = 0

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.taken
        n = left if n is None or n < 0 else min(n, left)
        self.taken += n
        return b" " * n

    def readline(self, n: int = -1) -> bytes:
        return self.read(n)

    def tell(self) -> int:
        return self.taken


def test_body_over_the_limit_is_413_without_reading_it(api, app):
    body = CountingBody(200 * 1024 * 1024)

    refused = api.put(
        "/api/files/a.txt",
        content_type="application/json",
        environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(body.size)},
    )

    assert_json_error(refused, 413)
    assert body.taken < 1024 * 1024
    assert rows_stored(app) == 0


def test_chunked_body_over_the_limit_is_413_without_reading_it_all(api, app):
    body = CountingBody(50 * 1024 * 1024)

    refused = api.put(
        "/api/files/a.txt",
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True},
    )

    assert_json_error(refused, 413)
    assert body.taken < 1024 * 1024
    assert rows_stored(app) == 0


def test_body_a_little_over_the_limit_is_413(api, app):
    text = json.dumps({"description": "x" * (300 * 1024)})

    refused = api.put("/api/files/a.txt", data=text, content_type="application/json")

    assert_json_error(refused, 413)
    assert rows_stored(app) == 0


def test_put_for_an_unknown_path_is_404_and_stores_nothing(api, app):
    refused = api.put("/api/files/nope.txt", json={"description": "Ghost"})

    assert_json_error(refused, 404)
    assert rows_stored(app) == 0


def test_other_errors_are_json_too(api):
    for method, url, status in [
        ("PATCH", "/api/files/a.txt", 405),
        ("GET", "/api/nothing-here", 404),
        ("POST", "/api/files/a.txt", 405),
    ]:
        response = api.open(url, method=method, json={})
        assert response.status_code == status, (method, url)
        assert_json_error(response, status)


# Paths that try to leave the repository ----------------------------------

TRAVERSALS = [
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e/x",
    ".git/config",
    ".GIT/config",
    ".Git/HEAD",
    "docs/..%2F..%2Fa.txt",
    "docs/./api.md",
    "a.txt%00.md",
]


def test_paths_outside_the_files_are_refused_by_the_api(api, app):
    for path in TRAVERSALS:
        read = api.get("/api/files/" + path)
        write = api.put("/api/files/" + path, json={"description": "pwned"})

        assert read.status_code in {400, 404}, path
        assert_json_error(read, read.status_code)
        assert write.status_code in {400, 404}, path
        assert_json_error(write, write.status_code)
        assert b"root:" not in read.data

    assert rows_stored(app) == 0


def test_paths_outside_the_files_are_refused_by_pages(api):
    for path in TRAVERSALS:
        for prefix in ("/raw/", "/blob/", "/tree/", "/meta-edit/"):
            response = api.get(prefix + path)
            assert response.status_code in {400, 404}, prefix + path
            assert b"root:" not in response.data
            assert b"[core]" not in response.data


def test_listing_outside_the_files_is_refused(api):
    for folder in ["../../etc", ".git", "docs/../..", "/etc"]:
        refused = api.get("/api/files", query_string={"path": folder})
        assert refused.status_code in {400, 404}, folder
        assert_json_error(refused, refused.status_code)


# Names with URL characters -----------------------------------------------


@pytest.fixture
def odd(make_app, tmp_path):
    files = {name: f"content of {name}\n" for name in ODD_NAMES}
    files["a/b.txt"] = "the real a/b\n"
    files["_.txt"] = "decoy\n"
    repo = gitutil.make_repo(tmp_path / "odd", files)
    return make_app(repo)


def test_odd_names_resolve_from_the_listing(odd):
    web = odd.test_client()

    for name in ODD_NAMES:
        folder, _, base = name.rpartition("/")
        listing = web.get("/tree/" + quote(folder) if folder else "/")
        links = {
            a.text(): a.get("href")
            for a in parse(listing.data).find_all("a", class_="entry")
        }
        href = links[base]
        assert href == "/blob/" + quote(name)
        page = web.get(href)
        assert page.status_code == 200, name
        assert parse(page.data).one("h1").text() == base
        raw = web.get("/raw/" + quote(name))
        assert raw.status_code == 200, name
        assert raw.data == f"content of {name}\n".encode()


def test_odd_folder_pages_and_breadcrumbs_resolve(odd):
    web = odd.test_client()

    page = web.get("/tree/" + quote("x y#z?"))

    assert page.status_code == 200
    crumbs = parse(page.data).one("nav", class_="crumbs")
    assert crumbs.one(aria_current="page").text() == "x y#z?"
    file_page = parse(web.get("/blob/" + quote("x y#z?/in & out.txt")).data)
    folder_link = file_page.one("nav", class_="crumbs").find_all("a")[-1]
    assert folder_link.get("href") == "/tree/" + quote("x y#z?")
    assert web.get(folder_link.get("href")).status_code == 200


def test_odd_names_take_descriptions_through_the_api(odd):
    web = odd.test_client()

    for name in ODD_NAMES:
        saved = web.put(
            "/api/files/" + quote(name, safe=""), json={"description": f"about {name}"}
        )
        assert saved.status_code == 200, name
        assert saved.get_json()["path"] == name

    root = {
        e["path"]: e["description"] for e in web.get("/api/files").get_json()["entries"]
    }
    for name in ODD_NAMES:
        if "/" not in name:
            assert root[name] == f"about {name}"
    assert root["a"] == ""
    assert root["_.txt"] == ""
    inner = web.get("/api/files", query_string={"path": "a"}).get_json()["entries"]
    assert inner[0]["path"] == "a/b.txt"
    assert inner[0]["description"] == ""
    nested = web.get("/api/files/" + quote("x y#z?/in & out.txt")).get_json()
    assert nested["description"] == "about x y#z?/in & out.txt"


def test_odd_names_open_their_own_description_editor(odd):
    web = odd.test_client()
    page = parse(web.get("/").data)

    for row in page.one("table", class_="entries").find("tbody").find_all("tr"):
        name = row.find("a", class_="entry").text().rstrip("/")
        edit = row.one("div", class_="desc").one("a").get("hx-get")
        form = web.get(edit, headers=HX)
        assert form.status_code == 200, name
        label = parse(form.data).one("label").text()
        assert label == f"Description of {name}"
