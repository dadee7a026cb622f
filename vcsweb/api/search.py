"""JSON API: search names, descriptions and contents at the branch tip."""

from flask import abort, jsonify, request

from .. import paths
from ..search import service
from .blueprint import bp


@bp.get("/search")
def search():
    """Return what matches ?q=, grouped by kind (?kind=all|names|..., ?page=)."""
    query = request.args.get("q", "")
    try:
        results = service.search(
            query, request.args.get("kind"), request.args.get("page", 1, type=int)
        )
    except service.QueryError as exc:
        abort(400, str(exc))
    if not results.text:
        abort(400, "Give the text to search for as ?q=.")
    body = {
        "query": results.text,
        "kind": results.kind,
        "revision": results.revision,
    }
    for group in results.groups:
        body[group.kind] = _group(group)
    return jsonify(body)


def _group(group: service.Group) -> dict:
    return {
        "total": group.total,
        "more": group.more,
        "page": group.page,
        "pages": group.pages,
        "per_page": group.per_page,
        "timed_out": group.timed_out,
        "skipped_large_files": group.skipped,
        "notice": group.notice or None,
        "results": [_hit(group.kind, hit) for hit in group.hits],
    }


def _hit(kind: str, hit: service.Hit) -> dict:
    found = {
        "path": paths.display(hit.path),
        "type": hit.kind,
        "description": hit.description,
    }
    if kind == "contents":
        found["line"] = hit.line
        found["text"] = hit.text
        found["truncated"] = hit.cut_before or hit.cut_after
    found["ranges"] = [list(r) for r in hit.ranges]
    return found
