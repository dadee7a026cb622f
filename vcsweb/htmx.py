"""One decision for every view: a fragment for htmx, or the whole page."""

from flask import make_response, render_template, request
from flask.wrappers import Response


def wants_fragment() -> bool:
    """True for an htmx request that swaps part of a page.

    A history restore and a boosted navigation replace the whole page, so
    they get the page even though htmx sent them.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Boosted") != "true"
    )


def render(page: str, fragment: str, status: int = 200, **context) -> Response:
    """Render the fragment for htmx and the page otherwise; both vary on HX-Request."""
    template = fragment if wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
