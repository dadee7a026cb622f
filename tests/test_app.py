"""Start-up: what create_app builds, what it refuses, and the health check."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from tests import gitutil
from tests.conftest import ROOT, run_python
from vcsweb import create_app

# Settings a developer's shell might carry; start-up tests choose their own.
_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "VCSWEB_CONFIG", "VCSWEB_REPO")


def clean_env(**extra: str) -> dict[str, str]:
    """Return the environment with no vcsweb settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    return {**env, **extra}


START_AND_PROBE = """
    import json
    from vcsweb import create_app

    app = create_app()
    response = app.test_client().get("/healthz")
    print(json.dumps({"status": response.status_code, "key": app.secret_key}))
"""


def test_start_with_nothing_configured_creates_instance(tmp_path):
    instance = tmp_path / "instance"
    env = clean_env(VCSWEB_INSTANCE=str(instance))

    first = run_python(START_AND_PROBE, env)
    assert first.returncode == 0, first.stderr
    started = json.loads(first.stdout.splitlines()[-1])
    assert started["status"] == 200

    repo = instance / "repo.git"
    assert gitutil.git(repo, "rev-parse", "--is-bare-repository").strip() == "true"
    assert gitutil.git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert (instance / "vcsweb.db").is_file()
    # Password hashes and the secret key are for the server's user alone.
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == started["key"]
    assert len(started["key"]) >= 32
    assert not [p.name for p in instance.iterdir() if p.name.startswith(".staging")]

    second = run_python(START_AND_PROBE, env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1])["key"] == started["key"]


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("   ", "SECRET_KEY is not set"),
        ("x", "SECRET_KEY is too short: at least 16 characters are needed, it has 1."),
    ],
)
def test_production_refuses_a_blank_or_short_secret_key(tmp_path, repo_path, key, said):
    env = clean_env(
        VCSWEB_CONFIG="production",
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        VCSWEB_REPO=str(repo_path),
        SECRET_KEY=key,
    )

    result = run_python("import wsgi", env)

    assert result.returncode != 0
    assert said in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_with_secret_key_starts(tmp_path, repo_path):
    env = clean_env(
        VCSWEB_CONFIG="production",
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        VCSWEB_REPO=str(repo_path),
        SECRET_KEY="a-configured-production-key",
    )

    result = run_python(START_AND_PROBE, env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "status": 200,
        "key": "a-configured-production-key",
    }


def _start_error(tmp_path, repo) -> str:
    with pytest.raises(RuntimeError) as failure:
        create_app(
            {
                "SECRET_KEY": "test-secret-for-the-test-suite",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'vcsweb.db'}",
                "VCSWEB_REPO": str(repo),
                "VCSWEB_INSTANCE": str(tmp_path / "instance"),
            }
        )
    return str(failure.value)


def test_missing_repository_folder_stops_start_up(tmp_path):
    missing = tmp_path / "no-such-repo"

    message = _start_error(tmp_path, missing)

    assert str(missing) in message
    assert "does not exist" in message
    assert not missing.exists()


def test_folder_that_is_not_a_repository_stops_start_up(tmp_path):
    plain = tmp_path / "plain-folder"
    plain.mkdir()
    (plain / "notes.txt").write_text("not under version control\n")

    message = _start_error(tmp_path, plain)

    assert str(plain) in message
    assert "not a Git repository" in message
    assert not (plain / ".git").exists()


def test_start_up_failure_is_one_message_on_the_command_line(tmp_path):
    missing = tmp_path / "gone"
    env = clean_env(
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        VCSWEB_REPO=str(missing),
        SECRET_KEY="test-secret-for-the-test-suite",
    )

    result = run_python("import wsgi", env)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert str(missing) in last_line
    assert result.stderr.count(str(missing)) == 1


def test_healthz_reports_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"database": "ok", "repository": "ok"}


def test_healthz_fails_when_repository_disappears(make_app, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"a.txt": "a\n"})
    client = make_app(repo).test_client()
    assert client.get("/healthz").status_code == 200

    shutil.rmtree(repo)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json["database"] == "ok"
    assert response.json["repository"] != "ok"
    assert str(repo) in response.json["repository"]


def test_db_upgrade_from_the_command_line(database_url, repo_path, tmp_path):
    env = clean_env(
        VCSWEB_CONFIG="testing",
        DATABASE_URL=database_url,
        VCSWEB_REPO=str(repo_path),
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        SECRET_KEY="test-secret-for-the-test-suite",
    )
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db"]
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        upgrade = subprocess.run(
            [*flask, "upgrade"], cwd=ROOT, env=env, capture_output=True, timeout=60
        )
        assert upgrade.returncode == 0, upgrade.stderr.decode()
        assert set(inspect(engine).get_table_names()) >= {
            "alembic_version",
            "file_meta",
        }

        current = subprocess.run(
            [*flask, "current"], cwd=ROOT, env=env, capture_output=True, timeout=60
        )
        assert current.returncode == 0, current.stderr.decode()
        assert "(head)" in current.stdout.decode()
    finally:
        downgrade = subprocess.run(
            [*flask, "downgrade", "base"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
        )
    assert downgrade.returncode == 0, downgrade.stderr.decode()
    try:
        assert "file_meta" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
