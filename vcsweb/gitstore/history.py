"""History: a file's commits across renames, the log, diffs and deleted files."""

import re
from dataclasses import dataclass

from ..diffs import STATUS, FileDiff, counts, parse_hunks
from ..gitobjects import EMPTY_TREE, ZERO_ID, Commit
from ..paths import display, from_bytes
from .errors import NotFound
from .reading import Reader

# Files larger than this get no line diff; Git would spend seconds on them
# and no person reads a diff that long.
DIFF_BYTES = 1024 * 1024
# Files past this many in one diff are listed by name only.
MAX_FILES = 300
_AUTHOR = re.compile(r"^[^\x00-\x1f]{1,200}$")


@dataclass(frozen=True)
class Revision:
    """One commit in a file's history, with the file's name in that commit."""

    commit: Commit
    path: str
    status: str  # added, modified, renamed, deleted, ...
    old_path: str | None = None


@dataclass(frozen=True)
class Deleted:
    """A file that a commit removed and that the branch no longer has."""

    path: str
    commit: Commit

    @property
    def restore_from(self) -> str:
        return self.commit.parents[0]


class History(Reader):
    """Logs and diffs."""

    def file_history(
        self, commit_id: str, path: str, skip: int, limit: int
    ) -> tuple[list[Revision], bool]:
        """Return one page of the commits that changed a path, newest first.

        A file's history follows renames (see _followed); a folder's lists
        every commit that changed something in it. The flag says whether
        older commits follow.
        """
        if path and self.kind_of(commit_id, path) != "folder":
            changes = self._followed(commit_id, path, skip + limit + 1)[skip:]
        else:
            changes = self._changes(
                commit_id, path, [f"--skip={skip}", f"--max-count={limit + 1}"]
            )
        if not changes and skip == 0:
            raise NotFound(f"{display(path)} has no history on this branch")
        revisions = [
            Revision(self.commit(commit), new, status, old)
            for commit, status, old, new in changes[:limit]
        ]
        return revisions, len(changes) > limit

    def former_names(self, commit_id: str, path: str) -> list[str]:
        """Return every name a file had up to a commit, newest first, across renames."""
        names = []
        for _, _, old, new in self._followed(commit_id, path):
            names += [new, old] if old else [new]
        return list(dict.fromkeys(names)) or [path]

    def _followed(self, commit_id: str, path: str, count: int | None = None):
        """Return a file's changes across renames, back to where it was added.

        `git log --follow` also takes a new file for a copy of any other
        file with similar content that stayed where it was, and goes on
        with that file's history. Such a file began on its own: its history
        ends there, as added. No `--skip`: git follows no rename inside the
        commits it skips, so the whole list up to the page is read.
        """
        options = ["--follow"] + ([f"--max-count={count}"] if count else [])
        changes = self._changes(commit_id, path, options)
        for n, (commit, status, _old, new) in enumerate(changes):
            if status == STATUS["C"]:
                changes[n] = (commit, STATUS["A"], None, new)
                return changes[: n + 1]
        return changes

    def _changes(
        self, commit_id: str, path: str, options: list[str]
    ) -> list[tuple[str, str, str | None, str]]:
        """Return (commit id, status, old name, name) for each commit git lists."""
        args = ["log", "--format=%x01%H", "-z", "--name-status", "--no-abbrev"]
        args += [*options, commit_id]
        if path:
            args += ["--", path]
        found = []
        for record in self._run(*args).split(b"\x01")[1:]:
            head, _, rest = record.partition(b"\0")
            fields = [f for f in rest.lstrip(b"\n").split(b"\0") if f]
            found.append((head.decode(), *_name_status(fields, path)))
        return found

    def log(
        self,
        commit_id: str,
        skip: int,
        limit: int,
        path: str = "",
        author: str = "",
    ) -> tuple[list[Commit], bool]:
        """Return one page of the branch's commits, optionally for a path or author."""
        args = ["rev-list", f"--skip={skip}", f"--max-count={limit + 1}"]
        if author:
            if not _AUTHOR.match(author):
                raise NotFound("That author filter cannot be used")
            args += ["--fixed-strings", "--regexp-ignore-case", f"--author={author}"]
        args += [commit_id, "--"]
        if path:
            args.append(path)
        ids = self._run(*args).decode("ascii").split()
        commits = [self.commit(i) for i in ids[:limit]]
        return commits, len(ids) > limit

    def diff(
        self, old: str | None, new: str, paths: list[str] | None = None
    ) -> list[FileDiff]:
        """Return how files differ between two commits (old None: from nothing).

        paths limits the result to files with one of those names (before or
        after a rename) or inside one of those folders.
        """
        raw = self._run(
            "diff-tree",
            "-r",
            "-z",
            "--no-abbrev",
            "-M",
            "--raw",
            old or EMPTY_TREE,
            new,
        )
        files = [f for f in _parse_raw(raw) if _wanted(f, paths)]
        for f in files[MAX_FILES:]:
            f.suppressed = f"Not shown: this diff changes {len(files):,} files."
        self._add_sizes(files[:MAX_FILES])
        shown = [f for f in files[:MAX_FILES] if not _too_large(f)]
        for f in files[:MAX_FILES]:
            if _too_large(f):
                f.suppressed = "Large file: the line diff is not shown."
        if shown:
            self._add_patches(old, new, shown)
        return files

    def deleted(self, commit_id: str, folder: str, limit: int = 200) -> list[Deleted]:
        """Return files below folder that were deleted and not brought back."""
        args = [
            "log",
            "--diff-filter=D",
            "--format=%x01%H",
            "-z",
            "--name-only",
            f"--max-count={limit}",
            commit_id,
        ]
        if folder:
            args += ["--", folder]
        output = self._run(*args)
        found: dict[str, Deleted] = {}
        for record in output.split(b"\x01")[1:]:
            head, _, rest = record.partition(b"\0")
            commit = None
            for name in (n for n in rest.lstrip(b"\n").split(b"\0") if n):
                path = from_bytes(name)
                if path in found or self.kind_of(commit_id, path):
                    continue
                commit = commit or self.commit(head.decode())
                found[path] = Deleted(path, commit)
        return list(found.values())

    def tree_files(self, commit_id: str, folder: str) -> list[tuple[str, str, str]]:
        """Return (path, mode, blob id) of every file below a folder."""
        name = self._object_name(commit_id, folder)
        info = self._info(name)
        if not info or info[1] != "tree":
            raise NotFound(f"Folder {folder} not found")
        output = self._run("ls-tree", "-r", "-z", info[0])
        files = []
        prefix = f"{folder}/" if folder else ""
        for record in output.split(b"\0"):
            if not record:
                continue
            meta, _, name_bytes = record.partition(b"\t")
            mode, _kind, oid = meta.decode().split()
            files.append((prefix + from_bytes(name_bytes), mode, oid))
        return files

    def _add_sizes(self, files: list[FileDiff]) -> None:
        for f in files:
            # A submodule's commit lives in another repository: no size here.
            old = self._info(f.old_oid) if f.old_oid else None
            new = self._info(f.new_oid) if f.new_oid else None
            f.old_size = old[2] if old else None
            f.new_size = new[2] if new else None

    def _add_patches(self, old: str | None, new: str, files: list[FileDiff]) -> None:
        """Fill in hunks, one `git diff` for all files, matched to them in order."""
        names = []
        for f in files:
            names += [p for p in {f.old_path, f.new_path} if p]
        patch = self._run(
            "diff-tree",
            "-r",
            "-p",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            old or EMPTY_TREE,
            new,
            "--",
            *names,
        )
        sections = re.split(rb"(?m)^diff --git ", patch)[1:]
        if len(sections) != len(files):
            sections = [self._blob_patch(f) for f in files]
        for f, section in zip(files, sections, strict=True):
            f.hunks, f.binary = parse_hunks(section)
            f.added, f.removed = counts(f.hunks)

    def _blob_patch(self, f: FileDiff) -> bytes:
        return self._run(
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            f.old_oid or EMPTY_BLOB,
            f.new_oid or EMPTY_BLOB,
        )


EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def _name_status(fields: list[bytes], path: str) -> tuple[str, str | None, str]:
    if not fields:
        return "merged", None, path
    code = fields[0].decode("ascii", "replace")
    status = STATUS.get(code[:1], "modified")
    if code[:1] in {"R", "C"} and len(fields) >= 3:
        return status, from_bytes(fields[1]), from_bytes(fields[2])
    return status, None, from_bytes(fields[1]) if len(fields) > 1 else path


def _parse_raw(raw: bytes) -> list[FileDiff]:
    fields = raw.split(b"\0")
    files = []
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].decode("ascii")
        if not meta.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_oid, new_oid, code = meta[1:].split()
        if code[:1] in {"R", "C"}:
            old_path, new_path = from_bytes(fields[i + 1]), from_bytes(fields[i + 2])
            i += 3
        else:
            old_path = new_path = from_bytes(fields[i + 1])
            i += 2
        letter = code[:1]
        files.append(
            FileDiff(
                old_path=None if letter == "A" else old_path,
                new_path=None if letter == "D" else new_path,
                status=STATUS.get(letter, "modified"),
                old_oid=None if old_oid == ZERO_ID else old_oid,
                new_oid=None if new_oid == ZERO_ID else new_oid,
                old_mode=None if old_mode == "000000" else old_mode,
                new_mode=None if new_mode == "000000" else new_mode,
            )
        )
    return files


def _wanted(f: FileDiff, paths: list[str] | None) -> bool:
    if paths is None:
        return True
    for wanted in paths:
        for p in (f.old_path, f.new_path):
            if p and (not wanted or p == wanted or p.startswith(wanted + "/")):
                return True
    return False


def _too_large(f: FileDiff) -> bool:
    return max(f.old_size or 0, f.new_size or 0) > DIFF_BYTES
