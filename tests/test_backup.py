"""Backups: `flask backup create` and `flask backup restore` bring everything back.

A repository with renames and deletes, descriptions with their history,
users and API tokens are backed up, restored into a new empty database and a
new repository, and served again: same files, same history, same
descriptions, same passwords and tokens. Restoring over data is refused
without changing anything.
"""

import re
import tarfile
import uuid
from datetime import UTC
from urllib.parse import quote

import flask_migrate
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests import gitutil
from tests.conftest import DATABASES, PASSWORD, PG_ADMIN, SignedInClient, sign_in
from vcsweb import create_app
from vcsweb.auth import accounts
from vcsweb.extensions import db

RENAMED = "docs/guide.md"
# One entry of a file page's description history: text, who, when, version.
SAVED = re.compile(
    r'<blockquote>([^<]*)</blockquote>\s*<span class="muted">([^<]*)'
    r'<time datetime="([^"]+)".*?version (\d+)</span>',
    re.S,
)


@pytest.fixture
def spare_database(database_url, tmp_path):
    """Make empty databases of the same kind as database_url; drop them after."""
    made = []

    def make(kind: str | None = None) -> str:
        kind = kind or database_url.split(":", 1)[0].split("+", 1)[0]
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'spare-{len(made)}-{uuid.uuid4().hex}.db'}"
        name = f"vcsweb_restore_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        base = PG_ADMIN.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        return f"{base}/{name}"

    yield make
    for name in made:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def open_app(tmp_path):
    """Build apps over a given database and repository, closed at the end."""
    apps = []

    def build(database: str, repo, *, upgrade: bool = True):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret-for-the-test-suite",
                "SQLALCHEMY_DATABASE_URI": database,
                "VCSWEB_REPO": str(repo),
                "VCSWEB_INSTANCE": str(tmp_path / f"instance-{len(apps)}"),
                "VCSWEB_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            }
        )
        app.test_client_class = SignedInClient
        if upgrade:
            with app.app_context():
                flask_migrate.upgrade()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def put_file(client, path: str, data: bytes, base: str) -> str:
    reply = client.put(
        f"/api/content/{quote(path)}?base={base}&message=Write+{quote(path)}",
        data=data,
    )
    assert reply.status_code in (200, 201), reply.data
    return reply.get_json()["commit"]["revision"]


def save_description(client, path: str, text: str) -> None:
    reply = client.put(f"/api/files/{quote(path)}", json={"description": text})
    assert reply.status_code == 200, reply.data


@pytest.fixture
def source(make_app, repo_path):
    """A served repository with history, descriptions, users and a token."""
    app = make_app(repo_path)
    admin = app.test_client()
    tip = put_file(admin, "notes.md", b"# Notes\n", "")
    tip = put_file(admin, "data/figures.csv", b"year,total\n2026,12\n", tip)
    tip = put_file(admin, "old.txt", b"to be removed\n", tip)
    tip = put_file(admin, "notes.md", b"# Notes\n\nSecond draft.\n", tip)
    for version in ("First idea", "Second idea", "The guide to everything"):
        save_description(admin, "notes.md", version)
    save_description(admin, "old.txt", "Kept after the delete")
    save_description(admin, "data/figures.csv", "Totals per year")
    moved = admin.post(
        "/api/rename", json={"from": "notes.md", "to": RENAMED, "base": tip}
    )
    assert moved.status_code == 200, moved.data
    tip = moved.get_json()["commit"]["revision"]
    gone = admin.delete(f"/api/files/old.txt?base={tip}")
    assert gone.status_code == 200, gone.data
    app.test_client(user="editor")  # signs in: a last-login time to keep
    return app, admin.token


def backup_of(app, target) -> str:
    result = app.test_cli_runner().invoke(args=["backup", "create", str(target)])
    assert result.exit_code == 0, result.output
    return result.output


def restore(app, archive):
    return app.test_cli_runner().invoke(args=["backup", "restore", str(archive)])


def rows(app) -> dict[str, list[dict]]:
    """Every row of every table, in a form both databases give alike."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        found = {}
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                query = sa.select(table).order_by(*table.primary_key.columns)
                found[table.name] = [
                    {k: _plain(v) for k, v in row._mapping.items()}
                    for row in conn.execute(query)
                ]
        return found
    finally:
        engine.dispose()


def _plain(value):
    if hasattr(value, "tzinfo"):
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else (value.astimezone(UTC).replace(tzinfo=None))
        )
    return value


def refs(repo) -> str:
    return gitutil.git(repo, "for-each-ref", "--format=%(objectname) %(refname)")


def served(client) -> dict:
    """What people see: listings, file contents, history and description history."""
    seen = {}
    for folder in ("", "docs", "data"):
        seen[f"list {folder}"] = client.get(f"/api/files?path={folder}").get_json()
    for path in (RENAMED, "data/figures.csv"):
        seen[f"content {path}"] = client.get(f"/api/content/{path}").data
        seen[f"history {path}"] = client.get(f"/api/history/{path}").get_json()
    seen["commits"] = client.get("/api/commits").get_json()
    page = client.get(f"/blob/{RENAMED}").get_data(as_text=True)
    seen["description history"] = SAVED.findall(page)
    return seen


def test_restore_brings_back_everything(source, spare_database, open_app, tmp_path):
    app, token = source
    archive = tmp_path / "vcsweb.tar"
    output = backup_of(app, archive)
    assert "Backed up to" in output
    kept = rows(app)
    before = served(app.test_client())
    target_repo = gitutil.init(tmp_path / "restored.git", bare=True)
    target = open_app(spare_database(), target_repo)

    result = restore(target, archive)

    assert result.exit_code == 0, result.output
    assert refs(target_repo) == refs(app.config["VCSWEB_REPO"])
    assert gitutil.git(target_repo, "fsck", "--no-progress") == ""
    assert rows(target) == kept
    assert served(target.test_client()) == before
    assert [
        (text, version) for text, _, _, version in before["description history"]
    ] == [
        ("The guide to everything", "3"),
        ("Second idea", "2"),
        ("First idea", "1"),
    ]
    # People sign in with the passwords and tokens they had.
    person = target.test_client(user=None)
    assert sign_in(person, "editor", PASSWORD).headers["Location"] == "/"
    assert person.get("/").status_code == 200
    program = target.test_client(user=None)
    answer = program.get("/api/files", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_restored_app_keeps_working(source, spare_database, open_app, tmp_path):
    app, _ = source
    archive = tmp_path / "vcsweb.tar"
    backup_of(app, archive)
    target_repo = gitutil.init(tmp_path / "restored.git", bare=True)
    target = open_app(spare_database(), target_repo)
    assert restore(target, archive).exit_code == 0

    admin = target.test_client()
    tip = gitutil.git(target_repo, "rev-parse", "main").strip()
    assert put_file(admin, "data/new.csv", b"new\n", tip)
    save_description(admin, "data/new.csv", "A new description gets a new id")
    save_description(admin, RENAMED, "A fourth version")
    created = target.test_cli_runner().invoke(
        args=["users", "create", "newcomer", "--password-stdin"],
        input="a long enough password\n",
    )

    assert created.exit_code == 0, created.output
    history = admin.get(f"/api/files/{RENAMED}").get_json()
    assert (history["description"], history["version"]) == ("A fourth version", 4)


def test_restore_into_a_database_without_tables_migrates_it(
    source, spare_database, open_app, tmp_path
):
    app, _ = source
    archive = tmp_path / "vcsweb.tar"
    backup_of(app, archive)
    target_repo = gitutil.init(tmp_path / "restored.git", bare=True)
    target = open_app(spare_database(), target_repo, upgrade=False)

    result = restore(target, archive)

    assert result.exit_code == 0, result.output
    assert rows(target) == rows(app)


def test_restore_into_a_non_bare_repository_checks_out_the_branch(
    source, spare_database, open_app, tmp_path
):
    app, _ = source
    archive = tmp_path / "vcsweb.tar"
    backup_of(app, archive)
    target_repo = gitutil.init(tmp_path / "checkout")
    target = open_app(spare_database(), target_repo)

    result = restore(target, archive)

    assert result.exit_code == 0, result.output
    assert (target_repo / RENAMED).read_text() == "# Notes\n\nSecond draft.\n"
    assert not (target_repo / "old.txt").exists()
    assert gitutil.git(target_repo, "status", "--porcelain") == ""


def test_restore_over_data_is_refused_and_changes_nothing(
    source, spare_database, open_app, tmp_path
):
    app, _ = source
    archive = tmp_path / "vcsweb.tar"
    backup_of(app, archive)

    # A database that already has a user.
    empty_repo = gitutil.init(tmp_path / "empty.git", bare=True)
    with_user = open_app(spare_database(), empty_repo)
    with with_user.app_context():
        accounts.create_user("someone", PASSWORD, "viewer")
    before = rows(with_user)
    refused = restore(with_user, archive)
    assert refused.exit_code != 0
    assert "already holds data: user (1 rows)" in refused.output
    assert rows(with_user) == before
    assert refs(empty_repo) == ""

    # An empty database, but a repository with commits.
    busy_repo = gitutil.make_repo(tmp_path / "busy", {"mine.txt": "mine\n"})
    busy_refs = refs(busy_repo)
    fresh = open_app(spare_database(), busy_repo)
    before = rows(fresh)
    refused = restore(fresh, archive)
    assert refused.exit_code != 0
    assert "already has commits" in refused.output
    assert rows(fresh) == before
    assert refs(busy_repo) == busy_refs

    # An empty database at another schema revision.
    older = open_app(spare_database(), empty_repo, upgrade=False)
    with older.app_context():
        flask_migrate.upgrade(revision="0002")
    refused = restore(older, archive)
    assert refused.exit_code != 0
    assert "schema revision 0002" in refused.output
    assert refs(empty_repo) == ""


def test_backup_file_is_private_and_never_overwritten(source, tmp_path):
    app, _ = source
    archive = tmp_path / "vcsweb.tar"
    backup_of(app, archive)
    first = archive.read_bytes()

    again = app.test_cli_runner().invoke(args=["backup", "create", str(archive)])

    assert again.exit_code != 0
    assert "already exists" in again.output
    assert archive.read_bytes() == first
    assert archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "vcsweb-backup/manifest.json" in names
    assert "vcsweb-backup/repository.bundle" in names
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".vcsweb")]


@pytest.mark.skipif(len(DATABASES) < 2, reason="needs both SQLite and PostgreSQL")
def test_a_backup_restores_into_the_other_kind_of_database(
    source, spare_database, open_app, database_url, tmp_path
):
    app, token = source
    archive = tmp_path / "vcsweb.tar"
    backup_of(app, archive)
    kept = rows(app)
    other = "postgresql" if database_url.startswith("sqlite") else "sqlite"
    target_repo = gitutil.init(tmp_path / "restored.git", bare=True)
    target = open_app(spare_database(other), target_repo)

    result = restore(target, archive)

    assert result.exit_code == 0, result.output
    assert rows(target) == kept
    program = target.test_client(user=None)
    answer = program.get(
        f"/api/files/{RENAMED}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.get_json()["description"] == "The guide to everything"


def test_a_file_that_is_not_a_backup_is_refused(make_app, repo_path, tmp_path):
    app = make_app(repo_path)
    garbage = tmp_path / "notes.tar"
    garbage.write_bytes(b"these are not the files you are looking for" * 100)
    other_tar = tmp_path / "other.tar"
    with tarfile.open(other_tar, "w") as archive:
        archive.add(__file__, "tests/test_backup.py")

    for path, says in (
        (garbage, "not a complete vcsweb backup"),
        (other_tar, "not a vcsweb backup"),
    ):
        result = restore(app, path)

        assert result.exit_code == 1
        assert says in result.output
        assert "Traceback" not in result.output
    assert refs(repo_path) == ""
