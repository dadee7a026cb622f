"""vcsweb under load: nothing lost, and work that does not grow with the data.

Writers run at once through real gunicorn workers; database queries are
counted per request; git processes, open files and memory of a worker are
read from /proc; large files and large folders are written with
`git fast-import`. Speed itself is measured by benchmarks/run.py, not here.
Tests named test_cNN_* follow the case of that number in the project's case
list.
"""

import hashlib
import http.client
import itertools
import os
import struct
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import event

from tests import gitutil
from tests.conftest import HX
from tests.htmlutil import parse
from tests.test_cases_foundation import (
    assert_clean_log,
    bare_repo_with,
    commit_count,
    fetch,
    multipart,
    open_session,
    page_base,
    put_description,
    server_log,
    tip,
    together,
    upload,
)
from vcsweb import descriptions
from vcsweb.extensions import db

MB = 1024 * 1024

# Helpers: repositories written with git fast-import ------------------------


@dataclass(frozen=True)
class Big:
    """File content of a known size, produced in chunks so it never sits in memory."""

    size: int
    chunks: Iterable[bytes]


class FastImport:
    """Stream commits into `git fast-import`; finish() returns {mark: commit id}."""

    def __init__(self, repo: Path, branch: str = "main"):
        self.repo = repo
        self.ref = f"refs/heads/{branch}".encode()
        self.marks_file = repo / "vcsweb-test-marks"
        self.proc = subprocess.Popen(
            [
                "git",
                "-C",
                str(repo),
                "fast-import",
                "--quiet",
                f"--export-marks={self.marks_file}",
            ],
            stdin=subprocess.PIPE,
        )
        self.mark = 0
        self.when = 1_600_000_000

    def commit(self, message: str, files: dict[str, bytes | Big], who: int = 0) -> int:
        """Add a commit that writes files, and return its mark."""
        self.mark += 1
        self.when += 97
        person = f"Person {who} <p{who}@example.com> {self.when} +0000"
        text = message.encode()
        out = self.proc.stdin
        out.write(b"commit %s\nmark :%d\n" % (self.ref, self.mark))
        out.write(f"author {person}\ncommitter {person}\n".encode())
        out.write(b"data %d\n%s\n" % (len(text), text))
        for name, content in files.items():
            out.write(f"M 100644 inline {name}\n".encode())
            if isinstance(content, Big):
                out.write(b"data %d\n" % content.size)
                for chunk in content.chunks:
                    out.write(chunk)
            else:
                out.write(b"data %d\n" % len(content) + content)
            out.write(b"\n")
        out.write(b"\n")
        return self.mark

    def finish(self) -> dict[int, str]:
        self.proc.stdin.close()
        assert self.proc.wait() == 0, "git fast-import failed"
        marks = {}
        for line in self.marks_file.read_text().splitlines():
            mark, commit = line.split()
            marks[int(mark[1:])] = commit
        self.marks_file.unlink()
        return marks


def new_bare(path: Path) -> Path:
    return gitutil.init(path, bare=True)


def assert_no_locks(repo: Path) -> None:
    """Fail if Git left a lock file behind anywhere in the repository."""
    # vcsweb-write.lock is the file vcsweb's writers flock(); it stays by
    # design and locks nothing once no process holds it open.
    left = [
        p.relative_to(repo)
        for p in repo.rglob("*.lock")
        if p.name != "vcsweb-write.lock"
    ]
    assert not left, f"lock files left behind: {left}"


# Helpers: processes of a running server -------------------------------------


def children(pid: int) -> list[tuple[int, str]]:
    """Return (pid, command name) of every process whose parent is pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == pid:
            found.append((int(entry.name), name))
    return found


def only_worker(url) -> int:
    """Return the process id of the one worker of a gunicorn server."""
    workers = children(url.pid)
    assert len(workers) == 1, workers
    return workers[0][0]


def git_children(pid: int) -> int:
    return sum(1 for _, name in children(pid) if name == "git")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def peak_memory_mb(pid: int) -> float:
    """Return the largest resident size a process has had, in MB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


@dataclass(frozen=True)
class Download:
    status: int
    length: int | None
    received: int
    sha256: str


def download(base, path: str, stall: float = 0) -> Download:
    """GET a file with the server's token, hashing the body as it arrives.

    stall: seconds to stop reading after the first MB, as a slow link does.
    """
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
    try:
        conn.request(
            "GET",
            quote(path, safe="/?=&"),
            headers={"Authorization": f"Bearer {base.token}"},
        )
        response = conn.getresponse()
        digest = hashlib.sha256()
        received = 0
        while chunk := response.read(MB):
            digest.update(chunk)
            received += len(chunk)
            if stall and received == len(chunk):
                time.sleep(stall)
        length = response.headers["Content-Length"]
        return Download(
            response.status,
            int(length) if length is not None else None,
            received,
            digest.hexdigest(),
        )
    finally:
        conn.close()


def abandon(base, path: str) -> int:
    """Start a download, read its first MB and hang up; return the status."""
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {base.token}"})
        response = conn.getresponse()
        response.read(MB)
        response.close()
        return response.status
    finally:
        conn.close()


def wait_for_no_git(pid: int, seconds: float = 15) -> int:
    """Wait until a process has no git children; return how many it still has."""
    deadline = time.monotonic() + seconds
    while (count := git_children(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


# Concurrency through gunicorn ----------------------------------------------


def test_concurrent_uploads_of_different_files_all_land(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"README.md": "# Team files\n"})
    url = serve(repo, workers=4)
    base = page_base(fetch(url, "GET", "/").text)
    people = [open_session(url, "editor" if i % 2 else "admin") for i in range(20)]
    names = [f"report-{i:02}.txt" for i in range(20)]

    replies = together(
        [
            partial(upload, person, name, f"figures for {name}\n".encode(), base)
            for person, name in zip(people, names, strict=True)
        ]
    )

    assert [r.status for r in replies] == [200] * 20, [r.text[:300] for r in replies]
    assert commit_count(repo) == 21
    parents = gitutil.git(repo, "log", "--format=%P", "main").splitlines()
    assert all(len(p.split()) == 1 for p in parents[:-1]), "history is not linear"
    assert parents[-1] == ""
    listed = gitutil.git(repo, "ls-tree", "--name-only", "main").split()
    assert sorted(listed) == sorted(["README.md", *names])
    for name in names:
        assert gitutil.git(repo, "show", f"main:{name}") == f"figures for {name}\n"
    authors = gitutil.git(repo, "log", "-20", "--format=%an", "main").splitlines()
    assert sorted(set(authors)) == ["Ada Admin", "Eddie Editor"]
    assert gitutil.git(repo, "status", "--porcelain").strip() == ""
    assert_no_locks(repo)
    assert_clean_log(server_log(tmp_path, url))


def test_concurrent_replacements_from_one_base_make_one_commit(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"budget.csv": "year,total\n"})
    url = serve(repo, workers=4)
    base = tip(repo)
    people = [open_session(url, "editor" if i % 2 else "admin") for i in range(10)]
    versions = [f"year,total\n2024,{i}\n".encode() for i in range(10)]

    replies = together(
        [
            partial(upload, person, "budget.csv", data, base, replace=True)
            for person, data in zip(people, versions, strict=True)
        ]
    )

    statuses = [r.status for r in replies]
    assert sorted(statuses) == [200] + [409] * 9, [r.text[:300] for r in replies]
    for reply in replies:
        if reply.status == 409:
            assert "changed by someone else" in reply.text
    winner = versions[statuses.index(200)]
    assert commit_count(repo) == 2
    assert gitutil.git(repo, "rev-parse", "main~1").strip() == base
    assert gitutil.git(repo, "show", "main:budget.csv").encode() == winner
    assert (repo / "budget.csv").read_bytes() == winner
    assert gitutil.git(repo, "status", "--porcelain").strip() == ""
    assert_no_locks(repo)
    assert_clean_log(server_log(tmp_path, url))


def test_concurrent_description_saves_of_different_files(serve, tmp_path):
    files = {f"docs/note-{i:02}.md": f"# Note {i}\n" for i in range(20)}
    repo = bare_repo_with(tmp_path, files)
    url = serve(repo, workers=4)

    replies = together(
        [partial(put_description, url, p, f"What {p} says", 0) for p in files]
    )

    assert [r.status for r in replies] == [200] * 20, [r.text[:300] for r in replies]
    listed = fetch(url, "GET", "/api/files?path=docs").json()["entries"]
    saved = {e["path"]: (e["description"], e["version"]) for e in listed}
    assert saved == {p: (f"What {p} says", 1) for p in files}
    assert_no_locks(repo)
    assert_clean_log(server_log(tmp_path, url))


def test_concurrent_saves_of_one_description_version(serve, tmp_path):
    repo = bare_repo_with(tmp_path, {"plan.md": "# Plan\n"})
    url = serve(repo, workers=4)

    # Several rounds, so that at least some pairs really overlap in time.
    for version in range(5):
        replies = together(
            [
                partial(put_description, url, "plan.md", f"Alice {version}", version),
                partial(put_description, url, "plan.md", f"Bob {version}", version),
            ]
        )
        assert sorted(r.status for r in replies) == [200, 409], [
            r.text[:300] for r in replies
        ]
        won = next(r for r in replies if r.status == 200).json()
        lost = next(r for r in replies if r.status == 409).json()
        assert won["version"] == version + 1
        assert lost["current"] == {
            "description": won["description"],
            "version": version + 1,
            "updated_by": "admin",
        }
        current = fetch(url, "GET", "/api/files/plan.md").json()
        assert (current["description"], current["version"]) == (
            won["description"],
            version + 1,
        )
    assert_no_locks(repo)
    assert_clean_log(server_log(tmp_path, url))


# Queries per request ---------------------------------------------------------


@contextmanager
def counting_queries(app) -> Iterator[list[str]]:
    """Collect every SQL statement the app's engine sends while inside."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def queries_for(app, client, url: str, **kwargs) -> int:
    with counting_queries(app) as statements:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(statements)


@pytest.fixture
def small_and_large(tmp_path):
    repo = new_bare(tmp_path / "folders.git")
    writer = FastImport(repo)
    files = {f"small/s-{i}.txt": b"small\n" for i in range(5)}
    files |= {f"large/l-{i:03}.txt": b"large\n" for i in range(200)}
    writer.commit("Add two folders", files)
    writer.finish()
    return SimpleNamespace(repo=repo, files=files)


def test_folder_queries_do_not_grow_with_entries(make_app, small_and_large):
    app = make_app(small_and_large.repo)
    client = app.test_client()
    requests = {
        "page": ("/tree/{}", {}),
        "fragment": ("/tree/{}", {"headers": HX}),
        "api": ("/api/files?path={}", {}),
    }

    def counts() -> dict[str, tuple[int, int]]:
        found = {}
        for what, (url, kwargs) in requests.items():
            for folder in ("small", "large"):
                client.get(url.format(folder), **kwargs)  # first visits warm up
            found[what] = tuple(
                queries_for(app, client, url.format(f), **kwargs)
                for f in ("small", "large")
            )
        return found

    bare = counts()
    with app.app_context():
        for path in small_and_large.files:
            descriptions.save(path, f"About {path}", 0, "admin")
    described = counts()

    for found in (bare, described):
        for what, (small, large) in found.items():
            assert small > 0, "no statements were counted"
            assert large <= small, (
                f"{what}: {small} queries for 5 files, {large} for 200"
            )
    page = client.get("/tree/large").get_data(as_text=True)
    assert page.count("About large/l-") == 200
    listed = client.get("/api/files?path=large").json["entries"]
    assert all(e["description"] == f"About {e['path']}" for e in listed)


def test_a_repeat_visit_of_a_folder_needs_no_git_process(
    make_app, small_and_large, monkeypatch, tmp_path
):
    client = make_app(small_and_large.repo).test_client()
    first = {
        url: client.get(url, headers=HX if "hx" in url else {}).data
        for url in ("/tree/large", "/tree/large?hx", "/api/files?path=large")
    }

    # What a folder page shows depends on commit ids alone, which name the
    # same content forever; with no git program to be found it still comes.
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    for url, data in first.items():
        again = client.get(url, headers=HX if "hx" in url else {})
        assert again.status_code == 200, again.data[:300]
        assert again.data == data
    # A folder not seen before does need Git: the test did take it away.
    assert client.get("/tree/small").status_code >= 500


# C02: git processes of a long-lived worker -----------------------------------


@pytest.fixture
def handbook(tmp_path):
    """A repository of 40 files in four folders, changed over 30 commits."""
    repo = new_bare(tmp_path / "handbook.git")
    writer = FastImport(repo)
    names = [f"part-{f}/page-{i:02}.md" for f in range(4) for i in range(10)]
    writer.commit("Start the handbook", {n: f"# {n}\n".encode() for n in names})
    for number in range(1, 30):
        changed = names[number % 40], names[(number * 7) % 40]
        files = {n: f"# {n}\n\nRevision {number}\n".encode() for n in changed}
        writer.commit(f"Revise {changed[0]}", files, who=number % 3)
    writer.finish()
    return SimpleNamespace(repo=repo, names=names)


def test_c02_git_processes_do_not_pile_up_in_a_worker(serve, handbook):
    url = serve(handbook.repo, workers=1)
    worker = only_worker(url)
    for name in handbook.names[:2]:
        assert fetch(url, "GET", f"/blob/{name}").status == 200
        assert fetch(url, "GET", f"/history/{name}").status == 200
    git_before = git_children(worker)
    files_before = open_files(worker)

    failed = []
    most_git = git_before
    for number in range(500):
        name = handbook.names[number % len(handbook.names)]
        reply = fetch(url, "GET", f"/blob/{name}")
        if reply.status != 200 or name not in reply.text:
            failed.append((name, reply.status))
        if number % 10 == 0:
            target = name if number % 20 else name.split("/")[0]
            reply = fetch(url, "GET", f"/history/{target}")
            if reply.status != 200 or "Start the handbook" not in reply.text:
                failed.append((f"history {target}", reply.status))
        if number % 50 == 49:
            most_git = max(most_git, git_children(worker))

    assert not failed
    assert only_worker(url) == worker, "the worker was replaced"
    assert most_git <= git_before, f"git children grew from {git_before} to {most_git}"
    assert git_children(worker) <= git_before
    # A database connection may be opened or replaced meanwhile; one leaked
    # descriptor per request would be hundreds.
    assert open_files(worker) <= files_before + 4


# C08: files of hundreds of MB ------------------------------------------------

BIN_SIZE = 200 * MB
LOG_SIZE = 60 * MB
UPLOAD_SIZE = 90 * MB


def binary_chunks() -> Iterator[bytes]:
    """200 MB with NUL bytes; each 64 KB block starts with its own number."""
    pattern = bytes(range(256)) * 16 * 16  # 64 KB, compresses well
    for number in range(BIN_SIZE // len(pattern)):
        yield struct.pack(">Q", number) + pattern[8:]


def log_chunks() -> Iterator[bytes]:
    """60 MB of numbered log lines, 64 bytes each."""
    lines_per_chunk = 16384
    for start in range(0, LOG_SIZE // 64, lines_per_chunk):
        yield b"".join(
            b"%08d INFO request served in 12 ms by worker 3 of 4 all fine\n" % n
            for n in range(start, start + lines_per_chunk)
        )


def digest_of(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def large_files(tmp_path_factory):
    """A repository whose second commit adds a 60 MB log and a 200 MB binary."""
    repo = new_bare(tmp_path_factory.mktemp("large") / "large.git")
    writer = FastImport(repo)
    writer.commit("Start", {"README.md": b"# Measurements\n"})
    mark = writer.commit(
        "Add the measurements",
        {
            "data/big.log": Big(LOG_SIZE, log_chunks()),
            "data/big.bin": Big(BIN_SIZE, binary_chunks()),
            "data/notes.txt": b"Taken on the test bench\n",
        },
    )
    commits = writer.finish()
    return SimpleNamespace(
        repo=repo,
        commit=commits[mark],
        log_sha=digest_of(log_chunks()),
        bin_sha=digest_of(binary_chunks()),
    )


def test_c08_large_files_are_shown_cut_short_and_streamed(serve, large_files):
    url = serve(large_files.repo, workers=1, VCSWEB_THREADS="4")
    worker = only_worker(url)

    pages = together(
        [partial(fetch, url, "GET", f"/blob/data/big.{k}") for k in ("log", "bin") * 2]
    )
    assert [p.status for p in pages] == [200] * 4
    assert all(len(p.body) < 2 * MB for p in pages), [len(p.body) for p in pages]
    log_page, bin_page = parse(pages[0].body), parse(pages[1].body)
    banner = log_page.one("p", class_="banner").text()
    assert banner.startswith("This file is 60 MB; the first 512 KB are shown.")
    assert log_page.find("a", href="/raw/data/big.log?download=1")
    assert "00000001 INFO request served" in pages[0].text
    assert f"{LOG_SIZE // 64 - 1:08d} INFO" not in pages[0].text
    placeholder = bin_page.one("p", class_="placeholder").text()
    assert placeholder.startswith(f"Binary file, {BIN_SIZE:,} bytes, not shown.")
    assert bin_page.find("a", href="/raw/data/big.bin?download=1")

    whole_log = download(url, "/raw/data/big.log?download=1")
    assert (whole_log.status, whole_log.length) == (200, LOG_SIZE)
    assert (whole_log.received, whole_log.sha256) == (LOG_SIZE, large_files.log_sha)

    diff = fetch(url, "GET", f"/commit/{large_files.commit}")
    assert diff.status == 200
    assert len(diff.body) < 200 * 1024
    sections = {
        s.one("span", class_="path").text(): s
        for s in parse(diff.body).find_all("section", class_="diff-file")
    }
    assert set(sections) == {"data/big.bin", "data/big.log", "data/notes.txt"}
    for name in ("data/big.bin", "data/big.log"):
        shown = sections[name].one("p", class_="placeholder").text()
        assert shown.startswith("Large file: the line diff is not shown.")
    assert "Taken on the test bench" in sections["data/notes.txt"].text()

    downloads = together(
        [partial(download, url, "/raw/data/big.bin?download=1") for _ in range(4)]
    )
    for got in downloads:
        assert (got.status, got.length, got.received) == (200, BIN_SIZE, BIN_SIZE)
        assert got.sha256 == large_files.bin_sha
    assert only_worker(url) == worker, "the worker was replaced"
    peak = peak_memory_mb(worker)
    assert peak < 150, f"the worker reached {peak:.0f} MB"
    assert git_children(worker) == 0

    # People who give up on a download leave no git process behind.
    statuses = together(
        [partial(abandon, url, "/raw/data/big.bin?download=1") for _ in range(4)]
    )
    assert statuses == [200] * 4
    assert wait_for_no_git(worker) == 0
    assert only_worker(url) == worker


def test_c08_download_slower_than_the_worker_timeout_completes(
    serve, large_files, tmp_path
):
    # A 200 MB file over a 2 MB/s link takes 100 s, longer than the worker
    # timeout; here the timeout is 3 s and the reader stops for 6 s.
    url = serve(large_files.repo, workers=1, VCSWEB_WORKER_TIMEOUT="3")
    worker = only_worker(url)

    got = download(url, "/raw/data/big.log?download=1", stall=6)

    assert (got.status, got.length) == (200, LOG_SIZE)
    assert (got.received, got.sha256) == (LOG_SIZE, large_files.log_sha)
    assert only_worker(url) == worker, "the worker was killed mid-download"
    assert_clean_log(server_log(tmp_path, url))


def test_c08_large_upload_is_streamed_into_git(serve, tmp_path):
    repo = bare_repo_with(tmp_path, {"README.md": "# Uploads\n"})
    url = serve(repo, workers=1)
    worker = only_worker(url)
    data = b"".join(itertools.islice(binary_chunks(), UPLOAD_SIZE // (64 * 1024)))
    body, content_type = multipart(
        {"base": tip(repo), "message": "Add the recording"}, [("recording.bin", data)]
    )

    reply = fetch(url, "POST", "/upload/", body, {"Content-Type": content_type, **HX})

    assert reply.status == 200, reply.text[:500]
    assert "Uploaded recording.bin" in reply.text
    stored = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", "main:recording.bin"],
        capture_output=True,
        check=True,
    ).stdout
    assert stored == data
    peak = peak_memory_mb(worker)
    assert peak < 150, f"the worker reached {peak:.0f} MB"
    assert_no_locks(repo)


# C47: a folder of 10,000 files with 2,000 commits ------------------------------

WIDE_FILES = 10_000
WIDE_COMMITS = 2_000


@pytest.fixture(scope="module")
def wide_folder(tmp_path_factory):
    """10,000 files (and two subfolders) in wide/, then 1,999 commits changing some."""
    repo = new_bare(tmp_path_factory.mktemp("wide") / "wide.git")
    writer = FastImport(repo)
    names = [f"f{i:05}.txt" for i in range(WIDE_FILES)]
    first = {f"wide/{n}": f"{n}\n".encode() for n in names}
    first |= {"wide/Sub-b/x.txt": b"x\n", "wide/sub-a/y.txt": b"y\n", "README": b"r\n"}
    last = dict.fromkeys([*names, "Sub-b", "sub-a"], writer.commit("Start", first))
    for number in range(1, WIDE_COMMITS):
        if number % 4 == 0:
            # Commits outside the folder leave its tree as it was.
            writer.commit(f"Edit README ({number})", {"README": b"%d\n" % number})
            continue
        changed = {names[(number * 7919 + k * 104_729) % WIDE_FILES] for k in range(3)}
        if number % 97 == 0:
            changed.add("sub-a/y.txt")
        files = {f"wide/{n}": b"%s at %d\n" % (n.encode(), number) for n in changed}
        mark = writer.commit(
            f"Change {len(changed)} files ({number})", files, number % 7
        )
        for name in changed:
            last[name.split("/")[0]] = mark
    commits = writer.finish()
    order = ["sub-a", "Sub-b", *names]  # folders first, then files; case ignored
    expected = [(n, commits[last[n]]) for n in order]
    # What the rows must show is what `git log -1` prints; check a few.
    for name, commit in (expected[0], expected[1], expected[5000]):
        found = gitutil.git(
            repo, "log", "-1", "--format=%H", "main", "--", f"wide/{name}"
        )
        assert found.strip() == commit, name
    return SimpleNamespace(repo=repo, expected=expected, tip=commits[max(commits)])


def table_rows(html: bytes) -> list[tuple[str, str | None]]:
    """Return (name, full id of the last commit) for each row of a folder table."""
    rows = []
    for row in parse(html).one("table", class_="entries").find("tbody").find_all("tr"):
        name = row.one("a", class_="entry").text().rstrip("/")
        code = row.find("td", class_="commit")
        rows.append((name, code.one("code").get("title") if code else None))
    return rows


def pager(html: bytes) -> tuple[str, dict[str, str]]:
    nav = parse(html).one("nav", class_="pager")
    links = {a.get("rel"): a.get("href") for a in nav.find_all("a")}
    return nav.one("span").text(), links


def test_c47_large_folder_is_paginated_with_last_commits_kept(
    make_app, wide_folder, tmp_path
):
    expected = wide_folder.expected
    total = len(expected)
    cache = tmp_path / "instance" / "cache" / "last-commits"
    client = make_app(wide_folder.repo).test_client()
    assert not list(cache.rglob("*.json"))

    # The page comes at once with every name of its page; the last commits
    # come in the request the page makes as soon as it is shown.
    quick = client.get("/tree/wide")

    assert quick.status_code == 200
    assert table_rows(quick.data) == [(name, None) for name, _ in expected[:500]]
    pending = parse(quick.data).one("p", class_="pending")
    assert pending.get("hx-trigger") == "load"
    assert pending.get("hx-get") == "/tree/wide?commits=1"
    assert pending.get("hx-target") == "#folder"
    assert not list(cache.rglob("*.json"))

    first = client.get("/tree/wide?commits=1", headers=HX)

    assert first.status_code == 200
    assert b"<html" not in first.data
    assert table_rows(first.data) == expected[:500]
    assert pager(first.data) == (
        f"Page 1 of 21 · {total} entries",
        {"next": "/tree/wide?page=2"},
    )
    kept = list(cache.rglob("*.json"))
    assert kept, "the last commits were not kept in the instance folder"
    assert table_rows(client.get("/tree/wide").data) == expected[:500]

    fragment = client.get("/tree/wide?page=2", headers=HX)
    assert fragment.status_code == 200
    assert b"<html" not in fragment.data
    assert len(fragment.data) < MB  # a swap the browser handles at once
    assert table_rows(fragment.data) == expected[500:1000]
    assert pager(fragment.data) == (
        f"Page 2 of 21 · {total} entries",
        {"prev": "/tree/wide?page=1", "next": "/tree/wide?page=3"},
    )
    last = client.get("/tree/wide?page=21")
    assert table_rows(last.data) == expected[10_000:]
    assert pager(last.data)[1] == {"prev": "/tree/wide?page=20"}
    listed = client.get("/api/files?path=wide&page=3").json
    assert (listed["page"], listed["pages"], listed["total"]) == (3, 21, total)
    assert [(e["name"], e["revision"]) for e in listed["entries"]] == expected[
        1000:1500
    ]

    # A fresh app (as another worker, or after a restart) answers from the
    # kept result even where walking history again would now give another
    # answer: with the tip marked shallow, Git sees no older commits.
    shallow = wide_folder.repo / "shallow"
    shallow.write_text(wide_folder.tip + "\n")
    try:
        again = make_app(wide_folder.repo).test_client().get("/tree/wide")
        walked = make_app(
            wide_folder.repo, VCSWEB_INSTANCE=str(tmp_path / "other-instance")
        ).test_client()
        recomputed = table_rows(walked.get("/tree/wide").data)
    finally:
        shallow.unlink()
    assert again.status_code == 200
    assert table_rows(again.data) == expected[:500]
    assert recomputed != expected[:500], "the shallow repository changed nothing"
