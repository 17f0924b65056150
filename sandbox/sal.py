"""A stand-in for tcpircbot's relay: records every line received, one per connection.

tcpircbot (logmsgbot) reads each connection to its end and relays the text to IRC; this one
keeps the lines for the tests and `make demo`. `mode` makes it misbehave: `silent` accepts the
connection and never reads (a slow relay), `refuse` is a relay that is down (nothing listens).

Examples:
    >>> with SalRelay() as relay:                                       # doctest: +SKIP
    ...     send_sal(SalConfig("127.0.0.1", relay.port), "START - ...", user="alice")
    ...     relay.wait_for(1)
    ['!log alice@host START - ...']
"""

from __future__ import annotations

import socket
import threading
import time


class SalRelay:
    """A TCP listener on 127.0.0.1 keeping each connection's text as one line."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.lines: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._held: list[socket.socket] = []

    def __enter__(self) -> SalRelay:
        if self.mode != "refuse":
            self._sock.listen(16)
            self._sock.settimeout(0.1)
            threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for conn in self._held:
            conn.close()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            if self.mode == "silent":  # keep it open, read nothing
                self._held.append(conn)
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        data = bytearray()
        conn.settimeout(5)
        with conn:
            try:
                while chunk := conn.recv(4096):
                    data += chunk
            except OSError:
                pass
        self.lines.append(data.decode("utf-8", "replace"))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[str]:
        """Return the lines once at least `count` arrived (or what came within `timeout`)."""
        end = time.monotonic() + timeout
        while len(self.lines) < count and time.monotonic() < end:
            time.sleep(0.01)
        return list(self.lines)
