"""Writing a repository: one commit per change, never through a shared index."""

import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from ..gitobjects import EMPTY_TREE, ZERO_ID, Commit, Identity
from ..paths import display, to_bytes
from .base import CHUNK, _stop
from .errors import Conflict, GitStoreError, NothingToCommit, RepositoryBusy
from .reading import Reader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One path to write or delete.

    The new content comes from bytes, an open binary file, or (oid) an object
    the repository already has, as when a file moves; with none of them the
    path is deleted.
    """

    path: str
    content: bytes | BinaryIO | None = None
    mode: str | None = None
    oid: str | None = None

    @property
    def deletes(self) -> bool:
        return self.content is None and self.oid is None


class Writer(Reader):
    """Commits on the served branch, with compare-and-swap and one writer at a time."""

    def write(
        self,
        changes: list[Change],
        message: str,
        author: Identity,
        committer: Identity,
        base: str | None,
    ) -> Commit:
        """Commit changes on the served branch as one commit and return it.

        base is the commit the user's page started from; if any changed path
        differs between base and the branch tip, Conflict is raised and
        nothing is written. Otherwise the commit goes on top of the tip.
        """
        with self._write_lock():
            dirty = self.dirty_paths([c.path for c in changes])
            if dirty:
                raise Conflict(
                    f"{display(dirty[0])} has uncommitted edits in the server's "
                    "working tree; commit or discard them there first",
                    dirty[0],
                )
            blobs = [
                (c, self._store_blob(c.content))
                for c in changes
                if not c.deletes and c.oid is None
            ]
            new_oids = {c.path: b for c, b in blobs}
            for _attempt in range(5):
                tip = self.tip()
                self._check_base(changes, base, tip, new_oids)
                tree = self._build_tree(tip, changes, new_oids)
                if tip and tree == self._info(f"{tip}^{{tree}}")[0]:
                    raise NothingToCommit("These files already have this content")
                new = self._commit_tree(tree, tip, message, author, committer)
                if self._move_branch(new, tip):
                    log.info(
                        "commit %s on %s by %s: %s",
                        new[:7],
                        self.branch,
                        author.email,
                        message.split("\n", 1)[0],
                    )
                    return self.commit(new)
            raise RepositoryBusy("The branch kept moving; try again")

    def _check_base(
        self,
        changes: list[Change],
        base: str | None,
        tip: str | None,
        new_oids: dict[str, str] | None = None,
    ) -> None:
        for change in changes:
            if not change.deletes:
                self._check_place(change.path, tip)
        if base == tip:
            return
        for change in changes:
            before = self._path_oid(base, change.path)
            now = self._path_oid(tip, change.path)
            if before == now:
                continue
            # The tip already has exactly this content (the same upload sent
            # twice): nobody's change is lost, and the commit becomes a no-op.
            wanted = (new_oids or {}).get(change.path, change.oid)
            if not change.deletes and now == wanted:
                continue
            raise Conflict(
                f"{display(change.path)} was changed by someone else since you "
                "opened this page",
                change.path,
                tip,
            )

    def _check_place(self, path: str, tip: str | None) -> None:
        """Raise Conflict where a file would replace a folder, or a folder a file."""
        if not tip:
            return
        segments = path.split("/")
        for end in range(1, len(segments) + 1):
            prefix = "/".join(segments[:end])
            found = self._info(self._object_name(tip, prefix))
            if found is None:
                return
            if (found[1] == "tree") != (end < len(segments)):
                what = "a folder" if found[1] == "tree" else "a file"
                raise Conflict(f"{display(prefix)} is already {what}", prefix, tip)

    def _path_oid(self, commit_id: str | None, path: str) -> str | None:
        if not commit_id:
            return None
        found = self._info(self._object_name(commit_id, path))
        return found[0] if found else None

    def _store_blob(self, content: bytes | BinaryIO) -> str:
        proc = self._spawn("hash-object", "-w", "--no-filters", "--stdin")
        try:
            if isinstance(content, bytes):
                proc.stdin.write(content)
            else:
                shutil.copyfileobj(content, proc.stdin, CHUNK)
            proc.stdin.close()
            oid = proc.stdout.read().decode("ascii").strip()
        finally:
            _stop(proc)
        if len(oid) != 40:
            raise GitStoreError("Git hash-object did not store the file")
        return oid

    def _build_tree(self, tip: str | None, changes: list[Change], blobs: dict) -> str:
        fd, index = tempfile.mkstemp(prefix="vcsweb-index-")
        os.close(fd)
        os.unlink(index)
        env = {"GIT_INDEX_FILE": index}
        try:
            self._run("read-tree", tip or "--empty", env=env)
            lines = []
            for change in changes:
                if change.deletes:
                    lines.append(
                        b"0 " + ZERO_ID.encode() + b"\t" + to_bytes(change.path)
                    )
                else:
                    mode = change.mode or self._current_mode(tip, change.path)
                    oid = change.oid or blobs[change.path]
                    record = f"{mode} {oid}\t".encode() + to_bytes(change.path)
                    lines.append(record)
            self._run(
                "update-index",
                "-z",
                "--index-info",
                stdin=b"\0".join(lines) + b"\0",
                env=env,
            )
            return self._run("write-tree", env=env).decode("ascii").strip()
        finally:
            if os.path.exists(index):
                os.unlink(index)

    def _current_mode(self, tip: str | None, path: str) -> str:
        if tip:
            parent, _, name = path.rpartition("/")
            mode_oid = self._folder_entries(tip, parent).get(to_bytes(name))
            if mode_oid and mode_oid[0] in {"100644", "100755"}:
                return mode_oid[0]
        return "100644"

    def _commit_tree(self, tree, tip, message, author, committer) -> str:
        now = f"{int(time.time())} +0000"
        env = {
            "GIT_AUTHOR_NAME": _clean(author.name),
            "GIT_AUTHOR_EMAIL": _clean(author.email),
            "GIT_AUTHOR_DATE": now,
            "GIT_COMMITTER_NAME": _clean(committer.name),
            "GIT_COMMITTER_EMAIL": _clean(committer.email),
            "GIT_COMMITTER_DATE": now,
        }
        args = ["commit-tree", tree] + (["-p", tip] if tip else []) + ["-F", "-"]
        return self._run(*args, stdin=message.encode("utf-8"), env=env).decode().strip()

    def _move_branch(self, new: str, old: str | None) -> bool:
        """Point the branch at new if it is still at old; False if it moved."""
        self._check_worktree_unlocked()
        try:
            self._run("update-ref", self.ref, new, old or ZERO_ID)
        except RepositoryBusy:
            raise
        except GitStoreError as exc:
            if "but expected" in str(exc) or "already exists" in str(exc):
                return False
            raise
        self._update_worktree(old, new)
        return True

    def _checked_out(self) -> bool:
        return not self.bare and self._head_ref() == self.ref

    def _check_worktree_unlocked(self) -> None:
        if self._checked_out() and os.path.exists(
            os.path.join(self.git_dir, "index.lock")
        ):
            raise RepositoryBusy(
                "The repository is busy: its working tree is locked by another Git "
                "command (.git/index.lock exists); try again in a moment"
            )

    def dirty_paths(self, paths: list[str]) -> list[str]:
        """Return which of paths have uncommitted edits in the working tree."""
        if not self._checked_out() or not paths:
            return []
        output = self._run(
            "status",
            "--porcelain",
            "-z",
            "--untracked-files=all",
            "--",
            *paths,
        )
        return [
            r[3:].decode("utf-8", "surrogateescape")
            for r in output.split(b"\0")
            if len(r) > 3
        ]

    def worktree_status(self, folder: str) -> dict[str, str]:
        """Return {name: 'modified', 'deleted' or 'staged'} for local edits."""
        if not self._checked_out():
            return {}
        args = ["status", "--porcelain", "-z", "--untracked-files=no", "--no-renames"]
        if folder:
            args += ["--", folder + "/"]
        output = self._run(*args)
        prefix = to_bytes(folder) + b"/" if folder else b""
        status = {}
        for record in output.split(b"\0"):
            if len(record) < 4 or not record[3:].startswith(prefix):
                continue
            name = record[3 + len(prefix) :].split(b"/", 1)[0]
            code = record[:2].decode("ascii", "replace")
            state = (
                "deleted" if "D" in code else "staged" if code[1] == " " else "modified"
            )
            status[name.decode("utf-8", "surrogateescape")] = state
        return status

    def _update_worktree(self, old: str | None, new: str) -> None:
        # The same as receive.denyCurrentBranch=updateInstead: the checked-out
        # files follow the branch, local edits elsewhere are kept.
        if not self._checked_out():
            return
        # A file rewritten with the same bytes only has a new time stamp;
        # read-tree would take it for an edit unless the index is refreshed.
        self._run("update-index", "-q", "--refresh")
        self._run("read-tree", "-u", "-m", old or EMPTY_TREE, new)

    @contextmanager
    def _write_lock(self):
        # One writer per repository across workers and hosts sharing the
        # folder; readers never take it.
        path = os.path.join(self.git_dir, "vcsweb-write.lock")
        deadline = time.monotonic() + self.timeout
        with open(path, "a") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RepositoryBusy(
                            "Another change is being saved; try again"
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _clean(value: str) -> str:
    """Drop what Git refuses in an identity: angle brackets and line breaks."""
    # A line break becomes a space, so a name on two lines stays two words.
    spaced = re.sub(r"[\x00-\x1f\x7f]", " ", re.sub(r"[<>]", "", value))
    cleaned = " ".join(spaced.split())
    return cleaned or "unknown"
