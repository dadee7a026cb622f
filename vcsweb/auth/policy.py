"""Who may do what: one rule for every route, checked before any view runs.

Reading needs the viewer role (or VCSWEB_PUBLIC_READ for visitors who are
not signed in), changing files or descriptions needs editor, managing users
needs admin. A route is a change when its method is not GET or HEAD, or
when it is one of the forms that only lead to a change.
"""

from flask import (
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from ..extensions import csrf, db, login_manager
from ..htmx import wants_fragment
from ..models import User
from ..redirects import local_target
from . import accounts

PUBLIC = {"static", "auth.login", "files.healthz", "files.highlight_css"}
SIGNED_IN = {"auth.logout", "auth.account", "auth.create_token", "auth.revoke_token"}
# Pages whose only use is to make a change: a viewer is not shown them.
CHANGE_FORMS = {
    "files.edit",
    "files.new",
    "files.rename",
    "files.delete",
    "files.restore",
    "meta.edit",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def level_for(endpoint: str | None, method: str) -> str | None:
    """Return what a request needs: None, 'signed-in', 'read', 'write' or 'admin'."""
    if endpoint is None or endpoint in PUBLIC:
        return None
    if endpoint in SIGNED_IN:
        return "signed-in"
    if endpoint.startswith("admin."):
        return "admin"
    if method not in SAFE_METHODS or endpoint in CHANGE_FORMS:
        return "write"
    return "read"


def register(app) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_from_token)
    login_manager.unauthorized_handler(lambda: _refuse(401))
    app.before_request(enforce)
    # enforce() checks CSRF tokens itself, after sign-in and never for
    # requests signed in with an API token; Flask-WTF's own check would run
    # first and answer an expired session with 400 instead of the login page.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.add_template_global(can)


def can(level: str) -> bool:
    """True if whoever is asking may 'read', 'write' or 'admin' (for templates)."""
    if current_user.is_authenticated:
        return current_user.can(level)
    return level == "read" and bool(current_app.config.get("VCSWEB_PUBLIC_READ"))


def enforce():
    """Refuse the request unless the current user's role allows it."""
    level = level_for(request.endpoint, request.method)
    user = current_user
    signed_in = user.is_authenticated
    public = level == "read" and current_app.config.get("VCSWEB_PUBLIC_READ")
    if level is not None and not signed_in and not public:
        return _refuse(401)
    _check_csrf()
    if level in (None, "signed-in") or not signed_in:
        return None
    if not user.can(level):
        return _refuse(403)
    return None


def _check_csrf() -> None:
    """Refuse a change that a browser session sends without the page's token.

    Checked after sign-in, so an expired session is sent to the login page
    instead of being told its form is stale. A request signed in by a token
    needs none: a page on another site cannot make a browser send an
    Authorization header.
    """
    if request.method in SAFE_METHODS or request.endpoint is None:
        return
    if g.get("signed_in_by") == "token":
        return
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _load_user(user_id: str):
    # A request that carries a token is judged by the token alone, whatever
    # session cookie comes with it.
    if _bearer(request) is not None or not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def _bearer(req) -> str | None:
    header = req.headers.get("Authorization", "")
    return header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None


def _load_from_token(req):
    secret = _bearer(req)
    if secret is None:
        return None
    user = accounts.user_for_token(secret)
    if user is not None:
        g.signed_in_by = "token"
    return user


def _refuse(status: int):
    """Answer 401 or 403 in the form the client understands."""
    if status == 401:
        message = "Sign in to continue."
    else:
        message = (
            f"Your role ({current_user.role}) does not allow this; "
            "ask an admin if you need it."
        )
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="vcsweb"'
        return response
    if status == 401:
        login = url_for("auth.login", next=_return_to())
        if wants_fragment() or request.headers.get("HX-Request"):
            response = make_response(message, 401)
            # htmx follows this with a full page load, so the login form is
            # never swapped into a fragment.
            response.headers["HX-Redirect"] = login
            return response
        return redirect(login)
    abort(403, message)


def _return_to() -> str:
    """The page to come back to after signing in: the page, never a fragment URL."""
    if request.headers.get("HX-Request"):
        return _local(request.headers.get("HX-Current-URL"))
    if request.method != "GET":
        return _local(request.referrer)
    return local_target(request.full_path.rstrip("?"), "/")


def _local(url: str | None) -> str:
    """Return the path of a full URL on this site, or '/'."""
    root = request.host_url.rstrip("/")
    if url and url.startswith(root + "/"):
        return local_target(url[len(root) :], "/")
    return "/"
