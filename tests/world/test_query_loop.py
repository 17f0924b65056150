"""The query loop (`failover.dnscheck.query.ask_many`) against real gdnsd authdns hosts.

Every question of a round goes out at once, one UDP socket per server; each reply must be
what asking the question alone gives, a host that never answers is a timeout and one whose
port is closed is refused (each named in the report), a truncated answer is asked again over
TCP, and a datagram that answers no question of ours is never taken for an answer. A lost
datagram (question or answer) is made good by sending the question again within the timeout;
a host that never answers still times out at the timeout, and no question is sent again once
answered or once its port is refused.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rrset
import pytest

from failover.config import AUTHDNS_PORT, parse_config
from failover.dnscheck import check_records, query
from failover.dnscheck.query import TRIES, Question, _ask, _Reply, ask_many
from failover.dnscheck.servers import Server
from sandbox.authdns import address_block, start_authdns_hosts
from sandbox.backends import free_ports
from sandbox.gdnsd import Gdnsd, wikimediacloud_zone
from sandbox.udp_answerer import LossyForwarder, UdpAnswerer
from tests.conftest import RunCli, region_toml

HOSTS = 4
NAMES = [f"openstack.{r}.wikimediacloud.org" for r in ("eqiad1", "codfw1dev", "eqiad1vip")]
BIG = "bigset.wikimediacloud.org"
"""100 A records: gdnsd truncates the UDP answer."""


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Gdnsd]]:
    """Yield HOSTS real gdnsd on 127.53.B.1.. port 5353, serving the wikimediacloud.org zone."""
    root = tmp_path_factory.mktemp("authdns")
    with start_authdns_hosts({"wikimediacloud.org": wikimediacloud_zone()}, root,
                             HOSTS) as running:
        yield running


@pytest.fixture
def silent() -> Iterator[Server]:
    """Yield a server whose UDP port is bound and never answers (no ICMP either)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield Server("silent", "127.0.0.1", sock.getsockname()[1])


def _server(host: Gdnsd) -> Server:
    return Server(host.address, host.host, host.port, "authdns host")


def _closed() -> Server:
    """Return a server on a loopback port nothing listens on (ICMP port unreachable)."""
    return Server("closed", "127.0.0.1", free_ports(1, udp=True)[0])


def test_every_reply_is_what_asking_alone_gives(hosts: list[Gdnsd]) -> None:
    questions = [Question(_server(h), name, rdtype) for h in hosts for name in NAMES
                 for rdtype in ("A", "AAAA")]
    questions += [Question(_server(h), "wikimediacloud.org", "SOA") for h in hosts]
    replies = ask_many(questions, timeout=2)
    assert len(replies) == len(questions)
    for question, reply in zip(questions, replies, strict=True):
        alone = _ask(question.server, question.fqdn, question.rdtype, 2)
        assert reply.message is not None and alone.message is not None, question
        assert reply.failure is None and reply.tcp is False and reply.rtt_ms is not None
        assert reply.message.question == alone.message.question
        assert reply.message.answer == alone.message.answer
        assert reply.message.rcode() == alone.message.rcode()
        assert reply.message.flags & dns.flags.AA
    # one socket per host, each question its own id there; equal answers are parsed once
    # but each reply keeps the id it came with
    for host in hosts:
        ids = [r.message.id for q, r in zip(questions, replies, strict=True)
               if q.server.address == host.host and r.message is not None]
        assert len(ids) == len(NAMES) * 2 + 1 == len(set(ids))
    for name in NAMES:  # the same bytes from every host: each its own message, all equal
        same = [r.message for q, r in zip(questions, replies, strict=True)
                if (q.fqdn, q.rdtype) == (name, "A")]
        assert len({id(m) for m in same}) == HOSTS
        first = same[0]
        assert first is not None and all(m is not None and m.answer == first.answer
                                         for m in same)


def test_more_questions_than_a_socket_holds_answers_are_all_read(hosts: list[Gdnsd]) -> None:
    """2,000 questions at one host (its answers, sent at once, would overflow the socket's
    receive buffer: ~300 of them were lost so): every one answered."""
    names = [*NAMES, *(f"n{i}.eqiad1.wikimediacloud.org" for i in range(40))]
    questions = [Question(_server(hosts[0]), names[i % len(names)], "A") for i in range(2000)]
    replies = ask_many(questions, timeout=2)
    assert [r.failure for r in replies] == [None] * 2000
    for question, reply in zip(questions, replies, strict=True):
        assert reply.message is not None
        assert reply.message.question[0].name.to_text() == question.fqdn + "."
        assert reply.message.rcode() == (0 if question.fqdn in NAMES else 3)  # NXDOMAIN


def test_silent_and_closed_hosts_fail_the_others_answer(hosts: list[Gdnsd],
                                                        silent: Server) -> None:
    closed = _closed()
    servers = [_server(hosts[0]), silent, closed, _server(hosts[1])]
    questions = [Question(s, name, "A") for s in servers for name in NAMES]
    replies = ask_many(questions, timeout=0.3)
    by_server = {s.label: [r for q, r in zip(questions, replies, strict=True) if q.server == s]
                 for s in servers}
    for host in (hosts[0], hosts[1]):
        assert all(r.message is not None and r.rtt_ms is not None for r in by_server[host.address])
    assert {(r.failure, r.detail, r.rtt_ms) for r in by_server["silent"]} == {
        ("timeout", "no answer within 0.3s over UDP", None)}
    assert {(r.failure, r.detail) for r in by_server["closed"]} == {
        ("refused", f"connection refused over UDP: nothing listens on port {closed.port}")}


def test_a_silent_authdns_host_is_named_in_the_report(hosts: list[Gdnsd],
                                                      silent: Server) -> None:
    raw = {"dns": {"checkout": "/tmp", "zone_file": "templates/wikimediacloud.org"},
           "verify": {"nameservers": [hosts[0].address], "query_timeout": 0.3,
                      "authdns_hosts": [*(h.address for h in hosts),
                                        f"{silent.address}:{silent.port}"]},
           "regions": {"eqiad1": {"fqdn": NAMES[0], "controllers": {
               "cloudcontrol1003": {"target": "cloudcontrol1003.wikimedia.org.",
                                    "stats": "unix:///run/haproxy/a.sock"},
               "cloudcontrol1004": {"target": "cloudcontrol1004.wikimedia.org.",
                                    "stats": "unix:///run/haproxy/b.sock"}}}}}
    cfg = parse_config(raw, Path("/tmp/failover-test.toml"))
    region = cfg.region("eqiad1")
    (report,) = check_records(cfg, [(region, region.controller("cloudcontrol1003"))])
    summary = report.hosts_summary()
    assert summary["asked"] == HOSTS + 1 and summary["matching"] == HOSTS
    assert summary["not_answering"] == [f"{silent.address}:{silent.port}"]
    assert summary["serials"] == [2024010101]
    answered = [h for h in report.hosts if h.rtt_ms is not None]
    assert len(answered) == HOSTS and all(h.serial == 2024010101 for h in answered)
    (quiet,) = [h for h in report.hosts if h.rtt_ms is None]
    assert (quiet.verdict, quiet.serial) == ("timeout", None)


def test_truncated_answer_is_asked_again_over_tcp(hosts: list[Gdnsd]) -> None:
    questions = [Question(_server(h), name, "A") for h in hosts[:2] for name in (BIG, *NAMES)]
    replies = ask_many(questions, timeout=2)
    for question, reply in zip(questions, replies, strict=True):
        assert reply.message is not None, question
        assert reply.tcp is (question.fqdn == BIG)
        if question.fqdn == BIG:
            assert len(reply.message.answer[0]) == 100
            assert not reply.message.flags & dns.flags.TC


def _reply(query: dns.message.Message, target: str = "cloudcontrol1003.wikimedia.org.",
           qid: int | None = None, name: str | None = None) -> bytes:
    """Return an authoritative CNAME answer to `query` (another id or question if given)."""
    asked = dns.message.make_query(name, "A") if name else query
    reply = dns.message.make_response(asked)
    reply.id = query.id if qid is None else qid
    reply.flags |= dns.flags.AA
    reply.answer.append(dns.rrset.from_text(asked.question[0].name, 300, "IN", "CNAME", target))
    return reply.to_wire()


@pytest.mark.parametrize(("answer", "failure"), [
    # a datagram with another id is no answer: the one with ours that follows is taken
    (lambda q: [_reply(q, "stray.example.org.", qid=(q.id + 1) % 65536), _reply(q)], None),
    # our id, another question: as asked alone, not an answer to it
    (lambda q: [_reply(q, name="other.wikimediacloud.org")],
     "error: BadResponse: A DNS query response does not respond to the question asked."),
    # our id, then bytes that are no DNS message
    (lambda q: [q.id.to_bytes(2, "big") + b"\x84"], "error: ShortHeader: "),
])
def test_what_counts_as_an_answer(answer: Callable[[dns.message.Message], list[bytes]],
                                  failure: str | None) -> None:
    odd = UdpAnswerer(answer)
    odd.thread.start()
    try:
        (reply,) = ask_many([Question(Server("odd", "127.0.0.1", odd.port), NAMES[0], "A")],
                            timeout=1)
    finally:
        odd.close()
    if failure is None:
        assert reply.message is not None
        assert str(reply.message.answer[0][0].target) == "cloudcontrol1003.wikimedia.org."
    else:
        assert reply.message is None and reply.failure is not None
        assert reply.failure.startswith(failure)


TIMEOUT = 1.5
"""The round's timeout of the resend tests: a question is sent at 0, 0.5 and 1 s."""


@contextlib.contextmanager
def _lossy(upstream: Gdnsd, lost: int, lose: str = "question") -> Iterator[LossyForwarder]:
    """Yield a running LossyForwarder in front of `upstream`, an authdns host of its own
    (127.53.B.1, port 5353)."""
    with address_block(1) as (address,):
        lossy = LossyForwarder((upstream.host, upstream.port), lost, lose, address,
                               AUTHDNS_PORT)
    lossy.thread.start()
    try:
        yield lossy
    finally:
        lossy.close()


def _timed(questions: list[Question]) -> tuple[list[_Reply], float]:
    """Return ask_many's replies within TIMEOUT, and how long it took (s)."""
    started = time.monotonic()
    replies = ask_many(questions, TIMEOUT)
    return replies, time.monotonic() - started


def _at(server: Server, hosts: list[Gdnsd]) -> list[Question]:
    """Return the A question of each of NAMES at `server`, then at hosts[1] directly."""
    return [Question(s, name, "A") for s in (server, _server(hosts[1])) for name in NAMES]


@pytest.mark.parametrize(("lost", "lose"), [(1, "question"), (1, "answer"), (2, "question")])
def test_a_lost_datagram_is_sent_again_and_answered_within_the_timeout(
        hosts: list[Gdnsd], lost: int, lose: str) -> None:
    """A host losing the first datagram(s) of each question (or of its answer) answers the
    question sent again, within the timeout: what the gdnsd behind it answers directly;
    each question came `lost` + 1 times, no more; the round trip counts from the first
    send."""
    with _lossy(hosts[0], lost, lose) as lossy:
        server = Server("lossy", lossy.address, lossy.port)
        replies, elapsed = _timed(_at(server, hosts))
    print(f"lost {lost} ({lose}): answered in {elapsed:.3f} s")
    assert [r.failure for r in replies] == [None] * len(replies)
    through, direct = replies[:len(NAMES)], replies[len(NAMES):]
    assert [r.same for r in through] == [r.same for r in direct] != [b""] * len(NAMES)
    assert lossy.sends() == [lost + 1] * len(NAMES)
    assert all(r.rtt_ms is not None and r.rtt_ms >= lost * TIMEOUT / TRIES * 1000
               for r in through)


def test_with_one_send_as_before_the_lossy_host_is_named_not_answering(
        hosts: list[Gdnsd], monkeypatch: pytest.MonkeyPatch) -> None:
    """The code before (one send a question): one lost datagram is a timeout."""
    monkeypatch.setattr(query, "TRIES", 1)
    with _lossy(hosts[0], 1) as lossy:
        server = Server("lossy", lossy.address, lossy.port)
        replies, elapsed = _timed(_at(server, hosts))
    assert {(r.failure, r.detail) for r in replies[:len(NAMES)]} == {
        ("timeout", f"no answer within {TIMEOUT:g}s over UDP")}
    assert all(r.message is not None for r in replies[len(NAMES):])
    assert lossy.sends() == [1] * len(NAMES) and elapsed >= TIMEOUT


def test_a_host_that_never_answers_gets_each_question_tries_times_and_times_out_on_time(
        hosts: list[Gdnsd]) -> None:
    """Every send lost: the same timeout, not earlier than the round's, after TRIES sends."""
    with _lossy(hosts[0], TRIES) as lossy:
        server = Server("lossy", lossy.address, lossy.port)
        replies, elapsed = _timed(_at(server, hosts))
    print(f"never answers: timed out after {elapsed:.3f} s (timeout {TIMEOUT} s)")
    assert {(r.failure, r.detail, r.rtt_ms) for r in replies[:len(NAMES)]} == {
        ("timeout", f"no answer within {TIMEOUT:g}s over UDP", None)}
    assert all(r.message is not None for r in replies[len(NAMES):])
    assert lossy.sends() == [TRIES] * len(NAMES) and elapsed >= TIMEOUT


def test_no_question_is_sent_again_once_answered(hosts: list[Gdnsd]) -> None:
    """Beside a silent host (the round lasts the whole timeout, the silent host's questions
    each sent TRIES times), each question the other host answered was sent once."""
    silent = UdpAnswerer(lambda _: [])
    silent.thread.start()
    with _lossy(hosts[0], 0) as answering:
        servers = [Server("silent", "127.0.0.1", silent.port),
                   Server("answering", answering.address, answering.port)]
        replies, elapsed = _timed([Question(s, n, "A") for s in servers for n in NAMES])
    silent.close()
    assert [r.failure for r in replies] == ["timeout"] * len(NAMES) + [None] * len(NAMES)
    assert answering.sends() == [1] * len(NAMES) and elapsed >= TIMEOUT
    assert sorted(Counter(w for _, w in silent.received).values()) == [TRIES] * len(NAMES)


def test_nothing_is_sent_again_to_a_refused_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed port (ICMP port unreachable): each question sent at most once to it, while
    the silent host's are each sent TRIES times in the same round."""
    sent: Counter[tuple[Any, bytes]] = Counter()

    class Counting(socket.socket):
        def send(self, data: Any, flags: int = 0) -> int:
            count = super().send(data, flags)
            sent[self.getpeername(), bytes(data)] += 1
            return count

    silent = UdpAnswerer(lambda _: [])
    silent.thread.start()
    closed = _closed()
    monkeypatch.setattr(query.socket, "socket", Counting)
    replies, _ = _timed([Question(s, n, "A") for s in
                         (closed, Server("silent", "127.0.0.1", silent.port)) for n in NAMES])
    silent.close()
    assert [r.failure for r in replies] == ["refused"] * len(NAMES) + ["timeout"] * len(NAMES)
    to_closed = [n for (peer, _), n in sent.items() if peer[1] == closed.port]
    assert 1 <= len(to_closed) <= len(NAMES) and set(to_closed) == {1}
    assert [n for (peer, _), n in sent.items() if peer[1] == silent.port] == [TRIES] * len(NAMES)


@pytest.mark.parametrize("tries", [1, TRIES])
def test_verify_once_through_the_cli_answers_despite_a_lost_datagram(
        run_cli: RunCli, hosts: list[Gdnsd], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        tries: int) -> None:
    """`failover verify --once`: an authdns host losing the first datagram of each question
    is answering (exit 0); with one send, as before, it was named not answering (exit 5)."""
    monkeypatch.setattr(query, "TRIES", tries)
    path = tmp_path / "config.toml"
    with _lossy(hosts[0], 1) as lossy:
        path.write_text(f"""
[dns]
checkout = "dns"
[verify]
nameservers = ["{hosts[1].address}"]
authdns_hosts = ["{lossy.address}", "{hosts[2].address}"]
query_timeout = {TIMEOUT}
""" + region_toml("eqiad1", {"cloudcontrol1003": "unix:///run/haproxy/a.sock",
                             "cloudcontrol1004": "unix:///run/haproxy/b.sock"}))
        result = run_cli("verify", "eqiad1", "--once", "--json", "--config", str(path))
    summary = json.loads(result.stdout)["authdns_hosts"]
    if tries == 1:
        assert result.code == 5, result.output
        assert summary["not_answering"] == [f"{lossy.address}:{AUTHDNS_PORT}"]
    else:
        assert result.code == 0, result.output
        assert summary["not_answering"] == [] and summary["matching"] == 2
