"""JSON API for history: a path's commits, a file at a revision, diffs, the log."""

from flask import jsonify, request, url_for

from .. import catalog, paths
from . import shapes
from .blueprint import bp


@bp.get("/history/", defaults={"path": ""})
@bp.get("/history/<repopath:path>")
def history(path: str):
    """One page of the commits that changed a path (?page=, ?rev=)."""
    path = paths.repo_path(path)
    page = catalog.history(
        path, request.args.get("rev") or None, request.args.get("page", 1, type=int)
    )
    return jsonify(
        path=paths.display(path),
        page=page.page,
        has_more=page.has_more,
        revisions=[
            {
                **shapes.commit(r.commit),
                "status": r.status,
                "path": paths.display(r.path),
                "old_path": paths.display(r.old_path) if r.old_path else None,
            }
            for r in page.revisions
        ],
    )


@bp.get("/content/<repopath:path>")
def content(path: str):
    """A file at a revision: its text when it is text, and where to get its bytes."""
    path = paths.repo_path(path, allow_root=False)
    rev = request.args.get("rev") or None
    view = catalog.file(path, rev)
    text = view.text
    return jsonify(
        path=paths.display(path),
        revision=view.commit_id,
        size=view.row.entry.size,
        binary=text is None,
        encoding=text.label if text else None,
        truncated=view.truncated,
        text=text.text if text else None,
        raw=url_for("files.raw", path=path, rev=view.commit_id),
    )


@bp.get("/diff/", defaults={"path": ""})
@bp.get("/diff/<repopath:path>")
def diff(path: str):
    """How a path differs between two revisions (?from=, ?to=, default the tip)."""
    path = paths.repo_path(path)
    files = catalog.diff(
        request.args.get("from") or None, request.args.get("to") or "HEAD", path
    )
    return jsonify(files=[shapes.file_diff(f) for f in files])


@bp.get("/commits")
def commits():
    """One page of the branch's log (?page=, ?path=, ?author=)."""
    path = paths.repo_path(request.args.get("path", ""))
    page = max(1, request.args.get("page", 1, type=int))
    found, more = catalog.commits(page, path, request.args.get("author", "").strip())
    return jsonify(page=page, has_more=more, commits=[shapes.commit(c) for c in found])


@bp.get("/commits/<rev>")
def commit(rev: str):
    """One commit with the diff of every file it changed."""
    found, files = catalog.commit_detail(rev)
    return jsonify(**shapes.commit(found), files=[shapes.file_diff(f) for f in files])
