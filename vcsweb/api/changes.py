"""JSON API for changes: each request is one commit, with the same conflict rules
as the pages: the commit the client started from (`base`) must still hold the
paths it changes, or the answer is 409 and nothing is written.
"""

from flask import abort, jsonify, request

from .. import changes, paths
from ..gitobjects import Commit
from . import shapes
from .blueprint import bp, json_body


def _base(value) -> str:
    """Return the base a write needs, or 428 when the client sent none."""
    if value is None:
        abort(
            428,
            'Send the revision your change starts from as "base" (an empty string '
            "for an empty repository), so that a newer commit is never overwritten.",
        )
    if not isinstance(value, str):
        abort(422, '"base" must be a commit id.')
    return value


def _done(commit: Commit | None, status: int = 200, **extra):
    if commit is None:
        return jsonify(changed=False, **extra), 200
    return jsonify(changed=True, commit=shapes.commit(commit), **extra), status


@bp.put("/content/<repopath:path>")
def put_content(path: str):
    """Create or replace a file with the request body (?base=, ?message=)."""
    path = paths.repo_path(path, for_write=True, allow_root=False)
    base = _base(request.args.get("base"))
    folder, name = paths.parent(path), paths.basename(path)
    commit = changes.upload(
        folder,
        [(name, request.stream)],
        request.args.get("message", ""),
        base,
        replace=True,
    )
    return _done(commit, 201, path=paths.display(path))


@bp.delete("/files/<repopath:path>")
def delete_file(path: str):
    """Delete a file or folder (?base=, ?message=)."""
    path = paths.repo_path(path, allow_root=False)
    commit = changes.delete(
        path, _base(request.args.get("base")), request.args.get("message", "")
    )
    return _done(commit)


@bp.post("/rename")
def rename():
    """Rename or move: {"from", "to", "base", "message"}."""
    body = json_body()
    source = paths.repo_path(_text(body, "from"), allow_root=False)
    commit, new_path = changes.rename(
        source, _text(body, "to"), _base(body.get("base")), _text(body, "message", "")
    )
    return _done(commit, path=paths.display(new_path))


@bp.post("/restore")
def restore():
    """Write a file's content from an earlier revision back as a new commit.

    {"path", "rev", "from" (its name then, if renamed), "base", "message"}
    """
    body = json_body()
    path = paths.repo_path(_text(body, "path"), allow_root=False)
    source = body.get("from")
    if source is not None:
        source = paths.repo_path(_text(body, "from"), allow_root=False)
    commit = changes.restore(
        path,
        _text(body, "rev"),
        source,
        _base(body.get("base")),
        _text(body, "message", ""),
    )
    return _done(commit, path=paths.display(path))


def _text(body: dict, key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        abort(422, f'"{key}" must be a string.')
    return value
