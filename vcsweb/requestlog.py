"""Logs: one line per request (who asked what, the answer, how long it took).

Every request gets an id: the one a reverse proxy sent as X-Request-ID, or a
new one. It comes back in the X-Request-ID response header and is written on
the request's log line and on every line logged while the request ran, so a
user's report can be matched to the server's log.

VCSWEB_LOG_FORMAT picks "text" (a line for people) or "json" (one object per
line for a log collector). Neither ever holds cookies, Authorization headers
or the values of query parameters that look like secrets.
"""

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode

from flask import Flask, has_request_context, request
from flask_login import current_user

log = logging.getLogger(__name__)

ID_KEY = "vcsweb.request_id"
USER_KEY = "vcsweb.user"
# A proxy's id is taken as it is only when it is short and plain, so a client
# cannot forge log lines or fill the log through the header.
GOOD_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
SECRET_NAMES = re.compile(
    r"token|secret|passw|key|auth|csrf|session|signature|code", re.IGNORECASE
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def register(app: Flask) -> None:
    """Log every request the app answers; call before wrapping it in ProxyFix.

    ProxyFix then runs first, so the address logged is the client's, not the
    proxy's, when the proxy is trusted.
    """

    @app.after_request
    def remember_user(response):
        # Read here, where the session is at hand; the line is written once
        # the last byte is sent.
        if getattr(current_user, "is_authenticated", False):
            request.environ[USER_KEY] = current_user.username
        return response

    app.wsgi_app = RequestLog(app.wsgi_app)


def configure(app: Flask) -> None:
    """Send log records to standard error in the configured format, once."""
    root = logging.getLogger()
    if root.handlers:
        return  # a host (a test runner, a logging config) has set them up
    handler = logging.StreamHandler(sys.stderr)
    if app.config.get("VCSWEB_LOG_FORMAT", "text") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    level = logging.getLevelName(str(app.config.get("VCSWEB_LOG_LEVEL")).upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)


def current_id() -> str | None:
    """Return the id of the request being served, if any."""
    if not has_request_context():
        return None
    return request.environ.get(ID_KEY)


class JsonFormatter(logging.Formatter):
    """Write each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if "request_id" not in entry and (found := current_id()):
            entry["request_id"] = found
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestLog:
    """WSGI middleware: give each request an id and log it when it is done."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = _request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ID_KEY] = request_id
        answer = {}

        def start(status, headers, exc_info=None):
            answer["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            _write(environ, 500, started, 0)
            raise
        return _Body(
            body, lambda sent: _write(environ, answer.get("status"), started, sent)
        )


class _Body:
    """The response body, passed on unchanged; calls done(bytes sent) at its end.

    The end is the last chunk or close(), whichever comes first: a streamed
    download is timed to its last byte, or to the moment the client left.
    """

    def __init__(self, body: Iterable[bytes], done):
        self._body = body
        self._done = done
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk
        self._finish()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._done is not None:
            done, self._done = self._done, None
            done(self._sent)


def _request_id(sent: str | None) -> str:
    if sent and GOOD_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def _write(environ, status: int | None, started: float, sent: int) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    fields = {
        "method": environ.get("REQUEST_METHOD", ""),
        "path": _path(environ),
        "status": status,
        "duration_ms": duration_ms,
        "bytes": sent,
        "user": environ.get(USER_KEY),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "request_id": environ.get(ID_KEY),
    }
    query = _query(environ.get("QUERY_STRING", ""))
    if query:
        fields["query"] = query
    target = fields["path"] + (f"?{query}" if query else "")
    log.info(
        '%s %s "%s %s" %s %sB %.1fms id=%s',
        fields["remote_addr"] or "-",
        fields["user"] or "-",
        fields["method"],
        target,
        status if status is not None else "-",
        sent,
        duration_ms,
        fields["request_id"],
        extra={"fields": fields},
    )


def _path(environ) -> str:
    """The path as the client sent it (percent-encoded), without the query."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw.startswith("/"):
        return raw.split("?", 1)[0]
    # WSGI gives the decoded path as latin-1 text holding the original bytes.
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(path.encode("latin-1", "replace"), safe="/")


def _query(query: str) -> str:
    """The query string with the values of secret-looking parameters hidden."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [(k, "[hidden]" if SECRET_NAMES.search(k) else v) for k, v in pairs]
    return urlencode(shown, safe="/[]")
