"""One watcher thread per process, fanning changes out to its open streams.

The thread starts with the first stream and ends with the last one. It
follows the change table (woken by NOTIFY on PostgreSQL, reading it twice
a second on SQLite) and the branch tip (read twice a second through one
long-lived `git cat-file` process, so a push from outside is seen as soon
as one from vcsweb). Each stream gets every change through a bounded
queue; a stream that falls too far behind is closed and the browser
reconnects from where it was. A stream whose page went away is closed
within a poll as well, when the server lets the hub watch its connection
(see peers.py); otherwise its next heartbeat finds out.
"""

import contextlib
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace

import psycopg
from sqlalchemy.exc import SQLAlchemyError

from .. import feed
from ..gitobjects import Commit
from ..gitstore import BranchMove, GitStoreError, Repository
from .peers import Peer, departed

log = logging.getLogger(__name__)

# Seconds between reads of the branch tip, and of the change table on SQLite.
POLL = 0.5
# On PostgreSQL the table is read on NOTIFY, and this often in any case.
SAFETY_READ = 5.0
# Seconds a missing id is waited for: on PostgreSQL a transaction that took
# an id may commit after one that took a later id.
GAP_WAIT = 30.0
# Changes a stream may have waiting before it is closed.
QUEUE_SIZE = 200

_stopping = threading.Event()
_hubs: "weakref.WeakSet[Hub]" = weakref.WeakSet()


def stop() -> None:
    """End every stream of this process now: the worker is shutting down."""
    _stopping.set()
    for hub in list(_hubs):
        hub.close_all()


def stopping() -> bool:
    return _stopping.is_set()


@dataclass(frozen=True)
class Position:
    """How far a hub has read: the newest change id and the branch tip."""

    last_id: int
    tip: str | None


@dataclass(frozen=True)
class TipMoved:
    """The branch moved; commit is the new tip (None if the branch is gone)."""

    move: BranchMove
    commit: Commit | None


_CLOSE = object()


class Listener:
    """One open stream's queue of changes, and its client when it can be watched."""

    def __init__(self, peer: Peer | None = None):
        self._queue: queue.Queue = queue.Queue(QUEUE_SIZE)
        self.closed = False
        self.peer = peer

    def put(self, item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.closed = True

    def get(self, timeout: float):
        """Return the next change, or None after timeout or once closed."""
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        return None if item is _CLOSE else item

    def close(self) -> None:
        self.closed = True
        # When the queue is full, closed alone ends the stream at its next wake-up.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_CLOSE)


@dataclass(frozen=True)
class RepoSettings:
    path: str
    branch: str | None
    timeout: int

    def open(self) -> Repository:
        return Repository(self.path, self.branch, self.timeout)


class Hub:
    """The changes of one app in this process, and the streams that want them."""

    def __init__(self, engine, repo: RepoSettings, limit: int):
        self.engine = engine
        self.repo = repo
        self.limit = limit
        self._lock = threading.Lock()
        self._listeners: set[Listener] = set()
        self._thread: threading.Thread | None = None
        self._position = Position(0, None)
        self._gaps: dict[int, float] = {}
        self._troubles: set[str] = set()
        _hubs.add(self)

    def join(
        self, start: Callable[[], Position], peer: Peer | None = None
    ) -> tuple[Listener, Position] | None:
        """Add a stream; None when this worker has as many as it may.

        start() returns the position to begin from when the thread is not
        running; it is called in the request, which has the database at hand.
        peer is the stream's client, watched so that a page that went away
        frees its place at once.
        """
        if _stopping.is_set():
            return None
        with self._lock:
            if len(self._listeners) >= self.limit:
                self._drop_departed()
            if len(self._listeners) >= self.limit:
                return None
            if self._thread is None:
                self._position = start()
                self._gaps.clear()
                self._thread = threading.Thread(
                    target=self._run, name="vcsweb-live", daemon=True
                )
                self._thread.start()
            listener = Listener(peer)
            self._listeners.add(listener)
            return listener, self._position

    def leave(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def close_all(self) -> None:
        # Called from a signal handler: no lock, as the interrupted code may
        # hold it; list() copies the set in one step.
        for listener in list(self._listeners):
            listener.close()

    @property
    def streams(self) -> int:
        return len(self._listeners)

    def _drop_departed(self) -> None:
        """Close the streams whose pages went away; the caller holds the lock."""
        watched = {s.peer: s for s in self._listeners if s.peer and not s.closed}
        if not watched:
            return
        for peer in departed(list(watched)):
            listener = watched[peer]
            listener.close()
            self._listeners.discard(listener)

    # The watcher thread ---------------------------------------------------

    def _run(self) -> None:
        notices = _Notices(self.engine) if feed.is_postgresql(self.engine) else None
        repo = None
        last_read = 0.0
        try:
            while True:
                with self._lock:
                    self._drop_departed()
                    if not self._listeners or _stopping.is_set():
                        self._thread = None
                        return
                if notices is not None:
                    woken = notices.wait(POLL)
                else:
                    woken = not _stopping.wait(POLL)
                now = time.monotonic()
                if woken or self._gaps or now - last_read > SAFETY_READ:
                    self._read_changes()
                    last_read = now
                repo = self._read_tip(repo)
        except Exception:
            log.exception("live updates stopped in this process")
            with self._lock:
                self._thread = None
        finally:
            if repo is not None:
                repo.close()
            if notices is not None:
                notices.close()

    def _read_changes(self) -> None:
        position = self._position
        try:
            with self.engine.connect() as conn:
                changes = feed.after(conn, position.last_id, tuple(self._gaps))
        except SQLAlchemyError as exc:
            self._trouble("the change table", exc)
            return
        self._recovered("the change table")
        if not changes:
            self._expire_gaps()
            return
        last = self._note_gaps(position.last_id, [c.id for c in changes])
        with self._lock:
            self._position = replace(self._position, last_id=last)
            for change in changes:
                if change.kind == "description":
                    self._publish(change)

    def _note_gaps(self, last: int, ids: list[int]) -> int:
        now = time.monotonic()
        for found in ids:
            if self._gaps.pop(found, None) is not None:
                continue
            if found > last + 1 and found - last < 1000:
                self._gaps.update(dict.fromkeys(range(last + 1, found), now))
            last = max(last, found)
        self._expire_gaps()
        return last

    def _expire_gaps(self) -> None:
        if self._gaps:
            old = time.monotonic() - GAP_WAIT
            self._gaps = {i: t for i, t in self._gaps.items() if t > old}

    def _read_tip(self, repo: Repository | None) -> Repository | None:
        try:
            repo = repo or self.repo.open()
            tip = repo.tip()
            old = self._position.tip
            if tip == old:
                self._recovered("the repository")
                return repo
            move = repo.branch_move(old, tip)
            commit = repo.commit(tip) if tip else None
        except (GitStoreError, OSError) as exc:
            self._trouble("the repository", exc)
            if repo is not None:
                repo.close()
            return None
        log.info("branch moved from %s to %s", (old or "nothing")[:7], tip and tip[:7])
        with self._lock:
            self._position = replace(self._position, tip=tip)
            self._publish(TipMoved(move, commit))
        return repo

    def _publish(self, item) -> None:
        for listener in self._listeners:
            listener.put(item)

    def _trouble(self, what: str, exc: Exception) -> None:
        if what not in self._troubles:
            self._troubles.add(what)
            log.warning("live updates cannot read %s: %s", what, exc)

    def _recovered(self, what: str) -> None:
        if what in self._troubles:
            self._troubles.discard(what)
            log.info("live updates read %s again", what)


class _Notices:
    """A PostgreSQL connection of its own that LISTENs for change notices.

    It is outside the connection pool: it stays open for as long as the
    watcher runs, and no request ever waits for it.
    """

    RETRY = 5.0

    def __init__(self, engine):
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._conn = None
        self._retry_at = 0.0

    def wait(self, timeout: float) -> bool:
        """Wait for a notice; True when the table should be read now."""
        if self._conn is None:
            if time.monotonic() < self._retry_at:
                _stopping.wait(timeout)
                return True
            try:
                self._conn = psycopg.connect(self._conninfo, autocommit=True)
                self._conn.execute(f"LISTEN {feed.CHANNEL}")
            except psycopg.Error as exc:
                log.warning("live updates cannot LISTEN: %s", exc)
                self.close()
                self._retry_at = time.monotonic() + self.RETRY
                _stopping.wait(timeout)
            # Whatever was announced while not listening is in the table.
            return True
        try:
            return bool(list(self._conn.notifies(timeout=timeout, stop_after=1)))
        except psycopg.Error as exc:
            log.warning("live updates lost their LISTEN connection: %s", exc)
            self.close()
            return True

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
