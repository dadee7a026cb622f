"""Folders, file pages, raw downloads, history, diffs and every change to files."""

from . import editing, versions, views
from .blueprint import bp

__all__ = ["bp", "editing", "versions", "views"]
