"""The search page, whose results htmx replaces as the person types."""

from flask import request

from ..htmx import render
from . import service
from .blueprint import bp


@bp.get("/search")
def search():
    """Show what matches ?q= by name, description and content (?kind=, ?page=)."""
    query = request.args.get("q", "")
    kind = request.args.get("kind", "all")
    try:
        results = service.search(query, kind, request.args.get("page", 1, type=int))
    except service.QueryError as exc:
        return render(
            "search/search.html",
            "search/partials/results.html",
            status=400,
            results=None,
            error=str(exc),
            query=query,
            kind=kind if kind in service.KINDS else "all",
        )
    return render(
        "search/search.html",
        "search/partials/results.html",
        results=results,
        error=None,
        query=results.text,
        kind=results.kind,
    )
