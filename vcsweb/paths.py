"""The one place that turns untrusted text into a repository path.

A repository path is relative, '/'-separated, with no empty, '.' or '..'
segment and no '.git' segment in any case; the root folder is ''. Reading
accepts every name Git can hold apart from those, because the name only ever
reaches Git as an argument after '--' or inside an object lookup, never the
file system. Writing is stricter: new names are NFC-normalised and may not
contain control characters, backslashes or bytes that are not UTF-8.
"""

import unicodedata
from urllib.parse import quote

MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024


class InvalidPath(ValueError):
    """A path that vcsweb refuses; the message says why, for a person."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{reason}: {display(path)!r}" if path else reason)
        self.path = path
        self.reason = reason


def display(path: str) -> str:
    """Return a path as text a person can read, bytes that are not UTF-8 replaced."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def to_bytes(path: str) -> bytes:
    """Return the path as the bytes Git stores."""
    return path.encode("utf-8", "surrogateescape")


def from_bytes(raw: bytes) -> str:
    """Return Git's path bytes as text that round-trips through to_bytes()."""
    return raw.decode("utf-8", "surrogateescape")


def url_quote(path: str) -> str:
    """Percent-encode a path for a URL, keeping '/' as the separator."""
    return quote(to_bytes(path), safe="/")


def repo_path(
    raw: str | None, *, for_write: bool = False, allow_root: bool = True
) -> str:
    """Return a valid path from a URL, form or API call, or raise InvalidPath."""
    if raw is None:
        raw = ""
    if "\x00" in raw:
        raise InvalidPath(raw, "Paths cannot contain a NUL character")
    if raw.startswith("/"):
        raise InvalidPath(
            raw, "Paths are relative to the repository; remove the leading '/'"
        )
    if raw.endswith("/"):
        raw = raw[:-1]
    if raw == "":
        if not allow_root:
            raise InvalidPath(raw, "A file name is required")
        return ""
    segments = raw.split("/")
    if for_write:
        segments = [_writable_segment(raw, s) for s in segments]
    for segment in segments:
        _check_segment(raw, segment)
    path = "/".join(segments)
    if len(to_bytes(path)) > MAX_PATH_BYTES:
        raise InvalidPath(raw, f"Paths are limited to {MAX_PATH_BYTES} bytes")
    return path


def join(folder: str, name: str) -> str:
    """Join a folder and a relative name, both already validated."""
    return f"{folder}/{name}" if folder else name


def parent(path: str) -> str:
    """Return the folder holding a path ('' for the root)."""
    return path.rpartition("/")[0]


def basename(path: str) -> str:
    return path.rpartition("/")[2]


def _check_segment(raw: str, segment: str) -> None:
    if segment == "":
        raise InvalidPath(raw, "Paths cannot contain empty segments ('//')")
    if segment in {".", ".."}:
        raise InvalidPath(raw, "Paths cannot contain '.' or '..' segments")
    # Git itself refuses '.git' followed by dots or spaces on some systems,
    # so treat every such spelling as the repository's own folder.
    if segment.rstrip(". ").lower() == ".git":
        raise InvalidPath(raw, "The .git folder is not part of the files")
    if len(to_bytes(segment)) > MAX_SEGMENT_BYTES:
        raise InvalidPath(
            raw, f"File and folder names are limited to {MAX_SEGMENT_BYTES} bytes"
        )


def _writable_segment(raw: str, segment: str) -> str:
    try:
        segment.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath(raw, "New names must be valid UTF-8") from None
    if "\\" in segment:
        raise InvalidPath(raw, "Names cannot contain a backslash")
    if any(ord(c) < 32 or ord(c) == 127 for c in segment):
        raise InvalidPath(raw, "Names cannot contain control characters")
    if segment != segment.strip():
        raise InvalidPath(raw, "Names cannot start or end with a space")
    return unicodedata.normalize("NFC", segment)
