"""Tiny HTTP backends on 127.0.0.1 for the sandbox HAProxy to check and balance to.

Examples:
    >>> backend = TinyBackend("nova_api", "cloudcontrol1003")    # doctest: +SKIP
    >>> backend.start(); backend.port                           # doctest: +SKIP
    40213
    >>> backend.stop()                                          # port now refuses connections
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        body = f"{self.server.label}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: health checks arrive every 500 ms."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    label = ""

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet: HAProxy's checks close their connection before reading the body."""


class TinyBackend:
    """One service's API on one controller: answers 200 to every GET, on a fixed port."""

    def __init__(self, service: str, controller: str, port: int | None = None) -> None:
        self.service = service
        self.controller = controller
        self.port = port or free_port()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Return True while the backend accepts connections."""
        return self._server is not None

    def start(self) -> None:
        """Start answering on 127.0.0.1:port (no-op when already running)."""
        if self._server is not None:
            return
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.label = f"{self.service} on {self.controller}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"backend-{self.service}-{self.controller}",
                                        daemon=True)
        self._server = server
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the port, so connections are refused (no-op when stopped)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
