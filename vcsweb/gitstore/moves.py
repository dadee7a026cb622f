"""What a move of the branch changed: which paths pages showing it must refresh."""

from dataclasses import dataclass

from ..paths import from_bytes
from .errors import GitStoreError
from .reading import Reader

# A move over more commits than this counts as "everything may have
# changed": listing each commit's paths would cost more than refreshing.
MOVE_COMMITS = 1000


@dataclass(frozen=True)
class BranchMove:
    """The branch went from old to new (either None while it has no commits).

    touched holds every path a commit in between changed, so a page showing
    a path's content or its last commit knows whether to refresh; None
    means anything may have changed (a first commit, a force-push that
    dropped commits, or a very long move). deleted holds the paths old had
    and new has not.
    """

    old: str | None
    new: str | None
    touched: frozenset[str] | None
    deleted: frozenset[str] = frozenset()

    def touches(self, path: str) -> bool:
        """True if something at or below path may have changed."""
        if self.touched is None or path == "":
            return True
        prefix = path + "/"
        return any(p == path or p.startswith(prefix) for p in self.touched)


class Moves(Reader):
    """Comparing two tips of the branch."""

    def branch_move(self, old: str | None, new: str | None) -> BranchMove:
        """Return what changed when the branch went from old to new."""
        if old is None or new is None or old == new:
            touched = None if old != new else frozenset()
            return BranchMove(old, new, touched)
        try:
            if self._run("rev-list", "--count", f"{new}..{old}").strip() != b"0":
                # old is not in new's history (a force-push): commits were
                # dropped, so last commits may change anywhere.
                return BranchMove(old, new, None, self._deleted(old, new))
            output = self._run(
                "log",
                "--first-parent",
                "--diff-merges=first-parent",
                "--no-renames",
                "--name-only",
                "-z",
                "--format=%x01",
                f"--max-count={MOVE_COMMITS + 1}",
                f"{old}..{new}",
            )
            deleted = self._deleted(old, new)
        except GitStoreError:
            # old is no longer in the repository (pruned after a force-push).
            return BranchMove(old, new, None)
        records = output.split(b"\x01")[1:]
        if len(records) > MOVE_COMMITS:
            return BranchMove(old, new, None, deleted)
        touched = {
            from_bytes(name.strip(b"\n"))
            for record in records
            for name in record.split(b"\0")
            if name.strip(b"\n")
        }
        return BranchMove(old, new, frozenset(touched), deleted)

    def has_seen(self, tip: str, commit: str) -> bool:
        """True if commit is tip or in its history: a page at tip shows it."""
        if commit == tip:
            return True
        try:
            return self._run("rev-list", "--count", f"{tip}..{commit}").strip() == b"0"
        except GitStoreError:
            # One of them is not in the repository (pruned after a force-push).
            return False

    def _deleted(self, old: str, new: str) -> frozenset[str]:
        output = self._run(
            "diff-tree",
            "-r",
            "-z",
            "--name-only",
            "--no-renames",
            "--diff-filter=D",
            old,
            new,
        )
        return frozenset(from_bytes(n) for n in output.split(b"\0") if n)
