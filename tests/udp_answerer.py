"""A tiny DNS server over real UDP on loopback whose answers a test writes: a cache's (no AA),
another id's, another question's, bytes that are no message."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import dns.message

Answer = Callable[[dns.message.Message], list[bytes]]
"""What the server sends back for a query: datagrams, in order."""


class UdpAnswerer:
    """A UDP server on 127.0.0.1 (a free port) answering each query with `answer(query)`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            for datagram in self.answer(dns.message.from_wire(wire)):
                self.sock.sendto(datagram, peer)

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.stopping.set()
        self.thread.join(timeout=2)
        self.sock.close()
