"""Tiny HTTP backends on 127.0.0.1 for the sandbox HAProxy to check and balance to.

Examples:
    >>> backend = TinyBackend("nova_api", "cloudcontrol1003")    # doctest: +SKIP
    >>> backend.start(); backend.port                           # doctest: +SKIP
    40213
    >>> backend.stop()                                          # port now refuses connections
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORKER_BLOCK = 400
"""Ports in each pytest-xdist worker's own block (below the kernel's ephemeral range)."""
_turn = itertools.count()


def worker_ports(worker: str | None = None) -> range | None:
    """Return the block of ports of this pytest-xdist worker (`gwN`), or None outside xdist.

    A port picked free, closed and handed to a server a moment later could be picked again by
    another worker in between; blocks at 20000-29999, one per worker and below the ephemeral
    range the kernel gives to `bind(0)` and outgoing connections, make such collisions
    impossible.
    """
    name = os.environ.get("PYTEST_XDIST_WORKER", "") if worker is None else worker
    if not (name.startswith("gw") and name[2:].isdigit()):
        return None
    start = 20000 + (int(name[2:]) % 25) * WORKER_BLOCK
    return range(start, start + WORKER_BLOCK)


def free_ports(count: int, *, udp: bool = False) -> list[int]:
    """Return `count` distinct TCP ports on 127.0.0.1 that were free a moment ago.

    `udp`: each port also free for UDP (a nameserver). Under pytest-xdist the ports come from
    the worker's own block (`worker_ports`), in turn; else the kernel picks them.
    """
    block = worker_ports()
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    ports: list[int] = []
    with contextlib.ExitStack() as stack:  # all held open at once, so no port is given twice
        for _ in range(count + 100 + (len(block) if block else 0)):
            if len(ports) == count:
                return ports
            wanted = 0 if block is None else block[next(_turn) % len(block)]
            socks = [stack.enter_context(socket.socket(socket.AF_INET, kind)) for kind in kinds]
            try:
                socks[0].bind(("127.0.0.1", wanted))
                port = int(socks[0].getsockname()[1])
                for s in socks[1:]:
                    s.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
    if len(ports) == count:
        return ports
    raise OSError(f"no {count} free loopback ports found")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


class _Handler(socketserver.StreamRequestHandler):
    """Answer GET and HEAD with 200 and the backend's label, any other method with 501.

    The request's lines are read, not parsed (http.server parses every header with the email
    package): each of a region's servers is checked every 2 s by both HAProxy.
    """

    server: _BackendServer
    timeout = 5

    def handle(self) -> None:
        method = self.rfile.readline(65537).split(b" ", 1)[0]
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        body = f"{self.server.label}\n".encode() if method == b"GET" else b""
        status = "200 OK" if method in (b"GET", b"HEAD") else "501 Not Implemented"
        self.wfile.write(f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


class _BackendServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    label = ""

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet: HAProxy's checks close their connection before reading the body."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    label = ""

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet: HAProxy's checks close their connection before reading the body."""


class TinyBackend:
    """One service's API on one controller: answers 200 to every GET, on a fixed port.

    Without a port given, the first start binds a port the kernel picks (no race with
    other processes); later starts reuse it.
    """

    def __init__(self, service: str, controller: str, port: int = 0) -> None:
        self.service = service
        self.controller = controller
        self.port = port
        self._server: _BackendServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Return True while the backend accepts connections."""
        return self._server is not None

    def start(self) -> None:
        """Start answering on 127.0.0.1:port (no-op when already running)."""
        if self._server is not None:
            return
        server = _BackendServer(("127.0.0.1", self.port), _Handler)
        self.port = int(server.server_address[1])
        server.label = f"{self.service} on {self.controller}"
        # a long poll: 22 servers a region waking 10 times a second were a CPU core's 1%;
        # `stop` wakes the loop itself
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 2},
                                        name=f"backend-{self.service}-{self.controller}",
                                        daemon=True)
        self._server = server
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the port, so connections are refused (no-op when stopped)."""
        server, self._server = self._server, None
        if server is None:
            return
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        while stopper.is_alive():  # a connection wakes the loop, which then sees the request
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            stopper.join(timeout=0.02)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class ScriptedHTTPServer:
    """An HTTP server on 127.0.0.1 answering each path with a set status and body.

    For bad-input tests: `routes` maps a path (with its `;csv`) to (status, body); with
    `auth` set, every request must carry that basic-auth pair or gets 401.
    """

    def __init__(self, routes: dict[str, tuple[int, str]],
                 auth: tuple[str, str] | None = None) -> None:
        self.routes = routes
        self.auth = auth
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)

    def url(self, path: str) -> str:
        """Return the full URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                import base64

                if scripted.auth is not None:
                    want = "Basic " + base64.b64encode(":".join(scripted.auth).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        self._answer(401, "<html>401 Unauthorized</html>")
                        return
                self._answer(*scripted.routes.get(self.path, (404, "<html>not found</html>")))

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet."""

        return Handler

    def __enter__(self) -> ScriptedHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class SilentListener:
    """A TCP (or unix) listener that accepts connections and never answers: a hung server."""

    def __init__(self, unix_path: str | None = None) -> None:
        family = socket.AF_UNIX if unix_path else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(unix_path or ("127.0.0.1", 0))
        self.sock.listen(16)  # the kernel completes the handshakes; nobody ever reads
        self.port = 0 if unix_path else int(self.sock.getsockname()[1])

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


class UnixTextServer:
    """A unix socket server answering every connection with fixed text, then closing."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(self.text.encode())

    def __enter__(self) -> UnixTextServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
