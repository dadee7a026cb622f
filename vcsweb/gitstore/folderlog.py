"""Reading one `git log` over a folder: each commit, its parents, what changed.

The log is asked for as `--pretty=raw -m --raw -z --parents`: a merge comes
once for each parent its folder differs from, as `commit <id> <parents>
(from <parent>)`, followed by the paths that differ from that parent.
`--pretty=raw` is the one format that names that parent; every line of the
message it prints is indented, so no message can pass for a diff line.
"""

import re
from collections.abc import Iterable, Iterator

from ..lastchange import Record

LOG_ARGS = (
    "log",
    "--pretty=raw",
    "--parents",
    "--diff-merges=separate",
    "--raw",
    "-z",
    "--no-renames",
    "--no-abbrev",
    "--no-abbrev-commit",
    "--no-decorate",
    "--no-color",
    "--no-notes",
    "--no-show-signature",
    "--no-relative",
    "--no-ext-diff",
    "--no-textconv",
    "--ignore-submodules=none",
    "--no-follow",
    "--full-history",
)

_HEADER = re.compile(
    rb"commit ([0-9a-f]{40,64})((?: [0-9a-f]{40,64})*)"
    rb"(?: \(from ([0-9a-f]{40,64})\))?(?=\n)"
)
# The first diff line of a commit ends the field its header starts.
_FIRST_DIFF = re.compile(
    rb"\n(:[0-7]{6} [0-7]{6} [0-9a-f]{40,64} [0-9a-f]{40,64} [A-Z][0-9]*)\Z"
)
_DIFF = re.compile(rb":[0-7]{6} [0-7]{6} [0-9a-f]{40,64} [0-9a-f]{40,64} [A-Z][0-9]*")


class LogFormatError(ValueError):
    """Git printed something this reader does not understand."""


def split_fields(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the NUL-separated fields of a stream that arrives in chunks."""
    rest = b""
    for chunk in chunks:
        parts = chunk.split(b"\0")
        parts[0] = rest + parts[0]
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def folder_records(fields: Iterable[bytes], folder: bytes) -> Iterator[Record]:
    """Yield (commit, parents, {parent: names that differ}) from the log's fields.

    folder is the folder's path ('' for the root); names are its entries'
    names, the first segment of each changed path below it.
    """
    prefix = folder + b"/" if folder else b""
    current: tuple[str, tuple[str, ...]] | None = None
    changed: dict[str, frozenset[bytes]] = {}
    fields = iter(fields)
    field = next(fields, None)
    while field is not None:
        if not field:
            field = next(fields, None)
            continue
        header = _HEADER.match(field)
        if header is None:
            raise LogFormatError(f"unexpected log output {field[:80]!r}")
        commit = header[1].decode("ascii")
        parents = tuple(header[2].decode("ascii").split())
        if current is not None and current[0] != commit:
            yield current[0], current[1], changed
            changed = {}
        current = commit, parents
        source = header[3].decode("ascii") if header[3] else None
        names = set()
        has_diff = _FIRST_DIFF.search(field) is not None
        field = next(fields, None)
        while has_diff:
            if field is None:
                raise LogFormatError("the log ended inside a diff")
            names.add(_name(field, prefix))
            field = next(fields, None)
            has_diff = field is not None and _DIFF.fullmatch(field) is not None
            if has_diff:
                field = next(fields, None)
        if source is None and parents:
            source = parents[0]
        if source is not None and names:
            changed[source] = frozenset(names)
    if current is not None:
        yield current[0], current[1], changed


def _name(path: bytes, prefix: bytes) -> bytes:
    if not path.startswith(prefix) or len(path) == len(prefix):
        raise LogFormatError(f"changed path {path[:80]!r} is outside the folder")
    return path[len(prefix) :].split(b"/", 1)[0]
