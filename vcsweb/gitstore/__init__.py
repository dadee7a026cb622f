"""The only code that talks to Git.

It speaks in vcsweb's own terms: paths from paths.py, the dataclasses in
gitobjects.py and the errors in errors.py; no GitPython type leaves it.
"""

import os

from .base import init_bare
from .errors import (
    Conflict,
    GitStoreError,
    NotFound,
    NothingToCommit,
    RepositoryBusy,
    RepositoryUnavailable,
)
from .writing import Change, Writer

__all__ = [
    "Change",
    "Conflict",
    "GitStoreError",
    "NotFound",
    "NothingToCommit",
    "Repository",
    "RepositoryBusy",
    "RepositoryUnavailable",
    "describe_problem",
    "init_bare",
]


class Repository(Writer):
    """One open repository serving one branch; close() it after use."""


def describe_problem(path: str) -> str | None:
    """Return why a configured repository cannot be served, or None if it can."""
    if not os.path.exists(path):
        return f"the repository {path} does not exist"
    try:
        with Repository(path) as repo:
            repo.check()
    except RepositoryUnavailable as exc:
        message = str(exc)
        if "dubious ownership" in message:
            return (
                f"Git refuses {path}: it belongs to another user than the one running "
                f"vcsweb (uid {os.getuid()}). Give the folder to that user, or add "
                f"exactly this path to its safe.directory setting."
            )
        return f"the repository {path} cannot be read: {message}"
    return None
