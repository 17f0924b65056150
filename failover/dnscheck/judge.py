"""Judging the answers: what each server says of a region's name (matches, stale, differs,
wrong) and the report of a round."""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from failover.config import normalize_target
from failover.dnscheck.query import _Reply
from failover.dnscheck.servers import AUTHDNS_HOST, Server

if TYPE_CHECKING:
    import dns.resolver  # imported where used: start-up pays only for what a command needs
    import dns.rrset

    from failover.model import Pointing

MATCHES = "matches"
"""The server answers the expected controller's target."""


STALE = "stale"
"""The server still answers another controller of the region (the old target)."""


DIFFERS = "differs"
"""Without an expected controller: another controller than most servers answer."""


WRONG = "wrong"
"""The server answers something that is no controller of the region (or no record)."""


@dataclass(frozen=True)
class ServerAnswer:
    """What one server said about the name, and the verdict on it."""

    server: Server
    verdict: str
    detail: str = ""
    records: tuple[str, ...] = ()
    record_type: str | None = None
    ttl: int | None = None
    aa: bool | None = None
    rtt_ms: float | None = None
    controller: str | None = None
    tcp: bool = False
    final_addresses: tuple[str, ...] = ()
    fresh_by: datetime | None = None
    serial: int | None = None
    """The zone's SOA serial (asked of authdns hosts), when it answered."""

    @property
    def answer(self) -> str | None:
        """Return the record as one string (the CNAME target, or the addresses), or None."""
        return ", ".join(self.records) if self.records else None

    @property
    def ok(self) -> bool:
        """Return True if the verdict is `matches`."""
        return self.verdict == MATCHES

    def to_dict(self, *, recursor: bool = False) -> dict[str, Any]:
        """Return the JSON form: server, answer, ttl, aa, rtt_ms, verdict, and extra fields."""
        doc: dict[str, Any] = {
            "server": str(self.server), "answer": self.answer, "ttl": self.ttl, "aa": self.aa,
            "rtt_ms": self.rtt_ms, "verdict": self.verdict, "detail": self.detail,
            "controller": self.controller, "type": self.record_type,
            "records": list(self.records), "address": self.server.address,
            "port": self.server.port, "tcp": self.tcp,
            "final_addresses": list(self.final_addresses),
            "role": self.server.role, "serial": self.serial,
        }
        if recursor:
            doc["fresh_by"] = self.fresh_by.isoformat() if self.fresh_by else None
        return doc


@dataclass(frozen=True)
class DnsReport:
    """Every server's answer for one region's name at one moment."""

    region: str
    fqdn: str
    expected: str | None
    servers: tuple[ServerAnswer, ...]
    recursors: tuple[ServerAnswer, ...] = ()
    checked_at: datetime | None = None

    @property
    def agree(self) -> bool:
        """Return True if every server matches (the expected controller, else one controller)."""
        return bool(self.servers) and all(s.ok for s in self.servers)

    @property
    def controller(self) -> str | None:
        """Return the controller every server points at, or None if they do not all agree."""
        names = {s.controller for s in self.servers}
        return names.pop() if self.servers and len(names) == 1 else None

    @property
    def matching(self) -> int:
        """Return how many servers match."""
        return sum(s.ok for s in self.servers)

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON document of issue 4 (plus added fields)."""
        return {
            "region": self.region, "fqdn": self.fqdn, "expected": self.expected,
            "agree": self.agree, "controller": self.controller,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "servers": [s.to_dict() for s in self.servers],
            "recursors": [r.to_dict(recursor=True) for r in self.recursors],
            "authdns_hosts": self.hosts_summary(),
        }

    @property
    def hosts(self) -> tuple[ServerAnswer, ...]:
        """Return the answers of the [verify] authdns_hosts (also among `servers`)."""
        return tuple(s for s in self.servers if s.server.role == AUTHDNS_HOST)

    def hosts_summary(self) -> dict[str, Any]:
        """Return the authdns hosts in a few numbers: asked, matching, those not answering
        (named), and the serials they serve."""
        hosts = self.hosts
        return {"asked": len(hosts), "matching": sum(h.ok for h in hosts),
                "not_answering": [str(h.server) for h in hosts if h.rtt_ms is None],
                "not_matching": [str(h.server) for h in hosts if not h.ok],
                "serials": sorted({h.serial for h in hosts if h.serial is not None})}


def _evolve(answer: ServerAnswer, **changes: Any) -> ServerAnswer:
    """Return `answer` with `changes`: `dataclasses.replace` without running `__init__` again
    (ServerAnswer has no `__post_init__`), ~1.5 us instead of ~15; a round of 26 records at
    17 servers makes ~900 of them."""
    new = object.__new__(ServerAnswer)
    new.__dict__.update(answer.__dict__, **changes)
    return new


def _read(region: Pointing, server: Server, reply: _Reply,
          seen: dict[bytes, ServerAnswer] | None = None, *,
          serial: int | None = None) -> ServerAnswer:
    """Return what the reply says (records, TTL, controller), with a verdict for failures only;
    with the zone's `serial` the server gave, if any (an authdns host's).

    `seen` ({answer bytes: what it says}, kept by the caller for one record's round) reads
    each distinct answer once: equal answers from other servers differ only in who and when.
    """
    if seen is None or not reply.same:
        alone = _read_reply(region, server, reply)
        return alone if serial is None else _evolve(alone, serial=serial)
    said = seen.get(reply.same)
    if said is None:
        said = seen[reply.same] = _read_reply(region, server, reply)
    return _evolve(said, server=server, rtt_ms=reply.rtt_ms, tcp=reply.tcp, serial=serial)


def _read_reply(region: Pointing, server: Server, reply: _Reply) -> ServerAnswer:
    """`_read` of one reply."""
    base = ServerAnswer(server=server, verdict="", rtt_ms=reply.rtt_ms, tcp=reply.tcp)
    msg = reply.message
    if msg is None:
        return replace(base, verdict=reply.failure or "error", detail=reply.detail)
    aa = bool(msg.flags & dns.flags.AA)
    base = replace(base, aa=aa)
    rcode = msg.rcode()
    if rcode != dns.rcode.NOERROR:
        text = dns.rcode.to_text(rcode)
        verdict = text.lower() if text in ("NXDOMAIN", "SERVFAIL", "REFUSED") else f"error: {text}"
        return replace(base, verdict=verdict, detail=f"rcode {text}")
    qname = _qname(region.fqdn)
    cname = msg.get_rrset(msg.answer, qname, dns.rdataclass.IN, dns.rdatatype.CNAME)
    if cname is not None:
        target = normalize_target(str(cname[0].target))
        return replace(base, records=(target,), record_type="CNAME", ttl=cname.ttl,
                        controller=_controller(region, target),
                        final_addresses=_chase(msg, cname[0].target))
    rdtype = msg.question[0].rdtype if msg.question else dns.rdatatype.A
    rrset = msg.get_rrset(msg.answer, qname, dns.rdataclass.IN, rdtype)
    if rrset is None:
        return replace(base, record_type=None)
    if getattr(region, "set_type", None) is not None:  # an SRV or round-robin set, as one
        return _read_set(region, base, rrset)
    addrs = tuple(sorted((normalize_target(r.address) for r in rrset),
                         key=lambda a: ipaddress.ip_address(a)))
    return replace(base, records=addrs, record_type=dns.rdatatype.to_text(rdtype),
                    ttl=rrset.ttl, final_addresses=addrs,
                    controller=_controller(region, addrs[0]) if len(addrs) == 1 else None)


def _read_set(region: Pointing, base: ServerAnswer, rrset: dns.rrset.RRset) -> ServerAnswer:
    """Return a set's answer: its members (`P W PORT TARGET` for SRV), the candidate whose
    set it is (`failover.zone.setspec.matches_set`: any order)."""
    from failover.zone.sets import Member
    from failover.zone.setspec import format_set

    if rrset.rdtype == dns.rdatatype.SRV:
        members = sorted((Member(r.target.to_text().lower(), r.priority, r.weight, r.port)
                          for r in rrset), key=Member.key)
        final: tuple[str, ...] = ()
    else:
        members = sorted((Member(normalize_target(r.address)) for r in rrset),
                         key=lambda m: ipaddress.ip_address(m.target))
        final = tuple(m.target for m in members)
    spec = format_set(members)
    return replace(base, records=tuple(spec.split(", ")),
                   record_type=dns.rdatatype.to_text(rrset.rdtype), ttl=rrset.ttl,
                   final_addresses=final, controller=_controller(region, spec))


def _judge(region: Pointing, answer: ServerAnswer, reference: str | None, expected: bool,
           need_aa: bool = True, split: str = "") -> ServerAnswer:
    """Return `answer` with its verdict: matches, stale, differs, wrong, not authoritative.

    Without an expected controller and no majority (`reference` None, e.g. a 1-1 split),
    `split` says which server says what.
    """
    if answer.verdict:
        return answer
    if need_aa and not answer.aa:
        return _evolve(answer, verdict="not authoritative", detail="AA flag not set")
    if answer.controller is not None and answer.controller == reference:
        return _evolve(answer, verdict=MATCHES, detail=f"points at {answer.controller}")
    if answer.controller is not None:
        if expected:
            return _evolve(answer, verdict=STALE,
                            detail=f"old target, not yet {reference}")
        others = f"most say {reference}" if reference else f"no majority: {split}"
        return _evolve(answer, verdict=DIFFERS, detail=f"points at {answer.controller}; {others}")
    if not answer.records:
        return _evolve(answer, verdict=WRONG, detail="no record of the expected type (NODATA)")
    if getattr(region, "set_type", None) is not None:
        detail = f"{', '.join(answer.records)} is no candidate's set of {region.name}"
    elif len(answer.records) > 1:
        detail = f"{len(answer.records)} addresses; a controller is one"
    else:
        detail = f"{answer.records[0]} is no controller of {region.name}"
    return _evolve(answer, verdict=WRONG, detail=detail)


def _fresh_by(answer: ServerAnswer, now: datetime) -> ServerAnswer:
    """Return a recursor's answer with the time it will have the new record at the latest."""
    if answer.ok or answer.ttl is None:
        return answer
    return replace(answer, fresh_by=now + timedelta(seconds=answer.ttl))


@functools.lru_cache(maxsize=1024)  # per round: each record's few targets, at every server
def _controller(region: Pointing, target: str) -> str | None:
    found = region.controller_for_target(target)
    return found.name if found else None


@functools.lru_cache(maxsize=1024)
def _qname(fqdn: str) -> dns.name.Name:
    return dns.name.from_text(fqdn)


def _chase(msg: dns.message.Message, target: dns.name.Name) -> tuple[str, ...]:
    """Return the addresses the reply itself gives for the CNAME chain from `target`."""
    for _ in range(8):
        nxt = msg.get_rrset(msg.answer, target, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if nxt is None:
            break
        target = nxt[0].target
    found: list[str] = []
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        rrset = msg.get_rrset(msg.answer, target, dns.rdataclass.IN, rdtype)
        found += [normalize_target(r.address) for r in rrset or ()]
    return tuple(found)


def _most_common(names: Iterable[str | None]) -> str | None:
    """Return the name most servers give; None when there is none or no single most (a tie)."""
    top = Counter(n for n in names if n is not None).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]
