"""Read a server-sent event stream the way a browser's EventSource does."""

import http.client
import json
import queue
import socket
import threading
import time
from urllib.parse import urlsplit


class EventStream:
    """Read a server-sent event stream on a thread; hand events over a queue."""

    def __init__(self, conn: http.client.HTTPConnection, path: str, headers: dict):
        self.conn = conn
        self.conn.request(
            "GET", path, headers={"Accept": "text/event-stream", **headers}
        )
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    @classmethod
    def open(cls, url, path: str) -> "EventStream":
        """Open the events of a page showing path on a server (with its token)."""
        where = urlsplit(url)
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        return cls(
            conn, f"/api/events/{path}", {"Authorization": f"Bearer {url.token}"}
        )

    def _read(self):
        event = {}
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if "event" in event:
                        self.events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    event[name] = value.removeprefix(" ")
        except (OSError, http.client.HTTPException):
            pass  # the test ended the stream

    def wait_for(self, kind: str, path: str, seconds: float) -> dict | None:
        """Return the data of the next event of this kind about path, or None."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event.get("event") == kind:
                data = json.loads(event["data"])
                if data.get("path") == path:
                    return data
        return None

    def close(self):
        # The reader sees the end of the stream and stops; then all is closed.
        if self.conn.sock is not None:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.response.close()
        self.conn.close()
