"""gunicorn settings, read from the environment; `gunicorn wsgi:app` uses them."""

import os

bind = os.environ.get("VCSWEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("VCSWEB_THREADS", "1"))
# gthread even with one thread: its main loop tells the master the worker is
# alive while a request runs. The sync worker does so only between requests,
# so a 200 MB download over a slow link was killed after `timeout` seconds.
worker_class = "gthread"
# Git operations give up after VCSWEB_GIT_TIMEOUT (20 s by default), well
# inside this, so a worker is never killed in the middle of a commit.
timeout = int(os.environ.get("VCSWEB_WORKER_TIMEOUT", "60"))
graceful_timeout = 20
accesslog = os.environ.get("VCSWEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("VCSWEB_LOG_LEVEL", "info")
# The runtime control socket is not used; without this gunicorn creates one
# in the home folder.
control_socket_disable = True


def post_fork(server, worker):
    """Give each worker its own database connections."""
    from vcsweb.extensions import db

    # With --preload the app was loaded, and may have connected, before the
    # fork; without it nothing is loaded yet and there is nothing to drop.
    # close=False leaves the parent's sockets alone for the other workers.
    app = getattr(worker.app, "callable", None)
    if app is not None and hasattr(app, "app_context"):
        with app.app_context():
            db.engine.dispose(close=False)
