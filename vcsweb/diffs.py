"""Diffs as a page shows them: files, hunks, numbered lines, changed words.

gitstore.py runs `git diff` and hands the text of each file's patch here;
nothing in this module runs Git.
"""

import difflib
import re
from dataclasses import dataclass, field

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_WORD = re.compile(r"\w+|\s+|[^\w\s]")
# Word highlighting compares tokens pairwise; past this length a line is
# simply marked as changed.
WORD_DIFF_LIMIT = 400

STATUS = {
    "A": "added",
    "D": "deleted",
    "M": "modified",
    "R": "renamed",
    "C": "copied",
    "T": "type changed",
}


@dataclass
class Line:
    """One line of a hunk with its numbers in the old and new file."""

    kind: str  # "context", "add", "del"
    old: int | None
    new: int | None
    text: str
    spans: list[tuple[str, bool]] | None = None  # (text, changed) pieces

    @property
    def pieces(self) -> list[tuple[str, bool]]:
        return self.spans if self.spans is not None else [(self.text, False)]


@dataclass
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    lines: list[Line] = field(default_factory=list)
    skipped_before: int = 0  # unchanged lines folded away above this hunk


@dataclass
class FileDiff:
    """How one file differs between two commits."""

    old_path: str | None
    new_path: str | None
    status: str
    old_oid: str | None = None
    new_oid: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    old_size: int | None = None
    new_size: int | None = None
    binary: bool = False
    suppressed: str | None = None  # why no lines are shown, for large files
    hunks: list[Hunk] = field(default_factory=list)
    added: int = 0
    removed: int = 0

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def renamed(self) -> bool:
        return bool(self.old_path and self.new_path and self.old_path != self.new_path)


@dataclass
class Row:
    """One row of a side-by-side view: a left and a right line, either may be empty."""

    left: Line | None
    right: Line | None


def decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def parse_hunks(patch: bytes) -> tuple[list[Hunk], bool]:
    """Parse one file's patch; return its hunks and whether Git called it binary."""
    hunks: list[Hunk] = []
    binary = False
    hunk = None
    old = new = 0
    for raw in patch.split(b"\n"):
        match = _HUNK.match(raw)
        if match:
            old, new = int(match[1]), int(match[3])
            hunk = Hunk(
                old_start=old,
                old_count=int(match[2]) if match[2] is not None else 1,
                new_start=new,
                new_count=int(match[4]) if match[4] is not None else 1,
                section=decode_line(match[5]),
            )
            hunks.append(hunk)
            continue
        if hunk is None:
            if raw.startswith(b"Binary files ") or raw == b"GIT binary patch":
                binary = True
            continue
        if raw.startswith(b"+"):
            hunk.lines.append(Line("add", None, new, decode_line(raw[1:])))
            new += 1
        elif raw.startswith(b"-"):
            hunk.lines.append(Line("del", old, None, decode_line(raw[1:])))
            old += 1
        elif raw.startswith(b" "):
            hunk.lines.append(Line("context", old, new, decode_line(raw[1:])))
            old += 1
            new += 1
        elif raw.startswith(b"\\") and hunk.lines:
            # "\ No newline at end of file" belongs to the line before it.
            hunk.lines[-1].text += " ⏎̸"
    for line in (line for h in hunks for line in h.lines):
        if 1 in (line.old, line.new) and line.text.startswith("\ufeff"):
            # A byte order mark is not text; shown, it is an invisible
            # character at the start of line 1 that copying would carry along.
            line.text = line.text[1:]
    _fold_gaps(hunks)
    for h in hunks:
        _mark_words(h.lines)
    return hunks, binary


def counts(hunks: list[Hunk]) -> tuple[int, int]:
    """Return (added, removed) line counts."""
    added = sum(1 for h in hunks for line in h.lines if line.kind == "add")
    removed = sum(1 for h in hunks for line in h.lines if line.kind == "del")
    return added, removed


def side_by_side(hunk: Hunk) -> list[Row]:
    """Pair each run of removed lines with the added lines that replace it."""
    rows: list[Row] = []
    dels: list[Line] = []
    adds: list[Line] = []

    def flush():
        for i in range(max(len(dels), len(adds))):
            rows.append(
                Row(
                    dels[i] if i < len(dels) else None,
                    adds[i] if i < len(adds) else None,
                )
            )
        dels.clear()
        adds.clear()

    for line in hunk.lines:
        if line.kind == "del":
            if adds:
                flush()
            dels.append(line)
        elif line.kind == "add":
            adds.append(line)
        else:
            flush()
            rows.append(Row(line, line))
    flush()
    return rows


def _fold_gaps(hunks: list[Hunk]) -> None:
    previous_end = 1
    for hunk in hunks:
        hunk.skipped_before = (
            max(0, hunk.new_start - previous_end) if hunk.new_count else 0
        )
        previous_end = hunk.new_start + hunk.new_count


def _mark_words(lines: list[Line]) -> None:
    """Mark the changed words of removed lines and the added lines that replace them."""
    i = 0
    while i < len(lines):
        if lines[i].kind != "del":
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i].kind == "del":
            i += 1
        dels = lines[start:i]
        add_start = i
        while i < len(lines) and lines[i].kind == "add":
            i += 1
        adds = lines[add_start:i]
        for old, new in zip(dels, adds, strict=False):
            _mark_pair(old, new)


def _mark_pair(old: Line, new: Line) -> None:
    if len(old.text) > WORD_DIFF_LIMIT or len(new.text) > WORD_DIFF_LIMIT:
        return
    a = _WORD.findall(old.text)
    b = _WORD.findall(new.text)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.3:
        return  # a rewritten line reads better without piecemeal marks
    old.spans, new.spans = [], []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        changed = op != "equal"
        if a2 > a1:
            old.spans.append(("".join(a[a1:a2]), changed))
        if b2 > b1:
            new.spans.append(("".join(b[b1:b2]), changed))
