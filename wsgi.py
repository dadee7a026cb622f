"""WSGI entry point: `gunicorn wsgi:app`."""

from vcsweb import create_app

app = create_app()
