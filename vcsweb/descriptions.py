"""Descriptions in the database: current text, optimistic saves, history, moves.

Git never sees them. Every save checks the version the editor started from,
so two people saving at once never overwrite each other silently, and every
saved text is kept with who saved it and when.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from . import feed, paths
from .extensions import db
from .models import DESCRIPTION_MAX, DescriptionRevision, FileMeta, utcnow

log = logging.getLogger(__name__)


class ValidationError(Exception):
    """Input that is well-formed but not acceptable; the message says why."""


@dataclass(frozen=True)
class Description:
    """A path's description as it is now; version 0 means none was ever saved."""

    path: str
    text: str = ""
    version: int = 0
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, meta: FileMeta) -> "Description":
        return cls(
            meta.path, meta.description, meta.version, meta.updated_at, meta.updated_by
        )


@dataclass(frozen=True)
class Saved:
    """One entry of a description's history."""

    id: int
    text: str
    version: int
    saved_at: datetime
    saved_by: str | None


class StaleDescription(Exception):
    """A description saved from an older version than the current one."""

    def __init__(self, current: Description):
        super().__init__("This description was changed by someone else meanwhile")
        self.current = current


def storable(path: str) -> bool:
    """True if a path can key a description (its name is valid UTF-8)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def of_paths(keys: list[str]) -> dict[str, Description]:
    """Return the saved descriptions of these paths, in one query."""
    keys = [k for k in keys if storable(k)]
    if not keys:
        return {}
    found = db.session.scalars(select(FileMeta).where(FileMeta.path.in_(keys)))
    return {meta.path: Description.of(meta) for meta in found}


def current(path: str) -> Description:
    return of_paths([path]).get(path) or Description(path)


def save(path: str, text: str, version: int | None, who: str | None) -> Description:
    """Save a description if version is still current (None: whatever is current).

    Raises ValidationError, or StaleDescription when someone saved a newer
    version first. Saving the text it already has changes nothing.
    """
    text = text.strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationError(
            f"Descriptions are limited to {DESCRIPTION_MAX:,} characters; "
            f"this one has {len(text):,}."
        )
    if not storable(path):
        raise ValidationError(
            "Descriptions can only be kept for names that are valid UTF-8."
        )
    now = current(path)
    if version is None:
        version = now.version
    # Checked before the version: the same save sent twice (a double click)
    # finds its text already there and changes nothing.
    if text == now.text and now.version:
        return now
    if version != now.version:
        raise StaleDescription(now)
    saved = _write(path, text, version, who)
    if saved is None:
        db.session.rollback()
        now = current(path)
        if text == now.text:
            return now
        raise StaleDescription(now)
    log.info(
        "description of %r saved by %s (version %d)",
        path,
        who or "anonymous",
        saved.version,
    )
    return saved


def _write(path, text, version, who) -> Description | None:
    now = utcnow()
    try:
        if version == 0:
            meta = FileMeta(
                path=path, description=text, version=1, updated_at=now, updated_by=who
            )
            db.session.add(meta)
            db.session.flush()
        else:
            result = db.session.execute(
                update(FileMeta)
                .where(FileMeta.path == path, FileMeta.version == version)
                .values(
                    description=text,
                    version=version + 1,
                    updated_at=now,
                    updated_by=who,
                )
            )
            if result.rowcount != 1:
                return None
            meta = db.session.scalars(
                select(FileMeta).where(FileMeta.path == path)
            ).one()
        db.session.add(
            DescriptionRevision(
                file_meta_id=meta.id,
                description=text,
                version=meta.version,
                saved_at=now,
                saved_by=who,
            )
        )
        # In the same transaction: other pages hear of the save exactly
        # when it is there to be read.
        feed.record_description(path, meta.version, who)
        db.session.commit()
    except IntegrityError:
        return None
    return Description.of(meta)


def history(path: str) -> list[Saved]:
    """Return every saved text of a path's description, newest first."""
    if not storable(path):
        return []
    rows = db.session.execute(
        select(DescriptionRevision)
        .join(FileMeta, FileMeta.id == DescriptionRevision.file_meta_id)
        .where(FileMeta.path == path)
        .order_by(DescriptionRevision.version.desc())
    ).scalars()
    return [Saved(r.id, r.description, r.version, r.saved_at, r.saved_by) for r in rows]


def earlier(path: str, revision_id: int) -> Saved:
    """Return one saved text of this path's description, or raise LookupError."""
    for saved in history(path):
        if saved.id == revision_id:
            return saved
    raise LookupError(f"no saved description {revision_id} for {paths.display(path)}")


def move(old: str, new: str) -> None:
    """Give the descriptions of old (a file, or a folder and all below it) to new.

    Part of the caller's transaction: the caller commits once the Git
    commit has landed, so the description moves exactly when the file does.
    """
    if not storable(old):
        return  # such a name never had a description to move
    prefix = old + "/"
    rows = db.session.scalars(
        select(FileMeta).where(
            (FileMeta.path == old) | FileMeta.path.startswith(prefix, autoescape=True)
        )
    ).all()
    targets = [new + meta.path[len(old) :] for meta in rows]
    if targets:
        # A description left behind by a file that was deleted at the new
        # place belongs to a file that no longer exists there.
        db.session.execute(delete(FileMeta).where(FileMeta.path.in_(targets)))
    for meta, target in zip(rows, targets, strict=True):
        meta.path = target
    db.session.flush()
