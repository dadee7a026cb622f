"""Searching a commit: file names from one streamed `ls-tree`, contents by `git grep`.

Both read Git's output as it comes, stop at a cap and within the Git time
limit, so a repository with a million files or a match on every line costs
bounded memory and time. Text to find is always a fixed string, never a
pattern, and reaches Git after `-e`; the only pathspecs are the literal
names of files too large to search.
"""

import io
import os
import re
import select
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..paths import display, from_bytes, to_bytes
from .base import CHUNK, _read_header, _stop
from .errors import GitStoreError, RepositoryBusy
from .reading import Reader

# Git reads each file it searches into memory whole; larger files are left
# out of content search so one 1 GB file cannot take a worker's memory.
MAX_FILE_BYTES = 4 * 1024 * 1024
# Beyond this many large files the exclusion list itself gets unwieldy.
MAX_EXCLUDED = 1000
# Matching lines kept per file, so one file cannot fill every result.
MAX_PER_FILE = 100
# Bytes of a matching line that are kept, around the first match.
MAX_LINE_BYTES = 16 * 1024


class _OutOfTime(Exception):
    """Git did not finish within the time limit."""


@dataclass(frozen=True)
class NameMatches:
    """Paths whose name contains the text (at most the limit) and how many do."""

    paths: list[str]
    total: int


@dataclass(frozen=True)
class LineMatch:
    """One matching line: its file, number and bytes (cut short around the match)."""

    path: str
    number: int
    text: bytes
    cut_before: bool = False
    cut_after: bool = False


@dataclass(frozen=True)
class ContentMatches:
    """Matching lines in tree order and why the list may be incomplete."""

    lines: list[LineMatch]
    more: bool  # more lines match than the limit
    timed_out: bool  # Git ran out of time; lines holds what it found by then
    skipped: int  # files larger than MAX_FILE_BYTES, not searched
    refused: bool = False  # too many large files: contents were not searched


class Searcher(Reader):
    """Finding files by name and by content at one commit."""

    # (commit id, paths of files too large to search), from the last walk.
    _large_files: tuple[str, list[str]] | None = None

    def find_names(self, commit_id: str, text: str, limit: int) -> NameMatches:
        """Return files whose path contains text, ignoring case, in tree order."""
        wanted = text.casefold()
        found: list[str] = []
        total = 0
        large: list[str] = []
        for path, size in self._walk(commit_id):
            if size is not None and size > MAX_FILE_BYTES:
                large.append(path)
            if wanted in display(path).casefold():
                total += 1
                if len(found) < limit:
                    found.append(path)
        self._large_files = (commit_id, large)
        return NameMatches(found, total)

    def grep(self, commit_id: str, text: str, limit: int) -> ContentMatches:
        """Return up to limit lines of text files that contain text, ignoring case.

        Binary files and files over MAX_FILE_BYTES are not searched.
        """
        _check_needle(text)
        large = self._large(commit_id)
        if len(large) > MAX_EXCLUDED:
            return ContentMatches([], False, False, len(large), refused=True)
        args: list[str | bytes] = [
            "grep",
            "--no-color",
            "-I",
            "-n",
            "-z",
            "--ignore-case",
            "--fixed-strings",
            f"--max-count={MAX_PER_FILE}",
            "-e",
            text,
            commit_id,
            "--",
        ]
        args += [b":(exclude,literal)" + to_bytes(p) for p in large]
        # Pathspec magic is needed for the exclusions (each one literal), and
        # a UTF-8 locale lets Git ignore the case of letters beyond ASCII.
        env = {"GIT_LITERAL_PATHSPECS": "0", "LC_ALL": "C.UTF-8"}
        proc = self._spawn(*args, env=env)
        lines: list[LineMatch] = []
        timed_out = False
        prefix = commit_id.encode() + b":"
        needle = re.compile(re.escape(text.encode("utf-8")), re.IGNORECASE)
        try:
            records = _grep_records(_chunks(proc, self._deadline()))
            for name, number, line in records:
                if len(lines) > limit:
                    break
                if name.startswith(prefix):
                    path = from_bytes(name[len(prefix) :])
                    lines.append(_line_match(path, number, line, needle))
            else:
                _check_exit(proc, "grep", ok=(0, 1))
        except _OutOfTime:
            timed_out = True
        finally:
            _stop(proc)
        more = len(lines) > limit
        return ContentMatches(lines[:limit], more, timed_out, len(large))

    def existing(self, commit_id: str, wanted: list[str]) -> dict[str, str]:
        """Return {path: 'file' or 'folder'} for each path the commit has."""
        if not wanted:
            return {}
        names = [self._object_name(commit_id, p) for p in wanted]
        output = self._run(
            "cat-file", "--batch-check", "-z", stdin=b"\0".join(names) + b"\0"
        )
        answers = io.BytesIO(output)
        found = {}
        for path, name in zip(wanted, names, strict=True):
            header = _read_header(answers, name)
            if header is not None and header[1] in ("blob", "tree"):
                found[path] = "folder" if header[1] == "tree" else "file"
        return found

    def _large(self, commit_id: str) -> list[str]:
        if self._large_files and self._large_files[0] == commit_id:
            return self._large_files[1]
        large = [
            path
            for path, size in self._walk(commit_id)
            if size is not None and size > MAX_FILE_BYTES
        ]
        self._large_files = (commit_id, large)
        return large

    def _walk(self, commit_id: str) -> Iterator[tuple[str, int | None]]:
        """Yield (path, size) of every file at a commit (size None: a submodule)."""
        proc = self._spawn("ls-tree", "-r", "-l", "-z", "--full-tree", commit_id)
        try:
            rest = b""
            for chunk in _chunks(proc, self._deadline()):
                records = (rest + chunk).split(b"\0")
                rest = records.pop()
                for record in records:
                    meta, _, name = record.partition(b"\t")
                    size = meta.split()[-1]
                    yield from_bytes(name), int(size) if size.isdigit() else None
            _check_exit(proc, "ls-tree", ok=(0,))
        except _OutOfTime:
            raise RepositoryBusy(
                "Git took too long to list the files; try again"
            ) from None
        finally:
            _stop(proc)

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout


def _check_needle(text: str) -> None:
    if not text or "\0" in text or "\n" in text or "\r" in text:
        raise ValueError("search text must be one non-empty line")


def _chunks(proc, deadline: float) -> Iterator[bytes]:
    """Yield what a git process prints until it ends; _OutOfTime after deadline."""
    fd = proc.proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise _OutOfTime
        chunk = os.read(fd, CHUNK)
        if not chunk:
            return
        yield chunk


def _grep_records(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, int, bytes]]:
    """Yield (name, line number, line) from `git grep -n -z` output.

    A record is name NUL number NUL line LF. Names may hold line breaks and
    lines may hold NUL bytes (past the part Git checks for binary), so each
    field is found by its own separator, in order.
    """
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        start = 0
        while True:
            name_end = buffer.find(b"\0", start)
            number_end = buffer.find(b"\0", name_end + 1) if name_end >= 0 else -1
            line_end = buffer.find(b"\n", number_end + 1) if number_end >= 0 else -1
            if line_end < 0:
                break
            number = buffer[name_end + 1 : number_end]
            if number.isdigit():
                yield (
                    bytes(buffer[start:name_end]),
                    int(number),
                    bytes(buffer[number_end + 1 : line_end]),
                )
            start = line_end + 1
        del buffer[:start]


def _line_match(path: str, number: int, line: bytes, needle: re.Pattern) -> LineMatch:
    """Keep at most MAX_LINE_BYTES of a line, around its first match."""
    line = line.removesuffix(b"\r")
    if len(line) <= MAX_LINE_BYTES:
        return LineMatch(path, number, line)
    found = needle.search(line)
    begin = max(0, (found.start() if found else 0) - MAX_LINE_BYTES // 4)
    end = min(len(line), begin + MAX_LINE_BYTES)
    return LineMatch(path, number, line[begin:end], begin > 0, end < len(line))


def _check_exit(proc, command: str, ok: tuple[int, ...]) -> None:
    """Raise GitStoreError unless the finished process exited with an ok status."""
    code = proc.proc.wait()
    if code not in ok:
        message = proc.proc.stderr.read().decode("utf-8", "replace").strip()
        raise GitStoreError(f"Git {command} failed: {message}")
