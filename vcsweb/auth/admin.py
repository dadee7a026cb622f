"""Admin pages: the users, their roles, enabling and disabling them."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..descriptions import ValidationError
from ..extensions import db
from ..models import ROLES, User
from . import accounts

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
def users():
    return render_template("auth/users.html", users=accounts.all_users(), roles=ROLES)


@bp.post("/users")
def create_user():
    form = request.form
    try:
        user = accounts.create_user(
            form.get("username", ""),
            form.get("password", ""),
            form.get("role", "viewer"),
            form.get("display_name", ""),
            form.get("email", ""),
        )
    except ValidationError as exc:
        page = render_template(
            "auth/users.html",
            users=accounts.all_users(),
            roles=ROLES,
            error=str(exc),
            form=form,
        )
        return page, 422
    flash(f"Created {user.username} ({user.role}).")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>")
def update_user(user_id: int):
    """Change a user's role or enable or disable them."""
    user = db.session.get(User, user_id) or abort(404, "No such user.")
    if user.id == current_user.id:
        abort(
            409,
            "You cannot change your own role or disable yourself; ask another admin.",
        )
    try:
        if "role" in request.form:
            accounts.set_role(user, request.form["role"])
        if "active" in request.form:
            accounts.set_active(user, request.form["active"] == "1")
    except ValidationError as exc:
        abort(422, str(exc))
    state = "active" if user.active else "disabled"
    flash(f"Saved {user.username}: {user.role}, {state}.")
    return redirect(url_for("admin.users"), code=303)
