"""Whether a controller's target resolves, and to the host whose HAProxy stats are read.

The same judgement applies to every name: a region's controllers, and a service's or group's
candidates, record by record (`target_problems`, `refuse_dangling_candidate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from failover.config import Config, Controller, normalize_target
from failover.dnscheck.query import Question, _query_pool, _Reply, ask_many
from failover.dnscheck.servers import (
    AUTHDNS_HOST,
    Server,
    _is_address,
    resolve_nameservers,
    system_resolver,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import dns.resolver  # imported where used: start-up pays only for what a command needs

    from failover.model import Pointing, Record


@dataclass(frozen=True)
class TargetCheck:
    """What the authoritative servers say of a controller's host name (a CNAME target)."""

    addresses: tuple[str, ...]
    """Every A/AAAA address an authoritative server gave for it."""
    answered: tuple[str, ...]
    """The servers that answered it definitively (authoritative NOERROR or NXDOMAIN)."""
    asked: tuple[str, ...]

    @property
    def dangling(self) -> bool:
        """Return True when some server answered definitively and none gave an address."""
        return bool(self.answered) and not self.addresses


def check_target(cfg: Config, region: Pointing, controller: Controller, *,
                 resolver: dns.resolver.Resolver | None = None) -> TargetCheck | None:
    """Return what the authoritative servers answer for `controller`'s host name (A, AAAA).

    None for an address target (nothing to resolve). Asked at the nameservers `verify` asks
    (`target_servers`), which serve the hosts' zone in production too.
    """
    return check_targets(cfg, [(region, controller)], resolver=resolver)[0]


def target_servers(cfg: Config, fqdn: str,
                   resolver: dns.resolver.Resolver | None = None) -> tuple[Server, ...]:
    """Return the servers a target's existence is asked at: the nameservers (`[verify]
    nameservers`, or the zone's NS), not the `[verify] authdns_hosts` beside them.

    The authdns hosts serve the very zone data the nameservers' addresses are routed to
    (ns0/ns1 to a few of them, ns2 anycast from all), so asking the target's A/AAAA at 16
    hosts as well as at 3 nameservers tells nothing more and costs 2 x 16 queries a record.
    Safety is kept: fewer servers asked can only find fewer addresses, so a target dangling
    at every nameserver is still refused (never let through because one host has it). The
    cost: when no nameserver answers, the check says it could not check (a warning, as
    before with every server down) even if the hosts would have answered. When the
    nameservers resolve to no server at all, the hosts are asked.
    """
    servers = resolve_nameservers(cfg, fqdn, resolver)
    return tuple(s for s in servers if s.role != AUTHDNS_HOST) or servers


def check_targets(cfg: Config, items: Sequence[tuple[Pointing, Controller]], *,
                  resolver: dns.resolver.Resolver | None = None) -> list[TargetCheck | None]:
    """Return `check_target` of every (record, controller), in order, all asked at once.

    Each distinct target is asked once per set of servers (A and AAAA at each): a group's
    records often share targets, and its servers are resolved once when configured (the
    zone's NS, looked up, can differ from record to record).
    """
    by_name: dict[str, tuple[Server, ...]] = {}
    wanted: list[tuple[tuple[Server, ...], str] | None] = []
    for region, controller in items:
        if controller.record_type != "CNAME" or getattr(region, "set_type", None) is not None:
            wanted.append(None)  # an address; a set's hosts are each checked by its health
            continue
        key = "" if cfg.verify.nameservers else region.fqdn
        if key not in by_name:
            by_name[key] = target_servers(cfg, region.fqdn, resolver)
        wanted.append((by_name[key], controller.target))
    jobs = list(dict.fromkeys((server, w[1], rdtype) for w in wanted if w is not None
                              for server in w[0] for rdtype in ("A", "AAAA")))
    replies = dict(zip(jobs, ask_many([Question(*j) for j in jobs], cfg.verify.query_timeout),
                       strict=True))
    return [None if w is None else _target_check(w[0], w[1], replies) for w in wanted]


def _target_check(servers: tuple[Server, ...], target: str,
                  replies: dict[tuple[Server, str, str], _Reply]) -> TargetCheck:
    """Return the TargetCheck of `target` from the `servers`' replies (A and AAAA)."""
    name = dns.name.from_text(target)
    found: set[str] = set()
    answered: set[str] = set()
    for server in servers:
        for rdtype in ("A", "AAAA"):
            msg = replies[(server, target, rdtype)].message
            if msg is None or not msg.flags & dns.flags.AA or msg.rcode() not in (
                    dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                continue
            answered.add(str(server))
            rrset = msg.get_rrset(msg.answer, name, dns.rdataclass.IN,
                                  dns.rdatatype.from_text(rdtype))
            found.update(normalize_target(r.address) for r in rrset or ())
    return TargetCheck(tuple(sorted(found)), tuple(sorted(answered)),
                       tuple(str(s) for s in servers))


def stats_host_addresses(cfg: Config, controller: Controller) -> tuple[str, str] | None:
    """Return (host, its addresses joined) of the controller's stats URL, or None.

    None when it is not checkable: a unix socket (no host), or a name the system resolver
    cannot resolve within [verify] query_timeout.
    """
    host = _stats_host(controller)
    if not host:
        return None
    if _is_address(host):
        return host, normalize_target(host)
    resolver = system_resolver(cfg.verify.query_timeout)
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            addresses += [normalize_target(r.address) for r in resolver.resolve(host, rdtype)]
        except dns.exception.DNSException:
            continue
    return (host, " ".join(sorted(addresses))) if addresses else None


def _stats_host(controller: Controller) -> str | None:
    """Return the host of the controller's stats URL (None: a unix socket, or unreadable)."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(controller.stats).hostname
    except ValueError:
        return None


def target_problem(cfg: Config, controller: Controller,
                   found: TargetCheck | None) -> str | None:
    """Return what is wrong with `controller`'s target, as text, or None (fine or unchecked).

    The one judgement `promote`, `verify` and `check` share, given what `check_target` found:
    "does not resolve (...)" when a server answered definitively and none gave an address;
    "resolves to ..., none of the stats host's addresses (...)" when the stats URL's host
    (an address, or a name the system resolver resolves) shares no address with it. The text
    follows the target's name: "its target T does not resolve", "T which does not resolve".
    """
    if found is None or (not found.addresses and not found.dangling):
        return None
    if found.dangling:
        return f"does not resolve (no A or AAAA record at {', '.join(found.answered)})"
    stats = stats_host_addresses(cfg, controller)
    if stats is not None and not set(stats[1].split()) & set(found.addresses):
        return (f"resolves to {', '.join(found.addresses)}, none of the stats host's "
                f"addresses ({stats[0]}: {stats[1]})")
    return None


def find_target_problem(cfg: Config, region: Pointing, controller: Controller) -> str | None:
    """Ask the authoritative servers for `controller`'s target; return its problem or None."""
    return find_target_problems(cfg, [(region, controller)])[0]


def find_target_problems(cfg: Config, items: Sequence[tuple[Pointing, Controller]],
                         ) -> list[str | None]:
    """Return `find_target_problem` of every (record, controller), in order, each distinct
    target asked once (`check_targets`)."""
    found = list(zip((c for _, c in items), check_targets(cfg, items), strict=True))
    if not any(f is not None and f.addresses and not _is_address(_stats_host(c) or "::")
               for c, f in found):  # no stats host name to look up: nothing to wait for
        return [target_problem(cfg, c, f) for c, f in found]
    # concurrently: a stats URL's host name is looked up (system resolver) per record
    return list(_query_pool().map(lambda j: target_problem(cfg, j[0], j[1]), found))


def refuse_dangling_target(cfg: Config, region: Pointing, controller: Controller) -> str | None:
    """Raise GateRefused when `controller`'s host name does not resolve, or resolves to another
    host than the one its HAProxy stats are read from; return a warning when not checkable.

    Checkable: a CNAME target, asked at the authoritative servers (A and AAAA); compared with
    the stats URL's host when that host is an address or resolves (not for unix:// stats).
    An address target (A/AAAA record, possibly a service address) is not compared.
    """
    return _refuse_dangling(cfg, controller, check_target(cfg, region, controller))


def _refuse_dangling(cfg: Config, controller: Controller,
                     found: TargetCheck | None) -> str | None:
    """`refuse_dangling_target`, given what `check_target` found."""
    from failover.errors import GateRefused

    if found is None:
        return None
    if not found.addresses and not found.dangling:
        return (f"could not check that {controller.target} resolves: no authoritative answer "
                f"from {', '.join(found.asked)}")
    if problem := target_problem(cfg, controller, found):
        raise GateRefused(
            f"refusing to promote {controller.name}: its target {controller.target} {problem}",
            hint="fix the controller's target (a typo? a retired host?) or stats in the "
                 "config, or add the host's record first")
    return None


def target_problems(cfg: Config, records: Sequence[Record], name: str) -> dict[str, str]:
    """Return {record: what is wrong with its target} for candidate `name` of a name's
    `records` (a region's controller, a service's candidate, a group's side): `target_problem`,
    per record; the records whose target is fine or unchecked are left out."""
    problems = find_target_problems(cfg, [(r, r.controller(name)) for r in records])
    return {r.fqdn: p for r, p in zip(records, problems, strict=True) if p is not None}


def refuse_dangling_candidate(cfg: Config, records: Sequence[Record], name: str, *,
                              per_record: bool = True) -> list[str]:
    """Raise GateRefused when a target of candidate `name` (any record) does not resolve, as
    `refuse_dangling_target` does for a region's controller; return the warnings of the
    records that could not be checked (`per_record`: each names its record, as a service's
    and a group's do; a region's one record is not named)."""
    from failover.errors import GateRefused

    warnings: list[str] = []
    controllers = [record.controller(name) for record in records]
    found = check_targets(cfg, list(zip(records, controllers, strict=True)))
    for record, controller, checked in zip(records, controllers, found, strict=True):
        try:
            if warning := _refuse_dangling(cfg, controller, checked):
                warnings.append(f"{record.fqdn}: {warning}" if per_record else warning)
        except GateRefused as exc:
            if not per_record:
                raise
            raise GateRefused(f"{exc.message} (record {record.fqdn})",
                              hint="fix the candidate's target in the config (a typo? a "
                                   "retired host?), or add the host's A/AAAA record "
                                   "first") from None
    return warnings
