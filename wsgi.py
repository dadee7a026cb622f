"""WSGI entry point: `gunicorn wsgi:app`."""

import sys

from vcsweb import StartupError, create_app

try:
    app = create_app()
except StartupError as exc:
    # One line that says what to fix, instead of a traceback from every
    # worker. Status 4 is gunicorn's "application failed to load": it stops
    # there rather than starting new workers that would fail the same way.
    print(exc, file=sys.stderr)
    sys.exit(4)
