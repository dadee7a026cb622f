"""Where a form may send the browser afterwards: only to a path on this site."""

from urllib.parse import urlsplit


def local_target(value: str | None, default: str) -> str:
    """Return value if it is a path on this site, else default.

    Browsers treat '//host', '/\\host' and tabs or newlines inside a URL
    leniently, so anything but a plain '/path' is refused.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\\\t\r\n\x00") or any(ord(c) < 32 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
