"""JSON API: list folders, read one entry, save a description."""

from flask import abort, jsonify, request

from .. import catalog, paths
from . import shapes
from .blueprint import bp, json_body


@bp.get("/files")
def list_files():
    """List a folder's entries (?path=, ?rev=, ?page=)."""
    path = paths.repo_path(request.args.get("path", ""))
    folder = catalog.folder(
        path, request.args.get("rev") or None, request.args.get("page", 1, type=int)
    )
    return jsonify(
        path=folder.path,
        revision=folder.commit.id if folder.commit else None,
        page=folder.page,
        pages=folder.pages,
        total=folder.total,
        entries=[shapes.entry(r) for r in folder.rows],
    )


@bp.get("/files/<repopath:path>")
def get_file(path: str):
    """Return one file or folder with its last commit and description."""
    path = paths.repo_path(path, allow_root=False)
    row = catalog.row(path, request.args.get("rev") or None)
    return _with_etag(jsonify(shapes.entry(row)), row.description.version)


@bp.put("/files/<repopath:path>")
def put_file(path: str):
    """Save a description: {"description": "...", "version": n (optional)}.

    A stale "version" gets 409 and a stale If-Match 412, each with the current
    description; with neither, the last save wins.
    """
    path = paths.repo_path(path, allow_root=False)
    body = json_body()
    text = body.get("description")
    if not isinstance(text, str):
        abort(422, 'The body needs "description" as a string.')
    version = body.get("version")
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool)
    ):
        abort(422, '"version" must be a whole number.')
    if_match = _if_match()
    if if_match is not None:
        current = catalog.current_description(path)
        if if_match != current.version:
            return _stale(path, current, 412)
        version = if_match if version is None else version
    try:
        catalog.save_description(path, text, version)
    except catalog.StaleDescription as exc:
        return _stale(path, exc.current, 409)
    row = catalog.row(path)
    return _with_etag(jsonify(shapes.entry(row)), row.description.version)


def _if_match() -> int | None:
    header = request.headers.get("If-Match")
    if not header:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.startswith("v") or not tag[1:].isdigit():
        abort(412, 'If-Match must be an ETag this API returned, such as "v3".')
    return int(tag[1:])


def _stale(path: str, current: catalog.Description, status: int):
    response = jsonify(
        error="This description was changed by someone else meanwhile.",
        current={
            "description": current.text,
            "version": current.version,
            "updated_by": current.updated_by,
        },
    )
    response.status_code = status
    return _with_etag(response, current.version)


def _with_etag(response, version: int):
    response.headers["ETag"] = f'"v{version}"'
    return response
