"""Fixtures: apps over real repositories and real databases, SQLite and PostgreSQL.

Set VCSWEB_TEST_DATABASES=sqlite (or postgresql) to run one backend only;
the default runs every database test on both.
"""

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from flask.testing import FlaskClient

from tests import gitutil
from vcsweb import create_app
from vcsweb.auth import accounts
from vcsweb.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("VCSWEB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DATABASES = [
    d
    for d in os.environ.get("VCSWEB_TEST_DATABASES", "sqlite,postgresql").split(",")
    if d
]


@pytest.fixture(scope="session")
def pg_server():
    """A database of this test run's own on PostgreSQL, dropped at the end."""
    name = f"vcsweb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """A fresh, empty database: a file for SQLite, this run's for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vcsweb.db'}"
    return request.getfixturevalue("pg_server")


@pytest.fixture
def repo_path(tmp_path):
    """An empty bare repository, as a fresh install has."""
    return gitutil.init(tmp_path / "repo.git", bare=True)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps over a given repository, with the schema made by the migrations."""
    apps = []

    def build(repo, **config):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret-for-the-test-suite",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "VCSWEB_REPO": str(repo),
                "VCSWEB_INSTANCE": str(tmp_path / "instance"),
                # A fast hash keeps hundreds of sign-ins quick; production
                # keeps the slow default.
                "VCSWEB_PASSWORD_METHOD": "pbkdf2:sha256:1000",
                **config,
            }
        )
        app.test_client_class = SignedInClient
        with app.app_context():
            if not apps:
                flask_migrate.upgrade()
                for username, (name, role) in USERS.items():
                    accounts.create_user(
                        username, PASSWORD, role, name, f"{username}@example.com"
                    )
        apps.append(app)
        return app

    yield build
    if apps:
        with apps[0].app_context():
            flask_migrate.downgrade(revision="base")
            db.engine.dispose()
        for app in apps[1:]:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def app(make_app, repo_path):
    return make_app(repo_path)


# Users every test app has; clients sign in as admin unless told otherwise.
PASSWORD = "correct horse battery"
USERS = {
    "admin": ("Ada Admin", "admin"),
    "editor": ("Eddie Editor", "editor"),
    "viewer": ("Vic Viewer", "viewer"),
}


class SignedInClient(FlaskClient):
    """A test client signed in as a user: app.test_client(user="viewer").

    Pages use the session, as a browser does; calls under /api/ send the
    user's API token, as programs do (unless the test sets Authorization
    or passes api_token=False). user=None gives a visitor.
    """

    def __init__(self, *args, user: str | None = "admin", api_token=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = None
        if user:
            sign_in(self, user)
            if api_token:
                with self.application.app_context():
                    found = accounts.find(user)
                    self.token = accounts.create_token(found, "tests").secret

    def open(self, *args, **kwargs):
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "")
        if self.token and path.startswith("/api/"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", f"Bearer {self.token}")
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign a test client in through the login form."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )
    assert response.status_code == 302, response.data[:500]
    return response


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, url: str = "/") -> str:
    """Return the CSRF token a page gives this client's session."""
    page = client.get(url)
    found = re.search(rb'name="csrf-token" content="([^"]+)"', page.data)
    assert found, f"no CSRF token on {url} ({page.status_code})"
    return found.group(1).decode()


HX = {"HX-Request": "true"}


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a Python snippet in a fresh interpreter from the project folder."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Ask a process this test started to stop; kill it if it does not."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ServedURL(str):
    """A running server's base URL, with an admin's API token for programs.

    pid is the gunicorn master's process id; its workers are its children.
    """

    def __new__(cls, url: str, token: str, pid: int | None = None):
        served = super().__new__(cls, url)
        served.token = token
        served.pid = pid
        return served


@pytest.fixture
def serve(make_app, database_url, tmp_path):
    """Start gunicorn on 127.0.0.1 over a repository; return its base URL.

    The schema is made by the migrations first; the server is stopped (by
    its own process id) when the test ends. gunicorn_args are added to the
    command line (e.g. ("--preload",)); app_module replaces "wsgi:app".
    Other keywords become environment variables of the server.
    """
    servers = []

    def start(
        repo,
        workers: int = 2,
        *,
        gunicorn_args: tuple[str, ...] = (),
        app_module: str = "wsgi:app",
        **env,
    ) -> str:
        app = make_app(repo)
        with app.app_context():
            token = accounts.create_token(accounts.find("admin"), "server tests").secret
        port = free_port()
        environment = {
            **os.environ,
            "VCSWEB_CONFIG": "testing",
            "DATABASE_URL": database_url,
            "VCSWEB_REPO": str(repo),
            "VCSWEB_INSTANCE": str(tmp_path / f"instance-{port}"),
            "SECRET_KEY": "test-secret-for-the-test-suite",
            "VCSWEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "VCSWEB_ACCESS_LOG": "",
            **env,
        }
        log = open(tmp_path / f"gunicorn-{port}.log", "wb")  # noqa: SIM115 (closed at teardown)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--no-control-socket",
                *gunicorn_args,
                app_module,
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        servers.append((proc, log))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                output = (tmp_path / f"gunicorn-{port}.log").read_text()
                raise AssertionError(f"gunicorn exited: {output}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return ServedURL(url, token, proc.pid)
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not answer within 30 s")

    yield start
    for proc, log in servers:
        stop_process(proc)
        log.close()
