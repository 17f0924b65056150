"""A tiny DNS server over real UDP on loopback whose answers a test writes: a cache's (no AA),
another id's, another question's, bytes that are no message; and a lossy forwarder in front of
a real server, losing the first datagrams of each question (or of its answer)."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable

import dns.message

Answer = Callable[[dns.message.Message], list[bytes]]
"""What the server sends back for a query: datagrams, in order."""

Peer = tuple[str, int]


class UdpAnswerer:
    """A UDP server on `address` (127.0.0.1; a free port unless given) answering each query
    with `answer(query)`; every datagram it gets is kept in `received`, in order."""

    def __init__(self, answer: Answer, address: str = "127.0.0.1", port: int = 0) -> None:
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.sock.settimeout(0.05)
        self.address = address
        self.port: int = self.sock.getsockname()[1]
        self.received: list[tuple[Peer, bytes]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            self.received.append((peer, wire))
            for datagram in self.respond(wire, peer):
                self.sock.sendto(datagram, peer)

    def respond(self, wire: bytes, peer: Peer) -> list[bytes]:
        """Return the datagrams to send back for the query `wire` from `peer`."""
        return self.answer(dns.message.from_wire(wire))

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.stopping.set()
        self.thread.join(timeout=2)
        self.sock.close()


class LossyForwarder(UdpAnswerer):
    """Forward each query as is to `upstream` (a real server) and its answer back as is, but
    lose the first `lost` datagrams of each question from a peer (the same bytes from the
    same socket): the query itself, or (`lose="answer"`) the upstream's answer to it."""

    def __init__(self, upstream: Peer, lost: int, lose: str = "question",
                 address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(lambda _: [], address, port)
        self.upstream, self.lost, self.lose = upstream, lost, lose
        self.seen: Counter[tuple[Peer, bytes]] = Counter()

    def respond(self, wire: bytes, peer: Peer) -> list[bytes]:
        """Lose the datagram (or its answer) while it is one of the first `lost`, else
        return the upstream's answer."""
        self.seen[peer, wire] += 1
        losing = self.seen[peer, wire] <= self.lost
        if losing and self.lose == "question":
            return []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.settimeout(1)
            out.connect(self.upstream)
            out.send(wire)
            answer = out.recv(65535)
        return [] if losing else [answer]

    def sends(self) -> list[int]:
        """Return how many times each distinct question came, in the order they first came."""
        counts = Counter(self.received)
        return [counts[key] for key in dict.fromkeys(self.received)]
