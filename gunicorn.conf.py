"""gunicorn settings, read from the environment; `gunicorn wsgi:app` uses them."""

import os
import signal

bind = os.environ.get("VCSWEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Each page open in a browser holds a thread for its live-update stream, so
# a worker needs more threads than streams. Streams per worker
# (VCSWEB_LIVE_LIMIT, by default 10, leaving 6 threads for pages) are kept
# at least two below the threads; the workers read the limit from here.
threads = int(os.environ.get("VCSWEB_THREADS", "16"))
_live_limit = int(os.environ.get("VCSWEB_LIVE_LIMIT", min(10, threads - 6)))
os.environ["VCSWEB_LIVE_LIMIT"] = str(max(0, min(_live_limit, threads - 2)))
# gthread even with one thread: its main loop tells the master the worker is
# alive while a request runs. The sync worker does so only between requests,
# so a 200 MB download over a slow link was killed after `timeout` seconds.
worker_class = "gthread"
# Git operations give up after VCSWEB_GIT_TIMEOUT (20 s by default), well
# inside this, so a worker is never killed in the middle of a commit.
timeout = int(os.environ.get("VCSWEB_WORKER_TIMEOUT", "60"))
# Seconds a worker gets after SIGTERM to finish the requests it is serving;
# the systemd unit in docs/ waits longer than this before it kills anything.
graceful_timeout = int(os.environ.get("VCSWEB_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("VCSWEB_KEEPALIVE", "5"))
# vcsweb logs every request itself (method, path, status, duration, user,
# request id); gunicorn's access log repeats it without those, so it is off
# unless VCSWEB_ACCESS_LOG names a file ("-" for standard output).
accesslog = os.environ.get("VCSWEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("VCSWEB_LOG_LEVEL", "info")
# VCSWEB_PROXY_HOPS alone decides which X-Forwarded-* headers are believed.
# By default gunicorn takes X-Forwarded-Proto from any client on 127.0.0.1,
# which would let a local program claim https when no proxy is configured.
forwarded_allow_ips = ""
secure_scheme_headers = {}
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


def post_worker_init(worker):
    """End live-update streams as soon as the worker is told to stop.

    A stream lasts as long as its page, so without this a stopping worker
    would wait graceful_timeout for every open page. gunicorn's own SIGTERM
    handler still runs and stops the worker as usual.
    """
    from vcsweb import live

    graceful_exit = worker.handle_exit

    def handle_exit(sig, frame):
        live.stop()
        graceful_exit(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)
    # As gunicorn sets it: a request's system calls are not interrupted.
    signal.siginterrupt(signal.SIGTERM, False)


def worker_int(worker):
    """SIGINT or SIGQUIT: end live-update streams before the worker exits."""
    from vcsweb import live

    live.stop()


def worker_abort(worker):
    """A worker killed for its timeout ends its live-update streams first."""
    from vcsweb import live

    live.stop()
