"""What a repository's objects say, kept across requests because it never changes.

An object id names the same content forever, so a folder listing by tree id,
the tree a commit has at a path, and a commit's facts are valid for good and
need no invalidation. Each worker keeps its own, bounded, least recently
used first out. With them, a repeat visit of a folder page starts no git
process at all (Reader.tip reads the branch itself from its file).
"""

import threading
from collections import OrderedDict

from ..gitobjects import Commit, Entry

# Folder entries kept per worker: some 300 bytes each, at most about 15 MB.
LISTED_ENTRIES = 50_000
# (commit, folder) -> tree id pairs: some 200 bytes each.
TREE_IDS = 20_000
# Commits: some 1 KB each with their message; a folder page needs one, a
# history page fifty.
COMMITS = 2_000


class Lru:
    """A mapping that drops the least recently used items past a total weight."""

    def __init__(self, limit: int):
        self.limit = limit
        self._items: OrderedDict = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key, value, weight: int = 1) -> None:
        if weight > self.limit:
            return
        with self._lock:
            if key in self._items:
                self._weight -= self._items[key][1]
            self._items[key] = (value, weight)
            self._items.move_to_end(key)
            self._weight += weight
            while self._weight > self.limit:
                _, (_, dropped) = self._items.popitem(last=False)
                self._weight -= dropped

    def __len__(self) -> int:
        return len(self._items)


class Memo:
    """Listings by (tree id, folder), tree ids by (commit, folder), commits by id."""

    def __init__(
        self,
        entries: int = LISTED_ENTRIES,
        tree_ids: int = TREE_IDS,
        commits: int = COMMITS,
    ):
        self._listings = Lru(entries)
        self._tree_ids = Lru(tree_ids)
        self._commits = Lru(commits)

    def listing(self, tree_id: str, folder: str) -> list[Entry] | None:
        found = self._listings.get((tree_id, folder))
        return found[0] if found else None

    def keep_listing(self, tree_id: str, folder: str, entries: list[Entry]) -> None:
        self._listings.put((tree_id, folder), entries, max(1, len(entries)))

    def tree_id(self, commit_id: str, folder: str) -> str | None:
        found = self._tree_ids.get((commit_id, folder))
        return found[0] if found else None

    def keep_tree_id(self, commit_id: str, folder: str, tree_id: str) -> None:
        self._tree_ids.put((commit_id, folder), tree_id)

    def commit(self, commit_id: str) -> Commit | None:
        found = self._commits.get(commit_id)
        return found[0] if found else None

    def keep_commit(self, commit: Commit) -> None:
        self._commits.put(commit.id, commit)
