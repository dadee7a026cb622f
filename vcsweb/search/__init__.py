"""Search: file names, descriptions and file contents at the branch tip."""

from . import views
from .blueprint import bp

__all__ = ["bp", "views"]
