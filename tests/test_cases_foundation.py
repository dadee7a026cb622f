"""Reported foundation problems, each reproduced against real Git and databases.

Tests named test_cNN_* follow the case of that number in the project's case
list. Load tests run real gunicorn workers and send requests from threads with
the standard library's HTTP client.
"""

import http.client
import io
import json
import os
import re
import shutil
import stat
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit
from uuid import uuid4

import flask_migrate
import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from tests import gitutil
from tests.conftest import HX, PASSWORD, ROOT, csrf_token, run_python
from vcsweb.extensions import db

# Helpers: HTTP against a running server ---------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def fetch(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Send one request on a connection of its own; redirects are not followed.

    Without a session cookie the request carries the server's admin token.
    """
    headers = dict(headers or {})
    if "Cookie" not in headers and getattr(base, "token", None):
        headers.setdefault("Authorization", f"Bearer {base.token}")
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.request(method, quote(path, safe="/?=&"), body=body, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


@dataclass(frozen=True)
class Session:
    """One person's browser: a session cookie and the CSRF token it came with."""

    base: str
    cookie: str
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Cookie": self.cookie,
            "X-CSRFToken": self.token,
            "HX-Request": "true",
            **extra,
        }


def open_session(base: str, user: str = "admin") -> Session:
    """Sign in through the login form as a browser does."""
    form = fetch(base, "GET", "/login", headers={"Cookie": ""})
    cookie = form.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', form.text).group(1)
    body = urlencode({"csrf_token": token, "username": user, "password": PASSWORD})
    signed = fetch(
        base,
        "POST",
        "/login",
        body.encode(),
        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert signed.status == 302, signed.text
    cookie = signed.headers["Set-Cookie"].split(";", 1)[0]
    page = fetch(base, "GET", "/", headers={"Cookie": cookie})
    assert page.status == 200, page.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token, "the page carries no CSRF token"
    # The page stored its CSRF token in the session, so the cookie changed.
    if page.headers["Set-Cookie"]:
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    return Session(base, cookie, token.group(1))


def multipart(fields: dict[str, str], files: list[tuple[str, bytes]]):
    """Encode a form with files the way a browser does; return (body, type)."""
    boundary = uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
            f"\r\n\r\n{value}\r\n".encode()
        )
    for filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream'
            "\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(
    session: Session, name: str, data: bytes, base: str, replace: bool = False
) -> Reply:
    """Upload one file to the root folder as the upload form does with htmx."""
    fields = {"csrf_token": session.token, "base": base, "message": f"Add {name}"}
    if replace:
        fields["replace"] = "on"
    body, content_type = multipart(fields, [(name, data)])
    headers = session.headers(**{"Content-Type": content_type})
    return fetch(session.base, "POST", "/upload/", body, headers)


def put_description(
    base: str,
    path: str,
    text: str,
    version: int | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"description": text}
    if version is not None:
        body["version"] = version
    return fetch(
        base,
        "PUT",
        f"/api/files/{path}",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def together(calls: list) -> list:
    """Run calls from threads released at the same moment; return their results."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def server_log(tmp_path: Path, base: str) -> str:
    """Return what the gunicorn server at base has logged so far."""
    port = urlsplit(base).port
    return (tmp_path / f"gunicorn-{port}.log").read_text(errors="replace")


def assert_clean_log(log: str) -> None:
    for sign in ("Traceback", "database is locked", "OperationalError", "WORKER"):
        assert sign not in log, log[-3000:]


# Helpers: repositories and the in-process client ------------------------


def bare_repo_with(tmp_path: Path, files: dict, name: str = "repo.git") -> Path:
    work = gitutil.make_repo(tmp_path / f"{name}-work", files)
    return gitutil.bare_clone(work, tmp_path / name)


def tip(repo: Path, ref: str = "main") -> str:
    return gitutil.git(repo, "rev-parse", "--verify", "-q", ref).strip()


def commit_count(repo: Path, ref: str = "main") -> int:
    return int(gitutil.git(repo, "rev-list", "--count", ref))


def client_upload(client, files: dict[str, bytes], base: str, **fields):
    token = csrf_token(client)
    data = {
        "csrf_token": token,
        "base": base,
        "files": [(io.BytesIO(content), name) for name, content in files.items()],
        **fields,
    }
    return client.post(
        "/upload/", data=data, headers=HX, content_type="multipart/form-data"
    )


def page_base(html: str) -> str:
    found = re.search(r'name="base" id="upload-base" value="([0-9a-f]*)"', html)
    assert found, "the page has no upload form"
    return found.group(1)


# C03: concurrent uploads and a held index.lock ---------------------------


def test_c03_concurrent_uploads_from_several_workers_all_land(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"README.md": "# Shared\n"})
    url = serve(repo, workers=4)
    session = open_session(url)
    base = page_base(fetch(url, "GET", "/").text)
    names = [f"upload-{i:02}.txt" for i in range(10)]

    replies = together(
        [partial(upload, session, n, f"content of {n}\n".encode(), base) for n in names]
    )

    assert [r.status for r in replies] == [200] * 10, [r.text for r in replies]
    assert commit_count(repo) == 11
    parents = gitutil.git(repo, "log", "--format=%P", "main").splitlines()
    assert all(len(p.split()) <= 1 for p in parents), "history is not linear"
    subjects = gitutil.git(repo, "log", "--format=%s", "main").splitlines()
    assert sorted(subjects[:10]) == [f"Add {n}" for n in names]
    listed = gitutil.git(repo, "ls-tree", "--name-only", "main").split()
    assert sorted(listed) == sorted(["README.md", *names])
    # The checked-out copy followed every commit and nothing is left staged.
    assert gitutil.git(repo, "status", "--porcelain").strip() == ""
    assert all((repo / n).read_text() == f"content of {n}\n" for n in names)
    assert_clean_log(server_log(tmp_path, url))


def test_c03_held_index_lock_makes_upload_busy_and_is_kept(make_app, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"README.md": "# Shared\n"})
    lock = repo / ".git" / "index.lock"
    lock.touch()
    before = tip(repo)
    client = make_app(repo).test_client()

    reply = client_upload(client, {"new.txt": b"new\n"}, before)

    assert reply.status_code == 503
    message = reply.get_data(as_text=True)
    assert "busy" in message
    assert "try again" in message
    assert reply.headers["Retry-After"]
    assert lock.exists(), "a lock that may be live was removed"
    assert lock.stat().st_size == 0
    assert tip(repo) == before
    assert not (repo / "new.txt").exists()

    lock.unlink()  # the other Git command has finished
    again = client_upload(client, {"new.txt": b"new\n"}, before)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert commit_count(repo) == 2
    assert (repo / "new.txt").read_text() == "new\n"


# C04: empty repositories --------------------------------------------------


@pytest.mark.parametrize("kind", ["bare-default", "bare-main", "worktree-main"])
def test_c04_empty_repository_then_first_upload(make_app, tmp_path, kind):
    path = tmp_path / "empty"
    if kind == "bare-default":
        subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    else:
        gitutil.init(path, bare=kind.startswith("bare"))
    head = gitutil.git(path, "symbolic-ref", "HEAD").strip()
    client = make_app(path).test_client()

    home = client.get("/")
    assert home.status_code == 200
    assert "This repository is empty" in home.get_data(as_text=True)
    assert page_base(home.get_data(as_text=True)) == ""
    shown_branch = re.search(r'<span class="branch"[^>]*>([^<]*)</span>', home.text)
    assert shown_branch and shown_branch.group(1) == head.removeprefix("refs/heads/")
    assert client.get("/api/files").json["entries"] == []
    history = client.get("/history/")
    assert history.status_code == 200
    assert "No commits yet" in history.get_data(as_text=True)

    reply = client_upload(client, {"README.md": b"# Hello\n"}, "")
    assert reply.status_code == 200, reply.get_data(as_text=True)

    root = tip(path, head)
    assert gitutil.git(path, "rev-list", "--parents", "-n", "1", root).split() == [root]
    assert gitutil.git(path, "ls-tree", "--name-only", root).split() == ["README.md"]
    listing = client.get("/").get_data(as_text=True)
    assert "This repository is empty" not in listing
    assert "README.md" in listing
    assert "Upload README.md" in client.get("/history/").get_data(as_text=True)
    if kind == "worktree-main":
        assert (path / "README.md").read_text() == "# Hello\n"


# C22: migrations and models agree on every engine ----------------------


def test_c22_upgrade_from_empty_reaches_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        flask_migrate.upgrade()  # a second upgrade finds nothing to do
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())

    assert heads
    assert current == heads


def test_c22_models_and_migrations_have_no_difference(app):
    result = app.test_cli_runner().invoke(args=["db", "check"])

    assert result.exit_code == 0, result.output


def test_c22_constraint_names_are_deterministic(app):
    with app.app_context():
        found = inspect(db.engine)
        primary = found.get_pk_constraint("file_meta")["name"]
        unique = [u["name"] for u in found.get_unique_constraints("file_meta")]

    # The same names on SQLite and PostgreSQL, so a later batch migration can
    # drop or alter them by name on both.
    assert primary == "pk_file_meta"
    assert unique == ["uq_file_meta_path"]


# C23: many writers on one database ----------------------------------------


def test_c23_concurrent_description_saves_and_listings(serve, tmp_path):
    files = {f"docs/file-{i:02}.txt": f"file {i}\n" for i in range(50)}
    repo = bare_repo_with(tmp_path, files)
    url = serve(repo, workers=4)

    saves = [
        partial(put_description, url, path, f"What {path} holds", 0) for path in files
    ]
    listings = [
        partial(fetch, url, "GET", "/tree/docs" if i % 2 else "/api/files?path=docs")
        for i in range(20)
    ]
    replies = together(saves + listings)

    failed = [(r.status, r.text[:200]) for r in replies if r.status != 200]
    assert not failed
    listed = fetch(url, "GET", "/api/files?path=docs").json()["entries"]
    saved = {e["path"]: (e["description"], e["version"]) for e in listed}
    assert saved == {path: (f"What {path} holds", 1) for path in files}
    assert_clean_log(server_log(tmp_path, url))


# C24: connections made before gunicorn forks ------------------------------

PRELOADED_APP = '''
"""vcsweb loaded once before gunicorn forks, having queried its database."""

from sqlalchemy import text

from vcsweb.extensions import db
from wsgi import app

with app.app_context():
    connections = [db.engine.connect() for _ in range(4)]
    for connection in connections:
        connection.execute(text("SELECT 1"))
        connection.close()
'''


def test_c24_preloaded_app_gives_each_worker_its_own_connections(serve, tmp_path):
    files = {f"data/item-{i:03}.txt": f"item {i}\n" for i in range(100)}
    repo = bare_repo_with(tmp_path, files)
    (tmp_path / "preloaded_app.py").write_text(PRELOADED_APP)
    url = serve(
        repo,
        workers=4,
        gunicorn_args=("--preload", "--pythonpath", str(tmp_path)),
        app_module="preloaded_app:app",
    )

    calls = []
    for i, path in enumerate(files):
        calls.append(partial(put_description, url, path, f"Item {i}", 0))
        if i % 2:
            calls.append(partial(fetch, url, "GET", f"/api/files/{path}"))
        else:
            calls.append(partial(fetch, url, "GET", "/api/files?path=data"))
    replies = together(calls)

    failed = [(r.status, r.text[:200]) for r in replies if r.status != 200]
    assert not failed
    listed = fetch(url, "GET", "/api/files?path=data").json()["entries"]
    assert sorted(e["description"] for e in listed) == sorted(
        f"Item {i}" for i in range(100)
    )
    assert_clean_log(server_log(tmp_path, url))


# C27: two people saving from the same starting point ----------------------


def test_c27_concurrent_saves_from_one_base(serve, tmp_path):
    repo = bare_repo_with(tmp_path, {"docs/a.md": "a\n", "report.pdf": b"%PDF base"})
    url = serve(repo, workers=4)

    for version in (0, 1):
        replies = together(
            [
                partial(put_description, url, "docs/a.md", f"Alice {version}", version),
                partial(put_description, url, "docs/a.md", f"Bob {version}", version),
            ]
        )
        assert sorted(r.status for r in replies) == [200, 409]
        won = next(r for r in replies if r.status == 200).json()
        lost = next(r for r in replies if r.status == 409).json()
        assert won["version"] == version + 1
        assert lost["current"]["description"] == won["description"]
        assert lost["current"]["version"] == version + 1

    session = open_session(url)
    base = tip(repo)
    replies = together(
        [
            partial(upload, session, "report.pdf", b"%PDF Alice", base, replace=True),
            partial(upload, session, "report.pdf", b"%PDF Bob", base, replace=True),
        ]
    )
    assert sorted(r.status for r in replies) == [200, 409]
    assert "changed by someone else" in next(r for r in replies if r.status == 409).text
    assert commit_count(repo) == 2
    assert gitutil.git(repo, "show", "main:report.pdf") in {"%PDF Alice", "%PDF Bob"}

    current = fetch(url, "GET", "/api/files/docs/a.md")
    assert current.headers["ETag"] == '"v2"'
    stale = put_description(url, "docs/a.md", "Late", headers={"If-Match": '"v1"'})
    assert stale.status == 412
    assert stale.json()["current"]["description"] == current.json()["description"]
    fresh = put_description(url, "docs/a.md", "Fresh", headers={"If-Match": '"v2"'})
    assert fresh.status == 200
    assert fresh.headers["ETag"] == '"v3"'


def test_c27_stale_form_save_keeps_the_typed_text(make_app, tmp_path):
    repo = bare_repo_with(tmp_path, {"a.txt": "a\n"})
    client = make_app(repo).test_client()
    token = csrf_token(client)
    headers = {**HX, "X-CSRFToken": token}

    first = client.put(
        "/meta/a.txt", data={"description": "Theirs", "version": "0"}, headers=headers
    )
    late = client.put(
        "/meta/a.txt", data={"description": "Mine", "version": "0"}, headers=headers
    )

    assert first.status_code == 200
    assert late.status_code == 409
    page = late.get_data(as_text=True)
    assert 'value="Mine"' in page
    assert "<blockquote>Theirs</blockquote>" in page
    assert client.get("/api/files/a.txt").json["description"] == "Theirs"


# C37: one secret key for every worker -------------------------------------


def test_c37_generated_key_is_shared_by_workers_and_restarts(serve, tmp_path):
    files = {f"notes/n-{i:02}.txt": f"note {i}\n" for i in range(20)}
    repo = bare_repo_with(tmp_path, files)
    instance = tmp_path / "shared-instance"
    settings = {
        "SECRET_KEY": "",
        "VCSWEB_CONFIG": "development",
        "VCSWEB_INSTANCE": str(instance),
    }
    url = serve(repo, workers=4, **settings)
    session = open_session(url)
    key = (instance / "secret_key").read_text()

    def save(path: str) -> Reply:
        body = f"description=About+{quote(path, safe='')}&version=0"
        headers = session.headers(
            **{"Content-Type": "application/x-www-form-urlencoded"}
        )
        return fetch(url, "PUT", f"/meta/{path}", body.encode(), headers)

    def load(path: str) -> Reply:
        return fetch(url, "GET", f"/blob/{path}", headers={"Cookie": session.cookie})

    replies = together(
        [partial(save, p) for p in files] + [partial(load, p) for p in files]
    )

    assert [r.status for r in replies] == [200] * 40, [
        r.text[:200] for r in replies if r.status != 200
    ]
    assert "CSRF" not in "".join(r.text for r in replies)

    restarted = serve(repo, workers=2, **settings)
    assert (instance / "secret_key").read_text() == key
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
    again = fetch(
        restarted,
        "PUT",
        f"/meta/{next(iter(files))}",
        b"description=Still+signed+in&version=1",
        session.headers(**{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert again.status == 200, again.text


# C45: the same action sent twice ------------------------------------------


def test_c45_same_upload_twice_makes_one_commit(make_app, tmp_path):
    repo = bare_repo_with(tmp_path, {"README.md": "# Shared\n", "b.txt": "old\n"})
    client = make_app(repo).test_client()
    base = tip(repo)

    for files, fields in (
        ({"a.txt": b"new file\n"}, {}),
        ({"b.txt": b"new version\n"}, {"replace": "on"}),
    ):
        before = commit_count(repo)
        first = client_upload(client, files, base, **fields)
        second = client_upload(client, files, base, **fields)
        base = tip(repo)

        assert first.status_code == 200, first.get_data(as_text=True)
        # The second copy finds its content already there: a no-op, not a
        # conflict with "someone else".
        assert second.status_code == 200, second.get_data(as_text=True)
        assert "No changes" in second.get_data(as_text=True)
        assert commit_count(repo) == before + 1


def test_c45_same_description_save_twice_makes_one_version(make_app, tmp_path):
    repo = bare_repo_with(tmp_path, {"a.txt": "a\n"})
    client = make_app(repo).test_client()
    headers = {**HX, "X-CSRFToken": csrf_token(client)}
    form = {"description": "Quarterly numbers", "version": "0"}

    first = client.put("/meta/a.txt", data=form, headers=headers)
    second = client.put("/meta/a.txt", data=form, headers=headers)

    assert first.status_code == 200
    # The second copy finds its text already saved: no conflict, no new version.
    assert second.status_code == 200, second.get_data(as_text=True)
    assert "Quarterly numbers" in second.get_data(as_text=True)
    saved = client.get("/api/files/a.txt").json
    assert (saved["description"], saved["version"]) == ("Quarterly numbers", 1)


def test_c45_forms_disable_their_buttons_while_sending(make_app, tmp_path):
    repo = bare_repo_with(tmp_path, {"a.txt": "a\n"})
    client = make_app(repo).test_client()
    guard = re.compile(r'hx-disabled-elt="[^"]*button[^"]*"')

    page = client.get("/").get_data(as_text=True)
    upload_form = re.search(r'<form id="upload-form".*?</form>', page, re.S)
    assert upload_form and guard.search(upload_form.group(0))
    for headers in (HX, {}):
        editor = client.get("/meta-edit/a.txt", headers=headers).get_data(as_text=True)
        form = re.search(r'<form class="desc editing".*?</form>', editor, re.S)
        assert form and guard.search(form.group(0))

    misspelt = re.compile(r"hx-disable-elt|hx-disabled-elts|hx-disabled-element")
    for template in (ROOT / "vcsweb" / "templates").rglob("*.html"):
        assert not misspelt.search(template.read_text()), template


# C49: a repository owned by another user ----------------------------------

START_OVER_REPO = """
    import flask_migrate
    from vcsweb import create_app

    app = create_app()
    with app.app_context():
        flask_migrate.upgrade()
    page = app.test_client().get("/")
    print(page.status_code, "a.txt" in page.get_data(as_text=True))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="changing ownership needs root")
def test_c49_repository_of_another_user_fails_fast(tmp_path):
    repo = bare_repo_with(tmp_path, {"a.txt": "a\n"}, name="theirs.git")
    shutil.chown(repo, "nobody", "nogroup")
    for folder, names, files in os.walk(repo):
        for name in names + files:
            shutil.chown(os.path.join(folder, name), "nobody", "nogroup")
    home = tmp_path / "home"
    home.mkdir()
    global_config = home / ".gitconfig"
    global_config.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(global_config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "VCSWEB_CONFIG": "testing",
        "VCSWEB_REPO": str(repo),
        "VCSWEB_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'vcsweb.db'}",
        "SECRET_KEY": "test-secret-for-the-test-suite",
        "VCSWEB_PUBLIC_READ": "1",
    }

    def start() -> subprocess.CompletedProcess:
        return run_python(START_OVER_REPO, env)

    refused = start()
    assert refused.returncode != 0
    message = refused.stderr.strip().splitlines()[-1]
    assert str(repo) in message
    assert "safe.directory" in message
    assert "nobody" in message
    assert "root" in message

    gitutil.git(
        tmp_path,
        "config",
        "--file",
        str(global_config),
        "--add",
        "safe.directory",
        str(repo),
    )
    started = start()
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["200", "True"]


# C26: a git command that takes too long -----------------------------------

SLOW_REF_HOOK = """#!/bin/sh
# Holds the branch update the first time only, as a slow replication hook or
# an overloaded disk would.
cat >/dev/null
if [ "$1" = prepared ] && [ ! -e "$GIT_DIR/slow-once" ]; then
    touch "$GIT_DIR/slow-once"
    sleep 4
fi
exit 0
"""


def test_c26_slow_git_command_gives_503_and_leaves_no_lock(make_app, tmp_path):
    repo = bare_repo_with(tmp_path, {"README.md": "# Shared\n"})
    hook = repo / "hooks" / "reference-transaction"
    hook.write_text(SLOW_REF_HOOK)
    hook.chmod(0o755)
    client = make_app(repo, VCSWEB_GIT_TIMEOUT=1).test_client()
    base = tip(repo)

    slow = client_upload(client, {"a.txt": b"a\n"}, base)

    assert slow.status_code == 503
    assert "took too long" in slow.get_data(as_text=True)
    assert (repo / "slow-once").exists(), "the hook never ran"
    assert tip(repo) == base
    locks = [p.name for p in repo.rglob("*.lock") if p.name != "vcsweb-write.lock"]
    assert not locks, "a stale lock was left behind"

    retry = client_upload(client, {"a.txt": b"a\n"}, base)
    assert retry.status_code == 200, retry.get_data(as_text=True)
    assert commit_count(repo) == 2
