"""Signing in and out, and a person's own account: profile and API tokens."""

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..actor import identity
from ..redirects import local_target
from . import accounts

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a username and password; go on to `next` (a local path only)."""
    next_url = local_target(request.values.get("next"), url_for("files.tree"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url)
        return _form(next_url)
    username = request.form.get("username", "")
    try:
        user = accounts.authenticate(
            username, request.form.get("password", ""), request.remote_addr or "unknown"
        )
    except accounts.TooManyAttempts as exc:
        response = _form(next_url, username, str(exc), 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except accounts.SignInRefused as exc:
        return _form(next_url, username, str(exc), 401)
    session.clear()
    login_user(user)
    session.permanent = True
    return redirect(next_url)


def _form(next_url, username="", error=None, status=200):
    page = render_template(
        "auth/login.html",
        next=next_url,
        username=username,
        error=error,
        first_run=accounts.count_users() == 0,
    )
    return make_response(page, status)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.get("/account")
def account():
    """Your profile and your API tokens."""
    return render_template(
        "auth/account.html", tokens=accounts.tokens_of(current_user), author=identity()
    )


@bp.post("/account/tokens")
def create_token():
    new = accounts.create_token(current_user, request.form.get("name", ""))
    return render_template(
        "auth/account.html",
        tokens=accounts.tokens_of(current_user),
        new=new,
        author=identity(),
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    if accounts.revoke_token(current_user, token_id):
        flash("The token is revoked; programs using it are refused from now on.")
    else:
        flash("That token does not exist or is already revoked.")
    return redirect(url_for("auth.account"), code=303)
