"""Search at the branch tip: file names, descriptions and file contents.

Each kind is searched on its own and capped, so a query that matches
everything still answers quickly; a capped kind says so and asks for a
narrower query. Every match is reported with its character ranges, and
highlighting is built here by escaping first and marking after.
"""

import itertools
import logging
import re
import time
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import select

from .. import catalog, content, descriptions, paths
from ..extensions import db
from ..gitstore import ContentMatches
from ..gitstore.grep import MAX_FILE_BYTES
from ..models import FileMeta

log = logging.getLogger(__name__)

KINDS = ("names", "descriptions", "contents")
LABELS = {"names": "Names", "descriptions": "Descriptions", "contents": "Contents"}
NOUNS = {
    "names": "name matches",
    "descriptions": "description matches",
    "contents": "matching lines",
}
MAX_QUERY = 200
# One or two letters match nearly every line of a repository.
MIN_CONTENT_QUERY = 2
PAGE_SIZE = 50
# Hits per kind when all kinds are shown together.
PREVIEW_SIZE = 10
CAPS = {"names": 1000, "descriptions": 1000, "contents": 500}
# Descriptions are checked against the tip in batches of this many rows.
DESCRIPTION_BATCH = 500
# Characters of a line or description shown around the first match.
SNIPPET = 240
SNIPPET_BEFORE = 60
_BLANKS = str.maketrans("\r\n\t", "   ")


class QueryError(ValueError):
    """A search that cannot be run as asked; the message says why."""


@dataclass(frozen=True)
class Hit:
    """One result: a file or folder, and the text that matched in it."""

    path: str
    kind: str  # 'file' or 'folder'
    text: str
    ranges: tuple[tuple[int, int], ...]
    line: int | None = None
    description: str = ""
    cut_before: bool = False
    cut_after: bool = False

    @property
    def name(self) -> str:
        return paths.display(self.path)

    @property
    def is_markdown(self) -> bool:
        return content.is_markdown(self.path)

    @property
    def marked(self) -> Markup:
        """The whole text, escaped, with each match inside <mark>."""
        return mark(self.text, self.ranges)

    @property
    def snippet(self) -> Markup:
        """A part of the text around the first match, escaped and marked."""
        text, ranges, before, after = window(self.text, self.ranges)
        before = before or self.cut_before
        after = after or self.cut_after
        return (
            Markup("…" if before else "")
            + mark(text, ranges)
            + Markup("…" if after else "")
        )


@dataclass(frozen=True)
class FileLines:
    """Content hits of one file, in line order."""

    path: str
    description: str
    hits: list[Hit]

    @property
    def name(self) -> str:
        return paths.display(self.path)


@dataclass(frozen=True)
class Group:
    """One kind of result: this page of hits and how many there are."""

    kind: str
    hits: list[Hit]
    total: int
    page: int
    pages: int
    per_page: int
    more: bool = False  # more matches than CAPS[kind]: total is a lower bound
    timed_out: bool = False
    skipped: int = 0  # files too large to search for contents
    notice: str = ""  # why this kind was not searched

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def noun(self) -> str:
        return NOUNS[self.kind]

    @property
    def cap(self) -> int:
        return CAPS[self.kind]

    @property
    def large_file(self) -> int:
        return MAX_FILE_BYTES

    @property
    def count_text(self) -> str:
        if self.notice:
            return ""
        return f"{self.total:,}+" if self.more or self.timed_out else f"{self.total:,}"

    @property
    def files(self) -> list[FileLines]:
        """Content hits grouped by file, keeping their order."""
        return [
            FileLines(path, first.description, [first, *rest])
            for path, (first, *rest) in (
                (p, list(h)) for p, h in itertools.groupby(self.hits, lambda h: h.path)
            )
        ]


@dataclass(frozen=True)
class Results:
    """What a search found, per kind, for one page."""

    text: str  # what was searched for
    kind: str
    page: int
    groups: list[Group] = field(default_factory=list)
    revision: str | None = None
    searched: bool = False  # False for an empty query: nothing was run

    @property
    def empty_repository(self) -> bool:
        return self.searched and self.revision is None

    @property
    def found(self) -> int:
        return sum(g.total for g in self.groups)


def normalise(query: str | None, kind: str | None) -> tuple[str, str]:
    """Return the query and kind to search for, or raise QueryError."""
    query = (query or "").strip()
    kind = kind or "all"
    if len(query) > MAX_QUERY:
        raise QueryError(
            f"Search for at most {MAX_QUERY} characters; "
            f"this search has {len(query):,}."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in query):
        raise QueryError("Search for text on one line, without control characters.")
    if kind != "all" and kind not in KINDS:
        raise QueryError(
            f"Unknown kind of result {kind[:40]!r}: use all, {', '.join(KINDS)}."
        )
    return query, kind


def search(query: str | None, kind: str | None = "all", page: int = 1) -> Results:
    """Search the branch tip for query: one kind, paginated, or all kinds in brief."""
    query, kind = normalise(query, kind)
    page = max(1, page)
    if kind == "all":
        page = 1
    if not query:
        return Results(query, kind, page)
    started = time.perf_counter()
    tip, _ = catalog.commit_for(None)
    if tip is None:
        return Results(query, kind, page, [], None, searched=True)
    per_page = PREVIEW_SIZE if kind == "all" else PAGE_SIZE
    wanted = KINDS if kind == "all" else (kind,)
    groups = [_SEARCHES[k](tip, query, page, per_page) for k in wanted]
    elapsed = time.perf_counter() - started
    if elapsed > 1:
        log.info("search for %r (%s) took %.2fs", query, kind, elapsed)
    return Results(query, kind, page, groups, tip, searched=True)


# The three kinds ------------------------------------------------------------


def _names(tip: str, query: str, page: int, per_page: int) -> Group:
    cap = CAPS["names"]
    found = catalog.repository().find_names(tip, query, cap)
    # A file whose own name matches comes before one that matches by folder.
    ordered = sorted(
        found.paths, key=lambda p: query.casefold() not in _display_name(p).casefold()
    )
    shown, page, pages = _page(ordered, page, per_page)
    saved = descriptions.of_paths(shown)
    hits = [
        Hit(
            path=p,
            kind="file",
            text=paths.display(p),
            ranges=ranges(paths.display(p), query),
            description=saved[p].text if p in saved else "",
        )
        for p in shown
    ]
    return Group(
        "names", hits, found.total, page, pages, per_page, more=found.total > cap
    )


def _descriptions(tip: str, query: str, page: int, per_page: int) -> Group:
    cap = CAPS["descriptions"]
    found: list[tuple[str, str, str]] = []
    after = None
    more = False
    while len(found) <= cap:
        rows = _description_rows(query, after)
        if not rows:
            break
        kinds = catalog.repository().existing(tip, [path for path, _ in rows])
        found += [(p, kinds[p], text) for p, text in rows if p in kinds]
        after = rows[-1][0]
        if len(rows) < DESCRIPTION_BATCH:
            break
    if len(found) > cap:
        found, more = found[:cap], True
    # Databases sort text by their own collation; pages list paths as Git does.
    found.sort(key=lambda hit: paths.to_bytes(hit[0]))
    shown, page, pages = _page(found, page, per_page)
    hits = [
        Hit(path=p, kind=k, text=text, ranges=ranges(text, query), description=text)
        for p, k, text in shown
    ]
    return Group("descriptions", hits, len(found), page, pages, per_page, more=more)


def _description_rows(query: str, after: str | None) -> list[tuple[str, str]]:
    """Return the next batch of (path, description) that contain query, by path."""
    statement = (
        select(FileMeta.path, FileMeta.description)
        .where(FileMeta.description.icontains(query, autoescape=True))
        .order_by(FileMeta.path)
        .limit(DESCRIPTION_BATCH)
    )
    if after is not None:
        statement = statement.where(FileMeta.path > after)
    return [(path, text) for path, text in db.session.execute(statement)]


def _contents(tip: str, query: str, page: int, per_page: int) -> Group:
    if len(query) < MIN_CONTENT_QUERY:
        return Group(
            "contents",
            [],
            0,
            1,
            1,
            per_page,
            notice=(
                f"Type at least {MIN_CONTENT_QUERY} characters to search inside files."
            ),
        )
    found: ContentMatches = catalog.repository().grep(tip, query, CAPS["contents"])
    if found.refused:
        return Group(
            "contents",
            [],
            0,
            1,
            1,
            per_page,
            skipped=found.skipped,
            notice=(
                f"This repository has {found.skipped:,} very large files, too "
                "many to leave out, so file contents were not searched."
            ),
        )
    shown, page, pages = _page(found.lines, page, per_page)
    saved = descriptions.of_paths(list(dict.fromkeys(m.path for m in shown)))
    hits = []
    for match in shown:
        text = match.text.decode("utf-8", "replace")
        hits.append(
            Hit(
                path=match.path,
                kind="file",
                text=text,
                ranges=ranges(text, query),
                line=match.number,
                description=saved[match.path].text if match.path in saved else "",
                cut_before=match.cut_before,
                cut_after=match.cut_after,
            )
        )
    return Group(
        "contents",
        hits,
        len(found.lines),
        page,
        pages,
        per_page,
        more=found.more,
        timed_out=found.timed_out,
        skipped=found.skipped,
    )


_SEARCHES = {"names": _names, "descriptions": _descriptions, "contents": _contents}


# Matches and highlighting ---------------------------------------------------


def ranges(text: str, query: str) -> tuple[tuple[int, int], ...]:
    """Return the [start, end) character ranges where text contains query, any case."""
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    return tuple((m.start(), m.end()) for m in pattern.finditer(text))


def mark(text: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    """Escape text and wrap each range in <mark>; ranges index the raw text."""
    parts = []
    position = 0
    for start, end in spans:
        parts.append(escape(text[position:start]))
        parts.append(Markup("<mark>%s</mark>") % text[start:end])
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def window(
    text: str, spans: tuple[tuple[int, int], ...]
) -> tuple[str, tuple[tuple[int, int], ...], bool, bool]:
    """Cut text to SNIPPET characters around its first match, on one line.

    Returns the part, the ranges inside it, and whether text was cut before
    and after it.
    """
    text = text.translate(_BLANKS)
    if len(text) <= SNIPPET:
        return text, spans, False, False
    first = spans[0][0] if spans else 0
    begin = max(0, min(first - SNIPPET_BEFORE, len(text) - SNIPPET))
    end = begin + SNIPPET
    inside = tuple(
        (max(s, begin) - begin, min(e, end) - begin)
        for s, e in spans
        if s < end and e > begin
    )
    return text[begin:end], inside, begin > 0, end < len(text)


def _page(items: list, page: int, per_page: int) -> tuple[list, int, int]:
    pages = max(1, -(-len(items) // per_page))
    page = min(page, pages)
    return items[(page - 1) * per_page : page * per_page], page, pages


def _display_name(path: str) -> str:
    return paths.display(paths.basename(path))
