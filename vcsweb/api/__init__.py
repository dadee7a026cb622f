"""JSON API under /api."""

from . import changes, search, versions, views
from .blueprint import bp

__all__ = ["bp", "changes", "search", "versions", "views"]
