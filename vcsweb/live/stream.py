"""One page's stream of server-sent events: what changed that the page shows.

Events (the `event:` field; `data:` is a JSON object):

- `description`: a description shown on the page was saved. data: path,
  target (the id of the element that shows it), version, by (who saved it),
  url (where its display fragment is).
- `commit`: the branch moved. data: id, short, subject, author (of the new
  tip), path (the page's), here (a commit changed something at or below
  that path), gone (the path was deleted).
- `stale`: changes may have been missed (the page was away longer than
  changes are kept); the page should show everything again.

Each event's id is the stream's position, "<change id>:<commit id>", which
the browser sends back as Last-Event-ID when it reconnects, so nothing that
happened meanwhile is missed. Comments (": heartbeat") keep proxies from
closing a quiet stream.
"""

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from .. import feed, paths
from ..filters import element_id
from ..gitstore import GitStoreError
from .hub import Hub, Listener, Position, RepoSettings, TipMoved, stopping

log = logging.getLogger(__name__)

# Milliseconds a browser waits before it reconnects a stream that ended.
RETRY_MS = 2000
_COMMIT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})?$")


class BadCursor(ValueError):
    """A Last-Event-ID, since or tip that vcsweb never sent."""


@dataclass
class Cursor:
    """Where a page is: the last change it knows of and the commit it shows.

    follows is False for a page that shows a fixed commit (an old version):
    it hears of saved descriptions only.
    """

    since: int | None
    tip: str | None
    follows: bool

    @classmethod
    def parse(cls, last_event_id: str | None, since: str | None, tip: str | None):
        if last_event_id:
            since, has_tip, tip = last_event_id.partition(":")
            if not has_tip:
                tip = None
        follows = tip is not None
        if since in (None, ""):
            number = None
        elif since.isdigit() and len(since) < 19:
            number = int(since)
        else:
            raise BadCursor("since must be a change id")
        if follows and not _COMMIT_ID.match(tip):
            raise BadCursor("tip must be a full commit id")
        return cls(number, tip or None, follows)

    def event_id(self) -> str:
        since = self.since or 0
        return f"{since}:{self.tip or ''}" if self.follows else str(since)


@dataclass(frozen=True)
class Page:
    """What a stream serves: the path a page shows and how to link to it."""

    path: str
    description_url: Callable[[str], str]
    heartbeat: float
    lifetime: float


def events(
    hub: Hub,
    listener: Listener,
    start: Position,
    cursor: Cursor,
    page: Page,
) -> Iterator[bytes]:
    """Yield the page's events until it goes away, the worker stops or time is up."""
    repo = hub.repo
    try:
        yield f"retry: {RETRY_MS}\n\n: connected\n\n".encode()
        yield from _catch_up_descriptions(hub, start, cursor, page)
        if cursor.follows:
            moved = _catch_up(repo, cursor, start.tip)
            yield from _commit_event(moved, cursor, page.path)
        deadline = time.monotonic() + page.lifetime
        beat = time.monotonic() + page.heartbeat
        while True:
            now = time.monotonic()
            if listener.closed or stopping() or now >= deadline:
                return
            if now >= beat:
                yield b": heartbeat\n\n"
                beat = now + page.heartbeat
            item = listener.get(min(1.0, beat - now, deadline - now))
            if isinstance(item, feed.Changed):
                yield from _description_event(item, cursor, page)
            elif isinstance(item, TipMoved) and cursor.follows:
                yield from _commit_event(_follow(repo, item, cursor), cursor, page.path)
    finally:
        hub.leave(listener)


def _catch_up_descriptions(hub, start: Position, cursor: Cursor, page: Page):
    """Send what was saved after the page's position and before the stream's."""
    if cursor.since is None or cursor.since >= start.last_id:
        cursor.since = start.last_id if cursor.since is None else cursor.since
        return
    try:
        with hub.engine.connect() as conn:
            oldest = feed.oldest_id(conn)
            missed = feed.after(conn, cursor.since, upto=start.last_id)
    except SQLAlchemyError as exc:
        log.warning("live updates could not read the change table: %s", exc)
        missed, oldest = [], None
    if oldest is None or oldest > cursor.since + 1 or len(missed) >= feed.BATCH:
        cursor.since = start.last_id
        yield _event("stale", cursor, {})
        return
    for change in missed:
        if change.kind == "description":
            yield from _description_event(change, cursor, page)
    cursor.since = start.last_id


def _description_event(change: feed.Changed, cursor: Cursor, page: Page):
    cursor.since = max(cursor.since or 0, change.id)
    if change.path != page.path and paths.parent(change.path) != page.path:
        return
    data = {
        "path": paths.display(change.path),
        "target": element_id(change.path),
        "version": change.version,
        "by": change.actor or "Someone",
        "url": page.description_url(change.path),
    }
    yield _event("description", cursor, data)


def _catch_up(repo: RepoSettings, cursor: Cursor, known: str | None) -> TipMoved | None:
    """Return the move from the page's commit to the branch's tip, if it moved.

    known is the hub's tip, which can be older than the page: a page
    rendered right after a commit shows that commit before the hub has read
    it. So a page at another commit is compared with the branch as it is
    now, never with known, which would replay its own commit as undone.
    """
    if cursor.tip == known:
        return None
    try:
        with repo.open() as opened:
            tip = opened.tip()
            if tip == cursor.tip:
                return None
            move = opened.branch_move(cursor.tip, tip)
            commit = opened.commit(tip) if tip else None
    except (GitStoreError, OSError) as exc:
        log.warning("live updates could not read the branch: %s", exc)
        return None
    return TipMoved(move, commit)


def _follow(repo: RepoSettings, moved: TipMoved, cursor: Cursor) -> TipMoved | None:
    """Return the move from the page's commit to the new tip; None if it shows it."""
    new = moved.move.new
    if new == cursor.tip:
        return None
    if moved.move.old == cursor.tip:
        return moved
    try:
        with repo.open() as opened:
            # The hub hears of a commit up to a poll later than a page that
            # shows it (or a later one) may connect: no news to that page.
            if cursor.tip and new and opened.has_seen(cursor.tip, new):
                return None
            move = opened.branch_move(cursor.tip, new)
    except (GitStoreError, OSError) as exc:
        log.warning(
            "live updates could not compare %s and %s: %s", cursor.tip, new, exc
        )
        return None
    return TipMoved(move, moved.commit)


def _commit_event(moved: TipMoved | None, cursor: Cursor, path: str):
    if moved is None:
        return
    cursor.tip = moved.move.new
    commit = moved.commit
    data = {
        "id": commit.id if commit else None,
        "short": commit.short_id if commit else "",
        "subject": commit.subject if commit else "",
        "author": commit.author.name if commit else "",
        "path": paths.display(path),
        "here": moved.move.touches(path),
        "gone": path in moved.move.deleted,
    }
    yield _event("commit", cursor, data)


def _event(name: str, cursor: Cursor, data: dict) -> bytes:
    payload = json.dumps(data, separators=(",", ":"))
    return f"event: {name}\nid: {cursor.event_id()}\ndata: {payload}\n\n".encode()
