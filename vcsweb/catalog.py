"""Joins Git entries with their descriptions: what a page or the API shows.

Views call these functions and pick a template; they never reach Git or the
database themselves. One repository object serves a request and is closed
when the request ends.
"""

import logging
import time
from dataclasses import dataclass

from flask import current_app, g

from . import actor, descriptions, paths
from .content import Text, decode
from .descriptions import Description, StaleDescription, ValidationError
from .diffs import FileDiff
from .gitobjects import Commit, Entry
from .gitstore import (
    Conflict,
    Deleted,
    GitStoreError,
    Memo,
    NotFound,
    Repository,
    RepositoryBusy,
    Revision,
)

__all__ = [
    "Conflict",
    "Description",
    "GitStoreError",
    "NotFound",
    "RepositoryBusy",
    "StaleDescription",
    "ValidationError",
]

log = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 50


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
    # True when the last commits were not ready and the page asks for them
    # in a second request (very large folders only).
    commits_pending: bool = False


# Folders with more entries than this get their page at once and their last
# commits in a second request the page makes, when no kept result exists:
# the first walk through the history of 10,000 files takes seconds.
WAIT_FOR_COMMITS_UP_TO = 1000


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
            memo=_git_memo(),
        )
    return g.repository


def _git_memo() -> Memo:
    """Return this worker's memo of what Git objects say (see gitstore.memo)."""
    memo = current_app.extensions.get("vcsweb_git_memo")
    if memo is None:
        memo = current_app.extensions.setdefault("vcsweb_git_memo", Memo())
    return memo


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


def folder(
    path: str, rev: str | None = None, page: int = 1, wait: bool = True
) -> Folder:
    """Return one page of a folder with last commits and descriptions.

    With wait=False a very large folder whose last commits are not known
    yet comes back without them (commits_pending) instead of waiting.
    """
    repo = repository()
    commit_id, at_tip = commit_for(rev)
    if commit_id is None:
        if path:
            raise NotFound(
                f"Folder {paths.display(path)} not found: the repository is empty"
            )
        return Folder(path, None, [], 1, 1, 0, True)
    known = _last_commits_known(commit_id, path)
    if not known:
        # Git walks the history while the folder is listed.
        repo.start_last_commits(commit_id, path)
    entries = repo.list_folder(commit_id, path)
    size = max(1, int(current_app.config["VCSWEB_FOLDER_PAGE_SIZE"]))
    pages = max(1, -(-len(entries) // size))
    page = min(max(1, page), pages)
    shown = entries[(page - 1) * size : page * size]
    pending = not wait and len(entries) > WAIT_FOR_COMMITS_UP_TO and not known
    commits = (
        {}
        if pending
        else _last_commits(repo, commit_id, path, entries, whole_folder=True)
    )
    rows = _rows(repo, commit_id, path, shown, at_tip, commits)
    head = repo.commit(commit_id)
    return Folder(path, head, rows, page, pages, len(entries), at_tip, pending)


def _last_commits_known(commit_id: str, folder_path: str) -> bool:
    cache = current_app.extensions["vcsweb_last_commits"]
    return cache.get(commit_id, folder_path, ALL_NAMES) is not None


def existing_commit(path: str, rev: str | None) -> tuple[str, bool]:
    """Return commit_for(rev), or raise NotFound for path in an empty repository."""
    commit_id, at_tip = commit_for(rev)
    if commit_id is None:
        raise NotFound(f"{paths.display(path)} not found: the repository is empty")
    return commit_id, at_tip


def row(path: str, rev: str | None = None) -> Row:
    """Return one entry (file or folder) with its last commit and description."""
    commit_id, at_tip = existing_commit(path, rev)
    return _row_at(commit_id, at_tip, path)


def _row_at(commit_id: str, at_tip: bool, path: str) -> Row:
    repo = repository()
    entry = repo.entry(commit_id, path)
    if path == "":
        commit = repo.commit(commit_id)
        return Row(entry, commit, Description(""))
    folder_path = paths.parent(path)
    commits = _last_commits(repo, commit_id, folder_path, [entry], whole_folder=False)
    return _rows(repo, commit_id, folder_path, [entry], at_tip, commits)[0]


def file(path: str, rev: str | None = None) -> FileView:
    """Return a file with the part of its content a page can show."""
    # One resolution of rev serves the row and the content, so both come
    # from the same commit even if the branch moves meanwhile.
    commit_id, at_tip = existing_commit(path, rev)
    found = _row_at(commit_id, at_tip, path)
    if found.entry.is_folder:
        raise NotFound(f"{paths.display(path)} is a folder")
    repo = repository()
    data, truncated = b"", False
    text = None
    if found.entry.kind in {"file", "symlink"}:
        data, truncated = repo.read_blob(
            found.entry.oid, current_app.config["VCSWEB_DISPLAY_LIMIT"]
        )
        text = decode(data, truncated)
    return FileView(found, commit_id, at_tip, data, truncated, text)


def stream(path: str, rev: str | None = None) -> tuple[Entry, bytes, object]:
    """Return a file's entry, its first bytes (to tell its type) and its chunks."""
    repo = repository()
    commit_id, _ = existing_commit(path, rev)
    entry = repo.entry(commit_id, path)
    if entry.kind not in {"file", "symlink"}:
        raise NotFound(f"{paths.display(path)} is not a file")
    head, _ = repo.read_blob(entry.oid, 8192)
    return entry, head, repo.stream_blob(entry.oid)


def _rows(repo, commit_id, folder_path, entries, at_tip, commits) -> list[Row]:
    saved = descriptions.of_paths([e.path for e in entries])
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


ALL_NAMES = "*"


def _last_commits(
    repo, commit_id, folder_path, entries: list[Entry], whole_folder: bool
) -> dict[str, Commit]:
    """Return the last commits of names in a folder, computed once and kept.

    A folder page asks for the whole folder (whole_folder), computed in one
    walk; a file page asks for one name and uses the folder's result when
    there is one.
    """
    cache = current_app.extensions["vcsweb_last_commits"]
    whole = cache.get(commit_id, folder_path, ALL_NAMES)
    if whole is not None:
        return whole
    names = [e.name for e in entries]
    key = ALL_NAMES if whole_folder else "\0".join(names)
    found = cache.get(commit_id, folder_path, key)
    if found is not None:
        return found
    started = time.perf_counter()
    found = repo.last_commits(commit_id, folder_path, names)
    elapsed = time.perf_counter() - started
    if elapsed > 0.5:
        log.info(
            "last commits of %r (%d entries) took %.2fs",
            folder_path,
            len(names),
            elapsed,
        )
    cache.put(commit_id, folder_path, key, found)
    return found


# Descriptions ------------------------------------------------------------


def current_description(path: str) -> Description:
    return descriptions.current(path)


def save_description(path: str, text: str, version: int | None) -> Description:
    """Save a description of a path the branch has, as the signed-in user.

    See descriptions.save for the version rule.
    """
    row(path)
    return descriptions.save(path, text, version, actor.username())


def restore_description(
    path: str, revision_id: int, version: int | None
) -> Description:
    """Save an earlier text of a description again, as its newest version."""
    try:
        earlier = descriptions.earlier(path, revision_id)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    return save_description(path, earlier.text, version)


def description_history(path: str) -> list[descriptions.Saved]:
    return descriptions.history(path)


# History -----------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """One page of a path's history."""

    path: str
    revisions: list[Revision]
    page: int
    has_more: bool
    is_folder: bool


def history(path: str, rev: str | None = None, page: int = 1) -> History:
    """Return one page of the commits that changed a file or folder."""
    commit_id, _ = commit_for(rev)
    if commit_id is None:
        return History(path, [], 1, False, True)
    repo = repository()
    page = max(1, page)
    skip = (page - 1) * HISTORY_PAGE_SIZE
    revisions, more = repo.file_history(commit_id, path, skip, HISTORY_PAGE_SIZE)
    is_folder = path == "" or repo.kind_of(commit_id, path) == "folder"
    return History(path, revisions, page, more, is_folder)


def diff(old: str | None, new: str, path: str | None = None) -> list[FileDiff]:
    """Return the differences between two revisions, for one path or all."""
    repo = repository()
    new_id = repo.resolve(new)
    old_id = repo.resolve(old) if old else None
    wanted = None if path is None else [path]
    if path and not (
        repo.kind_of(new_id, path) and repo.kind_of(old_id or new_id, path)
    ):
        # A version from before a rename has the file under another name:
        # compare it under every name it had.
        start = new_id if repo.kind_of(new_id, path) else repo.tip()
        if start and repo.kind_of(start, path) == "file":
            wanted = repo.former_names(start, path)
    return repo.diff(old_id, new_id, wanted)


def commits(
    page: int = 1, path: str = "", author: str = ""
) -> tuple[list[Commit], bool]:
    """Return one page of the branch's log, filtered by path prefix and author."""
    tip = repository().tip()
    if tip is None:
        return [], False
    skip = (max(1, page) - 1) * HISTORY_PAGE_SIZE
    return repository().log(tip, skip, HISTORY_PAGE_SIZE, path=path, author=author)


def commit_detail(rev: str) -> tuple[Commit, list[FileDiff]]:
    """Return a commit and how it changed each file (against its first parent)."""
    repo = repository()
    commit = repo.commit(repo.resolve(rev))
    parent = commit.parents[0] if commit.parents else None
    return commit, repo.diff(parent, commit.id)


def deleted(folder_path: str) -> list[Deleted]:
    """Return files deleted below a folder that the branch no longer has."""
    tip = repository().tip()
    return repository().deleted(tip, folder_path) if tip else []


def nearest_folder(path: str, commit_id: str) -> str:
    """Return path, or the nearest folder above it, that a commit still has.

    Git keeps no empty folders: deleting or moving a folder's last file
    removes the folder, and its parents if they held nothing else.
    """
    repo = repository()
    while path and repo.kind_of(commit_id, path) != "folder":
        path = paths.parent(path)
    return path
