"""The only module that talks to Git.

It speaks in vcsweb's own terms: paths from paths.py, the dataclasses in
gitobjects.py and the errors below. Every path reaches Git after '--', as a
`<rev>:<path>` object name or on standard input, never through a shell, and
pathspecs are literal (no globbing), so a file named '-rf' or '*.txt' is just
a name.
"""

import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import git
from git.exc import InvalidGitRepositoryError, NoSuchPathError

from .gitobjects import (
    EMPTY_TREE,
    ZERO_ID,
    Commit,
    Entry,
    Identity,
    parse_commit,
    parse_ls_tree,
    parse_tree,
    sort_entries,
)
from .lastchange import last_changes
from .paths import display, from_bytes, to_bytes

log = logging.getLogger(__name__)

# Branch and tag names, abbreviated or full commit ids; no option-like or
# range syntax ever reaches Git as a revision.
_REVISION = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_CHUNK = 64 * 1024


class GitStoreError(Exception):
    """Base of every error this module raises."""


class NotFound(GitStoreError):
    """A revision, file or folder that does not exist."""


class Conflict(GitStoreError):
    """A write whose base is stale for one of its paths."""

    def __init__(self, message: str, path: str, current: str | None = None):
        super().__init__(message)
        self.path = path
        self.current = current


class RepositoryBusy(GitStoreError):
    """Git is locked by another process or took too long; trying again helps."""


class RepositoryUnavailable(GitStoreError):
    """The configured repository cannot be used at all."""


class NothingToCommit(GitStoreError):
    """The change would leave every file as it is."""


@dataclass(frozen=True)
class Change:
    """One path to write (content from bytes or an open binary file) or delete."""

    path: str
    content: bytes | BinaryIO | None
    mode: str | None = None


def init_bare(path: str, branch: str = "main") -> None:
    """Create an empty bare repository at path."""
    git.Repo.init(path, bare=True, mkdir=True, initial_branch=branch)
    log.info("created bare repository %s", path)


def _git_env() -> dict[str, str]:
    return {
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C",
    }


class Repository:
    """One open repository serving one branch; close() it after use."""

    def __init__(self, path: str, branch: str | None = None, timeout: int = 20):
        try:
            self._repo = git.Repo(path)
        except (InvalidGitRepositoryError, NoSuchPathError) as exc:
            raise RepositoryUnavailable(f"{path} is not a Git repository") from exc
        self._repo.git.update_environment(**_git_env())
        self.path = path
        self.timeout = timeout
        self.bare = self._repo.bare
        self.git_dir = self._repo.git_dir
        self.branch = branch or self._head_branch()
        self.ref = f"refs/heads/{self.branch}"
        self._catfile = None

    # Lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Stop the helper processes this object started."""
        if self._catfile is not None:
            _stop(self._catfile)
            self._catfile = None
        self._repo.close()

    def __enter__(self) -> "Repository":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self) -> None:
        """Raise RepositoryUnavailable unless Git can read this repository."""
        try:
            self._run("rev-parse", "--git-dir")
        except GitStoreError as exc:
            raise RepositoryUnavailable(str(exc)) from exc

    # Reading -------------------------------------------------------------

    def tip(self) -> str | None:
        """Return the served branch's commit id, or None while it has no commits."""
        found = self._info(self.ref)
        return found[0] if found else None

    def resolve(self, rev: str) -> str:
        """Return the full commit id a revision names, or raise NotFound."""
        if not _REVISION.match(rev):
            raise NotFound(f"revision {rev!r} is not a valid revision name")
        found = self._info(f"{rev}^{{commit}}")
        if not found:
            raise NotFound(f"revision {rev} not found")
        return found[0]

    def commit(self, commit_id: str) -> Commit:
        """Return one commit's facts."""
        _, kind, data = self._contents(commit_id) or (None, None, None)
        if kind != "commit":
            raise NotFound(f"revision {commit_id} not found")
        return parse_commit(commit_id, data)

    def entry(self, commit_id: str, path: str) -> Entry:
        """Return what a path is at a commit, or raise NotFound."""
        if path == "":
            tree = self._info(f"{commit_id}^{{tree}}")
            return Entry("", "folder", "040000", tree[0], None)
        parent, _, name = path.rpartition("/")
        for found in self.list_folder(commit_id, parent):
            if found.name == name:
                return found
        raise NotFound(f"{display(path)} not found")

    def list_folder(self, commit_id: str, folder: str) -> list[Entry]:
        """List a folder at a commit, folders first, or raise NotFound."""
        info = self._info(self._object_name(commit_id, folder))
        if not info or info[1] != "tree":
            raise NotFound(f"folder {display(folder)} not found")
        output = self._run("ls-tree", "-l", "-z", info[0])
        return sort_entries(parse_ls_tree(output, folder))

    def read_blob(self, oid: str, limit: int) -> tuple[bytes, bool]:
        """Return up to limit bytes of a blob and whether it was cut short."""
        info = self._info(oid)
        if not info:
            raise NotFound(f"object {oid} not found")
        if info[2] <= limit:
            return self._contents(oid)[2], False
        stream = self.stream_blob(oid)
        data = bytearray()
        for chunk in stream:
            data += chunk
            if len(data) >= limit:
                break
        stream.close()
        return bytes(data[:limit]), True

    def stream_blob(self, oid: str) -> Iterator[bytes]:
        """Yield a blob's bytes in chunks from a process of its own."""
        return _drain(self._spawn("cat-file", "blob", oid))

    def last_commits(
        self, tip: str, folder: str, names: list[str]
    ) -> dict[str, Commit]:
        """Return, per name in folder, the commit `git log -1 -- <path>` shows.

        One walk of history serves the whole folder (see lastchange.py).
        """
        proc = self._spawn("rev-list", "--parents", tip)
        try:
            graph = (_graph_line(line) for line in proc.stdout)
            found = last_changes(
                graph,
                tip,
                (to_bytes(name) for name in names),
                lambda commits: self._tree_ids(commits, folder),
                self._changed_names,
            )
        finally:
            _stop(proc)
        commits = {cid: self.commit(cid) for cid in set(found.values())}
        return {from_bytes(name): commits[cid] for name, cid in found.items()}

    def _tree_ids(self, commits: list[str], folder: str) -> dict[str, str | None]:
        """Return the folder's tree id in each commit, in one batch."""
        names = [self._object_name(c, folder) for c in commits]
        output = self._run("cat-file", "--batch-check", "-z", stdin=b"\0".join(names) + b"\0")
        result = {}
        for commit, line in zip(commits, output.split(b"\n"), strict=False):
            header = _header(line)
            result[commit] = header[0] if header and header[1] == "tree" else None
        return result

    def _changed_names(self, pairs: list[tuple[str | None, str | None]]) -> list[set[bytes]]:
        """Return, per pair of trees, the names of the entries that differ."""
        lines = [f"{old or EMPTY_TREE} {new or EMPTY_TREE}\n" for old, new in pairs]
        output = self._run("diff-tree", "--stdin", "-z", "--name-only", "--no-renames",
                           stdin="".join(lines).encode())
        result = []
        pos = 0
        for index, line in enumerate(lines):
            header = line.encode()
            if not output.startswith(header, pos):
                raise GitStoreError("git diff-tree answered out of order")
            pos += len(header)
            following = lines[index + 1].encode() if index + 1 < len(lines) else None
            end = len(output)
            if following is not None:
                end = _next_header(output, following, pos)
            result.append({n for n in output[pos:end].split(b"\0") if n})
            pos = end
        return result

    def _folder_entries(
        self, commit_id: str, folder: str
    ) -> dict[bytes, tuple[str, str]]:
        info = self._info(self._object_name(commit_id, folder))
        if not info or info[1] != "tree":
            return {}
        cache = self.__dict__.setdefault("_tree_cache", {})
        if info[0] not in cache:
            if len(cache) > 4096:
                cache.clear()
            cache[info[0]] = parse_tree(self._contents(info[0])[2])
        return cache[info[0]]

    # Writing -------------------------------------------------------------

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
                    f"{display(dirty[0])} has uncommitted edits in the server's working "
                    "tree; commit or discard them there first",
                    dirty[0],
                )
            blobs = [
                (c, self._store_blob(c.content))
                for c in changes
                if c.content is not None
            ]
            for _attempt in range(5):
                tip = self.tip()
                self._check_base(changes, base, tip)
                tree = self._build_tree(
                    tip, changes, dict((c.path, b) for c, b in blobs)
                )
                if tip and tree == self._info(f"{tip}^{{tree}}")[0]:
                    raise NothingToCommit("these files already have this content")
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
            raise RepositoryBusy("the branch kept moving; try again")

    def _check_base(
        self, changes: list[Change], base: str | None, tip: str | None
    ) -> None:
        if base == tip:
            return
        for change in changes:
            before = self._path_oid(base, change.path)
            now = self._path_oid(tip, change.path)
            if before != now:
                raise Conflict(
                    f"{display(change.path)} was changed by someone else since you "
                    "opened this page",
                    change.path,
                    tip,
                )

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
                shutil.copyfileobj(content, proc.stdin, _CHUNK)
            proc.stdin.close()
            oid = proc.stdout.read().decode("ascii").strip()
        finally:
            _stop(proc)
        if len(oid) != 40:
            raise GitStoreError("git hash-object did not store the file")
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
                if change.content is None:
                    lines.append(
                        b"0 " + ZERO_ID.encode() + b"\t" + to_bytes(change.path)
                    )
                else:
                    mode = change.mode or self._current_mode(tip, change.path)
                    record = f"{mode} {blobs[change.path]}\t".encode() + to_bytes(
                        change.path
                    )
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
                "the repository's working tree is locked by another Git command "
                "(.git/index.lock exists); try again in a moment"
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
            *[to_bytes(p) for p in paths],
        )
        return [
            r[3:].decode("utf-8", "surrogateescape")
            for r in output.split(b"\0")
            if len(r) > 3
        ]

    def worktree_status(self, folder: str) -> dict[str, str]:
        """Return {name: 'modified' | 'deleted' | 'staged'} for a folder's local edits."""
        if not self._checked_out():
            return {}
        args = ["status", "--porcelain", "-z", "--untracked-files=no", "--no-renames"]
        if folder:
            args += ["--", to_bytes(folder) + b"/"]
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
                            "another change is being saved; try again"
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # Plumbing ------------------------------------------------------------

    def _head_branch(self) -> str:
        ref = self._head_ref()
        if ref and ref.startswith("refs/heads/"):
            return ref[len("refs/heads/") :]
        return "main"

    def _head_ref(self) -> str | None:
        try:
            return self._run("symbolic-ref", "-q", "HEAD").decode().strip()
        except GitStoreError:
            return None

    def _object_name(self, commit_id: str, path: str) -> bytes:
        if path == "":
            return f"{commit_id}^{{tree}}".encode()
        return commit_id.encode() + b":" + to_bytes(path)

    def _cat(self):
        # One long-lived `cat-file --batch-command` answers every object
        # lookup of this request: no process start per lookup.
        if self._catfile is None:
            self._catfile = self._spawn("cat-file", "--batch-command", "-z")
        return self._catfile

    def _spawn(self, *args, env: dict | None = None):
        """Start git with pipes on all three streams; the caller stops it."""
        return self._repo.git.execute(
            ["git", *args], as_process=True, istream=subprocess.PIPE, env=env
        )

    def _info(self, name: str | bytes) -> tuple[str, str, int] | None:
        """Return (id, type, size) of an object name, or None when missing."""
        name = name.encode() if isinstance(name, str) else name
        proc = self._cat()
        proc.stdin.write(b"info " + name + b"\0")
        proc.stdin.flush()
        return _header(proc.stdout.readline())

    def _contents(self, name: str | bytes) -> tuple[str, str, bytes] | None:
        name = name.encode() if isinstance(name, str) else name
        proc = self._cat()
        proc.stdin.write(b"contents " + name + b"\0")
        proc.stdin.flush()
        header = _header(proc.stdout.readline())
        if header is None:
            return None
        data = proc.stdout.read(header[2])
        proc.stdout.read(1)
        return header[0], header[1], data

    def _run(self, *args, stdin: bytes | None = None, env: dict | None = None) -> bytes:
        """Run one git command to its end and return what it printed."""
        proc = self._spawn(*args, env=env)
        try:
            out, err = proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            log.warning("git %s took more than %ss", args[0], self.timeout)
            raise RepositoryBusy("Git took too long to answer; try again") from None
        finally:
            _stop(proc)
        if proc.proc.returncode != 0:
            message = err.decode("utf-8", "replace").strip()
            if ".lock': File exists" in message or "Unable to create" in message:
                raise RepositoryBusy(
                    "the repository is locked by another Git command; try again in a moment"
                )
            raise GitStoreError(f"git {args[0]} failed: {message}")
        return out


def _graph_line(line: bytes) -> tuple[str, tuple[str, ...]]:
    ids = line.decode("ascii").split()
    return ids[0], tuple(ids[1:])


def _next_header(output: bytes, header: bytes, start: int) -> int:
    """Find where the next pair's echoed header begins: at start or after a NUL."""
    if output.startswith(header, start):
        return start
    found = output.find(b"\0" + header, start)
    if found < 0:
        raise GitStoreError("git diff-tree output ended early")
    return found + 1


def _header(line: bytes) -> tuple[str, str, int] | None:
    parts = line.split()
    if len(parts) != 3 or parts[1] in {b"missing", b"ambiguous"}:
        return None
    return parts[0].decode(), parts[1].decode(), int(parts[2])


def _drain(proc) -> Iterator[bytes]:
    try:
        while chunk := proc.stdout.read(_CHUNK):
            yield chunk
    finally:
        _stop(proc)


def _stop(proc) -> None:
    """End a git process started by _spawn and reap it, whatever state it is in."""
    raw = proc.proc
    if raw.poll() is None:
        raw.kill()
    for stream in (raw.stdin, raw.stdout, raw.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    raw.wait()


def _clean(value: str) -> str:
    """Drop what Git refuses in an identity: angle brackets and line breaks."""
    cleaned = re.sub(r"[<>\n\r\0]", "", value).strip()
    return cleaned or "unknown"


def describe_problem(path: str) -> str | None:
    """Return why a configured repository cannot be served, or None if it can."""
    if not os.path.exists(path):
        return f"the repository {path} does not exist"
    try:
        with Repository(path) as repo:
            repo.check()
    except RepositoryUnavailable as exc:
        message = str(exc)
        if "dubious ownership" in message:
            return (
                f"Git refuses {path}: it belongs to another user than the one running "
                f"vcsweb (uid {os.getuid()}). Give the folder to that user, or add "
                f"exactly this path to its safe.directory setting."
            )
        return f"the repository {path} cannot be read: {message}"
    return None


def utc(when: datetime) -> datetime:
    return when.astimezone(UTC)
