"""Last commits of a folder, kept once computed: in memory and in the instance folder.

What `git log -1` says for an entry at a given commit never changes, so a
result keyed by commit id and folder is valid forever and needs no
invalidation. The files let every gunicorn worker, and the next start, use
a result one worker computed; memory saves reading them again.
"""

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from datetime import datetime

from .gitobjects import Commit, Identity
from .paths import to_bytes

log = logging.getLogger(__name__)

# Names kept in memory per worker, across all results: a result is about
# 150 bytes a name, so this bounds a worker's share at some 30 MB whether it
# holds many small folders or a few of 10,000 files.
MEMORY_NAMES = 200_000
# Commit messages are kept whole up to this; pages show the subject and a
# tooltip, never more.
MESSAGE_LIMIT = 2000


class LastCommitCache:
    """Results of Repository.last_commits() by (commit id, folder, which names)."""

    def __init__(self, root: str | None):
        self.root = root
        self._memory: OrderedDict = OrderedDict()
        self._names = 0
        self._lock = threading.Lock()

    def get(self, commit_id: str, folder: str, names: str) -> dict[str, Commit] | None:
        key = (commit_id, folder, names)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        found = self._read(key)
        if found is not None:
            self._remember(key, found)
        return found

    def put(self, commit_id: str, folder: str, names: str, result: dict[str, Commit]):
        key = (commit_id, folder, names)
        self._remember(key, result)
        self._write(key, result)

    def _remember(self, key, result) -> None:
        with self._lock:
            if key in self._memory:
                self._names -= len(self._memory[key])
            self._memory[key] = result
            self._memory.move_to_end(key)
            self._names += len(result)
            while self._names > MEMORY_NAMES and len(self._memory) > 1:
                _, dropped = self._memory.popitem(last=False)
                self._names -= len(dropped)

    def _file(self, key) -> str | None:
        if not self.root:
            return None
        commit_id, folder, names = key
        digest = hashlib.sha1(to_bytes(folder) + b"\0" + to_bytes(names)).hexdigest()
        return os.path.join(self.root, commit_id[:2], commit_id, digest + ".json")

    def _read(self, key) -> dict[str, Commit] | None:
        path = self._file(key)
        if path is None:
            return None
        try:
            with open(path, encoding="ascii") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        commits = {cid: _commit(cid, fields) for cid, fields in data["commits"].items()}
        return {name: commits[cid] for name, cid in data["entries"].items()}

    def _write(self, key, result) -> None:
        path = self._file(key)
        if path is None:
            return
        data = {
            "entries": {name: commit.id for name, commit in result.items()},
            "commits": {c.id: _fields(c) for c in result.values()},
        }
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                # ensure_ascii keeps names that are not UTF-8 (lone surrogates)
                # as escapes that read back to the same text.
                json.dump(data, handle, ensure_ascii=True)
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("could not keep last commits in %s: %s", path, exc)


def _fields(commit: Commit) -> dict:
    return {
        "parents": list(commit.parents),
        "name": commit.author.name,
        "email": commit.author.email,
        "at": commit.authored_at.isoformat(),
        "message": commit.message[:MESSAGE_LIMIT],
    }


def _commit(commit_id: str, fields: dict) -> Commit:
    return Commit(
        id=commit_id,
        parents=tuple(fields["parents"]),
        author=Identity(fields["name"], fields["email"]),
        authored_at=datetime.fromisoformat(fields["at"]),
        message=fields["message"],
    )
