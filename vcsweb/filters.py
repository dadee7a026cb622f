"""Template filters: relative dates, sizes, paths in URLs and element ids."""

import hashlib
from datetime import UTC, datetime

from flask import Flask

from . import paths

_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """Return '3 days ago' style text for a moment in the past."""
    if when is None:
        return ""
    # SQLite gives back the UTC times vcsweb stores without their zone.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    seconds = int((now - when).total_seconds())
    if seconds < 45:
        return "just now"
    for size, unit in _UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "1 minute ago"


def exact(when: datetime | None) -> str:
    """Return a full timestamp with the author's offset, for a tooltip."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S %z")


def size(value: int | None) -> str:
    """Return a byte count as a person reads it: 1.2 MB."""
    if value is None:
        return ""
    if value < 1024:
        return f"{value} B"
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        # 1023.99 KB would read "1024 KB"; call it 1.0 MB instead.
        if round(value) < 1024 or unit == "TB":
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return ""


def element_id(path: str, prefix: str = "d") -> str:
    """Return an HTML id that stands for a path, whatever characters it has."""
    return prefix + hashlib.sha1(paths.to_bytes(path)).hexdigest()[:16]


def crumbs(path: str) -> list[tuple[str, str]]:
    """Return (name, path) for every folder segment of a path."""
    parts = path.split("/") if path else []
    return [
        (paths.display(part), "/".join(parts[: i + 1])) for i, part in enumerate(parts)
    ]


def repo_name(location: str) -> str:
    """Return the name a person calls a repository by: its folder, less '.git'."""
    location = location.rstrip("/")
    name = location.rpartition("/")[2]
    if name == ".git":
        name = location[: -len("/.git")].rpartition("/")[2]
    return name.removesuffix(".git") or "repository"


def register(app: Flask) -> None:
    name = repo_name(app.config["VCSWEB_REPO"])
    app.context_processor(lambda: {"repo_name": name})
    app.add_template_filter(ago)
    app.add_template_filter(exact)
    app.add_template_filter(size, "filesize")
    app.add_template_filter(element_id)
    app.add_template_filter(paths.display, "display")
    app.add_template_global(crumbs)
