"""URL converter for repository paths, including names that are not UTF-8."""

from urllib.parse import quote

from flask import request
from werkzeug.routing import PathConverter

from . import paths


class RepoPathConverter(PathConverter):
    """Match the rest of the URL as a repository path.

    Werkzeug decodes URLs as UTF-8 and replaces bytes that are not; a file
    whose name has such bytes would then never be found, so those paths are
    decoded again from the raw request, keeping every byte.
    """

    # Git allows a line break in a name; PathConverter's "." stops at one.
    regex = "[^/](?s:.*?)"

    def to_python(self, value: str) -> str:
        if "\ufffd" not in value:
            return value
        raw = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
        lossy = raw.decode("utf-8", "replace")
        if not lossy.endswith(value):
            return value
        exact = raw.decode("utf-8", "surrogateescape")
        prefix = len(lossy) - len(value)
        return exact[prefix:]

    def to_url(self, value: str) -> str:
        return quote(paths.to_bytes(value), safe="/")
