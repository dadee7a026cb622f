"""Several hosts: two vcsweb servers over one PostgreSQL database and one repository.

Two gunicorn servers on different ports stand in for two hosts behind a load
balancer. Changes sent through both at once all land: no commit and no
description is lost, a stale save is refused whichever server it reaches,
and a page open on one server hears of changes made through the other.
"""

import time
from functools import partial
from urllib.parse import urlsplit

import pytest

from tests import gitutil
from tests.conftest import DATABASES
from tests.sseutil import EventStream
from tests.test_cases_foundation import (
    assert_clean_log,
    bare_repo_with,
    commit_count,
    fetch,
    put_description,
    server_log,
    tip,
    together,
)

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in DATABASES,
        reason="hosts share a PostgreSQL database; SQLite serves one host",
    ),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

FILES = {f"docs/file-{i:02}.txt": f"file {i}\n" for i in range(20)}


@pytest.fixture
def hosts(serve, tmp_path):
    """Two servers over the same database and the same bare repository."""
    repo = bare_repo_with(tmp_path, {"README.md": "# Shared\n", **FILES})
    first = serve(repo, workers=2)
    second = serve(repo, workers=2)
    assert urlsplit(first).port != urlsplit(second).port
    return repo, first, second


def upload(url, name: str, base: str, text: str | None = None):
    body = (text or f"{name}\n").encode()
    return fetch(url, "PUT", f"/api/content/{name}?base={base}", body)


def test_concurrent_uploads_through_both_hosts_all_land(hosts, tmp_path):
    repo, first, second = hosts
    base = tip(repo)
    names = [f"upload-{i:02}.txt" for i in range(20)]

    replies = together(
        [partial(upload, (first, second)[i % 2], n, base) for i, n in enumerate(names)]
    )

    assert [r.status for r in replies] == [201] * 20, [r.text for r in replies]
    assert commit_count(repo) == 21
    parents = [line.split() for line in _git_log(repo, "%P")]
    assert all(len(p) == 1 for p in parents[:-1]), "history is not linear"
    for url in (first, second):
        listed = fetch(url, "GET", "/api/files").json()["entries"]
        assert {e["path"] for e in listed} >= set(names)
        assert_clean_log(server_log(tmp_path, url))


def test_concurrent_description_saves_through_both_hosts_all_kept(hosts, tmp_path):
    _, first, second = hosts
    paths = sorted(FILES)

    replies = together(
        [
            partial(put_description, (first, second)[i % 2], p, f"About {p}", 0)
            for i, p in enumerate(paths)
        ]
    )

    assert [r.status for r in replies] == [200] * 20, [r.text for r in replies]
    for url in (first, second):
        listed = fetch(url, "GET", "/api/files?path=docs").json()["entries"]
        assert {e["path"]: (e["description"], e["version"]) for e in listed} == {
            p: (f"About {p}", 1) for p in paths
        }
        assert_clean_log(server_log(tmp_path, url))


def test_stale_saves_are_refused_whichever_host_they_reach(hosts, tmp_path):
    repo, first, second = hosts
    path = "docs/file-00.txt"

    # The same starting version through both at once: one wins, one is told.
    raced = together(
        [
            partial(put_description, first, path, "Alice's words", 0),
            partial(put_description, second, path, "Bob's words", 0),
        ]
    )
    assert sorted(r.status for r in raced) == [200, 409]
    won = next(r for r in raced if r.status == 200).json()["description"]

    # Then one after the other, from the version both pages showed.
    through_first = put_description(first, path, "Carol's words", 1)
    through_second = put_description(second, path, "Dan's words", 1)
    assert through_first.status == 200
    assert through_second.status == 409
    assert through_second.json()["current"] == {
        "description": "Carol's words",
        "version": 2,
        "updated_by": "admin",
    }
    assert won in ("Alice's words", "Bob's words")

    # A file changed through one host since the page was opened.
    base = tip(repo)
    assert upload(first, "README.md", base, "# Carol's\n").status == 201
    stale = upload(second, "README.md", base, "# Dan's\n")
    assert stale.status == 409
    assert commit_count(repo) == 2
    for url in (first, second):
        assert_clean_log(server_log(tmp_path, url))


def _git_log(repo, fmt: str) -> list[str]:
    return gitutil.git(repo, "log", f"--format={fmt}", "main").splitlines()


# Live updates --------------------------------------------------------------


def test_a_description_saved_on_one_host_reaches_pages_on_the_other(hosts):
    _, first, second = hosts
    streams = {url: EventStream.open(url, "docs") for url in (first, second)}
    try:
        for number, (saved_on, heard_on) in enumerate(
            [(first, second), (second, first)]
        ):
            path = f"docs/file-{number:02}.txt"
            started = time.monotonic()
            assert put_description(saved_on, path, f"Saved #{number}", 0).status == 200

            heard = streams[heard_on].wait_for("description", path, 2.0)

            assert heard is not None, "no event within 2 s on the other host"
            assert heard["path"] == path
            assert heard["version"] == 1
            assert time.monotonic() - started < 2.0
    finally:
        for stream in streams.values():
            stream.close()
