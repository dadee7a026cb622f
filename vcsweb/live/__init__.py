"""Live updates: pages hear of saved descriptions and new commits as they happen."""

from .hub import stop
from .views import bp, register

__all__ = ["bp", "register", "stop"]
