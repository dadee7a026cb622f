"""Accounts: sign-in, roles, API tokens, the admin pages and `flask users`."""

from . import policy
from .admin import bp as admin_bp
from .cli import users as users_cli
from .views import bp

__all__ = ["admin_bp", "bp", "policy", "users_cli"]
