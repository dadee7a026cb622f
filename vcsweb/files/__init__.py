"""Folders, file pages, raw downloads and uploads."""

from .views import bp

__all__ = ["bp"]
