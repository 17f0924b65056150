"""Ask nameservers for a record set (SRV or round-robin A/AAAA) and compare it as a set.

An SRV name answers several records at once; which one comes first means nothing. So the
servers' answer is compared with each candidate's members as a set: the targets (absolute,
lower case) and, for SRV, the priority, weight and port where the candidate gives them.
The answer's TTL is reported too: the TTL choreography waits until every server serves the
lowered TTL.

Examples:
    >>> answers = ask_sets(servers, "_etcd._tcp.conftool.eqiad.wmnet", "SRV",
    ...                    {"eqiad": eqiad_members, "codfw": codfw_members})  # doctest: +SKIP
    >>> [(a.server.label, a.verdict, a.ttl) for a in answers]                # doctest: +SKIP
    [('ns0', 'eqiad', 300), ('ns1', 'eqiad', 300)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.rcode
import dns.rdatatype

from failover.dnscheck.query import Question, _Reply, ask_many
from failover.dnscheck.servers import Server
from failover.zone.sets import Member
from failover.zone.setspec import matches

__all__ = ["MISMATCH", "SetAnswer", "agreed", "ask_set", "ask_sets", "judge", "matches",
           "max_ttl"]

MISMATCH = "mismatch"
"""The verdict of an answer that is no candidate's set."""


@dataclass(frozen=True)
class SetAnswer:
    """What one server answered for the set: the candidate it matches (or why not)."""

    server: Server
    verdict: str
    """A candidate's name, MISMATCH, "nxdomain", "nodata", or the query failure."""
    members: tuple[Member, ...] = ()
    ttl: int | None = None
    detail: str = ""


def judge(members: Sequence[Member], candidates: Mapping[str, Sequence[Member]]) -> str:
    """Return the name of the candidate whose set `members` is, else MISMATCH."""
    for name, expected in candidates.items():
        if matches(members, expected):
            return name
    return MISMATCH


def ask_set(server: Server, fqdn: str, rtype: str, candidates: Mapping[str, Sequence[Member]],
            timeout: float = 2.0) -> SetAnswer:
    """Return what `server` answers for `fqdn`'s `rtype` set, judged against `candidates`."""
    return ask_sets([server], fqdn, rtype, candidates, timeout)[0]


def _set_answer(server: Server, fqdn: str, rtype: str,
                candidates: Mapping[str, Sequence[Member]], reply: _Reply) -> SetAnswer:
    """Return the SetAnswer of `server`'s `reply` for `fqdn`'s `rtype` set."""
    if reply.message is None:
        return SetAnswer(server, reply.failure or "error", detail=reply.detail)
    if reply.message.rcode() == dns.rcode.NXDOMAIN:
        return SetAnswer(server, "nxdomain", detail=f"{fqdn} does not exist")
    want = dns.rdatatype.from_text(rtype)
    members: list[Member] = []
    ttl: int | None = None
    for rrset in reply.message.answer:
        if rrset.rdtype != want:
            continue
        ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
        for rd in rrset:
            if rtype.upper() == "SRV":
                members.append(Member(rd.target.to_text().lower(), rd.priority, rd.weight,
                                      rd.port))
            else:
                members.append(Member(rd.to_text()))
    if not members:
        return SetAnswer(server, "nodata", detail=f"no {rtype} record at {fqdn}")
    members.sort(key=Member.key)
    return SetAnswer(server, judge(members, candidates), tuple(members), ttl)


def ask_sets(servers: Sequence[Server], fqdn: str, rtype: str,
             candidates: Mapping[str, Sequence[Member]], timeout: float = 2.0
             ) -> list[SetAnswer]:
    """Return every server's answer for the set, asked at once, in the servers' order."""
    replies = ask_many([Question(s, fqdn, rtype) for s in servers], timeout)
    return [_set_answer(s, fqdn, rtype, candidates, r)
            for s, r in zip(servers, replies, strict=True)]


def agreed(answers: Sequence[SetAnswer]) -> str | None:
    """Return the candidate every server answers, or None when they differ or fail."""
    verdicts = {a.verdict for a in answers}
    if len(verdicts) != 1:
        return None
    verdict = verdicts.pop()
    return None if verdict == MISMATCH or not answers[0].members else verdict


def max_ttl(answers: Sequence[SetAnswer]) -> int | None:
    """Return the longest TTL any server serves for the set (None: some answered none)."""
    ttls = [a.ttl for a in answers]
    if not ttls or any(t is None for t in ttls):
        return None
    return max(t for t in ttls if t is not None)
