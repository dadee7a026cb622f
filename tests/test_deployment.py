"""Running vcsweb for a team: gunicorn settings, start-up checks, proxies, logs.

Every setting is read from the environment, production refuses to start
without a secret key, X-Forwarded-* headers count only when a proxy is
configured, and every request leaves one log line with its timing and id.
"""

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests import gitutil
from tests.conftest import (
    DATABASES,
    PASSWORD,
    ROOT,
    csrf_token,
    free_port,
    run_python,
)
from tests.test_app import clean_env
from tests.test_cases_foundation import fetch, server_log

PROXY = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "files.example.org",
}
# What is tested here does not depend on the database behind vcsweb.
ONE_DATABASE = pytest.mark.parametrize("database_url", DATABASES[:1], indirect=True)
GUNICORN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] ")

# Start-up ----------------------------------------------------------------


def test_production_without_secret_key_says_so_in_one_line(tmp_path, repo_path):
    env = clean_env(
        VCSWEB_CONFIG="production",
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        VCSWEB_REPO=str(repo_path),
    )

    result = run_python("import wsgi", env)

    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        "vcsweb cannot start: SECRET_KEY is not set. Production needs one value "
        "shared by every worker and host, e.g. SECRET_KEY=$(python3 -c "
        "'import secrets; print(secrets.token_hex(32))')"
    ]


def test_gunicorn_and_db_upgrade_stop_at_once_without_secret_key(tmp_path, repo_path):
    port = free_port()
    env = clean_env(
        VCSWEB_CONFIG="production",
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        VCSWEB_REPO=str(repo_path),
        VCSWEB_BIND=f"127.0.0.1:{port}",
        # One worker: when several fail at the same moment, gunicorn 27 may
        # meet the second failure while already halting and exit with 1 and
        # a traceback instead of 4. The systemd unit never gets there: its
        # `flask db upgrade` stops first, with 4.
        WEB_CONCURRENCY="1",
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    upgrade = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]

    served = subprocess.run(
        gunicorn, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    upgraded = subprocess.run(
        upgrade, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    # gunicorn stops instead of starting new workers that fail the same way.
    assert served.returncode == 4, served.stderr
    assert "Reason: App failed to load." in served.stderr
    assert "SECRET_KEY is not set" in served.stderr
    assert "Traceback" not in served.stderr
    assert upgraded.returncode == 4
    assert len(upgraded.stderr.strip().splitlines()) == 1
    assert "SECRET_KEY is not set" in upgraded.stderr


# gunicorn.conf.py ----------------------------------------------------------

READ_SETTINGS = """
    import json, runpy
    from gunicorn.config import Config

    settings = runpy.run_path("gunicorn.conf.py")
    config = Config()
    names = ("bind", "workers", "threads", "timeout", "graceful_timeout",
             "keepalive", "loglevel", "accesslog", "errorlog",
             "forwarded_allow_ips", "secure_scheme_headers")
    for name in names:
        config.set(name, settings[name])
    print(json.dumps({name: config.settings[name].get() for name in names}))
"""


def test_gunicorn_settings_come_from_the_environment():
    env = clean_env(
        VCSWEB_BIND="127.0.0.1:9123",
        WEB_CONCURRENCY="5",
        VCSWEB_THREADS="4",
        VCSWEB_WORKER_TIMEOUT="90",
        VCSWEB_GRACEFUL_TIMEOUT="25",
        VCSWEB_KEEPALIVE="7",
        VCSWEB_LOG_LEVEL="debug",
        VCSWEB_ACCESS_LOG="/var/log/vcsweb/access.log",
    )

    result = run_python(READ_SETTINGS, env)

    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["bind"] == ["127.0.0.1:9123"]
    assert settings["workers"] == 5
    assert settings["threads"] == 4
    assert settings["timeout"] == 90
    assert settings["graceful_timeout"] == 25
    assert settings["keepalive"] == 7
    assert settings["loglevel"] == "debug"
    assert settings["accesslog"] == "/var/log/vcsweb/access.log"


def test_gunicorn_defaults_leave_logging_and_proxies_to_vcsweb():
    env = {
        k: v
        for k, v in clean_env().items()
        if not k.startswith("VCSWEB_") and k != "WEB_CONCURRENCY"
    }

    result = run_python(READ_SETTINGS, env)

    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert settings["workers"] == 2
    assert settings["timeout"] == 60
    assert settings["graceful_timeout"] == 20
    assert settings["loglevel"] == "info"
    # vcsweb's own request log replaces gunicorn's access log.
    assert settings["accesslog"] is None
    assert settings["errorlog"] == "-"
    assert settings["forwarded_allow_ips"] == []
    assert settings["secure_scheme_headers"] == {}


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@ONE_DATABASE
def test_gunicorn_runs_the_workers_and_log_level_asked_for(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"README.md": "# Hello\n"})

    url = serve(repo, workers=3, VCSWEB_LOG_LEVEL="debug")

    deadline = time.monotonic() + 10
    while len(children(url.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(children(url.pid)) == 3
    assert f"Listening at: {url}" in server_log(tmp_path, url)
    assert "[DEBUG]" in server_log(tmp_path, url)


# Reverse proxy: VCSWEB_PROXY_HOPS -----------------------------------------


class Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    """What vcsweb logs during a test (the migrations reset pytest's capture)."""
    keep = Keep()
    logger = logging.getLogger("vcsweb")
    level = logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    yield keep.records
    logger.removeHandler(keep)
    logger.setLevel(level)


@ONE_DATABASE
@pytest.mark.parametrize(
    ("hops", "address", "back_to"),
    [(1, "203.0.113.9", "/tree/docs"), (0, "127.0.0.1", "/")],
)
def test_forwarded_headers_count_only_with_a_proxy(
    make_app, repo_path, records, hops, address, back_to
):
    app = make_app(repo_path, VCSWEB_PROXY_HOPS=hops)
    visitor = app.test_client(user=None)
    token = csrf_token(visitor, "/login")

    # A change from a page on the public site, made after the session ended:
    # the sign-in page brings the person back to that page only if the
    # public host and scheme are known.
    reply = visitor.post(
        "/meta/docs/a.md",
        headers={**PROXY, "Referer": "https://files.example.org/tree/docs"},
    )
    reply.close()
    refused = visitor.post(
        "/login",
        data={"csrf_token": token, "username": "admin", "password": "wrong"},
        headers={**PROXY, "Referer": "https://files.example.org/login"},
    )
    refused.close()

    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/login?next={back_to}"
    assert refused.status_code == 401
    logged = [r.fields for r in records if hasattr(r, "fields")]
    assert [f["remote_addr"] for f in logged] == ["127.0.0.1", address, address]
    messages = [r.getMessage() for r in records]
    assert f"failed sign-in for 'admin' from {address}" in messages


def sign_in_through(url, headers: dict[str, str]):
    """Sign in with the login form, sending headers with both requests."""
    form = fetch(url, "GET", "/login", headers={**headers, "Cookie": ""})
    cookie = form.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', form.text).group(1)
    body = urlencode({"csrf_token": token, "username": "admin", "password": PASSWORD})
    return fetch(
        url,
        "POST",
        "/login",
        body.encode(),
        {
            **headers,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


@ONE_DATABASE
def test_behind_a_tls_proxy_https_and_the_client_address_are_seen(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"README.md": "# Hello\n"})
    url = serve(
        repo,
        VCSWEB_CONFIG="production",
        VCSWEB_PROXY_HOPS="1",
        VCSWEB_LOG_FORMAT="json",
    )

    # An https form post must come with a Referer from the same site.
    without_referer = sign_in_through(url, PROXY)
    signed = sign_in_through(
        url, {**PROXY, "Referer": "https://files.example.org/login"}
    )

    assert without_referer.status == 400
    assert "CSRF check failed" in without_referer.text
    assert signed.status == 302
    assert signed.headers["Location"] == "/"
    cookie = signed.headers["Set-Cookie"]
    assert "; Secure" in cookie and "; HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    # The start-up probe came straight from 127.0.0.1; the rest "through" a proxy.
    _, lines = logged(tmp_path, url, 5)
    lines = [line for line in lines if line["path"] != "/healthz"]
    assert {line["remote_addr"] for line in lines} == {"203.0.113.9"}
    assert [line["user"] for line in lines if line["status"] == 302] == ["admin"]


@ONE_DATABASE
def test_without_a_proxy_forwarded_headers_are_ignored_by_gunicorn_too(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"README.md": "# Hello\n"})
    url = serve(repo, VCSWEB_CONFIG="production", VCSWEB_LOG_FORMAT="json")

    # Seen as plain http, whatever the headers claim: no Referer is needed.
    signed = sign_in_through(url, PROXY)

    assert signed.status == 302
    _, lines = logged(tmp_path, url, 3)
    assert {line["remote_addr"] for line in lines} == {"127.0.0.1"}


# Request log ---------------------------------------------------------------


def request_lines(log: str) -> list[dict]:
    """The request log lines of a server log written with VCSWEB_LOG_FORMAT=json."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "vcsweb.requestlog"]


def logged(tmp_path, url, count: int = 1, request_id: str | None = None):
    """The server's log and request lines once count of them are there (or 15 s).

    With request_id, count lines of that request. A line is written when the
    last byte has been sent, which can be a moment after the client read it.
    """
    deadline = time.monotonic() + 15
    while True:
        log = server_log(tmp_path, url)
        lines = request_lines(log)
        if request_id is not None:
            lines = [line for line in lines if line["request_id"] == request_id]
        if len(lines) >= count or time.monotonic() > deadline:
            return log, lines
        time.sleep(0.05)


@ONE_DATABASE
def test_each_request_is_one_json_line_with_timing_and_id(serve, tmp_path):
    repo = gitutil.make_repo(tmp_path / "work", {"docs/a.md": "# A\n"})
    url = serve(repo, VCSWEB_LOG_FORMAT="json")
    secret_query = "token=sekrit-in-the-query"

    listed = fetch(
        url,
        "GET",
        f"/api/files?path=docs&{secret_query}",
        headers={"X-Request-ID": "trace-42"},
    )
    missing = fetch(
        url, "GET", "/blob/docs/nothing.md", headers={"Cookie": "session=crumbs-77"}
    )
    forged = fetch(url, "GET", "/healthz", headers={"X-Request-ID": "a b\tc"})

    assert listed.status == 200
    assert listed.headers["X-Request-ID"] == "trace-42"
    assert missing.status in (302, 401, 404)
    generated = forged.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    log, lines = logged(tmp_path, url, 4)
    mine = [line for line in lines if line["request_id"] == "trace-42"]
    assert len(mine) == 1
    line = mine[0]
    assert line["method"] == "GET"
    assert line["path"] == "/api/files"
    assert line["query"] == "path=docs&token=[hidden]"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 5000
    assert line["bytes"] == len(listed.body)
    assert line["user"] == "admin"
    assert line["remote_addr"] == "127.0.0.1"
    assert [x["status"] for x in lines if x["path"] == "/blob/docs/nothing.md"] == [
        missing.status
    ]
    assert [x["request_id"] for x in lines if x["path"] == "/healthz"][-1] == generated
    for secret in (url.token, "sekrit-in-the-query", "crumbs-77"):
        assert secret not in log
    # Everything vcsweb logs is JSON; only gunicorn's own lines are not.
    for text in log.splitlines():
        assert text.startswith("{") or GUNICORN_LINE.match(text), text


def test_text_log_is_one_readable_line_per_request(tmp_path, repo_path):
    env = clean_env(
        VCSWEB_CONFIG="testing",
        VCSWEB_LOG_FORMAT="text",
        VCSWEB_INSTANCE=str(tmp_path / "instance"),
        VCSWEB_REPO=str(repo_path),
        SECRET_KEY="test-secret-for-the-test-suite",
    )
    code = """
        from vcsweb import create_app

        reply = create_app().test_client().get(
            "/healthz?password=hunter2", headers={"X-Request-ID": "abc-1"}
        )
        print(reply.headers["X-Request-ID"], reply.get_data(as_text=True))
    """

    result = run_python(code, env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("abc-1 ")
    lines = [x for x in result.stderr.splitlines() if "vcsweb.requestlog" in x]
    assert len(lines) == 1
    assert re.search(
        r' INFO vcsweb\.requestlog: 127\.0\.0\.1 - "GET /healthz\?password=\[hidden\]"'
        r" 200 \d+B \d+\.\dms id=abc-1$",
        lines[0],
    ), lines[0]
    assert "hunter2" not in result.stderr


def test_documented_unit_waits_longer_than_gunicorn_does(tmp_path):
    unit = (ROOT / "docs" / "vcsweb.service").read_text()
    settings = dict(
        re.findall(r"^(\w+)=(.*)$", unit, re.M),
    )
    env = {k: v for k, v in clean_env().items() if not k.startswith("VCSWEB_GRACEFUL")}
    graceful = json.loads(run_python(READ_SETTINGS, env).stdout)["graceful_timeout"]

    assert settings["KillSignal"] == "SIGTERM"
    assert int(settings["TimeoutStopSec"].rstrip("s")) > graceful
    assert settings["Restart"] == "on-failure"
    assert "flask --app wsgi db upgrade" in settings["ExecStartPre"]
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in settings["ExecStart"]
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"
    assert os.path.isabs(settings["EnvironmentFile"].lstrip("-"))


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"
)
def test_systemd_accepts_the_documented_unit(tmp_path):
    unit = (ROOT / "docs" / "vcsweb.service").read_text()
    # Installed where this copy of vcsweb is, so its programs are found.
    copy = tmp_path / "vcsweb.service"
    copy.write_text(unit.replace("/opt/vcsweb", str(ROOT)))

    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0
    assert result.stdout + result.stderr == ""
