"""A whole repository in one file (a git bundle) and back, for backups.

A bundle made with `--all` holds every ref and every object they reach, read
at one moment, so it is consistent while vcsweb keeps committing. It can be
restored into a bare or a non-bare repository.
"""

import logging
import os
from dataclasses import dataclass

import git

from .base import GitBase
from .errors import GitStoreError

log = logging.getLogger(__name__)

# A backup or restore of a large repository runs for as long as it needs;
# it is a command, not a request with a worker timeout.
NO_LIMIT = 24 * 3600


@dataclass(frozen=True)
class Snapshot:
    """What a bundle holds: every ref with its commit, and what HEAD names."""

    refs: dict[str, str]
    head: str | None
    bare: bool

    @property
    def empty(self) -> bool:
        return not self.refs


def snapshot(path: str) -> Snapshot:
    """Return the refs and HEAD of the repository at path, without a bundle."""
    with GitBase(path, timeout=NO_LIMIT) as repo:
        return Snapshot(_refs(repo), repo._head_ref(), repo.bare)


def create(path: str, target: str) -> Snapshot:
    """Write every ref of the repository at path to the bundle file target.

    An empty repository has nothing to bundle: no file is written and the
    snapshot says it is empty.
    """
    with GitBase(path, timeout=NO_LIMIT) as repo:
        before = _refs(repo)
        if not before:
            return Snapshot({}, repo._head_ref(), repo.bare)
        repo._run("bundle", "create", "--quiet", target, "--all")
        # The bundle's own list is what it holds, even if a commit landed
        # between the two reads.
        held = _bundle_refs(repo._run("bundle", "list-heads", target))
        log.info("bundled %d refs of %s", len(held), path)
        return Snapshot(held, repo._head_ref(), repo.bare)


def problem_with_target(path: str) -> str | None:
    """Return why path cannot receive a restored repository, or None."""
    if not os.path.exists(path):
        return None
    if not os.path.isdir(path):
        return f"{path} exists and is not a folder"
    if not os.listdir(path):
        return None
    try:
        with GitBase(path, timeout=NO_LIMIT) as repo:
            if _refs(repo):
                return (
                    f"the repository {path} already has commits; restore into "
                    "an empty repository"
                )
            if not repo.bare and _worktree_files(path):
                return (
                    f"the working tree of {path} holds files; restore into an "
                    "empty repository"
                )
    except GitStoreError:
        return f"{path} is not empty and not a Git repository"
    return None


def restore(bundle: str | None, path: str, wanted: Snapshot) -> None:
    """Fill the empty repository at path (made like the original if missing).

    HEAD names the branch it named when the bundle was made; a non-bare
    repository gets that branch checked out. Raises GitStoreError if the
    refs restored differ from the ones the backup recorded.
    """
    problem = problem_with_target(path)
    if problem:
        raise GitStoreError(problem)
    if not os.path.exists(path) or not os.listdir(path):
        git.Repo.init(path, bare=wanted.bare, mkdir=True)
    with GitBase(path, timeout=NO_LIMIT) as repo:
        if bundle is not None:
            repo._run("bundle", "verify", "--quiet", bundle)
            repo._run(
                "fetch",
                "--quiet",
                "--no-write-fetch-head",
                "--update-head-ok",
                bundle,
                "+refs/*:refs/*",
            )
        if wanted.head:
            repo._run("symbolic-ref", "HEAD", wanted.head)
        restored = _refs(repo)
        if restored != wanted.refs:
            missing = sorted(set(wanted.refs) ^ set(restored))
            raise GitStoreError(
                f"the restored repository does not match the backup: {missing}"
            )
        if not repo.bare and restored:
            repo._run("reset", "--quiet", "--hard")
    log.info("restored %d refs into %s", len(restored), path)


def clear(path: str) -> None:
    """Delete every ref of the repository at path: undo a restore."""
    with GitBase(path, timeout=NO_LIMIT) as repo:
        names = list(_refs(repo))
        if names:
            commands = "".join(f"delete {name}\n" for name in names)
            repo._run("update-ref", "--stdin", stdin=commands.encode())


def _refs(repo: GitBase) -> dict[str, str]:
    out = repo._run("for-each-ref", "--format=%(objectname) %(refname)")
    return _bundle_refs(out)


def _bundle_refs(listing: bytes) -> dict[str, str]:
    found = {}
    for line in listing.decode("utf-8", "surrogateescape").splitlines():
        oid, _, name = line.partition(" ")
        if name.startswith("refs/"):
            found[name] = oid
    return found


def _worktree_files(path: str) -> list[str]:
    return [name for name in os.listdir(path) if name != ".git"]
