"""Every change a person makes to files: each one commit, authored by them.

Upload, edit, create, rename or move, delete and restore all go through
Repository.write(), which refuses a change whose base is stale for one of
its paths. Descriptions follow renames; a delete keeps them, so a restore
brings them back.
"""

import logging
from typing import BinaryIO

from flask import current_app

from . import actor, catalog, content, descriptions, paths
from .descriptions import ValidationError
from .extensions import db
from .gitobjects import Commit, Identity
from .gitstore import Change, Conflict, NotFound, NothingToCommit, Repository

log = logging.getLogger(__name__)


class FilesExist(Exception):
    """A change would replace files the person has not agreed to replace."""

    def __init__(self, names: list[str]):
        listed = ", ".join(paths.display(n) for n in names)
        super().__init__(
            f"Already in this folder: {listed}. "
            "Tick “Replace existing files” to upload new versions."
        )
        self.names = names


def committer() -> Identity:
    """Return the identity vcsweb commits as, on behalf of the author."""
    config = current_app.config
    return Identity(config["VCSWEB_COMMITTER_NAME"], config["VCSWEB_COMMITTER_EMAIL"])


def _commit(changes: list[Change], message: str, base: str | None) -> Commit:
    # A default message names the paths; a name that is not UTF-8 is written
    # into it readably, as the pages show it, so the message is valid UTF-8.
    message = paths.display(message)
    return catalog.repository().write(
        changes, message, actor.identity(), committer(), base
    )


def resolve_base(base: str | None) -> str | None:
    """Return the commit a form started from ('' means an empty repository).

    None (a caller that does not track it) means the branch tip.
    """
    repo = catalog.repository()
    if base is None:
        return repo.tip()
    if base == "":
        return None
    if len(base) != 40:
        raise ValidationError(
            "The page's revision is not a full commit id; reload the page."
        )
    return repo.resolve(base)


def _existing_base(path: str, base: str) -> str:
    """Return the form's base commit; NotFound for path in an empty repository."""
    base_id = resolve_base(base)
    if base_id is None:
        raise NotFound(f"{paths.display(path)} not found: the repository is empty")
    return base_id


# Upload ------------------------------------------------------------------


def upload(
    folder_path: str,
    files: list[tuple[str, BinaryIO]],
    message: str,
    base: str | None,
    replace: bool,
) -> Commit | None:
    """Commit uploaded files into a folder as one commit; None if nothing changed."""
    if not files:
        raise ValidationError("Choose at least one file to upload.")
    repo = catalog.repository()
    base = resolve_base(base)
    names = _upload_names(f for f, _ in files)
    kind = repo.kind_of(base, folder_path) if base and folder_path else None
    listed = base and (kind == "folder" or not folder_path)
    existing = (
        {e.name: e for e in repo.list_folder(base, folder_path)} if listed else {}
    )
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
        for n, (_, stream) in zip(names, files, strict=True)
    ]
    message = message.strip() or _upload_message(folder_path, names)
    try:
        return _commit(changes, message, base)
    except NothingToCommit:
        return None


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


# Edit and create ---------------------------------------------------------


def editable(path: str, rev: str | None = None) -> tuple[str, content.Text]:
    """Return the commit and the text the editor starts from, or say why it cannot."""
    repo = catalog.repository()
    commit_id, _ = catalog.existing_commit(path, rev)
    entry = repo.entry(commit_id, path)
    if entry.kind != "file":
        raise ValidationError(
            f"{paths.display(path)} is not a file that can be edited."
        )
    limit = current_app.config["VCSWEB_EDIT_LIMIT"]
    if entry.size > limit:
        raise ValidationError(
            f"This file is too large to edit in the browser ({entry.size:,} bytes; "
            f"the limit is {limit:,}). Download it, edit it and upload it again."
        )
    data, _ = repo.read_blob(entry.oid, limit)
    text = content.decode(data)
    if text is None or not content.round_trips(data, text):
        raise ValidationError(
            "This file is binary or in an encoding the browser editor cannot keep "
            "byte for byte. Download it, edit it and upload it again."
        )
    return commit_id, text


def edit(path: str, edited: str, base: str, message: str) -> Commit | None:
    """Commit new text for a file, keeping its encoding, BOM and line endings."""
    base_id = _existing_base(path, base)
    repo = catalog.repository()
    entry = repo.entry(base_id, path)
    original, _ = repo.read_blob(entry.oid, current_app.config["VCSWEB_EDIT_LIMIT"])
    text = content.decode(original)
    if text is None:
        raise ValidationError("Binary files cannot be edited in the browser.")
    try:
        data = content.reencode(original, text, edited)
    except UnicodeEncodeError:
        raise ValidationError(
            f"Your text has characters that {text.label} cannot hold; "
            "remove them or save the file as UTF-8 elsewhere."
        ) from None
    message = message.strip() or f"Edit {path}"
    try:
        return _commit([Change(path, data)], message, base_id)
    except NothingToCommit:
        return None


def create(
    folder_path: str, name: str, text: str, base: str, message: str
) -> tuple[Commit, str]:
    """Commit a new text file (UTF-8) into a folder; return the commit and its path."""
    name = paths.repo_path(name, for_write=True, allow_root=False)
    path = paths.join(folder_path, name)
    base_id = resolve_base(base)
    if base_id and catalog.repository().kind_of(base_id, path):
        raise FilesExist([name])
    data = text.replace("\r\n", "\n").encode("utf-8")
    message = message.strip() or f"Add {path}"
    return _commit([Change(path, data)], message, base_id), path


# Rename, move and delete -------------------------------------------------


def rename(old: str, new: str, base: str, message: str) -> tuple[Commit, str]:
    """Rename or move a file or folder in one commit; its descriptions follow it.

    Returns the commit and the new path.
    """
    new = paths.repo_path(new, for_write=True, allow_root=False)
    if new == old:
        raise ValidationError("The new name is the same as the old one.")
    if new.startswith(old + "/"):
        raise ValidationError("A folder cannot be moved into itself.")
    repo = catalog.repository()
    base_id = _existing_base(old, base)
    _check_free(repo, base_id, new)
    entry = repo.entry(base_id, old)
    if entry.is_folder:
        moves = [
            (p, new + p[len(old) :], m, o) for p, m, o in repo.tree_files(base_id, old)
        ]
    else:
        moves = [(old, new, entry.mode, entry.oid)]
    changes = [Change(src) for src, _, _, _ in moves]
    changes += [Change(dst, mode=mode, oid=oid) for _, dst, mode, oid in moves]
    message = message.strip() or f"Rename {old} to {new}"
    commit = _commit(changes, message, base_id)
    _after_commit(lambda: descriptions.move(old, new))
    return commit, new


def _check_free(repo: Repository, commit_id: str, path: str) -> None:
    """Refuse a target that exists at the page's commit or at the tip.

    A file standing where a folder of the target should be is refused by
    Repository.write() itself.
    """
    for tip_or_base in {commit_id, repo.tip()}:
        if repo.kind_of(tip_or_base, path):
            raise Conflict(f"{paths.display(path)} already exists.", path)


def delete(path: str, base: str, message: str) -> Commit:
    """Delete a file or a folder with everything in it, in one commit.

    Descriptions stay in the database, so restoring the file brings its
    description back.
    """
    repo = catalog.repository()
    base_id = _existing_base(path, base)
    if base_id != repo.tip() and not repo.kind_of(repo.tip(), path):
        # The same delete sent twice, or someone else was quicker.
        raise NotFound(f"{paths.display(path)} is already deleted")
    entry = repo.entry(base_id, path)
    if entry.is_folder:
        changes = [Change(p) for p, _, _ in repo.tree_files(base_id, path)]
    else:
        changes = [Change(path)]
    message = message.strip() or f"Delete {path}"
    return _commit(changes, message, base_id)


def restore(
    path: str, source_rev: str, source_path: str | None, base: str | None, message: str
) -> Commit | None:
    """Write a file's content from an earlier commit at path, as a new commit.

    source_path is the file's name in that commit when it has since been
    renamed. Restoring the content the file already has changes nothing.
    """
    repo = catalog.repository()
    source_id = repo.resolve(source_rev)
    entry = repo.entry(source_id, source_path or path)
    if entry.is_folder:
        raise ValidationError("Restore works on files; restore each file of a folder.")
    base_id = resolve_base(base)
    message = message.strip() or f"Restore {path} to {source_id[:7]}"
    try:
        return _commit([Change(path, mode=entry.mode, oid=entry.oid)], message, base_id)
    except NothingToCommit:
        return None


def _after_commit(update) -> None:
    """Apply a database change that belongs to a commit that has just landed."""
    try:
        update()
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("the commit landed but its descriptions could not be moved")
        raise
