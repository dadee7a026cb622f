"""Error responses: JSON for the API, a fragment for htmx, a page otherwise."""

import logging

from flask import jsonify, make_response, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import catalog, paths
from .htmx import wants_fragment

log = logging.getLogger(__name__)


def register(app) -> None:
    """Attach the error handlers and the per-request cleanup."""
    app.teardown_appcontext(catalog.close_repository)

    @app.errorhandler(paths.InvalidPath)
    def invalid_path(exc):
        log.info("rejected path %r: %s", exc.path, exc.reason)
        return error_response(400, str(exc))

    @app.errorhandler(catalog.ValidationError)
    def invalid_input(exc):
        return error_response(422, str(exc))

    @app.errorhandler(catalog.NotFound)
    def not_found(exc):
        return error_response(404, _sentence(exc))

    @app.errorhandler(catalog.Conflict)
    def conflict(exc):
        return error_response(409, _sentence(exc))

    @app.errorhandler(catalog.FilesExist)
    def files_exist(exc):
        return error_response(409, str(exc))

    @app.errorhandler(catalog.RepositoryBusy)
    def busy(exc):
        log.warning("repository busy: %s", exc)
        return error_response(503, _sentence(exc), retry_after=2)

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

    @app.errorhandler(catalog.GitStoreError)
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
    if wants_fragment():
        response.vary.add("HX-Request")
    return response


def _sentence(exc) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


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
