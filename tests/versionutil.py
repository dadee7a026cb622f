"""Helpers for the version tests: building histories, reading forms and blobs."""

from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from tests import gitutil
from tests.htmlutil import parse


def tip(repo: Path, branch: str = "main") -> str:
    """Return the commit id the branch points at."""
    return gitutil.git(repo, "rev-parse", branch).strip()


def count(repo: Path, branch: str = "main") -> int:
    """Return how many commits the branch has."""
    return int(gitutil.git(repo, "rev-list", "--count", branch))


def blob(repo: Path, rev: str, path: str | bytes) -> bytes:
    """Return a file's exact bytes at a revision, as `git cat-file blob` prints them."""
    name = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    result = gitutil.git(repo, "cat-file", "blob", (rev + ":").encode() + name)
    return result.encode("utf-8", "surrogateescape")


def names(repo: Path, rev: str = "main") -> list[str]:
    """Return every file path at a revision."""
    listed = gitutil.git(repo, "ls-tree", "-r", "-z", "--name-only", rev)
    return [n for n in listed.split("\0") if n]


def mode(repo: Path, rev: str, path: str) -> str:
    return gitutil.git(repo, "ls-tree", rev, "--", path).split()[0]


class Importer:
    """Write commits as a `git fast-import` stream: exact bytes, no re-encoding.

    git commit turns a message that is not UTF-8 into UTF-8; fast-import
    stores what it is given, which is how such commits arrive from old tools.
    """

    def __init__(self, branch: str = "main", parent: str | None = None):
        self.ref = f"refs/heads/{branch}".encode()
        self.parent = parent
        self.chunks: list[bytes] = []
        self.marks = 0
        self.when = 1_600_000_000

    def commit(
        self,
        files: dict[str | bytes, bytes | str | None],
        message: bytes | str,
        author: str = "Ada Lovelace <ada@example.com>",
        encoding: str | None = None,
    ) -> int:
        """Add a commit changing files (None deletes) and return its mark."""
        self.marks += 1
        self.when += 60
        stamp = f"{author} {self.when} +0000".encode()
        text = message.encode() if isinstance(message, str) else message
        out = [b"commit " + self.ref, f"mark :{self.marks}".encode()]
        out += [b"author " + stamp, b"committer " + stamp]
        if encoding:
            out.append(f"encoding {encoding}".encode())
        out.append(f"data {len(text)}".encode() + b"\n" + text)
        if self.parent and self.marks == 1:
            out.append(f"from {self.parent}".encode())
        for name, content in files.items():
            raw = name if isinstance(name, bytes) else name.encode()
            quoted = b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
            quoted = quoted.replace(b"\n", b"\\n")
            if content is None:
                out.append(b"D " + quoted)
                continue
            data = content.encode() if isinstance(content, str) else content
            out.append(b"M 100644 inline " + quoted)
            out.append(f"data {len(data)}".encode() + b"\n" + data)
        self.chunks.append(b"\n".join(out) + b"\n\n")
        return self.marks

    def run(self, repo: Path) -> None:
        gitutil.git(repo, "fast-import", "--quiet", input=b"".join(self.chunks))


def wsgi_get(client, url: str, **kwargs):
    """GET a URL the way a WSGI server passes it on: path bytes kept as they are.

    A server hands the application the percent-decoded path as Latin-1 text
    (PEP 3333), so bytes that are not UTF-8 arrive unchanged; Werkzeug's test
    client would replace them before the application sees them.
    """
    path = unquote_to_bytes(urlsplit(url).path).decode("latin-1")
    return client.get(url, environ_overrides={"PATH_INFO": path}, **kwargs)


def wsgi_post(client, url: str, **kwargs):
    path = unquote_to_bytes(urlsplit(url).path).decode("latin-1")
    return client.post(url, environ_overrides={"PATH_INFO": path}, **kwargs)


def form_fields(response, action: str | None = None) -> tuple[str, dict[str, str]]:
    """Return a page's POST form (the one posting to action) and its field values.

    Only the page's own content counts, not the sign-out form in its header.
    """
    page = parse(response.data).find("main") or parse(response.data)
    forms = [
        f
        for f in page.find_all("form")
        if (f.get("method") or "").lower() == "post"
        and (action is None or f.get("action") == action)
    ]
    assert forms, f"no form posting to {action} ({response.status_code})"
    form = forms[0]
    fields = {}
    for field in form.find_all("input"):
        if field.get("name") and field.get("type") not in {"checkbox", "radio"}:
            fields[field.get("name")] = field.get("value") or ""
    for area in form.find_all("textarea"):
        # A browser drops the one line break that follows <textarea>.
        fields[area.get("name")] = area.raw_text().removeprefix("\n")
    return form.get("action"), fields


def submit(client, page_url: str, action: str | None = None, **changes):
    """Open a page, fill its POST form as a person would and send it."""
    page = wsgi_get(client, page_url)
    assert page.status_code == 200, page.data
    target, fields = form_fields(page, action)
    fields.update(changes)
    return wsgi_post(client, target, data=fields)


def error_text(response) -> str:
    """Return the message an error page or form shows."""
    found = parse(response.data).find("p", class_="error")
    assert found is not None, response.data[:500]
    return found.text()
