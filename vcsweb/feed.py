"""The change table: a row per saved description, read by every process.

A row is written in the same transaction as the change it announces, so it
exists exactly when the change does. On PostgreSQL the transaction also
sends NOTIFY, which wakes listeners in every process on every host at
commit; on SQLite each process reads the table a few times a second.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.engine import Connection

from . import actor
from .extensions import db
from .models import ChangeEvent, utcnow

log = logging.getLogger(__name__)

CHANNEL = "vcsweb_changes"
# Rows are only needed by pages that reconnect after a short break.
KEEP = timedelta(minutes=10)
# One save in this many also deletes the rows older than KEEP.
PRUNE_EVERY = 64
# Most rows one read returns; a reader far behind reads again.
BATCH = 500


@dataclass(frozen=True)
class Changed:
    """One row of the change table; kind 'description': a description was saved."""

    id: int
    kind: str
    path: str
    version: int
    actor: str | None


def is_postgresql(bind) -> bool:
    return bind.dialect.name == "postgresql"


def record_description(path: str, version: int, who: str | None) -> None:
    """Announce a saved description; part of the caller's transaction."""
    event = ChangeEvent(
        kind="description",
        path=path,
        version=version,
        actor=actor.name() or who,
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    if is_postgresql(db.session.get_bind()):
        # Delivered when the transaction commits, and never if it rolls back.
        db.session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": str(event.id)},
        )
    if event.id % PRUNE_EVERY == 0:
        db.session.execute(
            delete(ChangeEvent).where(ChangeEvent.created_at < utcnow() - KEEP)
        )


def latest_id() -> int:
    """Return the id of the newest change (0 when there is none)."""
    return db.session.scalar(select(func.max(ChangeEvent.id))) or 0


def after(
    conn: Connection, last_id: int, also: tuple[int, ...] = (), upto: int | None = None
) -> list[Changed]:
    """Return the changes after last_id (up to upto), plus those with ids in also."""
    table = ChangeEvent.__table__
    newer = table.c.id > last_id
    if upto is not None:
        newer = newer & (table.c.id <= upto)
    wanted = or_(newer, table.c.id.in_(also)) if also else newer
    rows = conn.execute(
        select(table.c.id, table.c.kind, table.c.path, table.c.version, table.c.actor)
        .where(wanted)
        .order_by(table.c.id)
        .limit(BATCH)
    )
    return [Changed(r.id, r.kind, r.path, r.version or 0, r.actor) for r in rows]


def oldest_id(conn: Connection) -> int | None:
    """Return the id of the oldest change still kept."""
    return conn.scalar(select(func.min(ChangeEvent.__table__.c.id)))
