"""JSON API under /api."""

from . import changes, versions, views
from .blueprint import bp

__all__ = ["bp", "changes", "versions", "views"]
