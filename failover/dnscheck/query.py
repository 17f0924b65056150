"""Asking servers: every question of a round sent at once over UDP, one non-blocking socket per
server, the answers read by one `selectors` loop within the timeout; TCP for a truncated one.

Each question's query is built once (`dns.message.make_query`, to wire) and sent with its own
id; an answer is matched by the socket it came in on (connected: the server's address and
port alone), its id, and then its question. What each question gets is what asking it alone
gave (`_ask`): the answer and its round trip, or "refused" (the ICMP port unreachable of a
closed port, or a TCP RST), "timeout", or "error: ...".

A question without an answer is sent again (the same datagram, same id) after each third of
the timeout, TRIES sends at most: one lost datagram no longer makes a healthy server "timeout".

Not dnspython's `dns.asyncquery.udp` under asyncio.gather: 458 questions at 16 servers cost it
173-251 ms of CPU, this loop 14-19 ms (measured side by side); dnspython still builds and
parses every message, only the sending and waiting are here.
"""

from __future__ import annotations

import copy
import heapq
import logging
import random
import selectors
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import dns.exception
import dns.flags
import dns.message

from failover.dnscheck.servers import Server

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

MAX_WORKERS = 64
"""Threads of the shared pool (TCP retries, concurrent checks); kept between rounds."""

MAX_IDS = 65536
"""Questions one socket carries at most (a DNS id is 16 bits)."""

WINDOW = 64
"""Questions waiting for an answer at once on one socket: the answers of many more, sent at
once, overflow a socket's receive buffer (~300 of gdnsd's on loopback) and are lost."""

TRIES = 3
"""Sends of a question at most: the first, then the same datagram again after each third of
the round's timeout while it has no answer (dig's +tries=3, within one timeout)."""

TC = 0x02  # the TC (truncated) bit of a DNS header's third byte

log = logging.getLogger("failover.dnscheck")


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _query_pool() -> ThreadPoolExecutor:
    """Return the process-wide pool (TCP retries, checks run side by side), made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="dnscheck")
        return _pool


@dataclass(frozen=True)
class _Reply:
    """A raw reply: the message, or the failure verdict; how long it took; over TCP or not."""

    message: dns.message.Message | None
    failure: str | None
    rtt_ms: float | None
    tcp: bool = False
    detail: str = ""
    same: bytes = b""
    """The UDP answer's bytes but its id: servers serving the same zone answer a question
    alike, and equal answers say the same (empty: over TCP, or no answer)."""


class Question(NamedTuple):
    """One question of a round: `fqdn`'s `rdtype` at `server` (with RD for a recursor)."""

    server: Server
    fqdn: str
    rdtype: str
    recursion: bool = False


def _ask(server: Server, fqdn: str, rdtype: str, timeout: float, *,
         recursion: bool = False) -> _Reply:
    """Return `server`'s reply to `fqdn`/`rdtype`: UDP, then TCP if truncated, within `timeout`."""
    return ask_many([Question(server, fqdn, rdtype, recursion)], timeout)[0]


def ask_many(questions: Sequence[Question], timeout: float) -> list[_Reply]:
    """Return the reply to each question, in order, all asked at once within `timeout`.

    Every query goes out over UDP at once (one socket per server; past WINDOW waiting on one,
    the next as answers come), and again after each third of `timeout` while unanswered
    (TRIES sends at most); the answers are read as they come until each is in or `timeout`
    has passed; a truncated one is asked again over TCP with what is left of its `timeout`.
    """
    if not questions:
        return []
    return _Round(questions, timeout).run()


def _query(question: Question) -> dns.message.Message:
    """Return the non-recursive (RD for a recursor) query of `question`, EDNS0 1232 bytes."""
    return dns.message.make_query(question.fqdn, question.rdtype, use_edns=0, payload=1232,
                                  flags=dns.flags.RD if question.recursion else 0)


def _failure(exc: BaseException, server: Server, timeout: float, tcp: bool) -> _Reply:
    """Return the reply of a query that failed with `exc` (as asking it alone said)."""
    over = "TCP" if tcp else "UDP"
    if isinstance(exc, ConnectionRefusedError):
        # on a connected UDP socket, the ICMP port unreachable comes back at once (as dig's
        # "connection refused"); over TCP, a RST
        return _Reply(None, "refused", None, tcp,
                      f"connection refused over {over}: nothing listens on port {server.port}")
    if isinstance(exc, dns.exception.Timeout):
        log.debug("%s: no answer within %gs", server, timeout)
        return _Reply(None, "timeout", None, tcp, f"no answer within {timeout:g}s over {over}")
    if isinstance(exc, OSError):
        reason = str(exc.strerror or exc).lower()
        return _Reply(None, f"error: {reason}", None, tcp, reason)
    reason = f"{type(exc).__name__}: {exc}"
    return _Reply(None, f"error: {reason}", None, tcp, reason)


@dataclass
class _Channel:
    """One server's UDP socket: the questions waiting to go out and those waiting for an
    answer (by id)."""

    server: Server
    sock: socket.socket | None
    first_id: int = 0
    """The id of the channel's first query (random); the next ones count on from it."""
    outbox: list[tuple[int, bytes]] = field(default_factory=list)
    """(question index, wire) not sent yet, in order."""
    waiting: dict[int, int] = field(default_factory=dict)
    """{query id: question index} sent, not answered."""
    resends: list[tuple[float, int, bytes, int]] = field(default_factory=list)
    """(when, query id, wire, sends so far) of the questions to send again if still waiting:
    a heap, the first due first."""
    events: int = selectors.EVENT_READ
    """What the selector watches the socket for."""


class _Round:
    """The state of one `ask_many`: templates, sockets, what came back."""

    def __init__(self, questions: Sequence[Question], timeout: float) -> None:
        self.questions = questions
        self.timeout = timeout
        self.replies: list[_Reply | None] = [None] * len(questions)
        self.sent: list[float] = [0.0] * len(questions)
        self.raw: dict[int, tuple[bytes, float]] = {}
        self.tcp: dict[int, Future[_Reply]] = {}
        self.templates: dict[tuple[str, str, bool], tuple[dns.message.Message, bytes]] = {}
        self.parsed: dict[tuple[str, str, bool, bytes], dns.message.Message | Exception] = {}
        self.selector = selectors.DefaultSelector()
        self.socks: list[socket.socket] = []
        self.start = time.monotonic()
        self.deadline = self.start + timeout
        self.step = timeout / TRIES  # how long a send waits for its answer

    def run(self) -> list[_Reply]:
        """Send every question, read the answers until all are in or the time is up."""
        try:
            for channel in self._channels():
                self._send(channel)
            self._receive()
        finally:
            self.selector.close()
            for sock in self.socks:
                sock.close()
        for index, (wire, received) in self.raw.items():
            self.replies[index] = self._parsed(index, wire, received)
        for index, future in self.tcp.items():
            self.replies[index] = future.result(timeout=self.timeout * 3 + 1)
        expired = _Reply(None, "timeout", None, False,
                         f"no answer within {self.timeout:g}s over UDP")
        late = {str(q.server) for q, r in zip(self.questions, self.replies, strict=True)
                if r is None}
        for server in sorted(late):
            log.debug("%s: no answer within %gs", server, self.timeout)
        return [r or expired for r in self.replies]

    def _template(self, question: Question) -> tuple[dns.message.Message, bytes]:
        """Return the query of `question` and its wire, built once per (name, type, RD)."""
        key = (question.fqdn, question.rdtype, question.recursion)
        found = self.templates.get(key)
        if found is None:
            query = _query(question)
            found = self.templates[key] = (query, query.to_wire())
        return found

    def _channels(self) -> list[_Channel]:
        """Return a channel per server (address, port; one more per MAX_IDS questions), each
        with its questions' wires (ids counted on from a random one) in its outbox."""
        by_server: dict[tuple[str, int], list[_Channel]] = {}
        for index, question in enumerate(self.questions):
            server = question.server
            mine = by_server.setdefault((server.address, server.port), [])
            if not mine or len(mine[-1].outbox) >= MAX_IDS:
                mine.append(self._open(server))
            channel = mine[-1]
            if channel.sock is None:
                continue  # the socket could not be made: its reply is already set
            qid = (channel.first_id + len(channel.outbox)) % MAX_IDS
            wire = qid.to_bytes(2, "big") + self._template(question)[1][2:]
            channel.outbox.append((index, wire))
        return [c for group in by_server.values() for c in group if c.sock is not None]

    def _open(self, server: Server) -> _Channel:
        """Return a channel with a non-blocking UDP socket connected to `server`.

        Connected, the kernel hands the ICMP "port unreachable" of a closed port to the next
        receive as ECONNREFUSED (an unconnected socket never sees it, and waits for the
        timeout). When no socket can be made (no route), every question to it fails so.
        """
        family = socket.AF_INET6 if ":" in server.address else socket.AF_INET
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as exc:
            return self._broken(server, exc)
        try:
            sock.setblocking(False)
            sock.connect((server.address, server.port))
        except OSError as exc:
            sock.close()
            return self._broken(server, exc)
        self.socks.append(sock)
        channel = _Channel(server, sock, random.getrandbits(16))
        self.selector.register(sock, selectors.EVENT_READ, channel)
        return channel

    def _broken(self, server: Server, exc: OSError) -> _Channel:
        """Return a channel without a socket; its questions fail with `exc`."""
        failed = _failure(exc, server, self.timeout, False)
        for index, question in enumerate(self.questions):
            if (question.server.address, question.server.port) == (server.address,
                                                                      server.port):
                self.replies[index] = failed
        return _Channel(server, None)

    def _send(self, channel: _Channel) -> None:
        """Send the channel's questions due again, then from its outbox (WINDOW waiting at
        most), until the socket would block (then wait to write again) or a failure ends the
        server's questions (refused: nothing more is sent to it); stop watching the channel
        once nothing is left to it."""
        assert channel.sock is not None
        try:
            blocked = self._resend(channel) or self._send_new(channel)
        except OSError as exc:
            self._fail(channel, exc, [i for i, _ in channel.outbox])
            return
        if not channel.waiting and not channel.outbox:
            self._forget(channel)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if blocked else 0)
        if events != channel.events:
            channel.events = events
            self.selector.modify(channel.sock, events, channel)

    def _send_new(self, channel: _Channel) -> bool:
        """Send from the channel's outbox while fewer than WINDOW wait; return whether the
        socket would block (an OSError is raised with the unsent left in the outbox)."""
        assert channel.sock is not None
        sent = 0
        try:
            for index, wire in channel.outbox:
                if len(channel.waiting) >= WINDOW:
                    return False
                try:
                    channel.sock.send(wire)
                except BlockingIOError:
                    return True
                self.sent[index] = time.monotonic()
                qid = wire[0] << 8 | wire[1]
                channel.waiting[qid] = index
                self._again(channel, qid, wire, 1)
                sent += 1
            return False
        finally:
            del channel.outbox[:sent]

    def _again(self, channel: _Channel, qid: int, wire: bytes, sends: int) -> None:
        """Plan to send `wire` again `sends` steps after its first send, if it may be sent
        once more and that is before the deadline."""
        due = self.sent[channel.waiting[qid]] + sends * self.step
        if sends < TRIES and due < self.deadline:
            heapq.heappush(channel.resends, (due, qid, wire, sends))

    def _resend(self, channel: _Channel) -> bool:
        """Send again each of the channel's questions due and still without an answer (the
        same datagram: an answer to any send is its answer); return whether the socket would
        block (the rest wait to write)."""
        assert channel.sock is not None
        now = time.monotonic()
        while channel.resends and channel.resends[0][0] <= now:
            _, qid, wire, sends = channel.resends[0]
            if qid in channel.waiting:
                try:
                    channel.sock.send(wire)
                except BlockingIOError:
                    return True
            heapq.heappop(channel.resends)
            if qid in channel.waiting:
                self._again(channel, qid, wire, sends + 1)
        return False

    def _next_resend(self) -> float:
        """Return when the first question still waiting is due to be sent again (inf: none;
        a channel waiting to write resends when it can)."""
        first = float("inf")
        for key in self.selector.get_map().values():
            channel: _Channel = key.data
            while channel.resends and channel.resends[0][1] not in channel.waiting:
                heapq.heappop(channel.resends)  # answered (or failed): nothing to send again
            if channel.resends and channel.events == selectors.EVENT_READ:
                first = min(first, channel.resends[0][0])
        return first

    def _fail(self, channel: _Channel, exc: OSError, unsent: list[int]) -> None:
        """Fail the channel's questions still waiting (and `unsent`) with `exc`."""
        failed = _failure(exc, channel.server, self.timeout, False)
        for index in [*channel.waiting.values(), *unsent]:
            self.replies[index] = failed
        channel.waiting.clear()
        channel.outbox = []
        self._forget(channel)

    def _forget(self, channel: _Channel) -> None:
        """Stop watching the channel: nothing is left to send to it or to read from it."""
        channel.resends.clear()
        channel.events = 0
        assert channel.sock is not None
        if channel.sock in self.selector.get_map():
            self.selector.unregister(channel.sock)

    def _receive(self) -> None:
        """Read the answers as they come, until every question is answered or failed, or
        the timeout has passed (what has come in by then is still read)."""
        while self.selector.get_map():
            now = time.monotonic()
            left = self.deadline - now
            events = self.selector.select(max(0.0, min(left, self._next_resend() - now)))
            for key, mask in events:
                channel: _Channel = key.data
                if mask & selectors.EVENT_READ:
                    self._read(channel)
                if mask & selectors.EVENT_WRITE and channel.events & selectors.EVENT_WRITE:
                    self._send(channel)
            now = time.monotonic()
            if left <= 0 or (not events and now >= self.deadline):
                return  # the time is up (past it, one last look at what had come in)
            for channel in [key.data for key in self.selector.get_map().values()]:
                if channel.resends and channel.resends[0][0] <= now \
                        and channel.events == selectors.EVENT_READ:
                    self._send(channel)

    def _read(self, channel: _Channel) -> None:
        """Take every datagram waiting on the channel's socket: an answer to a question
        still waiting is kept (its wire, when it came); a truncated one goes to TCP."""
        assert channel.sock is not None
        while True:
            try:
                wire = channel.sock.recv(65535)
            except BlockingIOError:
                break
            except OSError as exc:  # ECONNREFUSED: nothing listens on the server's port
                self._fail(channel, exc, [i for i, _ in channel.outbox])
                return
            received = time.monotonic()
            index = channel.waiting.pop(wire[0] << 8 | wire[1], None) if len(wire) > 1 else None
            if index is None:
                continue  # no question of ours (a late or foreign datagram)
            if len(wire) > 2 and wire[2] & TC:
                self._truncated(index, wire, received)
            else:
                self.raw[index] = (wire, received)
        self._send(channel)  # the answers made room in the window (or the channel is done)

    def _parsed(self, index: int, wire: bytes, received: float) -> _Reply:
        """Return the reply of a UDP answer: the message, or why it is none.

        Servers serving the same zone answer a question with the same bytes but the id: each
        distinct answer is parsed once, and each reply gets its own copy with its own id.
        """
        question = self.questions[index]
        key = (question.fqdn, question.rdtype, question.recursion, wire[2:])
        found = self.parsed.get(key)
        if found is None:
            found = self.parsed[key] = self._parse(question, wire)
        if isinstance(found, BaseException):
            return _failure(found, question.server, self.timeout, False)
        message = copy.copy(found)
        message.id = wire[0] << 8 | wire[1]
        return _Reply(message, None, round((received - self.sent[index]) * 1000, 1),
                      same=key[3])

    def _parse(self, question: Question, wire: bytes) -> dns.message.Message | Exception:
        """Return the message `wire` holds if it answers `question`, else why not."""
        try:
            message = dns.message.from_wire(wire)
        except (dns.exception.DNSException, EOFError, ValueError) as exc:
            return exc
        query = self._template(question)[0]
        query.id = message.id  # the template stands for every copy sent; ours is this one
        if not query.is_response(message):
            from dns.query import BadResponse  # rare: dns.query is not imported otherwise

            return BadResponse()  # type: ignore[no-untyped-call]
        return message

    def _truncated(self, index: int, wire: bytes, received: float) -> None:
        """Ask a truncated answer's question again over TCP (on the shared pool), unless the
        answer is no answer to it."""
        reply = self._parsed(index, wire, received)
        if reply.message is None:
            self.replies[index] = reply
            return
        self.tcp[index] = _query_pool().submit(
            _ask_tcp, self.questions[index], self.timeout, self.sent[index])


def _ask_tcp(question: Question, timeout: float, start: float) -> _Reply:
    """Return the reply over TCP to a question first asked over UDP at `start` (monotonic),
    within what is left of `timeout` (at least 50 ms)."""
    import dns.query  # only for a truncated answer: start-up does not pay for it

    left = max(0.05, timeout - (time.monotonic() - start))
    try:
        message = dns.query.tcp(_query(question), question.server.address, timeout=left,
                                port=question.server.port)
    except (OSError, dns.exception.DNSException, EOFError, ValueError) as exc:
        return _failure(exc, question.server, timeout, True)
    return _Reply(message, None, round((time.monotonic() - start) * 1000, 1), True)

