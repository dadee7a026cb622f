"""The errors the git layer raises, in vcsweb's own terms."""


class GitStoreError(Exception):
    """Base of every error this module raises."""


class NotFound(GitStoreError):
    """A revision, file or folder that does not exist."""


class Conflict(GitStoreError):
    """A write whose base is stale for one of its paths."""

    def __init__(self, message: str, path: str, current: str | None = None):
        super().__init__(message)
        self.path = path
        self.current = current


class RepositoryBusy(GitStoreError):
    """Git is locked by another process or took too long; trying again helps."""


class RepositoryUnavailable(GitStoreError):
    """The configured repository cannot be used at all."""


class NothingToCommit(GitStoreError):
    """The change would leave every file as it is."""
