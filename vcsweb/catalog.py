"""Joins Git entries with their descriptions: what a page or the API shows.

Views call these functions and pick a template; they never reach Git or the
database themselves. One repository object serves a request and is closed
when the request ends.
"""

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flask import current_app, g
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import paths
from .content import Text, decode
from .extensions import db
from .gitobjects import Commit, Entry, Identity
from .gitstore import (
    Change,
    Conflict,
    GitStoreError,
    NotFound,
    NothingToCommit,
    Repository,
    RepositoryBusy,
)
from .models import DESCRIPTION_MAX, FileMeta, utcnow

__all__ = ["Conflict", "GitStoreError", "NotFound", "RepositoryBusy"]

log = logging.getLogger(__name__)


class ValidationError(Exception):
    """Input that is well-formed but not acceptable; the message says why."""


class StaleDescription(Exception):
    """A description saved from an older version than the current one."""

    def __init__(self, current: "Description"):
        super().__init__("This description was changed by someone else meanwhile")
        self.current = current


class FilesExist(Exception):
    """An upload would replace files the user has not agreed to replace."""

    def __init__(self, names: list[str]):
        listed = ", ".join(paths.display(n) for n in names)
        super().__init__(
            f"Already in this folder: {listed}. Tick “Replace existing files” to upload new versions."
        )
        self.names = names


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
class Row:
    """One folder entry with its last commit, description and local status."""

    entry: Entry
    commit: Commit | None
    description: Description
    status: str = "committed"

    @property
    def path(self) -> str:
        return self.entry.path


@dataclass(frozen=True)
class Folder:
    """A folder page: where it is, at which commit, and one page of rows."""

    path: str
    commit: Commit | None
    rows: list[Row]
    page: int
    pages: int
    total: int
    at_tip: bool


@dataclass(frozen=True)
class FileView:
    """A file page: the entry, its last commit, description and content."""

    row: Row
    commit_id: str
    at_tip: bool
    data: bytes
    truncated: bool
    text: Text | None


# Repository access -------------------------------------------------------


def repository() -> Repository:
    """Return this request's repository, opening it on first use."""
    if "repository" not in g:
        config = current_app.config
        g.repository = Repository(
            config["VCSWEB_REPO"],
            config.get("VCSWEB_BRANCH"),
            config["VCSWEB_GIT_TIMEOUT"],
        )
    return g.repository


def close_repository(_exc=None) -> None:
    repo = g.pop("repository", None)
    if repo is not None:
        repo.close()


def commit_for(rev: str | None) -> tuple[str | None, bool]:
    """Return the commit id a page shows and whether it is the branch tip."""
    repo = repository()
    tip = repo.tip()
    if not rev:
        return tip, True
    commit_id = repo.resolve(rev)
    return commit_id, commit_id == tip


# Reading -----------------------------------------------------------------


def folder(path: str, rev: str | None = None, page: int = 1) -> Folder:
    """Return one page of a folder with last commits and descriptions."""
    repo = repository()
    commit_id, at_tip = commit_for(rev)
    if commit_id is None:
        if path:
            raise NotFound(
                f"folder {paths.display(path)} not found: the repository is empty"
            )
        return Folder(path, None, [], 1, 1, 0, True)
    entries = repo.list_folder(commit_id, path)
    size = max(1, int(current_app.config["VCSWEB_FOLDER_PAGE_SIZE"]))
    pages = max(1, -(-len(entries) // size))
    page = min(max(1, page), pages)
    shown = entries[(page - 1) * size : page * size]
    rows = _rows(repo, commit_id, path, shown, at_tip)
    return Folder(path, repo.commit(commit_id), rows, page, pages, len(entries), at_tip)


def row(path: str, rev: str | None = None) -> Row:
    """Return one entry (file or folder) with its last commit and description."""
    repo = repository()
    commit_id, at_tip = commit_for(rev)
    if commit_id is None:
        raise NotFound(f"{paths.display(path)} not found: the repository is empty")
    entry = repo.entry(commit_id, path)
    if path == "":
        commit = repo.commit(commit_id)
        return Row(entry, commit, descriptions([""]).get("", Description("")))
    return _rows(repo, commit_id, paths.parent(path), [entry], at_tip)[0]


def file(path: str, rev: str | None = None) -> FileView:
    """Return a file with the part of its content a page can show."""
    found = row(path, rev)
    if found.entry.is_folder:
        raise NotFound(f"{paths.display(path)} is a folder")
    repo = repository()
    commit_id, at_tip = commit_for(rev)
    data, truncated = b"", False
    text = None
    if found.entry.kind in {"file", "symlink"}:
        data, truncated = repo.read_blob(
            found.entry.oid, current_app.config["VCSWEB_DISPLAY_LIMIT"]
        )
        text = decode(data, truncated)
    return FileView(found, commit_id, at_tip, data, truncated, text)


def stream(path: str, rev: str | None = None) -> tuple[Entry, bytes, object]:
    """Return a file's entry, its first bytes (to tell its type) and a chunk iterator."""
    repo = repository()
    commit_id, _ = commit_for(rev)
    if commit_id is None:
        raise NotFound(f"{paths.display(path)} not found: the repository is empty")
    entry = repo.entry(commit_id, path)
    if entry.kind not in {"file", "symlink"}:
        raise NotFound(f"{paths.display(path)} is not a file")
    head, _ = repo.read_blob(entry.oid, 8192)
    return entry, head, repo.stream_blob(entry.oid)


def descriptions(keys: list[str]) -> dict[str, Description]:
    """Return the saved descriptions of these paths, in one query."""
    keys = [k for k in keys if _storable(k)]
    if not keys:
        return {}
    found = db.session.scalars(select(FileMeta).where(FileMeta.path.in_(keys)))
    return {meta.path: Description.of(meta) for meta in found}


def _rows(repo, commit_id, folder_path, entries, at_tip) -> list[Row]:
    names = [e.name for e in entries]
    commits = _last_commits(repo, commit_id, folder_path, names)
    saved = descriptions([e.path for e in entries])
    status = repo.worktree_status(folder_path) if at_tip else {}
    return [
        Row(
            entry=e,
            commit=commits.get(e.name),
            description=saved.get(e.path) or Description(e.path),
            status=status.get(e.name, "committed"),
        )
        for e in entries
    ]


# Last commits per (commit, folder, names) never change, so a result can be
# kept as long as memory allows; 512 folder pages is a few MB at most.
_last_commit_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 512


def _last_commits(repo, commit_id, folder_path, names) -> dict[str, Commit]:
    key = (repo.path, commit_id, folder_path, tuple(names))
    with _cache_lock:
        if key in _last_commit_cache:
            _last_commit_cache.move_to_end(key)
            return _last_commit_cache[key]
    started = time.perf_counter()
    result = repo.last_commits(commit_id, folder_path, names)
    elapsed = time.perf_counter() - started
    if elapsed > 0.5:
        log.info(
            "last commits of %r (%d entries) took %.2fs",
            folder_path,
            len(names),
            elapsed,
        )
    with _cache_lock:
        _last_commit_cache[key] = result
        while len(_last_commit_cache) > _CACHE_SIZE:
            _last_commit_cache.popitem(last=False)
    return result


# Descriptions ------------------------------------------------------------


def current_description(path: str) -> Description:
    return descriptions([path]).get(path) or Description(path)


def save_description(
    path: str, text: str, version: int | None, who: str | None
) -> Description:
    """Save a description if version is still current (None: whatever is current).

    Raises ValidationError, NotFound for a path the branch does not have, and
    StaleDescription when someone saved a newer version first.
    """
    text = text.strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationError(
            f"Descriptions are limited to {DESCRIPTION_MAX:,} characters; this one has {len(text):,}."
        )
    if not _storable(path):
        raise ValidationError(
            "Descriptions can only be kept for names that are valid UTF-8."
        )
    row(path)  # the path must exist on the branch
    current = current_description(path)
    if version is None:
        version = current.version
    if version != current.version:
        raise StaleDescription(current)
    if text == current.text and current.version:
        return current
    saved = _write_description(path, text, version, who)
    if saved is None:
        db.session.rollback()
        raise StaleDescription(current_description(path))
    log.info(
        "description of %r saved by %s (version %d)",
        path,
        who or "anonymous",
        saved.version,
    )
    return saved


def _write_description(path, text, version, who) -> Description | None:
    now = utcnow()
    if version == 0:
        meta = FileMeta(
            path=path, description=text, version=1, updated_at=now, updated_by=who
        )
        db.session.add(meta)
        try:
            db.session.commit()
        except IntegrityError:
            return None
        return Description.of(meta)
    result = db.session.execute(
        update(FileMeta)
        .where(FileMeta.path == path, FileMeta.version == version)
        .values(description=text, version=version + 1, updated_at=now, updated_by=who)
    )
    if result.rowcount != 1:
        return None
    db.session.commit()
    return current_description(path)


def _storable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Writing files -----------------------------------------------------------


def identity() -> Identity:
    """Return who is making a change."""
    config = current_app.config
    return Identity(config["VCSWEB_COMMITTER_NAME"], config["VCSWEB_COMMITTER_EMAIL"])


def committer() -> Identity:
    config = current_app.config
    return Identity(config["VCSWEB_COMMITTER_NAME"], config["VCSWEB_COMMITTER_EMAIL"])


def upload(
    folder_path: str,
    files: list[tuple[str, BinaryIO]],
    message: str,
    base: str | None,
    replace: bool,
) -> Commit | None:
    """Commit uploaded files into a folder as one commit; None if nothing changed.

    base is the commit the user's page showed ('' for an empty repository);
    None means the branch tip, for callers that do not track it.
    """
    if not files:
        raise ValidationError("Choose at least one file to upload.")
    repo = repository()
    tip = repo.tip()
    base = tip if base is None else _base(repo, base)
    names = _upload_names(f for f, _ in files)
    existing = {e.name: e for e in repo.list_folder(base, folder_path)} if base else {}
    if folder_path and not base:
        raise NotFound(f"folder {paths.display(folder_path)} not found")
    folders = [n for n in names if n in existing and existing[n].is_folder]
    if folders:
        raise ValidationError(
            f"A folder named {paths.display(folders[0])} is already here."
        )
    clashes = [n for n in names if n in existing]
    if clashes and not replace:
        raise FilesExist(clashes)
    changes = [
        Change(paths.join(folder_path, n), stream)
        for n, (_, stream) in zip(names, files, strict=False)
    ]
    message = message.strip() or _upload_message(folder_path, names)
    try:
        return repo.write(changes, message, identity(), committer(), base)
    except NothingToCommit:
        return None


def _base(repo: Repository, base: str) -> str | None:
    if base == "":
        return None
    if len(base) != 40:
        raise ValidationError(
            "The page's revision is not a full commit id; reload the page."
        )
    return repo.resolve(base)


def _upload_names(raw_names) -> list[str]:
    names = []
    for raw in raw_names:
        name = paths.repo_path(raw, for_write=True, allow_root=False)
        if "/" in name:
            raise ValidationError(
                f"{paths.display(raw)}: file names cannot contain '/'."
            )
        if name in names:
            raise ValidationError(f"{paths.display(name)} is in the upload twice.")
        names.append(name)
    return names


def _upload_message(folder_path: str, names: list[str]) -> str:
    where = f" to {folder_path}" if folder_path else ""
    if len(names) == 1:
        return f"Upload {names[0]}{where}"
    return f"Upload {len(names)} files{where}"
