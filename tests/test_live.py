"""Live updates over HTTP: event streams from gunicorn, on SQLite and PostgreSQL.

A page keeps /api/events/<path> open; a description saved through another
server, or a commit pushed with the git CLI, reaches it within 2 seconds.
Streams are bounded per worker, send heartbeats, end when the worker
stops, and resume from Last-Event-ID without missing anything.
"""

import http.client
import json
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest

from tests import gitutil
from vcsweb.auth import accounts

WITHIN = 2.0  # seconds a change may take to reach an open page


@dataclass
class Event:
    name: str
    id: str
    data: dict


class EventStream:
    """A client holding an event stream open, as a browser's EventSource does."""

    def __init__(self, site, path: str = "", token: str | None = None, **params):
        parts = urlsplit(site)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        target = "/api/events" + (f"/{path}" if path else "")
        if params:
            target += "?" + urlencode(params)
        headers = {"Accept": "text/event-stream"}
        if token is not False:
            headers["Authorization"] = f"Bearer {token or site.token}"
        self.headers = headers
        self.target = target
        self.response = None
        self.comments: list[str] = []

    def open(self, last_event_id: str | None = None) -> "EventStream":
        headers = dict(self.headers)
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", self.target, headers=headers)
        self.response = self.conn.getresponse()
        return self

    def connected(self) -> "EventStream":
        """Open the stream and wait until the server has it listening."""
        self.open()
        assert self.response.status == 200, self.response.read()[:300]
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        self.wait_comment("connected")
        return self

    def _block(self, deadline: float) -> list[str] | None:
        """Read one event block (lines up to a blank line); None at the end."""
        lines = []
        while True:
            self.conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if lines:
                    return lines
                continue
            lines.append(line)

    def next(self, deadline: float) -> Event | str | None:
        """Return the next event, or a comment, or None when the stream ended."""
        block = self._block(deadline)
        if block is None:
            return None
        fields = {}
        for line in block:
            if line.startswith(":"):
                return line[1:].strip()
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        if "event" not in fields:
            return "fields " + ",".join(sorted(fields))
        return Event(fields["event"], fields.get("id", ""), json.loads(fields["data"]))

    def wait_event(self, name: str, within: float = WITHIN, **match) -> Event:
        """Return the first event called name whose data has match's values."""
        deadline = time.monotonic() + within
        seen = []
        while time.monotonic() < deadline:
            try:
                item = self.next(deadline)
            except TimeoutError:
                break
            if item is None:
                break
            seen.append(item)
            wanted = isinstance(item, Event) and item.name == name
            if wanted and all(item.data.get(k) == v for k, v in match.items()):
                return item
        raise AssertionError(f"no {name} event {match} within {within}s; saw {seen}")

    def wait_comment(self, text: str, within: float = WITHIN) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            item = self.next(deadline)
            if item == text:
                return
        raise AssertionError(f"no ': {text}' comment within {within}s")

    def ended(self, within: float) -> bool:
        """True if the server ends the stream within that many seconds."""
        deadline = time.monotonic() + within
        try:
            while time.monotonic() < deadline:
                if self.next(deadline) is None:
                    return True
        except TimeoutError:
            return False
        except (ConnectionError, http.client.IncompleteRead):
            return True
        return False

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def streams():
    opened: list[EventStream] = []

    def make(*args, **kwargs) -> EventStream:
        stream = EventStream(*args, **kwargs)
        opened.append(stream)
        return stream

    yield make
    for stream in opened:
        stream.close()


@pytest.fixture
def work(tmp_path) -> Path:
    """A working repository with docs/ and src/, pushed to a bare one."""
    work = gitutil.make_repo(
        tmp_path / "work",
        {"README.md": "# Hello\n", "docs/guide.md": "Guide\n", "src/app.py": "x = 1\n"},
    )
    gitutil.bare_clone(work, tmp_path / "served.git")
    gitutil.git(work, "remote", "add", "served", str(tmp_path / "served.git"))
    return work


def served(work: Path) -> Path:
    return work.parent / "served.git"


def push(work: Path, files: dict, message: str) -> str:
    """Commit files with the git CLI and push them to the served repository."""
    commit = gitutil.commit_files(work, files, message)
    gitutil.git(work, "push", "-q", "served", "HEAD:main")
    return commit


def save_description(site, path: str, text: str) -> None:
    parts = urlsplit(site)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request(
        "PUT",
        f"/api/files/{path}",
        body=json.dumps({"description": text}),
        headers={
            "Authorization": f"Bearer {site.token}",
            "Content-Type": "application/json",
        },
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()[:300]
    conn.close()


def tip(work: Path) -> str:
    return gitutil.git(served(work), "rev-parse", "main").strip()


def put_file(site, path: str, text: str, base: str) -> str:
    """Create or replace a file through the API; return the commit it made."""
    parts = urlsplit(site)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request(
        "PUT",
        f"/api/content/{path}?base={base}&message=Write+{path}",
        body=text.encode(),
        headers={"Authorization": f"Bearer {site.token}"},
    )
    response = conn.getresponse()
    assert response.status in (200, 201), response.read()[:300]
    commit = json.loads(response.read())["commit"]["revision"]
    conn.close()
    return commit


def ended_streams(log_text: str) -> int:
    """Count the event streams the server's request log says have ended."""
    return len(re.findall(r'"GET /api/events\S*" 200 ', log_text))


# Changes reach open pages ------------------------------------------------


def test_description_saved_through_another_server_reaches_open_pages(
    serve, work, streams
):
    first = serve(served(work))
    second = serve(served(work))
    folder = streams(first, "docs", since=0).connected()
    file_page = streams(first, "docs/guide.md", since=0).connected()
    elsewhere = streams(first, "src", since=0).connected()

    started = time.monotonic()
    save_description(second, "docs/guide.md", "How to use it")

    event = folder.wait_event("description", path="docs/guide.md")
    assert time.monotonic() - started < WITHIN
    assert event.data["version"] == 1
    assert event.data["by"] == "Ada Admin"
    assert event.data["url"] == "/meta/docs/guide.md"
    assert file_page.wait_event("description").data["target"] == event.data["target"]
    with pytest.raises(AssertionError, match="no description event"):
        elsewhere.wait_event("description", within=0.8)


def test_commit_pushed_with_git_reaches_open_pages(serve, work, streams):
    site = serve(served(work))
    before = tip(work)
    docs = streams(site, "docs", since=0, tip=before).connected()
    src = streams(site, "src", since=0, tip=before).connected()
    fixed = streams(site, "docs", since=0).connected()  # an old version's page

    started = time.monotonic()
    commit = push(work, {"docs/new.md": "New\n"}, "Add a new page")

    event = docs.wait_event("commit")
    assert time.monotonic() - started < WITHIN
    assert event.data == {
        "id": commit,
        "short": commit[:7],
        "subject": "Add a new page",
        "author": "Test Author",
        "path": "docs",
        "here": True,
        "gone": False,
    }
    assert event.id.endswith(":" + commit)
    assert src.wait_event("commit").data["here"] is False
    with pytest.raises(AssertionError, match="no commit event"):
        fixed.wait_event("commit", within=0.8)


def test_commit_made_in_vcsweb_and_a_force_push_reach_open_pages(serve, work, streams):
    site = serve(served(work))
    before = tip(work)
    page = streams(site, "src/app.py", since=0, tip=before).connected()

    parts = urlsplit(site)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request(
        "PUT",
        f"/api/content/src/app.py?base={before}&message=Change+x",
        body=b"x = 2\n",
        headers={"Authorization": f"Bearer {site.token}"},
    )
    assert conn.getresponse().status in (200, 201)
    conn.close()
    event = page.wait_event("commit", here=True)
    assert event.data["author"] == "Ada Admin"

    # History rewritten from outside: the page's commit is no longer on the
    # branch, so anything may have changed.
    gitutil.git(work, "commit", "-q", "--amend", "-m", "Rewritten")
    gitutil.git(work, "push", "-q", "--force", "served", "HEAD:main")
    event = page.wait_event("commit", subject="Rewritten")
    assert event.data["here"] is True


def test_deleted_file_says_so(serve, work, streams):
    site = serve(served(work))
    page = streams(site, "src/app.py", since=0, tip=tip(work)).connected()

    push(work, {"src/app.py": None}, "Remove the app")

    assert page.wait_event("commit").data["gone"] is True


def test_change_committed_after_a_later_one_still_arrives(
    serve, work, streams, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite commits one writer at a time, in id order")
    site = serve(served(work))
    page = streams(site, "docs", since=0).connected()
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    with psycopg.connect(conninfo) as slow:
        # This transaction takes its id first and commits last.
        slow.execute(
            "INSERT INTO change_event (kind, path, version, actor, created_at) "
            "VALUES ('description', 'docs/guide.md', 7, 'Slow Saver', now())"
        )
        slow.execute("SELECT pg_notify('vcsweb_changes', 'late')")
        save_description(site, "docs/guide.md", "Quick")
        page.wait_event("description", by="Ada Admin")
        slow.commit()

    assert page.wait_event("description", by="Slow Saver").data["version"] == 7


# Resuming ----------------------------------------------------------------


def test_reconnecting_page_gets_what_it_missed(serve, work, streams):
    site = serve(served(work))
    before = tip(work)
    first = streams(site, "docs", since=0, tip=before).connected()
    save_description(site, "docs/guide.md", "First")
    position = first.wait_event("description").id
    first.close()

    save_description(site, "docs/guide.md", "Second")
    commit = push(work, {"docs/guide.md": "Changed\n"}, "Change the guide")
    again = streams(site, "docs", since=0, tip=before).open(last_event_id=position)

    missed = again.wait_event("description")
    assert missed.data["version"] == 2
    event = again.wait_event("commit")
    assert event.data["id"] == commit
    assert event.data["here"] is True


def test_page_of_a_file_just_created_hears_nothing_of_its_own_commit(
    serve, work, streams
):
    site = serve(served(work), workers=1)
    # An open page keeps the worker's hub running: a new stream starts from
    # the tip the hub last read, which can be older than the new page.
    streams(site, "", since=0, tip=tip(work)).connected()

    pages = {}
    for number in range(3):
        path = f"docs/new-{number}.md"
        created = put_file(site, path, f"New {number}\n", base=tip(work))
        pages[path] = streams(site, path, since=0, tip=created).connected()
    time.sleep(1.0)  # the hub has read the new tip meanwhile
    changed = [put_file(site, p, "Changed\n", base=tip(work)) for p in pages]

    # The first news each page gets about its file is the later change.
    for page in pages.values():
        event = page.wait_event("commit", here=True)
        assert event.data["id"] in changed
        assert event.data["gone"] is False


def test_page_loaded_before_a_change_hears_of_it_when_it_connects(serve, work, streams):
    site = serve(served(work))
    before = tip(work)
    save_description(site, "README.md", "Start here")
    commit = push(work, {"README.md": "# Hi\n"}, "Reword")

    # The page was rendered at change 0 and at the old commit; the stream
    # opens only now.
    page = streams(site, "", since=0, tip=before).connected()

    assert page.wait_event("description").data["path"] == "README.md"
    assert page.wait_event("commit").data["id"] == commit


# Limits and lifetime -----------------------------------------------------


def test_worker_refuses_streams_beyond_its_limit(serve, work, streams):
    site = serve(served(work), workers=1, VCSWEB_LIVE_LIMIT="2")
    streams(site).connected()
    streams(site).connected()

    refused = streams(site).open()

    assert refused.response.status == 503
    assert refused.response.getheader("Retry-After") == "10"
    assert "live pages" in json.loads(refused.response.read())["error"]


def test_pages_left_quickly_free_their_places_at_once(serve, work, streams):
    site = serve(served(work), workers=1, VCSWEB_LIVE_LIMIT="2")

    # Browsing fast: each page is left soon after its stream opened.
    for _ in range(6):
        page = streams(site).connected()
        time.sleep(0.1)
        page.close()
    started = time.monotonic()
    latest = streams(site).open()

    assert latest.response.status == 200
    assert time.monotonic() - started < 1.0


def test_stream_of_a_page_that_was_left_ends_within_a_second(
    serve, work, streams, tmp_path
):
    site = serve(served(work), workers=1)
    log_file = tmp_path / f"gunicorn-{urlsplit(site).port}.log"
    left = [streams(site, "docs", since=0).connected() for _ in range(2)]
    streams(site, since=0).connected()  # a page that stays open

    for page in left:
        page.close()
    deadline = time.monotonic() + 1.0
    while ended_streams(log_file.read_text()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert ended_streams(log_file.read_text()) == 2


def test_quiet_stream_gets_heartbeats_and_ends_after_its_lifetime(serve, work, streams):
    site = serve(
        served(work), workers=1, VCSWEB_LIVE_HEARTBEAT="1", VCSWEB_LIVE_LIFETIME="3"
    )
    stream = streams(site).connected()
    assert stream.response.getheader("X-Accel-Buffering") == "no"
    assert stream.response.getheader("Cache-Control") == "no-store"

    stream.wait_comment("heartbeat", within=1.8)
    assert stream.ended(within=4)
    # The stream's thread is free again for the next page.
    for _ in range(3):
        streams(site).connected()


def test_stopping_server_ends_streams_at_once(serve, work, streams):
    site = serve(served(work), workers=2)
    opened = [streams(site).connected() for _ in range(3)]

    started = time.monotonic()
    os.kill(site.pid, signal.SIGTERM)

    assert all(stream.ended(within=5) for stream in opened)
    assert time.monotonic() - started < 5


# Access ------------------------------------------------------------------


def test_visitor_is_refused_and_viewer_may_listen(serve, work, streams, make_app):
    site = serve(served(work))

    visitor = streams(site, token=False).open()
    assert visitor.response.status == 401
    assert "error" in json.loads(visitor.response.read())

    app = make_app(served(work))
    with app.app_context():
        viewer = accounts.create_token(accounts.find("viewer"), "live").secret
    streams(site, "docs", token=viewer).connected()


def test_bad_position_is_refused(client, repo_path):
    assert client.get("/api/events?tip=main").status_code == 400
    assert client.get("/api/events?since=-1").status_code == 400
    response = client.get("/api/events/a/../b")
    assert response.status_code == 400
