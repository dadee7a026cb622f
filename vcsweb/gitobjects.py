"""Plain data read from Git, and the parsers that build it from raw objects.

Nothing here runs Git; gitstore.py feeds these functions the bytes Git
prints, so they can be tested on their own.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from .paths import display, from_bytes, join

ZERO_ID = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

KIND_BY_MODE = {
    "040000": "folder",
    "40000": "folder",
    "100644": "file",
    "100755": "file",
    "120000": "symlink",
    "160000": "submodule",
}


@dataclass(frozen=True)
class Identity:
    """A commit author or committer."""

    name: str
    email: str


@dataclass(frozen=True)
class Commit:
    """One commit's facts, as a page shows them."""

    id: str
    parents: tuple[str, ...]
    author: Identity
    authored_at: datetime
    message: str

    @property
    def short_id(self) -> str:
        return self.id[:7]

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Entry:
    """A name in a folder: a file, folder, symbolic link or submodule."""

    path: str
    kind: str
    mode: str
    oid: str
    size: int | None

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def display_name(self) -> str:
        return display(self.name)

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def executable(self) -> bool:
        return self.mode == "100755"


def parse_tree(data: bytes) -> dict[bytes, tuple[str, str]]:
    """Parse a raw tree object into {name: (mode, object id)}."""
    entries = {}
    pos = 0
    end = len(data)
    while pos < end:
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode("ascii")
        oid = data[nul + 1 : nul + 21].hex()
        entries[data[space + 1 : nul]] = (mode, oid)
        pos = nul + 21
    return entries


def parse_ls_tree(output: bytes, folder: str) -> list[Entry]:
    """Parse `git ls-tree -l -z` output for one folder into entries."""
    entries = []
    for record in output.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _kind, oid, size = meta.split()
        mode_text = mode.decode("ascii")
        entries.append(
            Entry(
                path=join(folder, from_bytes(name)),
                kind=KIND_BY_MODE.get(mode_text, "file"),
                mode=mode_text,
                oid=oid.decode("ascii"),
                size=None if size == b"-" else int(size),
            )
        )
    return entries


def sort_entries(entries: list[Entry]) -> list[Entry]:
    """Folders first, then files, each by name ignoring case."""
    return sorted(entries, key=lambda e: (not e.is_folder, e.name.casefold(), e.name))


def parse_commit(oid: str, data: bytes) -> Commit:
    """Parse a raw commit object."""
    head, _, body = data.partition(b"\n\n")
    parents = []
    author = Identity("", "")
    authored_at = datetime.fromtimestamp(0, UTC)
    encoding = "utf-8"
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"parent":
            parents.append(value.decode("ascii"))
        elif key == b"author":
            author, authored_at = _parse_signature(value)
        elif key == b"encoding":
            encoding = value.decode("ascii", "replace")
    return Commit(
        id=oid,
        parents=tuple(parents),
        author=author,
        authored_at=authored_at,
        message=_decode(body, encoding).rstrip("\n"),
    )


def _parse_signature(value: bytes) -> tuple[Identity, datetime]:
    name, _, rest = value.partition(b" <")
    email, _, stamp = rest.partition(b"> ")
    seconds, _, offset = stamp.partition(b" ")
    try:
        sign = -1 if offset.startswith(b"-") else 1
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        zone = timezone(sign * timedelta(minutes=minutes))
        when = datetime.fromtimestamp(int(seconds), zone)
    except (ValueError, OverflowError):
        when = datetime.fromtimestamp(0, UTC)
    return Identity(_decode(name, "utf-8"), _decode(email, "utf-8")), when


def _decode(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("utf-8", "replace")
