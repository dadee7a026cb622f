"""The links of a folder page's rows, without one url_for per link.

url_for costs some 6 µs a call and a row has up to three links, so a page of
500 rows spent more time building links than anything else. Each kind of
link is built once by url_for around a placeholder, and each row puts its
own path where the placeholder was, quoted as the route's converter quotes
it. url_for stays the one place that knows what a route looks like.
"""

import re
from collections.abc import Callable

from flask import url_for

from .. import paths
from ..gitobjects import Entry

# A path Git can never hold; its quoted form cannot appear in what url_for
# builds before it (a '%' in the address itself would be quoted as '%25').
_PLACEHOLDER = "\0"
_QUOTED = paths.url_quote(_PLACEHOLDER)
# What url_quote leaves as it is: ASCII letters, digits, '_.-~' and '/'.
_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")


class Link:
    """One endpoint's URL for many paths: Link('files.blob', rev=r)(path)."""

    def __init__(self, endpoint: str, key: str = "path", **values):
        built = url_for(endpoint, **{key: _PLACEHOLDER}, **values)
        self._head, found, self._tail = built.partition(_QUOTED)
        if not found or "?" in self._head:
            raise ValueError(f"{endpoint} does not put its {key} in the URL path")

    def __call__(self, path: str) -> str:
        # Most names need no quoting; quote() would return them unchanged.
        quoted = path if _PLAIN.fullmatch(path) else paths.url_quote(path)
        return self._head + quoted + self._tail


class FolderLinks:
    """The links every row of one folder page needs, and cells rows share."""

    def __init__(self, rev: str | None, editable: bool, here: str):
        self._tree = Link("files.tree", rev=rev)
        self._blob = Link("files.blob", rev=rev)
        self.commit = Link("files.commit", key="rev")
        self._edit = Link("meta.edit", next=here or None) if editable else None
        self._rendered: dict = {}

    def entry(self, entry: Entry) -> str:
        """Return where a row's name leads: its folder or its file page."""
        return (self._tree if entry.is_folder else self._blob)(entry.path)

    def edit(self, path: str) -> str | None:
        """Return the description form of a path, None when it cannot be edited."""
        return self._edit(path) if self._edit is not None else None

    def once(self, key, render: Callable, *args):
        """Return render(*args), called once per key: cells many rows share."""
        found = self._rendered.get(key)
        if found is None:
            found = self._rendered[key] = render(*args)
        return found
