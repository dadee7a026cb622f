"""Reading a repository: commits, folders, files and last changes."""

import io
import itertools
import re
from collections.abc import Iterator

from ..gitobjects import (
    EMPTY_TREE,
    Commit,
    Entry,
    parse_commit,
    parse_ls_tree,
    parse_tree,
    sort_entries,
)
from ..lastchange import last_changes
from ..paths import display, from_bytes, to_bytes
from .base import GitBase, _drain, _read_header, _stop
from .errors import GitStoreError, NotFound

# Branch and tag names, abbreviated or full commit ids; no option-like or
# range syntax ever reaches Git as a revision.
_REVISION = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class Reader(GitBase):
    """What is in the repository at any commit."""

    def tip(self) -> str | None:
        """Return the served branch's commit id, or None while it has no commits."""
        found = self._info(self.ref)
        return found[0] if found else None

    def resolve(self, rev: str) -> str:
        """Return the full commit id a revision names, or raise NotFound."""
        if not _REVISION.match(rev):
            raise NotFound(f"Revision {rev!r} is not a valid revision name")
        found = self._info(f"{rev}^{{commit}}")
        if not found:
            raise NotFound(f"Revision {rev} not found")
        return found[0]

    def commit(self, commit_id: str) -> Commit:
        """Return one commit's facts."""
        _, kind, data = self._contents(commit_id) or (None, None, None)
        if kind != "commit":
            raise NotFound(f"Revision {commit_id} not found")
        return parse_commit(commit_id, data)

    def entry(self, commit_id: str, path: str) -> Entry:
        """Return what a path is at a commit, or raise NotFound."""
        if path == "":
            tree = self._info(f"{commit_id}^{{tree}}")
            if tree is None:
                raise NotFound(f"Revision {commit_id} not found")
            return Entry("", "folder", "040000", tree[0], None)
        parent, _, name = path.rpartition("/")
        for found in self.list_folder(commit_id, parent):
            if found.name == name:
                return found
        raise NotFound(f"{display(path)} not found")

    def kind_of(self, commit_id: str, path: str) -> str | None:
        """Return 'folder' or 'file' for what a path is at a commit, None if absent."""
        info = self._info(self._object_name(commit_id, path))
        if not info:
            return None
        return "folder" if info[1] == "tree" else "file"

    def list_folder(self, commit_id: str, folder: str) -> list[Entry]:
        """List a folder at a commit, folders first, or raise NotFound."""
        info = self._info(self._object_name(commit_id, folder))
        if not info or info[1] != "tree":
            raise NotFound(f"Folder {display(folder)} not found")
        output = self._run("ls-tree", "-l", "-z", info[0])
        return sort_entries(parse_ls_tree(output, folder))

    def read_blob(self, oid: str, limit: int) -> tuple[bytes, bool]:
        """Return up to limit bytes of a blob and whether it was cut short."""
        info = self._info(oid)
        if not info:
            raise NotFound(f"Object {oid} not found")
        if info[2] <= limit:
            return self._contents(oid)[2], False
        stream = self.stream_blob(oid)
        data = bytearray()
        for chunk in stream:
            data += chunk
            if len(data) >= limit:
                break
        stream.close()
        return bytes(data[:limit]), True

    def stream_blob(self, oid: str) -> Iterator[bytes]:
        """Yield a blob's bytes in chunks from a process of its own."""
        return _drain(self._spawn("cat-file", "blob", oid))

    def last_commits(
        self, tip: str, folder: str, names: list[str]
    ) -> dict[str, Commit]:
        """Return, per name in folder, the commit `git log -1 -- <path>` shows.

        One walk of history serves the whole folder (see lastchange.py). For
        a subfolder Git lists only the commits that changed something in it,
        and every merge, each with its parents rewritten to the nearest such
        commit; the commits left out change nothing in the folder, so every
        name passes through them unchanged.
        """
        args = ["rev-list", "--parents", tip]
        if folder:
            args += ["--full-history", "--", folder]
        proc = self._spawn(*args)
        try:
            graph = (_graph_line(line) for line in proc.stdout)
            first = next(graph, None)
            if first is None:
                return {}
            found = last_changes(
                itertools.chain([first], graph),
                first[0],
                (to_bytes(name) for name in names),
                lambda commits: self._tree_ids(commits, folder),
                self._changed_names,
            )
        finally:
            _stop(proc)
        commits = {cid: self.commit(cid) for cid in set(found.values())}
        return {from_bytes(name): commits[cid] for name, cid in found.items()}

    def _tree_ids(self, commits: list[str], folder: str) -> dict[str, str | None]:
        """Return the folder's tree id in each commit, in one batch."""
        names = [self._object_name(c, folder) for c in commits]
        output = self._run(
            "cat-file", "--batch-check", "-z", stdin=b"\0".join(names) + b"\0"
        )
        answers = io.BytesIO(output)
        result = {}
        for commit, name in zip(commits, names, strict=True):
            header = _read_header(answers, name)
            result[commit] = header[0] if header and header[1] == "tree" else None
        return result

    def _changed_names(
        self, pairs: list[tuple[str | None, str | None]]
    ) -> list[set[bytes]]:
        """Return, per pair of trees, the names of the entries that differ."""
        lines = [f"{old or EMPTY_TREE} {new or EMPTY_TREE}\n" for old, new in pairs]
        output = self._run(
            "diff-tree",
            "--stdin",
            "-z",
            "--name-only",
            "--no-renames",
            stdin="".join(lines).encode(),
        )
        result = []
        pos = 0
        for index, line in enumerate(lines):
            header = line.encode()
            if not output.startswith(header, pos):
                raise GitStoreError("Git diff-tree answered out of order")
            pos += len(header)
            following = lines[index + 1].encode() if index + 1 < len(lines) else None
            end = len(output)
            if following is not None:
                end = _next_header(output, following, pos)
            result.append({n for n in output[pos:end].split(b"\0") if n})
            pos = end
        return result

    def _folder_entries(
        self, commit_id: str, folder: str
    ) -> dict[bytes, tuple[str, str]]:
        info = self._info(self._object_name(commit_id, folder))
        if not info or info[1] != "tree":
            return {}
        cache = self._tree_cache
        if info[0] not in cache:
            if len(cache) > 4096:
                cache.clear()
            cache[info[0]] = parse_tree(self._contents(info[0])[2])
        return cache[info[0]]


def _graph_line(line: bytes) -> tuple[str, tuple[str, ...]]:
    ids = line.decode("ascii").split()
    return ids[0], tuple(ids[1:])


def _next_header(output: bytes, header: bytes, start: int) -> int:
    """Find where the next pair's echoed header begins: at start or after a NUL."""
    if output.startswith(header, start):
        return start
    found = output.find(b"\0" + header, start)
    if found < 0:
        raise GitStoreError("Git diff-tree output ended early")
    return found + 1
