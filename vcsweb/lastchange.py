"""Which commit last changed each entry of a folder, in one walk of history.

The answer for an entry is what `git log -1 -- <folder>/<entry>` prints.
Git's default history simplification decides it: walking back from the tip,
a commit whose parent holds the entry unchanged is passed over for that
parent; at a merge the entry follows the first parent that holds it
unchanged; a commit with no such parent is the answer.

Each entry walks a single chain, so the walk for a whole folder is a set of
names per commit that moves towards the root and shrinks as names find their
commit. The Git work is done in batches by the caller's functions: the
folder's tree id in many commits at once, and the names that differ between
many pairs of trees at once. Commits that leave the folder's tree as it was
cost one dictionary lookup.
"""

from collections.abc import Callable, Iterable, Iterator

# Commits looked up per batch: large enough that process starts do not
# dominate, small enough that a folder whose entries all changed recently
# is answered after reading little history.
BATCH = 512

Graph = Iterable[tuple[str, tuple[str, ...]]]
TreeIds = Callable[[list[str]], dict[str, str | None]]
ChangedNames = Callable[[list[tuple[str | None, str | None]]], list[set[bytes]]]


def last_changes(
    commits: Graph,
    tip: str,
    names: Iterable[bytes],
    tree_ids: TreeIds,
    changed_names: ChangedNames,
) -> dict[bytes, str]:
    """Return {name: commit id} for each name, walking commits from tip.

    commits yields (commit, parents) with every child before its parents or
    close to it (Git's default order); tree_ids maps commits to the folder's
    tree id in each (None where it is missing); changed_names returns, per
    (old tree, new tree) pair, the names that differ.
    """
    walk = _Walk(tree_ids, changed_names)
    walk.pending[tip] = set(names)
    for batch in _batches(iter(commits)):
        walk.add(batch)
        if not walk.pending:
            break
    return walk.found


def _batches(commits: Iterator) -> Iterator[list[tuple[str, tuple[str, ...]]]]:
    while True:
        batch = []
        for item in commits:
            batch.append(item)
            if len(batch) == BATCH:
                break
        if not batch:
            return
        yield batch


class _Walk:
    def __init__(self, tree_ids: TreeIds, changed_names: ChangedNames):
        self.tree_ids = tree_ids
        self.changed_names = changed_names
        self.pending: dict[str, set[bytes]] = {}
        self.found: dict[bytes, str] = {}
        self.parents: dict[str, tuple[str, ...]] = {}
        self.tree: dict[str, str | None] = {}
        self.diff: dict[tuple[str, str], set[bytes]] = {}

    def add(self, batch: list[tuple[str, tuple[str, ...]]]) -> None:
        """Learn a batch of commits and walk every name that reached one of them."""
        for commit, parents in batch:
            self.parents[commit] = parents
        wanted = {c for c, ps in batch for c in (c, *ps) if c not in self.tree}
        self.tree.update(self.tree_ids(sorted(wanted)))
        pairs = [
            (p, c)
            for c, ps in batch
            for p in ps
            if self.tree[p] != self.tree[c] and (p, c) not in self.diff
        ]
        if pairs:
            trees = [(self.tree[p], self.tree[c]) for p, c in pairs]
            for pair, names in zip(pairs, self.changed_names(trees), strict=True):
                self.diff[pair] = names
        for commit, _ in batch:
            self._visit(commit)

    def _visit(self, start: str) -> None:
        # A commit reached again after it was passed (a parent dated after
        # its child) is walked again at once; everything it needs is known.
        stack = [start]
        while stack:
            commit = stack.pop()
            names = self.pending.pop(commit, None)
            if names:
                stack.extend(p for p in self._step(commit, names) if p in self.parents)

    def _step(self, commit: str, names: set[bytes]) -> list[str]:
        parents = self.parents[commit]
        if not parents:
            for name in names:
                self.found[name] = commit
            return []
        moves: dict[str, set[bytes]] = {}
        rest = names
        for parent in parents:
            if self.tree[parent] == self.tree[commit]:
                moves[parent] = rest
                rest = set()
                break
            changed = rest & self.diff[(parent, commit)]
            if len(changed) < len(rest):
                rest -= changed
                moves[parent] = rest
                rest = changed
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
