"""Folder rows build their links without url_for, and get the same links."""

import pytest
from flask import url_for

from vcsweb.files.links import FolderLinks, Link
from vcsweb.gitobjects import Entry
from vcsweb.paths import from_bytes

NAMES = [
    "plain.txt",
    "docs/guide.md",
    "my notes.txt",
    "100%.txt",
    "#hash",
    "?query&x=1",
    "-rf",
    "line\nbreak",
    "tab\there",
    "e\u0301-nfd",
    "\u00e9-nfc",
    "фото.jpg",
    "a+b=c;d,e",
    "~tilde/..dots../x",
    from_bytes(b"caf\xe9/\xff.bin"),
]


@pytest.fixture
def request_context(app):
    with app.test_request_context("/tree/my%20docs?page=2&x=%00"):
        yield


@pytest.mark.parametrize("rev", [None, "0123456789abcdef0123456789abcdef01234567"])
def test_row_links_are_what_url_for_builds(request_context, rev):
    here = "/tree/my docs?page=2&x=%00"
    links = FolderLinks(rev, True, here)
    for name in NAMES:
        for kind in ("file", "folder"):
            entry = Entry(name, kind, "100644", "0" * 40, 1)
            endpoint = "files.tree" if kind == "folder" else "files.blob"
            assert links.entry(entry) == url_for(endpoint, path=name, rev=rev)
        assert links.edit(name) == url_for("meta.edit", path=name, next=here)
    commit_id = "89abcdef0123456789abcdef0123456789abcdef"
    assert links.commit(commit_id) == url_for("files.commit", rev=commit_id)


def test_rows_a_viewer_may_not_change_have_no_form_link(request_context):
    assert FolderLinks(None, False, "/").edit("plain.txt") is None


def test_a_route_without_the_value_in_its_path_is_refused(request_context):
    with pytest.raises(ValueError):
        Link("files.commits", key="path")


def test_cells_many_rows_share_are_rendered_once(request_context):
    links = FolderLinks(None, False, "/")
    calls = []

    def render(value):
        calls.append(value)
        return f"<td>{value}</td>"

    assert [links.once(k, render, k) for k in "abab"] == [
        "<td>a</td>",
        "<td>b</td>",
        "<td>a</td>",
        "<td>b</td>",
    ]
    assert calls == ["a", "b"]
