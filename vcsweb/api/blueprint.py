"""The API blueprint and what its endpoints share: reading JSON bodies.

Who may call what is decided for every route in auth/policy.py: programs
send an API token; a browser session must also send the page's CSRF token.
"""

import json

from flask import Blueprint, abort, request

bp = Blueprint("api", __name__, url_prefix="/api")

# Bodies of JSON requests are small (a description is at most 10,000
# characters); anything far larger is refused before it is read.
JSON_LIMIT = 256 * 1024


def json_body() -> dict:
    """Return the request's JSON object, or abort with 400, 413, 415 or 422."""
    if not request.is_json:
        abort(415, "Send the request body as JSON with Content-Type: application/json.")
    if request.content_length is not None and request.content_length > JSON_LIMIT:
        abort(413, f"The body may have at most {JSON_LIMIT // 1024} KB.")
    raw = request.stream.read(JSON_LIMIT + 1)
    if len(raw) > JSON_LIMIT:
        abort(413, f"The body may have at most {JSON_LIMIT // 1024} KB.")
    try:
        body = json.loads(raw)
    except ValueError:
        abort(400, "The body is not valid JSON.")
    if not isinstance(body, dict):
        abort(422, "The body must be a JSON object.")
    return body
