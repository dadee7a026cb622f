"""Description fragments for htmx: show, edit, save."""

from .views import bp

__all__ = ["bp"]
