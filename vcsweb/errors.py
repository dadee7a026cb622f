"""Error responses: JSON for the API, a fragment for htmx, a page otherwise."""

import logging

from flask import jsonify, make_response, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import catalog, changes, paths
from .descriptions import ValidationError
from .gitstore import Conflict, GitStoreError, NotFound, RepositoryBusy
from .htmx import wants_fragment

log = logging.getLogger(__name__)


# Errors a person can act on, and the status each is answered with.
USER_ERRORS = {
    paths.InvalidPath: 400,
    ValidationError: 422,
    NotFound: 404,
    Conflict: 409,
    changes.FilesExist: 409,
    RepositoryBusy: 503,
}


def status_of(exc: Exception) -> int:
    """Return the HTTP status for an error a person can act on."""
    for error_class, status in USER_ERRORS.items():
        if isinstance(exc, error_class):
            return status
    return 500


def user_error(exc: Exception):
    """Answer an error a person can act on with its status and its message."""
    status = status_of(exc)
    if isinstance(exc, paths.InvalidPath):
        log.info("rejected path %r: %s", exc.path, exc.reason)
    elif status == 503:
        log.warning("repository busy: %s", exc)
    message = str(exc) if status in (400, 422) else _sentence(exc)
    return error_response(status, message, retry_after=2 if status == 503 else None)


def register(app) -> None:
    """Attach the error handlers and the per-request cleanup."""
    app.teardown_appcontext(catalog.close_repository)

    for error_class in USER_ERRORS:
        app.register_error_handler(error_class, user_error)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        return error_response(
            400,
            "This form has expired or did not come from vcsweb (CSRF check failed). "
            "Reload the page and try again; nothing was saved.",
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        limit = app.config["VCSWEB_MAX_UPLOAD_MB"]
        return error_response(
            413,
            f"That is more than the {limit} MB an upload may have; nothing was saved.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(GitStoreError)
    def git_failed(exc):
        log.error("git failed: %s", exc)
        return error_response(
            500, "Git could not complete this request; nothing was changed."
        )

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500, "Something went wrong on the server; nothing was changed."
        )


def error_response(status: int, message: str, retry_after: int | None = None):
    """Return an error in the form the client asked for."""
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
    elif wants_fragment():
        response = render_template(
            "partials/error.html", status=status, message=message
        )
    else:
        response = render_template(
            "error.html", status=status, message=message, links=_ways_on()
        )
    response = make_response(response, status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    if not request.path.startswith("/api/"):
        # The page and the fragment share a URL; a cache must keep them apart.
        response.vary.add("HX-Request")
    return response


def _sentence(exc) -> str:
    """End a message with a full stop; a leading file name keeps its spelling."""
    text = str(exc)
    return text + ("" if text.endswith(".") else ".")


def _ways_on() -> list[tuple[str, str]]:
    """Links that lead somewhere useful from a failed page: the folders above it."""
    links = [("Repository home", url_for("files.tree"))]
    path = (request.view_args or {}).get("path") or ""
    folder = paths.parent(path) if path else ""
    if folder:
        links.append(
            (f"Folder {paths.display(folder)}", url_for("files.tree", path=folder))
        )
    return links
