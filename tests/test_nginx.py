"""The nginx set-up in docs/nginx.conf, run as written, in front of gunicorn.

Only what must differ on a test machine is changed: addresses and ports
(127.0.0.1 only), the certificate (a self-signed one made here), the install
folder and the upload limit. Through it, odd file names resolve to exactly
their file, uploads up to the limit pass, redirects and checks keep the public
host and https, and live updates arrive at once.
"""

import getpass
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tests import gitutil
from tests.conftest import DATABASES, PASSWORD, ROOT, free_port, stop_process
from tests.sseutil import EventStream
from tests.test_cases_foundation import Reply, tip
from tests.test_deployment import logged

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PUBLIC = "files.example.org"
ODD_NAMES = {
    "a%2Fb.txt": "a file whose name holds %2F, not a folder\n",
    "100%.txt": "one hundred percent\n",
    "C#.md": "# C sharp\n",
    "space name.txt": "a name with a space\n",
    "what?.txt": "a question\n",
    "a+b.txt": "a plus b\n",
    "%2e%2e.txt": "two dots, spelled out\n",
}

pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(NGINX) or shutil.which("openssl") is None,
        reason="needs nginx and openssl (make test installs them)",
    ),
    # The proxy does not care which database is behind vcsweb.
    pytest.mark.parametrize("database_url", DATABASES[:1], indirect=True),
]


@dataclass
class Site:
    """nginx in front of gunicorn: an https and an http port."""

    https_port: int
    http_port: int
    app: str
    repo: Path
    logs: Path

    @property
    def host(self) -> str:
        return f"{PUBLIC}:{self.https_port}"

    def connect(self, timeout: float = 30) -> http.client.HTTPSConnection:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, timeout=timeout, context=context
        )

    def fetch(self, method, path, body=None, headers=None, token=True) -> Reply:
        """Send one request over https; path is sent exactly as given."""
        headers = {"Host": self.host, **(headers or {})}
        if token:
            headers.setdefault("Authorization", f"Bearer {self.app.token}")
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()


def documented_site(**changes: str) -> str:
    """docs/nginx.conf with each documented value replaced; all must be there."""
    text = (ROOT / "docs" / "nginx.conf").read_text()
    for documented, used in changes.items():
        assert text.count(documented) >= 1, f"docs/nginx.conf has no {documented!r}"
        text = text.replace(documented, used)
    return text


def main_config(tmp: Path, site: str) -> str:
    """An nginx.conf of the test's own: its pid, logs and temporary files in tmp."""
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{user}
daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp / "access.log"};
{temp}
{site}
}}
"""


@pytest.fixture
def site(serve, tmp_path):
    repo = gitutil.make_repo(
        tmp_path / "work", {**ODD_NAMES, "docs/readme.md": "# Docs\n"}
    )
    app = serve(
        repo,
        VCSWEB_CONFIG="production",
        VCSWEB_PROXY_HOPS="1",
        VCSWEB_MAX_UPLOAD_MB="2",
        VCSWEB_LOG_FORMAT="json",
    )
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    cert, key = nginx_dir / "cert.pem", nginx_dir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", f"/CN={PUBLIC}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    https_port, http_port = free_port(), free_port()
    text = documented_site(
        **{
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": "",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "listen [::]:443 ssl http2;": "",
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{app.rsplit(':', 1)[1]};",
            "/etc/letsencrypt/live/files.example.org/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/files.example.org/privkey.pem": str(key),
            "client_max_body_size 101m;": "client_max_body_size 3m;",
            "/opt/vcsweb/": f"{ROOT}/",
        }
    )
    config = nginx_dir / "nginx.conf"
    config.write_text(main_config(nginx_dir, text))
    command = [NGINX, "-c", str(config), "-p", str(nginx_dir), "-e", "stderr"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    served = Site(https_port, http_port, app, repo, tmp_path)
    try:
        _wait_for(served, proc)
        yield served
    finally:
        stop_process(proc, timeout=10)
        proc.stderr.close()


def _wait_for(site: Site, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {proc.stderr.read()}")
        try:
            if site.fetch("GET", "/healthz", token=False).status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nginx did not answer within 15 s")


def test_odd_file_names_resolve_through_the_proxy(site):
    for name, content in ODD_NAMES.items():
        encoded = quote(name, safe="/")

        page = site.fetch("GET", f"/blob/{encoded}")
        raw = site.fetch("GET", f"/raw/{encoded}")
        saved = site.fetch(
            "PUT",
            f"/api/files/{encoded}",
            json.dumps({"description": f"About {name}"}).encode(),
            {"Content-Type": "application/json"},
        )

        assert page.status == 200, (name, page.text[:300])
        assert raw.status == 200, name
        assert raw.body == content.encode()
        assert saved.status == 200, (name, saved.text)
        assert saved.json()["path"] == name
    listed = site.fetch("GET", "/api/files").json()["entries"]
    described = {e["path"]: e["description"] for e in listed if e["type"] == "file"}
    assert described == {name: f"About {name}" for name in ODD_NAMES}


def test_uploads_up_to_the_limit_pass_and_larger_ones_get_a_readable_answer(site):
    base = tip(site.repo)
    near = os.urandom(2 * 1024 * 1024 - 64 * 1024)
    over = os.urandom(2 * 1024 * 1024 + 256 * 1024)

    passed = site.fetch("PUT", f"/api/content/near.bin?base={base}", near)
    refused = site.fetch("PUT", f"/api/content/over.bin?base={tip(site.repo)}", over)

    assert passed.status == 201, passed.text[:300]
    assert gitutil.git(site.repo, "cat-file", "-s", "main:near.bin").strip() == str(
        len(near)
    )
    # vcsweb's own answer, not nginx's error page.
    assert refused.status == 413
    assert refused.json() == {
        "error": "That is more than the 2 MB an upload may have; nothing was saved."
    }


def sign_in(site: Site, referer: str | None):
    form = site.fetch("GET", "/login", token=False)
    cookie = form.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf-token" content="([^"]+)"', form.text).group(1)
    body = urlencode({"csrf_token": token, "username": "admin", "password": PASSWORD})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    if referer:
        headers["Referer"] = referer
    return site.fetch("POST", "/login", body.encode(), headers, token=False)


def test_redirects_and_checks_keep_the_public_host_and_https(site):
    plain = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=30)
    plain.request("GET", "/tree/docs?page=1", headers={"Host": PUBLIC})
    moved = plain.getresponse()
    moved.read()
    plain.close()
    back = site.fetch(
        "POST",
        "/meta/docs/readme.md",
        b"",
        {"Referer": f"https://{site.host}/tree/docs"},
        token=False,
    )
    signed = sign_in(site, f"https://{site.host}/login")
    foreign = sign_in(site, "https://elsewhere.example.net/login")

    assert moved.status == 301
    assert moved.headers["Location"] == f"https://{PUBLIC}/tree/docs?page=1"
    # After signing in, the person comes back to the page they were on.
    assert back.status == 302
    assert back.headers["Location"] == "/login?next=/tree/docs"
    assert signed.status == 302, signed.text[:300]
    assert signed.headers["Location"] == "/"
    assert "; Secure" in signed.headers["Set-Cookie"]
    assert foreign.status == 400


def test_log_line_has_the_proxy_request_id_and_the_real_client(site):
    reply = site.fetch(
        "GET",
        "/api/files?path=docs",
        headers={"X-Forwarded-For": "198.51.100.7", "X-Request-ID": "made-up"},
    )

    assert reply.status == 200
    request_id = reply.headers["X-Request-ID"]
    # nginx replaces whatever id the client sent with its own.
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    _, lines = logged(site.logs, site.app, request_id=request_id)
    assert len(lines) == 1
    # The address nginx saw, not the one the client claimed.
    assert lines[0]["remote_addr"] == "127.0.0.1"
    assert lines[0]["path"] == "/api/files"


def test_static_files_come_from_disk_and_are_checked_for_updates(site):
    reply = site.fetch("GET", "/static/vcsweb.css", token=False)

    assert reply.status == 200
    assert reply.body == (ROOT / "vcsweb" / "static" / "vcsweb.css").read_bytes()
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.headers["Content-Type"].startswith("text/css")


def test_browsers_can_speak_http2(site):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])

    with (
        socket.create_connection(("127.0.0.1", site.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=PUBLIC) as tls,
    ):
        chosen = tls.selected_alpn_protocol()

    assert chosen == "h2"


def test_live_updates_pass_through_at_once(site):
    stream = EventStream(
        site.connect(timeout=60),
        "/api/events/docs",
        {"Host": site.host, "Authorization": f"Bearer {site.app.token}"},
    )
    try:
        started = time.monotonic()
        saved = site.fetch(
            "PUT",
            "/api/files/docs/readme.md",
            json.dumps({"description": "Read me first"}).encode(),
            {"Content-Type": "application/json"},
        )
        assert saved.status == 200

        heard = stream.wait_for("description", "docs/readme.md", 2.0)

        assert heard is not None, "the event did not come through within 2 s"
        assert time.monotonic() - started < 2.0
    finally:
        stream.close()
