"""Which commit last changed each entry of a folder, in one walk of history.

The answer for an entry is what `git log -1 -- <folder>/<entry>` prints.
Git's default history simplification decides it: walking back from the tip,
a commit whose parent holds the entry unchanged is passed over for that
parent; at a merge the entry follows the first parent that holds it
unchanged; a commit with no such parent is the answer.

Each entry walks a single chain, so the walk for a whole folder is a set of
names per commit that moves towards the root and shrinks as names find their
commit. Everything it needs comes from one `git log` over the folder: each
commit with its parents, and for each parent the names of the folder's
entries that differ from it (none: the folder is the same in both). The
walk reads commits as Git prints them and stops once every name has its
commit.
"""

from collections.abc import Iterable, Mapping

# One commit as the walk reads it: its id, its parents, and for each parent
# the names in the folder that differ from that parent; a parent left out
# differs in nothing.
Record = tuple[str, tuple[str, ...], Mapping[str, frozenset[bytes]]]

_SAME: frozenset[bytes] = frozenset()


def last_changes(records: Iterable[Record], names: Iterable[bytes]) -> dict[bytes, str]:
    """Return {name: commit id} for each name, walking records from the first.

    records come with every child before its parents or close to it (Git's
    default order); the first one is where the walk starts.
    """
    walk = _Walk()
    for commit, parents, changed in records:
        if not walk.parents:
            walk.pending[commit] = set(names)
        walk.add(commit, parents, changed)
        if not walk.pending:
            break
    return walk.found


class _Walk:
    def __init__(self):
        self.pending: dict[str, set[bytes]] = {}
        self.found: dict[bytes, str] = {}
        self.parents: dict[str, tuple[str, ...]] = {}
        self.changed: dict[str, Mapping[str, frozenset[bytes]]] = {}

    def add(
        self,
        commit: str,
        parents: tuple[str, ...],
        changed: Mapping[str, frozenset[bytes]],
    ) -> None:
        """Learn one commit and walk every name that reached it."""
        self.parents[commit] = parents
        self.changed[commit] = changed
        # A commit reached again after it was passed (a parent dated after
        # its child) is walked again at once; everything it needs is known.
        stack = [commit]
        while stack:
            here = stack.pop()
            names = self.pending.pop(here, None)
            if names:
                stack.extend(p for p in self._step(here, names) if p in self.parents)

    def _step(self, commit: str, names: set[bytes]) -> list[str]:
        parents = self.parents[commit]
        if not parents:
            for name in names:
                self.found[name] = commit
            return []
        changed = self.changed[commit]
        moves: dict[str, set[bytes]] = {}
        rest = names
        for parent in parents:
            differ = changed.get(parent, _SAME)
            if not differ:
                moves[parent] = rest
                rest = set()
                break
            hit = rest & differ
            if len(hit) < len(rest):
                # rest is this walk's own set: the names that stay move on.
                rest -= hit
                moves[parent] = rest
                rest = hit
            if not rest:
                break
        for name in rest:
            self.found[name] = commit
        for parent, moved in moves.items():
            self._merge(parent, moved)
        return list(moves)

    def _merge(self, commit: str, names: set[bytes]) -> None:
        here = self.pending.get(commit)
        if here is None:
            self.pending[commit] = names
        elif len(here) >= len(names):
            here |= names
        else:
            names |= here
            self.pending[commit] = names
