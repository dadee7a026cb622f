"""vcsweb: a team's files in a Git repository, with descriptions, in the browser."""

import logging
import os
import secrets
import shutil
import tempfile

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS

from . import gitstore, requestlog
from .extensions import csrf, db, migrate

log = logging.getLogger(__name__)

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


class StartupError(RuntimeError):
    """A setting that keeps vcsweb from starting; the message says how to fix it."""


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error pages."""
    instance = (test_config or {}).get("VCSWEB_INSTANCE") or os.environ.get(
        "VCSWEB_INSTANCE"
    )
    app = Flask(__name__, instance_path=instance and os.path.abspath(instance))
    app.config.from_object(CONFIGS[os.environ.get("VCSWEB_CONFIG", "development")])
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False
    # It holds the secret key, the SQLite database and the repository.
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)

    _configure_logging(app)
    _configure_secret(app)
    _configure_database(app)
    _configure_repository(app)
    _configure_limits(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    csrf.init_app(app)
    _tune_sqlite(app)

    from . import auth, backup, errors, filters, live, security
    from .api import bp as api_bp
    from .files import bp as files_bp
    from .lastcache import LastCommitCache
    from .meta import bp as meta_bp
    from .routing import RepoPathConverter
    from .search import bp as search_bp

    app.url_map.converters["repopath"] = RepoPathConverter
    app.extensions["vcsweb_last_commits"] = LastCommitCache(
        os.path.join(app.instance_path, "cache", "last-commits")
    )
    app.register_blueprint(files_bp)
    app.register_blueprint(meta_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(search_bp)
    live.register(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(auth.admin_bp)
    app.cli.add_command(auth.users_cli)
    app.cli.add_command(backup.cli)
    auth.policy.register(app)
    errors.register(app)
    filters.register(app)
    security.register(app)

    requestlog.register(app)
    if app.config.get("VCSWEB_PROXY_HOPS"):
        hops = int(app.config["VCSWEB_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _configure_logging(app: Flask) -> None:
    requestlog.configure(app)


# Shorter keys are refused in production: sessions signed with a guessable
# key can be forged.
MIN_SECRET_KEY = 16
HOW_TO_MAKE_A_KEY = (
    "Production needs one value shared by every worker and host, e.g. "
    "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
)


def _configure_secret(app: Flask) -> None:
    key = (app.config.get("SECRET_KEY") or "").strip()
    if app.config.get("REQUIRE_SECRET_KEY"):
        if not key:
            raise StartupError(
                f"vcsweb cannot start: SECRET_KEY is not set. {HOW_TO_MAKE_A_KEY}"
            )
        if len(key) < MIN_SECRET_KEY:
            raise StartupError(
                "vcsweb cannot start: SECRET_KEY is too short: at least "
                f"{MIN_SECRET_KEY} characters are needed, it has {len(key)}. "
                + HOW_TO_MAKE_A_KEY
            )
    if key:
        app.config["SECRET_KEY"] = key
        return
    # Generated once and kept, so every worker and every restart shares it.
    path = os.path.join(app.instance_path, "secret_key")
    _create_once(path, lambda target: _write_private(target, secrets.token_hex(32)))
    with open(path) as handle:
        app.config["SECRET_KEY"] = handle.read().strip()


def _configure_database(app: Flask) -> None:
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = os.path.join(app.instance_path, "vcsweb.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "postgresql+psycopg://" + uri[len("postgresql://") :]
        )
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": 15}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _configure_repository(app: Flask) -> None:
    path = app.config.get("VCSWEB_REPO")
    if not path:
        path = os.path.join(app.instance_path, "repo.git")
        branch = app.config.get("VCSWEB_BRANCH") or "main"
        _create_once(path, lambda target: gitstore.init_bare(target, branch))
        app.config["VCSWEB_REPO"] = path
    problem = gitstore.describe_problem(path)
    if problem:
        raise StartupError(f"vcsweb cannot start: {problem}")
    if not app.config.get("VCSWEB_BRANCH"):
        # The branch HEAD names at start-up is the one every page shows and
        # every commit goes to, even before it has a first commit.
        with gitstore.Repository(path) as repo:
            app.config["VCSWEB_BRANCH"] = repo.branch


def _configure_limits(app: Flask) -> None:
    limit = int(app.config["VCSWEB_MAX_UPLOAD_MB"]) * 1024 * 1024
    # Flask's defaults already hold these keys (no cap, and 500 KB per form
    # field), so setdefault() would never apply the configured limit.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = limit
    # Werkzeug caps ordinary form fields at 500 KB by default; the editor
    # sends a whole file as one field, so allow as much as an upload.
    app.config["MAX_FORM_MEMORY_SIZE"] = max(
        app.config.get("MAX_FORM_MEMORY_SIZE") or 0, app.config["MAX_CONTENT_LENGTH"]
    )


def _tune_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        # WAL lets pages read while a description is being saved; the busy
        # timeout makes concurrent writers from several workers wait in turn.
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _create_once(path: str, build) -> None:
    """Build path in a temporary place and move it in, unless another worker did."""
    if os.path.exists(path):
        return
    parent = os.path.dirname(path)
    staging = tempfile.mkdtemp(dir=parent, prefix=".staging-")
    target = os.path.join(staging, os.path.basename(path))
    try:
        build(target)
        # link() never replaces a file and rename() never replaces a
        # non-empty folder, so the first worker to finish wins.
        if os.path.isdir(target):
            os.rename(target, path)
        else:
            os.link(target, path)
    except OSError:
        if not os.path.exists(path):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
