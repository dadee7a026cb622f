"""Settings for vcsweb, read from environment variables only.

Pick a class with VCSWEB_CONFIG (development, production or testing);
create_app() fills in what depends on the instance folder.
"""

import os


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class Config:
    """Defaults shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    VCSWEB_REPO = os.environ.get("VCSWEB_REPO")
    VCSWEB_BRANCH = os.environ.get("VCSWEB_BRANCH")
    VCSWEB_PUBLIC_READ = _flag("VCSWEB_PUBLIC_READ")
    VCSWEB_COMMITTER_NAME = os.environ.get("VCSWEB_COMMITTER_NAME", "vcsweb")
    VCSWEB_COMMITTER_EMAIL = os.environ.get(
        "VCSWEB_COMMITTER_EMAIL", "vcsweb@localhost"
    )
    VCSWEB_MAX_UPLOAD_MB = _int("VCSWEB_MAX_UPLOAD_MB", 100)
    # Text larger than this is shown cut short on the file page, with a link
    # to the raw bytes; highlighting a few MB already takes seconds.
    VCSWEB_DISPLAY_LIMIT = _int("VCSWEB_DISPLAY_LIMIT", 512 * 1024)
    # Larger text files are not opened in the browser editor.
    VCSWEB_EDIT_LIMIT = _int("VCSWEB_EDIT_LIMIT", 1024 * 1024)
    VCSWEB_FOLDER_PAGE_SIZE = _int("VCSWEB_FOLDER_PAGE_SIZE", 500)
    # Seconds a git command may run before the request gives up with 503,
    # kept below gunicorn's worker timeout so a worker is never killed mid-way.
    VCSWEB_GIT_TIMEOUT = _int("VCSWEB_GIT_TIMEOUT", 20)
    # Number of reverse proxies in front of vcsweb whose X-Forwarded-* headers
    # are trusted; 0 trusts none.
    VCSWEB_PROXY_HOPS = _int("VCSWEB_PROXY_HOPS", 0)
    # One log line per request and per event: "text" for people reading a
    # terminal, "json" for a log collector (one object per line).
    VCSWEB_LOG_FORMAT = os.environ.get("VCSWEB_LOG_FORMAT", "text")
    VCSWEB_LOG_LEVEL = os.environ.get("VCSWEB_LOG_LEVEL", "info")
    # Live updates: each open page holds a stream, and with it a thread of
    # the worker; a worker serves at most this many (0 turns live updates
    # off). gunicorn.conf.py keeps it below the worker's threads.
    VCSWEB_LIVE_LIMIT = _int("VCSWEB_LIVE_LIMIT", 10)
    # Seconds between comments on a quiet stream, so proxies keep it open.
    VCSWEB_LIVE_HEARTBEAT = _int("VCSWEB_LIVE_HEARTBEAT", 15)
    # Seconds a stream lasts; the browser then reconnects, to any worker.
    VCSWEB_LIVE_LIFETIME = _int("VCSWEB_LIVE_LIFETIME", 300)
    # Werkzeug's salted scrypt; tests pass a faster method.
    VCSWEB_PASSWORD_METHOD = os.environ.get("VCSWEB_PASSWORD_METHOD", "scrypt")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"


class DevelopmentConfig(Config):
    """Local use: SQLite and a repository under instance/ unless configured."""


class TestingConfig(Config):
    """Tests pass their own database and repository on top of this."""

    TESTING = True


class ProductionConfig(Config):
    """Served by gunicorn for a team; refuses to start without SECRET_KEY."""

    SESSION_COOKIE_SECURE = _flag("VCSWEB_SECURE_COOKIES", True)
    REQUIRE_SECRET_KEY = True
    VCSWEB_LOG_FORMAT = os.environ.get("VCSWEB_LOG_FORMAT", "json")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
