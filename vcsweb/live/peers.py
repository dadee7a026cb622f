"""Noticing that a page went away while its stream has nothing to send.

A browser that leaves a page closes the stream's connection, but the server
learns of it only when it next writes (a heartbeat, 15 s later by default).
Until then the stream holds one of the worker's places, and someone
browsing quickly fills them all. gunicorn (and Werkzeug's server) hand the
request its client socket; a closed connection shows on that socket at
once: poll() reports the peer's hang-up, or the socket reads as ended.
"""

import select
import socket
import ssl

# Linux reports a peer that shut its side (POLLRDHUP) apart from plain
# readability; elsewhere a readable socket is peeked at.
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL
_RDHUP = getattr(select, "POLLRDHUP", 0)
_PEEK = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)


class Peer:
    """The client end of one stream, watched without reading from it."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        # TLS sockets take no recv() flags; the hang-up alone tells for them.
        self._peek = not isinstance(sock, ssl.SSLSocket)

    @classmethod
    def of(cls, environ: dict) -> "Peer | None":
        """Return the client of a request, or None when the server hides it."""
        sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
        # Over HTTP/2 one connection carries many requests; its socket
        # says nothing about one of them.
        one_request = environ.get("SERVER_PROTOCOL", "").startswith("HTTP/1.")
        if not isinstance(sock, socket.socket) or not one_request:
            return None
        return cls(sock)

    def hung_up(self, events: int) -> bool:
        """True if poll()'s events for this socket mean the client is gone."""
        if events & (_HANGUP | _RDHUP):
            return True
        if not self._peek:
            return False
        try:
            return self.sock.recv(1, _PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True


def departed(peers: list[Peer]) -> set[Peer]:
    """Return the peers whose client closed the connection, asking the OS once."""
    gone = set()
    poller = select.poll()
    by_fd = {}
    for peer in peers:
        fd = peer.sock.fileno()
        if fd < 0:
            gone.add(peer)  # the server closed it: the request is over
        else:
            by_fd[fd] = peer
            poller.register(fd, select.POLLIN | _RDHUP)
    for fd, events in poller.poll(0):
        peer = by_fd[fd]
        if peer.hung_up(events):
            gone.add(peer)
    return gone
