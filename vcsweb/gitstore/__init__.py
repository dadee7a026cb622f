"""The only code that talks to Git.

It speaks in vcsweb's own terms: paths from paths.py, the dataclasses in
gitobjects.py and the errors in errors.py; no GitPython type leaves it.
"""

import os
import pwd

from .base import init_bare
from .errors import (
    Conflict,
    GitStoreError,
    NotFound,
    NothingToCommit,
    RepositoryBusy,
    RepositoryUnavailable,
)
from .grep import ContentMatches, LineMatch, NameMatches, Searcher
from .history import Deleted, History, Revision
from .memo import Memo
from .moves import BranchMove, Moves
from .writing import Change, Writer

__all__ = [
    "BranchMove",
    "Change",
    "Conflict",
    "ContentMatches",
    "Deleted",
    "GitStoreError",
    "LineMatch",
    "Memo",
    "NameMatches",
    "NotFound",
    "NothingToCommit",
    "Repository",
    "RepositoryBusy",
    "RepositoryUnavailable",
    "Revision",
    "describe_problem",
    "init_bare",
]


class Repository(Writer, History, Searcher, Moves):
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
            return _ownership_problem(path)
        return f"the repository {path} cannot be read: {message}"
    return None


def _ownership_problem(path: str) -> str:
    """Explain Git's refusal of a repository owned by another user, and the fix."""
    real = os.path.realpath(path)
    owner = _user_name(os.stat(real).st_uid)
    runner = _user_name(os.geteuid())
    return (
        f"Git refuses {real}: it is owned by {owner}, but vcsweb runs as {runner}. "
        f"Give it to the user running vcsweb (chown -R {runner} {real}), or let "
        f"that user trust exactly this path: "
        f"git config --global --add safe.directory {real}"
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
