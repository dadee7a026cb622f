"""Running Git: the processes behind every lookup, with timeouts and cleanup.

This package is the only code that talks to Git. Every path reaches Git
after '--', as a `<rev>:<path>` object name or on standard input, never
through a shell, and pathspecs are literal (no globbing), so a file named
'-rf' or '*.txt' is just a name.
"""

import logging
import os
import re
import subprocess
from collections.abc import Iterator

import git
from git.exc import InvalidGitRepositoryError, NoSuchPathError

from ..paths import to_bytes
from .errors import GitStoreError, RepositoryBusy, RepositoryUnavailable

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
_FOUND = re.compile(rb"([0-9a-f]{40,64}) (blob|tree|commit|tag) ([0-9]+)\n?")


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
        self._tree_cache: dict[str, dict] = {}

    def close(self) -> None:
        """Stop the helper processes this object started."""
        if self._catfile is not None:
            _stop(self._catfile)
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


def _drain(proc) -> Iterator[bytes]:
    try:
        while chunk := proc.stdout.read(CHUNK):
            yield chunk
    finally:
        _stop(proc)


def _stop(proc) -> None:
    """End a git process started by _spawn and reap it, whatever state it is in."""
    raw = proc.proc
    if raw.poll() is None:
        # SIGTERM lets git remove the lock files it holds; a killed update-ref
        # would leave refs/heads/<branch>.lock behind and block every later
        # commit. SIGKILL only if git does not exit promptly.
        raw.terminate()
        try:
            raw.wait(timeout=2)
        except subprocess.TimeoutExpired:
            raw.kill()
    for stream in (raw.stdin, raw.stdout, raw.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    raw.wait()
