"""Fixtures: an app over a real repository and a real database, on SQLite and PostgreSQL.

Set VCSWEB_TEST_DATABASES=sqlite (or postgresql) to run one backend only;
the default runs every database test on both.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import flask_migrate
import psycopg
import pytest

from tests import gitutil
from vcsweb import create_app
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
    """A database of this test run's own on the PostgreSQL server, dropped at the end."""
    name = f"vcsweb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """A fresh, empty database: a file for SQLite, this run's database for PostgreSQL."""
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
                "SECRET_KEY": "test-secret",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "VCSWEB_REPO": str(repo),
                "VCSWEB_INSTANCE": str(tmp_path / "instance"),
                **config,
            }
        )
        with app.app_context():
            if not apps:
                flask_migrate.upgrade()
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        make_app(repo)
        port = free_port()
        environment = {
            **os.environ,
            "VCSWEB_CONFIG": "testing",
            "DATABASE_URL": database_url,
            "VCSWEB_REPO": str(repo),
            "VCSWEB_INSTANCE": str(tmp_path / f"instance-{port}"),
            "SECRET_KEY": "test-secret",
            "VCSWEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "VCSWEB_ACCESS_LOG": "",
            **env,
        }
        log = open(tmp_path / f"gunicorn-{port}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--no-control-socket", *gunicorn_args, app_module],
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
                raise AssertionError(
                    f"gunicorn exited: {(tmp_path / f'gunicorn-{port}.log').read_text()}"
                )
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return url
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not answer within 30 s")

    yield start
    for proc, log in servers:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
