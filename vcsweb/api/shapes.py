"""How entries, commits and diffs look in JSON."""

from .. import catalog, paths
from ..diffs import FileDiff
from ..gitobjects import Commit


def entry(row: catalog.Row) -> dict:
    commit = row.commit
    return {
        "path": paths.display(row.path),
        "name": paths.display(row.entry.name),
        "type": row.entry.kind,
        "size": row.entry.size,
        "revision": commit.id if commit else None,
        "author": commit.author.name if commit else None,
        "date": commit.authored_at.isoformat() if commit else None,
        "message": commit.subject if commit else None,
        "description": row.description.text,
        "version": row.description.version,
        "status": row.status,
    }


def commit(c: Commit) -> dict:
    return {
        "revision": c.id,
        "parents": list(c.parents),
        "author": c.author.name,
        "email": c.author.email,
        "date": c.authored_at.isoformat(),
        "message": c.message,
    }


def file_diff(f: FileDiff) -> dict:
    return {
        "old_path": paths.display(f.old_path) if f.old_path else None,
        "new_path": paths.display(f.new_path) if f.new_path else None,
        "status": f.status,
        "added": f.added,
        "removed": f.removed,
        "binary": f.binary,
        "old_size": f.old_size,
        "new_size": f.new_size,
        "suppressed": f.suppressed,
        "hunks": [
            {
                "old_start": h.old_start,
                "old_lines": h.old_count,
                "new_start": h.new_start,
                "new_lines": h.new_count,
                "lines": [
                    {
                        "kind": line.kind,
                        "old": line.old,
                        "new": line.new,
                        "text": line.text,
                    }
                    for line in h.lines
                ],
            }
            for h in f.hunks
        ],
    }
