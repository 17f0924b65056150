"""Reading a round's answers: equal answers read once (`_read`'s `seen`), and `_evolve` is
`dataclasses.replace`. Pure logic on replies built in memory (the world tests ask gdnsd)."""

from __future__ import annotations

import dataclasses

import dns.flags
import dns.message
import dns.rrset

from failover.config import Controller, Region
from failover.dnscheck import ServerAnswer
from failover.dnscheck.judge import _evolve, _read
from failover.dnscheck.query import _Reply
from failover.dnscheck.servers import Server

FQDN = "openstack.eqiad1.wikimediacloud.org"
REGION = Region("eqiad1", FQDN, ("nova_api",), (
    Controller("cloudcontrol1003", "cloudcontrol1003.wikimedia.org.", "unix:///x"),
    Controller("cloudcontrol1004", "cloudcontrol1004.wikimedia.org.", "unix:///x")))
SERVERS = [Server(f"ns{i}", f"127.0.0.{i + 1}", 5353, "authdns host") for i in range(3)]


def _reply(target: str, rtt: float) -> _Reply:
    """Return a reply as the query loop gives it: parsed, its bytes but the id in `same`."""
    answer = dns.message.make_response(dns.message.make_query(FQDN, "A"))
    answer.flags |= dns.flags.AA
    answer.answer.append(dns.rrset.from_text(FQDN + ".", 300, "IN", "CNAME", target))
    wire = answer.to_wire()
    return _Reply(dns.message.from_wire(wire), None, rtt, same=wire[2:])


def test_equal_answers_read_once_say_what_each_says_alone() -> None:
    replies = [_reply("cloudcontrol1004.wikimedia.org.", 1.0 + i) for i in range(2)]
    replies.append(_reply("cloudcontrol1003.wikimedia.org.", 9.0))
    seen: dict[bytes, ServerAnswer] = {}
    together = [_read(REGION, s, r, seen, serial=7 + i)
                for i, (s, r) in enumerate(zip(SERVERS, replies, strict=True))]
    alone = [dataclasses.replace(_read(REGION, s, r), serial=7 + i)
             for i, (s, r) in enumerate(zip(SERVERS, replies, strict=True))]
    assert together == alone
    assert len(seen) == 2  # two distinct answers
    assert [(a.server.label, a.rtt_ms, a.serial, a.controller) for a in together] == [
        ("ns0", 1.0, 7, "cloudcontrol1004"), ("ns1", 2.0, 8, "cloudcontrol1004"),
        ("ns2", 9.0, 9, "cloudcontrol1003")]


def test_evolve_is_replace() -> None:
    answer = _read(REGION, SERVERS[0], _reply("cloudcontrol1004.wikimedia.org.", 1.0))
    changes = {"verdict": "matches", "detail": "points at cloudcontrol1004", "serial": 3}
    assert not hasattr(ServerAnswer, "__post_init__")  # what _evolve skips: __init__ only
    evolved = _evolve(answer, **changes)
    assert evolved == dataclasses.replace(answer, **changes)  # type: ignore[arg-type]
    assert evolved is not answer and answer.verdict == "" and hash(evolved)
