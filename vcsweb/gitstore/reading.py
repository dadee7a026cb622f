"""Reading a repository: commits, folders, files and last changes."""

import re
import time
from collections.abc import Iterator

from ..gitobjects import Commit, Entry, parse_commit, parse_tree
from ..lastchange import last_changes
from ..paths import display, from_bytes, to_bytes
from .base import GitBase, _chunks, _drain, _stop
from .errors import GitStoreError, NotFound
from .folderlog import LOG_ARGS, LogFormatError, folder_records, split_fields
from .listing import NO_SIZE, build_entries, parse_tree_entries

# Branch and tag names, abbreviated or full commit ids; no option-like or
# range syntax ever reaches Git as a revision.
_REVISION = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
# Only what a full commit id names is the same forever.
_FULL_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class Reader(GitBase):
    """What is in the repository at any commit."""

    def tip(self) -> str | None:
        """Return the served branch's commit id, or None while it has no commits."""
        stored = self._stored_ref()
        if stored is not None:
            return stored
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
        known = self._memo.commit(commit_id)
        if known is not None:
            return known
        _, kind, data = self._contents(commit_id) or (None, None, None)
        if kind != "commit":
            raise NotFound(f"Revision {commit_id} not found")
        found = parse_commit(commit_id, data)
        if _FULL_ID.match(commit_id):
            self._memo.keep_commit(found)
        return found

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
        tree_id = self._memo.tree_id(commit_id, folder)
        if tree_id is None:
            info = self._info(self._object_name(commit_id, folder))
            if not info or info[1] != "tree":
                raise NotFound(f"Folder {display(folder)} not found")
            tree_id = info[0]
            if _FULL_ID.match(commit_id):
                self._memo.keep_tree_id(commit_id, folder, tree_id)
        entries = self._memo.listing(tree_id, folder)
        if entries is None:
            try:
                parsed = parse_tree_entries(
                    self._contents(tree_id)[2], len(tree_id) // 2
                )
            except ValueError as exc:
                raise GitStoreError(f"Folder {display(folder)}: {exc}") from None
            blobs = [oid for mode, _, oid in parsed if mode not in NO_SIZE]
            entries = build_entries(folder, parsed, self._sizes(blobs))
            self._memo.keep_listing(tree_id, folder, entries)
        return list(entries)

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

    def start_last_commits(self, tip: str, folder: str) -> None:
        """Start the walk last_commits(tip, folder, ...) reads, in the background.

        Git then walks the history while the caller lists the folder; in a
        small repository starting Git is most of the time both take.
        """
        if (tip, folder) not in self._walks:
            self._walks[(tip, folder)] = self._start_walk(tip, folder)

    def last_commits(
        self, tip: str, folder: str, names: list[str]
    ) -> dict[str, Commit]:
        """Return, per name in folder, the commit `git log -1 -- <path>` shows.

        One `git log` over the folder serves every name (see lastchange.py).
        For a subfolder Git lists only the commits that changed something in
        it, and every merge, each with its parents rewritten to the nearest
        such commit; the commits left out change nothing in the folder, so
        every name passes through them unchanged.
        """
        proc = self._walks.pop((tip, folder), None) or self._start_walk(tip, folder)
        try:
            chunks = _chunks(proc, time.monotonic() + self.timeout)
            found = last_changes(
                folder_records(split_fields(chunks), to_bytes(folder)),
                [to_bytes(name) for name in names],
            )
        except LogFormatError as exc:
            message = f"Git log printed what vcsweb cannot read: {exc}"
            raise GitStoreError(message) from None
        finally:
            _stop(proc)
        commits = self._commits(sorted(set(found.values())))
        return {from_bytes(name): commits[cid] for name, cid in found.items()}

    def _start_walk(self, tip: str, folder: str):
        args = [*LOG_ARGS, tip]
        if folder:
            # Rewriting parents as it prints, Git can get them wrong, even
            # drop them, where a commit is dated before an ancestor (a wrong
            # clock); --topo-order has it read the folder's history first.
            # The root folder has no rewriting and is read as Git prints it,
            # so the walk can stop early.
            args += ["--topo-order", "--", folder]
        # Without GIT_FLUSH=0 git log writes each commit on its own, a wakeup
        # here for each of thousands of commits.
        return self._spawn(*args, env={"GIT_FLUSH": "0"})

    def _commits(self, ids: list[str]) -> dict[str, Commit]:
        """Return many commits' facts, asking for many at a time."""
        found = {cid: self._memo.commit(cid) for cid in ids}
        missing = [cid for cid, commit in found.items() if commit is None]
        for cid, (kind, data) in self._objects(missing).items():
            if kind == "commit":
                found[cid] = parse_commit(cid, data)
                self._memo.keep_commit(found[cid])
        return {cid: commit for cid, commit in found.items() if commit is not None}

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
