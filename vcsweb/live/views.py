"""The event stream a page opens, and the attributes that make a page open it."""

import threading

from flask import Blueprint, Response, current_app, request, url_for
from markupsafe import Markup, escape

from .. import catalog, feed, paths
from ..errors import error_response
from ..extensions import db
from ..files.links import Link
from . import stream
from .hub import Hub, Position, RepoSettings
from .peers import Peer

bp = Blueprint("live", __name__, url_prefix="/api")
_creating = threading.Lock()


def register(app) -> None:
    """Give the app its hub and pages the attributes that connect them."""
    app.register_blueprint(bp)
    app.extensions["vcsweb_live"] = None
    app.add_template_global(live_attributes)


def _hub() -> Hub:
    app = current_app
    with _creating:
        hub = app.extensions.get("vcsweb_live")
        if hub is None:
            hub = _new_hub(app.config)
            app.extensions["vcsweb_live"] = hub
    return hub


def _new_hub(config) -> Hub:
    return Hub(
        db.engine,
        RepoSettings(
            config["VCSWEB_REPO"],
            config.get("VCSWEB_BRANCH"),
            config["VCSWEB_GIT_TIMEOUT"],
        ),
        int(config["VCSWEB_LIVE_LIMIT"]),
    )


@bp.get("/events", defaults={"path": ""})
@bp.get("/events/<repopath:path>")
def events(path: str):
    """Stream what changes on a page showing path, as server-sent events."""
    path = paths.repo_path(path)
    try:
        cursor = stream.Cursor.parse(
            request.headers.get("Last-Event-ID"),
            request.args.get("since"),
            request.args.get("tip"),
        )
    except stream.BadCursor as exc:
        return error_response(400, f"{exc}.")
    hub = _hub()
    joined = hub.join(_position, Peer.of(request.environ))
    if joined is None:
        return error_response(
            503,
            "This server has as many live pages open as it can serve; "
            "the page keeps working and tries again shortly.",
            retry_after=10,
        )
    listener, start = joined
    config = current_app.config
    page = stream.Page(
        path,
        Link("meta.show"),
        float(config["VCSWEB_LIVE_HEARTBEAT"]),
        float(config["VCSWEB_LIVE_LIFETIME"]),
    )
    # Nothing of the request is used once the stream runs: its database
    # session and repository are closed as the view returns.
    body = stream.events(hub, listener, start, cursor, page)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    # nginx would otherwise hold events back until its buffer fills.
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(lambda: hub.leave(listener))
    return response


def _position() -> Position:
    return Position(feed.latest_id(), catalog.repository().tip())


def live_attributes(path: str, tip: str | None = None, follow: bool = False) -> Markup:
    """Return the attributes that connect a page showing path to its events.

    tip is the commit the page shows when it follows the branch ('' for an
    empty repository); None for a page showing a fixed commit. follow=True
    takes the branch's tip now, for a page that does not name its commit.
    """
    if int(current_app.config["VCSWEB_LIVE_LIMIT"]) <= 0:
        return Markup("")
    if follow and tip is None:
        tip = catalog.repository().tip() or ""
    args = {"since": feed.latest_id()}
    if tip is not None:
        args["tip"] = tip
    url = url_for("live.events", path=path, **args)
    return Markup(' hx-ext="sse" sse-connect="{}"').format(escape(url))
