"""`flask backup create FILE` and `flask backup restore FILE`: everything vcsweb keeps.

A backup is one tar file: the repository as a git bundle of every ref, each
database table as JSON lines, and manifest.json saying what is inside (the
schema revision, the refs, the row count of each table). It restores into an
empty database (SQLite or PostgreSQL, whichever the backup came from) and an
empty repository, and refuses anything else before changing either.
"""

import io
import json
import logging
import os
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

import click
import flask_migrate
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import AppGroup

from . import tabledump
from .extensions import db
from .gitstore import GitStoreError
from .gitstore import bundle as git_bundle

log = logging.getLogger(__name__)

FORMAT = "vcsweb-backup"
FORMAT_VERSION = 1
TOP = "vcsweb-backup"
# Commits landing while the tables are read would leave the two halves of a
# backup at different moments; the whole backup is taken again this often.
ATTEMPTS = 3


class BackupError(Exception):
    """A backup that cannot be made or restored; the message says why."""


@dataclass(frozen=True)
class Summary:
    """What a backup holds, or what a restore put back."""

    refs: dict[str, str]
    head: str | None
    revision: str | None
    rows: dict[str, int]

    def describe(self) -> str:
        branch = (self.head or "").removeprefix("refs/heads/")
        tip = self.refs.get(self.head or "", "")
        repo = (
            f"{len(self.refs)} refs, {branch} at {tip[:7]}" if self.refs else "no refs"
        )
        tables = ", ".join(f"{name} {count}" for name, count in self.rows.items())
        return f"repository: {repo}; schema {self.revision}; rows: {tables}"


def create(target: str) -> Summary:
    """Write a backup of the configured repository and database to target."""
    if os.path.exists(target):
        raise BackupError(f"{target} already exists; name a new file")
    folder = os.path.dirname(os.path.abspath(target))
    with tempfile.TemporaryDirectory(prefix=".vcsweb-backup-", dir=folder) as work:
        manifest = _collect(work)
        partial = os.path.join(work, "backup.tar")
        _pack(work, manifest, partial)
        _move_in(partial, target)
    summary = _summary(manifest)
    log.info("backup written to %s: %s", target, summary.describe())
    return summary


def _move_in(partial: str, target: str) -> None:
    # link() never replaces a file that appeared meanwhile; a file system
    # without hard links gets a rename after one more look.
    try:
        os.link(partial, target)
    except FileExistsError:
        raise BackupError(f"{target} already exists; name a new file") from None
    except OSError:
        if os.path.exists(target):
            raise BackupError(f"{target} already exists; name a new file") from None
        os.rename(partial, target)


def restore(source: str) -> Summary:
    """Restore a backup into the configured, empty, database and repository."""
    repo_path = current_app.config["VCSWEB_REPO"]
    with tarfile.open(source, "r:*") as archive:
        manifest = _manifest(archive)
        _check_revision_known(manifest["revision"])
        problem = git_bundle.problem_with_target(repo_path)
        if problem:
            raise BackupError(f"Nothing was restored: {problem}.")
        _prepare_database(manifest["revision"])
        with tempfile.TemporaryDirectory(prefix="vcsweb-restore-") as work:
            bundle_file = _extract_bundle(archive, manifest, work)
            _restore_all(archive, manifest, bundle_file, repo_path)
    summary = _summary(manifest)
    log.info("backup %s restored: %s", source, summary.describe())
    return summary


def _collect(work: str) -> dict:
    """Bundle the repository and dump the tables; return the manifest."""
    repo_path = current_app.config["VCSWEB_REPO"]
    bundle_file = os.path.join(work, "repository.bundle")
    for attempt in range(1, ATTEMPTS + 1):
        if os.path.exists(bundle_file):
            os.remove(bundle_file)
        snap = git_bundle.create(repo_path, bundle_file)
        with tabledump.snapshot(db.engine) as conn:
            revision = tabledump.revision(conn)
            tables = []
            for table in tabledump.tables(conn):
                name = f"database/{len(tables):02d}-{table.name}.jsonl"
                path = os.path.join(work, name.replace("/", "_"))
                with open(path, "w", encoding="utf-8") as out:
                    rows = tabledump.dump(conn, table, out)
                tables.append({"name": table.name, "file": name, "rows": rows})
        if git_bundle.snapshot(repo_path).refs == snap.refs:
            break
        log.info("commits landed during backup attempt %d; taking it again", attempt)
    else:
        log.warning(
            "commits kept landing during the backup; the repository part may be "
            "slightly older than the database part"
        )
    if revision is None:
        raise BackupError(
            "The database has no schema yet; run `flask db upgrade` first."
        )
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": revision,
        "database": db.engine.dialect.name,
        "repository": {
            "bundle": None if snap.empty else "repository.bundle",
            "bare": snap.bare,
            "head": snap.head,
            "refs": snap.refs,
        },
        "tables": tables,
    }


def _pack(work: str, manifest: dict, target: str) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(f"{TOP}/manifest.json")
        info.size, info.mode, info.mtime = len(data), 0o600, _now()
        archive.addfile(info, io.BytesIO(data))
        if manifest["repository"]["bundle"]:
            name = manifest["repository"]["bundle"]
            archive.add(os.path.join(work, name), f"{TOP}/{name}", recursive=False)
        for table in manifest["tables"]:
            local = os.path.join(work, table["file"].replace("/", "_"))
            archive.add(local, f"{TOP}/{table['file']}", recursive=False)


def _manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.extractfile(f"{TOP}/manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise BackupError("This file is not a vcsweb backup (it has no manifest).")
    manifest = json.load(member)
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise BackupError(
            f"This backup's format ({manifest.get('format')} "
            f"{manifest.get('version')}) is not one this vcsweb reads."
        )
    return manifest


def _check_revision_known(revision: str) -> None:
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    try:
        scripts.get_revision(revision)
    except CommandError:
        raise BackupError(
            f"The backup's schema revision {revision} is unknown to this vcsweb; "
            "restore it with the vcsweb version that made it (or a newer one)."
        ) from None


def _prepare_database(revision: str) -> None:
    """Check the database is empty at the backup's revision, or make it so."""
    with db.engine.connect() as conn:
        current = tabledump.revision(conn)
        filled = tabledump.non_empty(conn)
        has_tables = bool(tabledump.tables(conn))
    if filled:
        held = ", ".join(f"{name} ({count} rows)" for name, count in filled.items())
        raise BackupError(
            f"Nothing was restored: the database already holds data: {held}. "
            "Restore into a new, empty database."
        )
    if current is None and has_tables:
        raise BackupError(
            "Nothing was restored: the database has tables but no schema revision."
        )
    if current is None:
        # A database without tables gets the schema the backup was made with;
        # `flask db upgrade` afterwards brings it up to date.
        flask_migrate.upgrade(revision=revision)
    elif current != revision:
        raise BackupError(
            f"Nothing was restored: the database is at schema revision {current}, "
            f"the backup at {revision}. Restore into a database without tables "
            "(it gets the backup's schema), then run `flask db upgrade`."
        )


def _extract_bundle(archive: tarfile.TarFile, manifest: dict, work: str):
    name = manifest["repository"]["bundle"]
    if not name:
        return None
    member = archive.extractfile(f"{TOP}/{name}")
    target = os.path.join(work, "repository.bundle")
    with open(target, "wb") as out:
        while chunk := member.read(1024 * 1024):
            out.write(chunk)
    return target


def _restore_all(archive, manifest, bundle_file, repo_path) -> None:
    """Fill the tables in one transaction and the repository; all or nothing."""
    wanted = git_bundle.Snapshot(
        manifest["repository"]["refs"],
        manifest["repository"]["head"],
        manifest["repository"]["bare"],
    )
    touched = False
    try:
        # One transaction, committed only once the repository is back too.
        with db.engine.begin() as conn:
            _load_tables(conn, archive, manifest)
            touched = True
            git_bundle.restore(bundle_file, repo_path, wanted)
    except GitStoreError as exc:
        _undo_repository(repo_path)
        raise BackupError(
            f"Nothing was restored: the repository could not be: {exc}"
        ) from exc
    except BaseException:
        if touched:
            _undo_repository(repo_path)
        raise


def _load_tables(conn, archive: tarfile.TarFile, manifest: dict) -> None:
    present = {t.name: t for t in tabledump.tables(conn)}
    missing = [t["name"] for t in manifest["tables"] if t["name"] not in present]
    if missing:
        raise BackupError(f"Nothing was restored: no tables {missing} here.")
    for entry in manifest["tables"]:
        table = present[entry["name"]]
        lines = io.TextIOWrapper(
            archive.extractfile(f"{TOP}/{entry['file']}"), encoding="utf-8"
        )
        loaded = tabledump.load(conn, table, lines)
        if loaded != entry["rows"]:
            raise BackupError(
                f"{entry['name']}: the backup lists {entry['rows']} rows "
                f"but holds {loaded}; nothing was restored."
            )
        tabledump.reset_sequences(conn, table)


def _undo_repository(repo_path: str) -> None:
    try:
        git_bundle.clear(repo_path)
    except GitStoreError as exc:
        log.error("could not undo the partial restore of %s: %s", repo_path, exc)


def _summary(manifest: dict) -> Summary:
    return Summary(
        refs=manifest["repository"]["refs"],
        head=manifest["repository"]["head"],
        revision=manifest["revision"],
        rows={t["name"]: t["rows"] for t in manifest["tables"]},
    )


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


cli = AppGroup("backup", help="Back up or restore the repository and the database.")


@cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False))
def create_command(file):
    """Write the repository and every table to FILE (a new tar file)."""
    try:
        summary = create(file)
    except (BackupError, GitStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up to {file}: {summary.describe()}.")


@cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore_command(file):
    """Restore FILE into the configured empty database and repository."""
    try:
        summary = restore(file)
    except (BackupError, tabledump.DumpError, GitStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    except (tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise click.ClickException(
            f"{file} is not a complete vcsweb backup ({exc}); nothing was restored."
        ) from None
    click.echo(f"Restored {file}: {summary.describe()}.")
