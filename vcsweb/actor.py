"""Who is acting in this request: the name on commits and on saved descriptions."""

from flask import has_request_context
from flask_login import current_user

from .gitobjects import Identity


def username() -> str | None:
    """Return the signed-in user's username, or None for a visitor."""
    return current_user.username if current_user.is_authenticated else None


def name() -> str | None:
    """Return the signed-in user's name as pages show it, or None for a visitor.

    Outside a request (a command-line tool) nobody is signed in.
    """
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user.name


def identity() -> Identity:
    """Return the author of a commit made now: the signed-in user."""
    if not current_user.is_authenticated:
        raise PermissionError("changes need a signed-in user")
    email = current_user.email or f"{current_user.username}@users.vcsweb.invalid"
    return Identity(current_user.name, email)
