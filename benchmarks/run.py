"""Measure vcsweb on a large synthetic repository and on this project's own.

    .venv/bin/python benchmarks/run.py [--quick]

Builds its inputs itself (nothing is downloaded): a repository of 10,000
files in 100 folders with 5,000 commits, a folder of 2,000 files, a file
touched by 2,000 commits and a 1 GB file. Prints a table of medians beside
each target and writes the same figures to benchmarks/results/latest.json.
Servers listen on 127.0.0.1 only and are stopped at the end.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
GIB = 1024**3


def build_synthetic(path: Path, commits: int, large_bytes: int) -> None:
    """Write the synthetic history with one `git fast-import` run."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    proc = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    out = proc.stdin
    folders = [f"dir{d:02d}/file{f:03d}.txt" for d in range(100) for f in range(100)]
    wide = [f"wide/f{f:04d}.txt" for f in range(2000)]
    moment = 1_600_000_000

    def commit(number: int, changed: list[str]) -> None:
        nonlocal moment
        moment += 97
        message = f"Change {len(changed)} files ({number})\n".encode()
        out.write(b"commit refs/heads/main\n")
        who = f"Person {number % 13} <p{number % 13}@example.com> {moment} +0000\n"
        out.write(f"author {who}committer {who}".encode())
        out.write(b"data %d\n%s" % (len(message), message))
        for name in changed:
            data = f"{name} at {number}\n".encode() * 4
            out.write(
                f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n"
            )

    commit(0, folders + wide + ["hot.txt"])
    for number in range(1, commits):
        changed = [
            folders[(number * 7919 + k * 104729) % len(folders)] for k in range(3)
        ]
        if number % 5 == 0:
            changed.append(wide[(number * 31) % len(wide)])
        # 2,000 commits touch hot.txt, spread over the whole history.
        if number % max(1, commits // 2000) == 0:
            changed.append("hot.txt")
        commit(number, sorted(set(changed)))
    if large_bytes:
        moment += 97
        out.write(b"commit refs/heads/main\n")
        out.write(f"author Big <big@example.com> {moment} +0000\n".encode())
        out.write(f"committer Big <big@example.com> {moment} +0000\n".encode())
        out.write(b"data 15\nAdd large.bin\n\n")
        out.write(f"M 100644 inline large.bin\ndata {large_bytes}\n".encode())
        block = os.urandom(1024 * 1024)
        left = large_bytes
        while left:
            piece = block[: min(left, len(block))]
            out.write(piece)
            left -= len(piece)
        out.write(b"\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")


def median_times(actions: list, runs: int) -> list[float]:
    """Median seconds of each action, run in turns."""
    times = [[] for _ in actions]
    for _ in range(runs):
        for action, taken in zip(actions, times, strict=True):
            started = time.perf_counter()
            action()
            taken.append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def median_time(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def listing_figures(repo: Path, folder: str, runs: int) -> dict:
    """Cold and warm listing with last commits against one git CLI walk.

    The walk is what a person would run to see the same facts in one pass:
    `git log --name-only` over the folder from the same commit, merges
    included with their changes against each parent (-m), its output read
    through a pipe as vcsweb reads Git's. The two run in turns, so a busy
    machine slows both alike.
    """
    from vcsweb import catalog
    from vcsweb.gitstore import Repository

    with Repository(str(repo)) as r:
        tip = r.tip()

    def cold():
        # As a folder page does it (catalog.folder): Git walks the history
        # while the folder is listed.
        with Repository(str(repo)) as r:
            tip = r.tip()
            r.start_last_commits(tip, folder)
            names = [e.name for e in r.list_folder(tip, folder)]
            r.last_commits(tip, folder, names)

    def git_walk():
        args = ["git", "-C", str(repo), "log", "--format=%H", "--name-only", "-m"]
        args.append(tip)
        if folder:
            args += ["--", folder]
        subprocess.run(args, stdout=subprocess.PIPE, check=True)

    cold_s, git_s = median_times([cold, git_walk], runs)
    with Repository(str(repo)) as r:
        tip = r.tip()
        entries = r.list_folder(tip, folder)
        catalog._last_commits(r, tip, folder, entries, whole_folder=True)
        warm_s = median_time(
            lambda: catalog._last_commits(r, tip, folder, entries, whole_folder=True),
            runs,
        )
    return {
        "folder": folder or "/",
        "entries": len(entries),
        "cold_ms": cold_s * 1000,
        "warm_ms": warm_s * 1000,
        "git_walk_ms": git_s * 1000,
        "cold_vs_git": cold_s / git_s,
    }


class Server:
    """gunicorn with 4 workers on 127.0.0.1 over a repository."""

    def __init__(self, repo: Path, workdir: Path, port: int):
        self.url = f"http://127.0.0.1:{port}"
        db_path = workdir / "bench.db"
        self.env = {
            **os.environ,
            "VCSWEB_REPO": str(repo),
            "VCSWEB_INSTANCE": str(workdir / "instance"),
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": "benchmark",
            "VCSWEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "4",
            "VCSWEB_ACCESS_LOG": "",
            "VCSWEB_LOG_LEVEL": "warning",
            "VCSWEB_PUBLIC_READ": "1",
        }
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run(
            [*flask, "db", "upgrade"],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--no-control-socket",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        time.sleep(1)

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else 0.0


def wrk(url: str, seconds: int, connections: int = 8) -> dict:
    """Load one URL with wrk from a second process; return req/s, p50, p99.

    With one connection a request never waits for another: p50 is the
    latency a person sees. With eight, four workers on two CPUs are kept
    busy and requests queue: req/s is the throughput, p50 includes waiting.
    """
    result = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stdout

    def latency(label):
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", text, re.M)
        value, unit = float(found.group(1)), found.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def download_peak_rss(server: Server, clients: int) -> dict:
    """Peak RSS of any worker while clients download large.bin at once."""
    peak = {pid: rss_mb(pid) for pid in server.workers()}
    before = max(peak.values())
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in server.workers():
                peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
            time.sleep(0.05)

    def download():
        with urllib.request.urlopen(server.url + "/raw/large.bin") as response:
            while response.read(1024 * 1024):
                pass

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=download) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "rss_before_mb": before,
        "rss_peak_mb": max(peak.values()),
        "seconds": elapsed,
    }


def git_children_after(server: Server, urls: list[str], requests: int) -> dict:
    """Count git processes under each worker before and after many requests."""

    def count():
        return {w: sum(1 for c in children(w) if _is_git(c)) for w in server.workers()}

    before = count()
    for i in range(requests):
        with urllib.request.urlopen(server.url + urls[i % len(urls)]) as response:
            response.read()
    after = count()
    return {
        "before": max(before.values()),
        "after": max(after.values()),
        "requests": requests,
    }


def _is_git(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip().startswith("git")
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller inputs, fewer runs"
    )
    args = parser.parse_args()
    commits = 1000 if args.quick else 5000
    large = 64 * 1024 * 1024 if args.quick else GIB
    runs = 3 if args.quick else 7
    seconds = 3 if args.quick else 8

    work = Path(tempfile.mkdtemp(prefix="vcsweb-bench-"))
    figures: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "git": subprocess.run(
                ["git", "--version"], capture_output=True, text=True
            ).stdout.strip(),
        },
        "inputs": {"commits": commits, "large_file_bytes": large},
    }
    try:
        synthetic = work / "synthetic.git"
        print(f"building the synthetic repository ({commits} commits) ...", flush=True)
        started = time.perf_counter()
        build_synthetic(synthetic, commits, large)
        figures["inputs"]["build_seconds"] = time.perf_counter() - started
        own = work / "own.git"
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(ROOT), str(own)], check=True
        )

        from vcsweb import create_app

        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "VCSWEB_REPO": str(synthetic),
                "SECRET_KEY": "benchmark",
                "VCSWEB_INSTANCE": str(work / "i0"),
            }
        )
        listings = []
        with app.app_context():
            for repo, folder in (
                (synthetic, ""),
                (synthetic, "dir42"),
                (synthetic, "wide"),
                (own, ""),
                (own, "vcsweb"),
            ):
                listings.append(
                    {"repository": repo.name, **listing_figures(repo, folder, runs)}
                )
        figures["listing"] = listings

        server = Server(synthetic, work, 18800 + os.getpid() % 1000)
        try:
            pages = {
                "folder page (root)": "/",
                "folder page (100 files)": "/tree/dir42",
                "folder page (2,000 files, page 1)": "/tree/wide",
                "file page": "/blob/dir42/file007.txt",
                "history page (2,000 commits)": "/history/hot.txt",
                "API list (100 files)": "/api/files?path=dir42",
            }
            # A first visit of the large folder shows its names at once and
            # asks for its last commits in a second request, as a browser
            # does; after that every visit shows them from the kept result.
            urllib.request.urlopen(server.url + "/tree/wide?commits=1").read()
            for url in pages.values():
                urllib.request.urlopen(server.url + url).read()
            figures["http"] = {
                name: wrk(server.url + url, seconds) for name, url in pages.items()
            }
            figures["http_one_client"] = {
                name: wrk(server.url + url, seconds, connections=1)
                for name, url in pages.items()
            }
            figures["download"] = download_peak_rss(server, 4)
            figures["git_children"] = git_children_after(
                server,
                ["/blob/dir01/file001.txt", "/history/hot.txt", "/tree/dir07"],
                2000 if not args.quick else 300,
            )
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(figures, indent=2))
    report(figures)


def report(f: dict) -> None:
    m, inputs = f["machine"], f["inputs"]
    print(f"\nvcsweb benchmark · {m['platform']} · {m['cpus']} CPUs")
    print(f"Python {m['python']} · {m['git']}")
    large_mb = inputs["large_file_bytes"] // 2**20
    print(f"inputs: {inputs['commits']} commits, large file {large_mb} MB\n")
    print(
        f"{'folder listing with last commits':40} {'entries':>7} {'cold ms':>8}"
        f" {'warm ms':>8} {'git walk':>9} {'cold/git':>9}  target"
    )
    for row in f["listing"]:
        name = f"{row['repository']}:{row['folder']}"
        print(
            f"{name:40} {row['entries']:7} {row['cold_ms']:8.1f}"
            f" {row['warm_ms']:8.2f} {row['git_walk_ms']:9.1f}"
            f" {row['cold_vs_git']:9.2f}  <= 1.5"
        )
    targets = {
        "folder page (100 files)": "p50 <= 50",
        "folder page (root)": "p50 <= 50",
        "folder page (2,000 files, page 1)": "p50 <= 150",
        "history page (2,000 commits)": "p50 <= 200",
    }
    for key, title in (
        ("http", "page through gunicorn (4 workers, wrk -c8)"),
        ("http_one_client", "the same, one client at a time (wrk -c1)"),
    ):
        print(f"\n{title:40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  target")
        for name, row in f.get(key, {}).items():
            print(
                f"{name:40} {row['requests_per_s']:8.1f} {row['p50_ms']:8.1f}"
                f" {row['p99_ms']:8.1f}  {targets.get(name, '')}"
            )
    d = f["download"]
    print(
        f"\nworker RSS while 4 clients download large.bin: "
        f"{d['rss_before_mb']:.0f} MB before, {d['rss_peak_mb']:.0f} MB peak "
        f"(target < 150 MB), {d['seconds']:.1f} s"
    )
    g = f["git_children"]
    print(
        f"git processes per worker: {g['before']} before, {g['after']} after "
        f"{g['requests']} requests (target: no growth)"
    )
    print(f"\nwritten to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
