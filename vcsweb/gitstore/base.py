"""Running Git: the processes behind every lookup, with timeouts and cleanup.

This package is the only code that talks to Git. Every path reaches Git
after '--', as a `<rev>:<path>` object name or on standard input, never
through a shell, and pathspecs are literal (no globbing), so a file named
'-rf' or '*.txt' is just a name.
"""

import contextlib
import logging
import os
import re
import select
import subprocess
import time
from collections.abc import Iterator

import git
from git.exc import InvalidGitRepositoryError, NoSuchPathError

from ..paths import to_bytes
from .errors import GitStoreError, RepositoryBusy, RepositoryUnavailable
from .memo import Memo

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
_FOUND = re.compile(rb"([0-9a-f]{40,64}) (blob|tree|commit|tag) ([0-9]+)\n?")
_HEAD_BRANCH = re.compile(rb"ref: refs/heads/([!-~\x80-\xff]+)\n?")
_ID_LINE = re.compile(rb"([0-9a-f]{40}|[0-9a-f]{64})\n?")
# A packed-refs file larger than this (tens of thousands of tags) is left to
# Git to read.
PACKED_REFS_LIMIT = 1024 * 1024
# Object lookups written to cat-file before reading its answers: their
# text stays under the smallest pipe buffer Linux gives (4 KB), so writing
# them never waits for Git, which may itself wait for its answers to be read.
PIPELINE = 50


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


class GitBase:
    """An open repository and the git processes that serve it."""

    def __init__(
        self,
        path: str,
        branch: str | None = None,
        timeout: int = 20,
        memo: Memo | None = None,
    ):
        try:
            self._repo = git.Repo(path)
        except (InvalidGitRepositoryError, NoSuchPathError) as exc:
            raise RepositoryUnavailable(f"{path} is not a Git repository") from exc
        self._repo.git.update_environment(**_git_env())
        self.path = path
        self.timeout = timeout
        self.bare = self._repo.bare
        self.git_dir = self._repo.git_dir
        self._common_dir = self._repo.common_dir
        self.branch = branch or self._head_branch()
        self.ref = f"refs/heads/{self.branch}"
        self._catfile = None
        self._walks: dict = {}
        self._tree_cache: dict[str, dict] = {}
        self._memo = memo if memo is not None else Memo(0, 0, 0)

    def close(self) -> None:
        """Stop the helper processes this object started."""
        while self._walks:
            _stop(self._walks.popitem()[1])
        if self._catfile is not None:
            # cat-file ends by itself at the end of its input; no signal needed.
            _stop(self._catfile, ends_on_eof=True)
            self._catfile = None
        self._repo.close()

    def __enter__(self) -> "GitBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self) -> None:
        """Raise RepositoryUnavailable unless Git can read this repository."""
        try:
            self._run("rev-parse", "--git-dir")
        except GitStoreError as exc:
            raise RepositoryUnavailable(str(exc)) from exc

    def _head_branch(self) -> str:
        ref = self._head_ref()
        if ref and ref.startswith("refs/heads/"):
            return ref[len("refs/heads/") :]
        return "main"

    def _head_ref(self) -> str | None:
        # HEAD is nearly always a file naming a branch; reading it saves a
        # process start on every request. Anything else (a detached HEAD,
        # the reftable placeholder branch) is left to Git to say.
        try:
            with open(os.path.join(self.git_dir, "HEAD"), "rb") as handle:
                head = handle.read(1024)
        except OSError:
            head = b""
        found = _HEAD_BRANCH.fullmatch(head)
        if found and found[1] != b".invalid":
            return "refs/heads/" + found[1].decode()
        try:
            return self._run("symbolic-ref", "-q", "HEAD").decode().strip()
        except GitStoreError:
            return None

    def _stored_ref(self) -> str | None:
        """Return the branch's commit id from Git's ref files, None if Git must say.

        Git keeps a branch in refs/heads/<name> or, without that file, as a
        line of packed-refs; reading them saves the cat-file process start
        (some 2 ms) of a page whose everything else is already known.
        Anything else (a symbolic ref, the reftable format) is left to Git.
        """
        try:
            with open(os.path.join(self._common_dir, self.ref), "rb") as handle:
                found = _ID_LINE.fullmatch(handle.read(80))
            return found[1].decode("ascii") if found else None
        except (FileNotFoundError, NotADirectoryError):
            pass
        except (OSError, ValueError):
            return None
        try:
            with open(os.path.join(self._common_dir, "packed-refs"), "rb") as handle:
                packed = handle.read(PACKED_REFS_LIMIT + 1)
        except (OSError, ValueError):
            return None
        if len(packed) > PACKED_REFS_LIMIT:
            return None
        found = re.search(
            rb"^([0-9a-f]{40}|[0-9a-f]{64}) " + re.escape(self.ref.encode()) + rb"$",
            packed,
            re.MULTILINE,
        )
        return found[1].decode("ascii") if found else None

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
        # GitPython inspects each argument as text; a path given as bytes is
        # passed as the same bytes through the file system encoding instead.
        command = ["git", *[os.fsdecode(a) for a in args]]
        return self._repo.git.execute(
            command, as_process=True, istream=subprocess.PIPE, env=env
        )

    def _info(self, name: str | bytes) -> tuple[str, str, int] | None:
        """Return (id, type, size) of an object name, or None when missing."""
        name = name.encode() if isinstance(name, str) else name
        proc = self._cat()
        proc.stdin.write(b"info " + name + b"\0")
        proc.stdin.flush()
        return _read_header(proc.stdout, name)

    def _sizes(self, oids: list[str]) -> dict[str, int]:
        """Return the size of each object that exists, asking for many at a time."""
        return {oid: header[2] for oid, header in self._pipelined(b"info", oids)}

    def _objects(self, oids: list[str]) -> dict[str, tuple[str, bytes]]:
        """Return (type, content) of each object that exists, many at a time."""
        proc = self._cat()
        found = {}
        for oid, header in self._pipelined(b"contents", oids):
            found[oid] = header[1], proc.stdout.read(header[2])
            proc.stdout.read(1)
        return found

    def _pipelined(self, command: bytes, oids: list[str]):
        """Send command for PIPELINE objects at a time; yield (oid, header) of each.

        The caller reads an object's content, if the command sends it, before
        taking the next header.
        """
        proc = self._cat()
        for start in range(0, len(oids), PIPELINE):
            chunk = oids[start : start + PIPELINE]
            lines = (b"%s %s\0" % (command, oid.encode()) for oid in chunk)
            proc.stdin.write(b"".join(lines))
            proc.stdin.flush()
            for oid in chunk:
                header = _header(proc.stdout.readline())
                if header is not None:
                    yield oid, header

    def _contents(self, name: str | bytes) -> tuple[str, str, bytes] | None:
        name = name.encode() if isinstance(name, str) else name
        proc = self._cat()
        proc.stdin.write(b"contents " + name + b"\0")
        proc.stdin.flush()
        header = _read_header(proc.stdout, name)
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
                    "The repository is busy: it is locked by another Git command; "
                    "try again in a moment"
                )
            raise GitStoreError(f"Git {args[0]} failed: {message}")
        return out


def _header(line: bytes) -> tuple[str, str, int] | None:
    # A missing name comes back as "<name> missing", spaces and all, so only
    # "<id> <type> <size>" counts as an answer.
    found = _FOUND.fullmatch(line)
    if found is None:
        return None
    return found[1].decode(), found[2].decode(), int(found[3])


def _read_header(stream, name: bytes) -> tuple[str, str, int] | None:
    """Read cat-file's answer for name, all of its lines when it is missing."""
    line = stream.readline()
    header = _header(line)
    if header is None:
        # The name is echoed as given, line breaks included.
        for _ in range(name.count(b"\n")):
            stream.readline()
    return header


def _chunks(proc, deadline: float) -> Iterator[bytes]:
    """Yield what a process prints as it comes; RepositoryBusy past deadline."""
    fd = proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            log.warning("git took more than its time limit; stopped")
            raise RepositoryBusy("Git took too long to answer; try again")
        chunk = os.read(fd, CHUNK)
        if not chunk:
            return
        yield chunk


def _drain(proc) -> Iterator[bytes]:
    try:
        while chunk := proc.stdout.read(CHUNK):
            yield chunk
    finally:
        _stop(proc)


def _stop(proc, ends_on_eof: bool = False) -> None:
    """End a git process started by _spawn and reap it, whatever state it is in.

    ends_on_eof: the process exits once its input ends (cat-file --batch),
    so closing its input is enough unless it does not exit promptly.
    """
    raw = proc.proc
    if raw.poll() is None:
        if ends_on_eof:
            _close(raw.stdin)
        if not ends_on_eof or not _ended(raw, 2):
            # SIGTERM lets git remove the lock files it holds; a killed
            # update-ref would leave refs/heads/<branch>.lock behind and block
            # every later commit. SIGKILL only if git does not exit promptly.
            raw.terminate()
            if not _ended(raw, 2):
                raw.kill()
    for stream in (raw.stdin, raw.stdout, raw.stderr):
        _close(stream)
    raw.wait()


def _close(stream) -> None:
    if stream is not None and not stream.closed:
        # The process may have ended first; what was left unsent is moot.
        with contextlib.suppress(OSError):
            stream.close()


def _ended(raw: subprocess.Popen, timeout: float) -> bool:
    """Wait up to timeout for a process to end and reap it; True if it did."""
    # Popen.wait(timeout) polls with sleeps that start at 0.5 ms and double,
    # which made every request wait a millisecond or more for its cat-file;
    # a pidfd wakes select() the moment the process ends.
    try:
        pidfd = os.pidfd_open(raw.pid)
    except (AttributeError, OSError):
        try:
            raw.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    return raw.poll() is not None
