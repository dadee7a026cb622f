"""The JSON API for versions: history, content, diffs, the log, and changes."""

from urllib.parse import quote

import pytest

from tests import gitutil
from tests.versionutil import Importer, blob, count, names, tip

GRACE = "Grace Hopper <grace@example.com>"


@pytest.fixture
def repo(tmp_path):
    """A bare repository: notes.txt in three versions, renamed, a binary, a log."""
    path = gitutil.init(tmp_path / "api.git", bare=True)
    build = Importer()
    body = "".join(f"point {n}\n" for n in range(1, 9))
    for n, word in enumerate(("first", "second", "third"), 1):
        build.commit({"notes.txt": f"{body}{word} draft\n"}, f"Notes, draft {n}\n")
    build.commit(
        {"notes.txt": None, "docs/notes.md": f"{body}third draft\n"},
        "Move the notes\n",
        author=GRACE,
    )
    build.commit(
        {"docs/notes.md": f"{body}fourth draft\n", "logo.bin": b"\0\1\2" * 100},
        "Fourth draft and a logo\n",
        author=GRACE,
    )
    build.run(path)
    return path


@pytest.fixture
def api(make_app, repo):
    return make_app(repo).test_client()


def ids(repo, *args: str) -> list[str]:
    return gitutil.git(repo, "log", "--format=%H", *args).split()


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"]
    assert body["error"]
    return body["error"]


# Reading -----------------------------------------------------------------


def test_history_follows_the_rename(api, repo):
    found = api.get("/api/history/docs/notes.md")

    assert found.status_code == 200
    body = found.get_json()
    assert body["path"] == "docs/notes.md"
    assert body["has_more"] is False
    revisions = body["revisions"]
    assert [r["revision"] for r in revisions] == ids(
        repo, "--follow", "main", "--", "docs/notes.md"
    )
    assert [(r["status"], r["path"], r["old_path"]) for r in revisions] == [
        ("modified", "docs/notes.md", None),
        ("renamed", "docs/notes.md", "notes.txt"),
        ("modified", "notes.txt", None),
        ("modified", "notes.txt", None),
        ("added", "notes.txt", None),
    ]
    assert revisions[0]["author"] == "Grace Hopper"
    assert revisions[0]["message"] == "Fourth draft and a logo"
    assert revisions[0]["parents"] == [revisions[1]["revision"]]


def test_history_pages_hold_fifty(make_app, tmp_path):
    path = gitutil.init(tmp_path / "long.git", bare=True)
    build = Importer()
    for n in range(55):
        build.commit({"a.txt": f"{n}\n"}, f"Version {n}\n")
    build.run(path)
    api = make_app(path).test_client()

    first = api.get("/api/history/a.txt").get_json()
    second = api.get("/api/history/a.txt?page=2").get_json()

    assert (len(first["revisions"]), first["has_more"]) == (50, True)
    assert (len(second["revisions"]), second["has_more"]) == (5, False)
    assert [r["revision"] for r in first["revisions"] + second["revisions"]] == ids(
        path, "main"
    )


def test_history_of_an_unknown_path_or_revision_is_404(api):
    assert "nowhere.txt" in assert_error(api.get("/api/history/nowhere.txt"), 404)
    missing = "0" * 40
    message = assert_error(api.get(f"/api/history/notes.txt?rev={missing}"), 404)
    assert f"revision {missing} not found" in message.lower()


def test_content_at_the_tip_and_at_an_old_revision(api, repo):
    now = api.get("/api/content/docs/notes.md").get_json()
    first = ids(repo, "main")[-1]
    then = api.get(f"/api/content/notes.txt?rev={first}").get_json()

    assert now["revision"] == tip(repo)
    assert now["text"].endswith("fourth draft\n")
    assert now["encoding"] == "UTF-8"
    assert now["binary"] is False
    assert now["size"] == len(blob(repo, "main", "docs/notes.md"))
    assert now["raw"] == f"/raw/docs/notes.md?rev={tip(repo)}"
    assert then["revision"] == first
    assert then["text"].endswith("first draft\n")
    assert api.get(then["raw"]).data == blob(repo, first, "notes.txt")


def test_content_of_a_binary_file_has_no_text(api):
    found = api.get("/api/content/logo.bin").get_json()

    assert found["binary"] is True
    assert found["text"] is None
    assert found["encoding"] is None
    assert found["size"] == 300


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/api/content/notes.txt", "notes.txt not found"),
        ("/api/content/docs", "docs is a folder"),
        ("/api/content/docs/notes.md?rev=nope", "revision nope not found"),
        ("/api/content/docs/notes.md?rev=a..b", "not a valid revision name"),
    ],
)
def test_content_errors_are_404_json(api, url, says):
    assert says in assert_error(api.get(url), 404).lower()


def test_diff_between_two_revisions(api, repo):
    newest, older = ids(repo, "main")[:2]

    found = api.get(f"/api/diff/docs/notes.md?from={older}&to={newest}")

    files = found.get_json()["files"]
    assert len(files) == 1
    change = files[0]
    assert (change["status"], change["added"], change["removed"]) == ("modified", 1, 1)
    lines = [
        (line["kind"], line["old"], line["new"], line["text"])
        for line in change["hunks"][0]["lines"]
        if line["kind"] != "context"
    ]
    assert lines == [
        ("del", 9, None, "third draft"),
        ("add", None, 9, "fourth draft"),
    ]


def test_diff_shows_a_rename_and_a_binary_change(api, repo):
    first = ids(repo, "main")[-1]

    renamed = api.get(f"/api/diff/docs/notes.md?from={first}").get_json()["files"]
    binary = api.get(f"/api/diff/logo.bin?from={first}").get_json()["files"]

    assert [(f["status"], f["old_path"], f["new_path"]) for f in renamed] == [
        ("renamed", "notes.txt", "docs/notes.md")
    ]
    assert binary == [
        {
            "old_path": None,
            "new_path": "logo.bin",
            "status": "added",
            "added": 0,
            "removed": 0,
            "binary": True,
            "old_size": None,
            "new_size": 300,
            "suppressed": None,
            "hunks": [],
        }
    ]


def test_diff_with_an_unknown_revision_is_404(api):
    assert (
        "revision" in assert_error(api.get("/api/diff/notes.txt?from=zzz"), 404).lower()
    )
    assert (
        "revision" in assert_error(api.get("/api/diff/notes.txt?to=--all"), 404).lower()
    )


def test_commits_with_filters_and_one_commit(api, repo):
    every = api.get("/api/commits").get_json()
    by_grace = api.get("/api/commits?author=grace").get_json()
    in_docs = api.get("/api/commits?path=docs").get_json()

    assert [c["revision"] for c in every["commits"]] == ids(repo, "main")
    assert every["has_more"] is False
    assert [c["revision"] for c in by_grace["commits"]] == ids(
        repo, "main", "--author=grace"
    )
    assert [c["revision"] for c in in_docs["commits"]] == ids(
        repo, "main", "--", "docs"
    )
    one = api.get(f"/api/commits/{tip(repo)[:9]}").get_json()
    assert one["revision"] == tip(repo)
    assert one["message"] == "Fourth draft and a logo"
    assert sorted(f["new_path"] for f in one["files"]) == ["docs/notes.md", "logo.bin"]


def test_unknown_commit_is_404_json(api):
    assert "not found" in assert_error(api.get("/api/commits/" + "f" * 40), 404)
    assert "revision" in assert_error(api.get("/api/commits/-p"), 404).lower()


# Writing -----------------------------------------------------------------


def put(api, path: str, data: bytes, **query):
    return api.put(
        "/api/content/" + quote(path),
        data=data,
        query_string=query,
        content_type="application/octet-stream",
    )


def test_put_of_raw_bytes_reads_back_identical(api, repo):
    data = bytes(range(256)) * 3 + b"\r\n\r\x00\xff end"

    done = put(api, "data/blob.bin", data, base=tip(repo), message="Add the blob")

    assert done.status_code == 201
    body = done.get_json()
    assert body["changed"] is True
    assert body["path"] == "data/blob.bin"
    assert body["commit"]["revision"] == tip(repo)
    assert body["commit"]["message"] == "Add the blob"
    assert api.get("/raw/data/blob.bin").data == data
    assert blob(repo, "main", "data/blob.bin") == data


def test_put_of_the_same_bytes_changes_nothing(api, repo):
    current = blob(repo, "main", "docs/notes.md")
    before = tip(repo)

    same = put(api, "docs/notes.md", current, base=before)

    assert same.status_code == 200
    assert same.get_json() == {"changed": False, "path": "docs/notes.md"}
    assert tip(repo) == before


def test_put_without_base_is_428(api, repo):
    before = tip(repo)

    message = assert_error(put(api, "docs/notes.md", b"x\n"), 428)

    assert "base" in message
    assert tip(repo) == before


def test_put_from_a_stale_base_is_409(api, repo):
    stale = ids(repo, "main")[1]
    before = tip(repo)

    message = assert_error(put(api, "docs/notes.md", b"mine\n", base=stale), 409)

    assert "docs/notes.md" in message
    assert tip(repo) == before


def test_put_from_a_stale_base_for_another_file_lands_on_top(api, repo):
    stale = ids(repo, "main")[1]
    before = tip(repo)

    done = put(api, "other.txt", b"other\n", base=stale)

    assert done.status_code == 201
    assert gitutil.git(repo, "rev-parse", "main~1").strip() == before


@pytest.mark.parametrize(
    ("path", "status"), [("../x.txt", 400), (".git/config", 400), ("logo.bin/x", 409)]
)
def test_put_to_a_bad_place_is_refused(api, repo, path, status):
    before = tip(repo)

    assert_error(
        api.put(f"/api/content/{path}", data=b"x", query_string={"base": before}),
        status,
    )
    assert tip(repo) == before


def test_put_with_an_unknown_base_is_404(api):
    assert_error(put(api, "a.txt", b"a", base="f" * 40), 404)


def test_delete_then_delete_again(api, repo):
    base = tip(repo)

    done = api.delete("/api/files/logo.bin", query_string={"base": base})
    again = api.delete("/api/files/logo.bin", query_string={"base": base})

    assert done.status_code == 200
    assert done.get_json()["changed"] is True
    assert "logo.bin" not in names(repo)
    assert "already deleted" in assert_error(again, 404)
    assert count(repo) == 6


def test_delete_without_base_is_428_and_from_a_stale_base_409(api, repo):
    stale = ids(repo, "main")[1]

    assert_error(api.delete("/api/files/docs/notes.md"), 428)
    assert_error(
        api.delete("/api/files/docs/notes.md", query_string={"base": stale}), 409
    )
    assert "docs/notes.md" in names(repo)
    assert_error(
        api.delete("/api/files/nowhere", query_string={"base": tip(repo)}), 404
    )


def test_delete_of_a_folder(api, repo):
    done = api.delete("/api/files/docs", query_string={"base": tip(repo)})

    assert done.status_code == 200
    assert names(repo) == ["logo.bin"]


def test_rename_moves_the_file_and_its_description(api, repo):
    api.put("/api/files/docs/notes.md", json={"description": "Team notes"})

    done = api.post(
        "/api/rename",
        json={"from": "docs/notes.md", "to": "archive/notes.md", "base": tip(repo)},
    )

    assert done.status_code == 200
    assert done.get_json()["path"] == "archive/notes.md"
    assert done.get_json()["commit"]["message"] == (
        "Rename docs/notes.md to archive/notes.md"
    )
    assert names(repo) == ["archive/notes.md", "logo.bin"]
    moved = api.get("/api/files/archive/notes.md").get_json()
    assert moved["description"] == "Team notes"
    history = api.get("/api/history/archive/notes.md").get_json()["revisions"]
    assert len(history) == 6


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"from": "docs/notes.md", "to": "logo.bin"}, 409),
        ({"from": "docs", "to": "docs/inner"}, 422),
        ({"from": "docs/notes.md", "to": "docs/notes.md"}, 422),
        ({"from": "nowhere.txt", "to": "x.txt"}, 404),
        ({"from": "docs/notes.md", "to": "../up.md"}, 400),
        ({"from": "docs/notes.md", "to": 7}, 422),
    ],
)
def test_rename_refusals(api, repo, body, status):
    before = tip(repo)

    assert_error(api.post("/api/rename", json={**body, "base": before}), status)

    assert tip(repo) == before


def test_rename_without_base_is_428_and_twice_409(api, repo):
    body = {"from": "logo.bin", "to": "img/logo.bin"}

    assert_error(api.post("/api/rename", json=body), 428)
    base = tip(repo)
    assert api.post("/api/rename", json={**body, "base": base}).status_code == 200
    assert "already exists" in assert_error(
        api.post("/api/rename", json={**body, "base": base}), 409
    )


def test_rename_needs_a_json_body(api, repo):
    sent = api.post("/api/rename", data={"from": "a", "to": "b", "base": tip(repo)})

    assert_error(sent, 415)


def test_restore_an_old_version_under_its_old_name(api, repo):
    first = ids(repo, "main")[-1]
    body = {
        "path": "docs/notes.md",
        "rev": first,
        "from": "notes.txt",
        "base": tip(repo),
        "message": "Back to the first draft",
    }

    once = api.post("/api/restore", json=body)
    twice = api.post("/api/restore", json=body)

    assert once.status_code == 200
    assert once.get_json()["changed"] is True
    assert once.get_json()["commit"]["message"] == "Back to the first draft"
    assert blob(repo, "main", "docs/notes.md") == blob(repo, first, "notes.txt")
    assert "notes.txt" not in names(repo)
    assert twice.status_code == 200
    assert twice.get_json() == {"changed": False, "path": "docs/notes.md"}
    assert count(repo) == 6


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"base": None}, 428),
        ({"rev": "0" * 40}, 404),
        ({"rev": "-x"}, 404),
        ({"from": "nowhere.txt"}, 404),
        ({"path": "docs"}, 409),
        ({"from": "docs", "rev": "main"}, 422),
        ({"rev": 3}, 422),
    ],
)
def test_restore_refusals(api, repo, change, status):
    first = ids(repo, "main")[-1]
    body = {"path": "docs/notes.md", "rev": first, "from": "notes.txt"}
    body["base"] = tip(repo)
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    before = tip(repo)

    assert_error(api.post("/api/restore", json=body), status)

    assert tip(repo) == before


def test_restore_from_a_stale_base_is_409_when_the_file_changed(api, repo):
    first = ids(repo, "main")[-1]
    stale = ids(repo, "main")[1]

    sent = api.post(
        "/api/restore",
        json={
            "path": "docs/notes.md",
            "rev": first,
            "from": "notes.txt",
            "base": stale,
        },
    )

    assert "docs/notes.md" in assert_error(sent, 409)
