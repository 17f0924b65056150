"""One round over every server (check_region), every region (check_regions), and rounds until
they agree or the timeout passes (wait_for_agreement, on failover.retry's Poller)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dns.rcode
import dns.rdatatype

from failover.config import Config, Controller, Region
from failover.dnscheck.judge import (
    DnsReport,
    ServerAnswer,
    _fresh_by,
    _judge,
    _most_common,
    _read,
)
from failover.dnscheck.query import Question, _Reply, ask_many
from failover.dnscheck.servers import (
    AUTHDNS_HOST,
    Server,
    _is_address,
    _servers_for,
    resolve_nameservers,
    system_resolver,
    zone_of,
)
from failover.errors import UsageError
from failover.retry import Poller

if TYPE_CHECKING:
    import dns.resolver  # imported where used: start-up pays only for what a command needs

    from failover.model import Pointing

log = logging.getLogger("failover.dnscheck")


MIN_INTERVAL = 0.1
"""Shortest pause between two polling rounds: at most 10 queries a second per server."""


BACKOFF = 1.5
"""Factor the pause grows by after each round, up to the cap."""


def check_region(cfg: Config, region: Pointing, expect: Controller | None = None, *,
                 resolver: dns.resolver.Resolver | None = None) -> DnsReport:
    """Return every nameserver's answer for `region`, judged against `expect` (or each other).

    Raises:
        UsageError: `expect` is not a controller of `region`, or no nameserver can be found.
    """
    _check_expect(region, expect)
    servers = resolve_nameservers(cfg, region.fqdn, resolver)
    return _ask_all(cfg, region, expect, servers, _recursors(cfg, resolver))


def check_regions(cfg: Config, regions: Iterable[Region] | None = None, *,
                  resolver: dns.resolver.Resolver | None = None) -> dict[str, DnsReport]:
    """Return {region name: DnsReport} for `regions` (default: all), asked concurrently."""
    chosen = list(cfg.regions.values() if regions is None else regions)
    if not chosen:
        return {}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        reports = list(pool.map(lambda r: check_region(cfg, r, resolver=resolver), chosen))
    return {r.name: rep for r, rep in zip(chosen, reports, strict=True)}


def wait_for_agreement(
    cfg: Config, region: Pointing, expect: Controller, *, timeout: float, interval: float,
    max_interval: float | None = None,
    on_round: Callable[[DnsReport, int, float], None] | None = None,
    resolver: dns.resolver.Resolver | None = None,
) -> DnsReport:
    """Return the last report, once every server matches `expect` or `timeout` has passed.

    The pause between rounds starts at `interval` and grows by BACKOFF up to `max_interval`
    (default: [verify] interval). `on_round(report, round_number, next_pause)` is called after
    each round; `next_pause` is 0.0 after the last one. The caller decides the exit code.
    """
    def each(reports: list[DnsReport], number: int, pause: float) -> None:
        if on_round is not None:
            on_round(reports[0], number, pause)

    return wait_for_records(cfg, [(region, expect)], timeout=timeout, interval=interval,
                            max_interval=max_interval, on_round=each, resolver=resolver)[0]


def check_records(cfg: Config, items: Sequence[tuple[Pointing, Controller | None]], *,
                  resolver: dns.resolver.Resolver | None = None) -> list[DnsReport]:
    """Return one report per (record, expected controller or None), all asked in
    one round: every record at every server at once (the servers resolved once)."""
    if not items:
        return []
    for region, expect in items:
        _check_expect(region, expect)
    servers = resolve_nameservers(cfg, items[0][0].fqdn, resolver)
    return ask_round(cfg, items, servers, _recursors(cfg, resolver))


def wait_for_records(
    cfg: Config, items: Sequence[tuple[Pointing, Controller]], *, timeout: float,
    interval: float, max_interval: float | None = None,
    on_round: Callable[[list[DnsReport], int, float], None] | None = None,
    resolver: dns.resolver.Resolver | None = None,
) -> list[DnsReport]:
    """Return the last round's reports, once every server answers every record's expected
    controller or `timeout` has passed: `wait_for_agreement` for several records, each
    round asking all of them at once."""
    for region, expect in items:
        _check_expect(region, expect)
    servers = resolve_nameservers(cfg, items[0][0].fqdn, resolver)
    recursors = _recursors(cfg, resolver)
    cap = max(MIN_INTERVAL, max_interval if max_interval is not None else cfg.verify.interval)
    poller = Poller(delay=max(MIN_INTERVAL, interval), factor=BACKOFF, cap=cap,
                    timeout=timeout)
    planned = poller.planned()
    for attempt in poller:
        reports = ask_round(cfg, items, servers, recursors)
        done = all(r.agree for r in reports) or attempt.last
        next_pause = 0.0 if done else attempt.pause
        for (region, expect), report in zip(items, reports, strict=True):
            if not done and not report.agree:
                log.info("[%d/%d, retrying in %.1fs] %s: %d of %d servers answer %s",
                         attempt.number, max(planned, attempt.number + 1), next_pause,
                         region.fqdn, report.matching, len(report.servers), expect.name)
        if on_round is not None:
            on_round(reports, attempt.number, next_pause)
        if done:
            return reports
    raise AssertionError("unreachable: the last round returns")


def _check_expect(region: Pointing, expect: Controller | None) -> None:
    if expect is not None and expect not in region.controllers:
        raise UsageError(f"{expect.name!r} is not a controller of region {region.name!r}",
                         hint=f"choose one of: {', '.join(region.controller_names)}")


def _recursors(cfg: Config, resolver: dns.resolver.Resolver | None) -> tuple[Server, ...]:
    names = cfg.verify.recursors
    if not all(_is_address(ns.host) for ns in names):
        resolver = resolver or system_resolver(cfg.verify.query_timeout)
    return _servers_for(names, resolver)


def _ask_all(cfg: Config, region: Pointing, expect: Controller | None,
             servers: Sequence[Server], recursors: Sequence[Server]) -> DnsReport:
    """Return the report of one round: every server (and recursor) asked concurrently."""
    return ask_round(cfg, [(region, expect)], servers, recursors)[0]


def ask_round(cfg: Config, items: Sequence[tuple[Pointing, Controller | None]],
              servers: Sequence[Server], recursors: Sequence[Server] = ()) -> list[DnsReport]:
    """Return one report per (record, expected controller) of one round.

    Every query of the round goes out at once (`ask_many`): each record at every
    server (and recursor, with RD), and the zone's SOA once per authdns host (its serial).
    """
    timeout = cfg.verify.query_timeout
    everyone = [*servers, *recursors]
    jobs = [Question(srv, region.fqdn, rdtype, i >= len(servers))
            for region, rdtype in ((r, _rdtype(r)) for r, _ in items)
            for i, srv in enumerate(everyone)]
    zones = sorted({zone_of(cfg, region.fqdn) for region, _ in items})
    hosts = [s for s in servers if s.role == AUTHDNS_HOST]
    jobs += [Question(h, zone, "SOA") for zone in zones for h in hosts]
    checked_at = datetime.now(UTC)
    replies = ask_many(jobs, timeout)
    serials = {(job[0], job[1]): _serial(reply) for job, reply in
               zip(jobs[len(items) * len(everyone):], replies[len(items) * len(everyone):],
                   strict=True)}
    reports = []
    for n, (region, expect) in enumerate(items):
        mine = replies[n * len(everyone):(n + 1) * len(everyone)]
        zone = zone_of(cfg, region.fqdn)
        seen: dict[bytes, ServerAnswer] = {}  # equal answers (most of them) read once
        answers = [_read(region, s, r, seen, serial=serials.get((s, zone)))
                   for s, r in zip(everyone, mine, strict=True)]
        reports.append(_judged(region, expect, answers, len(servers), checked_at))
    return reports


def _judged(region: Pointing, expect: Controller | None, answers: list[ServerAnswer],
            count: int, checked_at: datetime) -> DnsReport:
    """Return the report of `answers` (the first `count` authoritative, then recursors)."""
    auth, recs = answers[:count], answers[count:]
    reference = expect.name if expect else _most_common(a.controller for a in auth)
    expected = expect is not None
    split = "" if expected or reference else ", ".join(
        f"{a.server} says {a.controller}" for a in auth if a.controller)
    judged = tuple(_judge(region, a, reference, expected, split=split) for a in auth)
    rjudged = tuple(_fresh_by(_judge(region, a, reference, expected, need_aa=False), checked_at)
                    for a in recs)
    return DnsReport(region=region.name, fqdn=region.fqdn,
                     expected=expect.name if expect else None, servers=judged,
                     recursors=rjudged, checked_at=checked_at)


def _rdtype(region: Pointing) -> str:
    """Return the type to ask for the record: a set's own (SRV), AAAA for an IPv6-only
    region, else A."""
    set_type = getattr(region, "set_type", None)
    if set_type is not None:
        return str(set_type)
    return "AAAA" if {c.record_type for c in region.controllers} == {"AAAA"} else "A"


def _serial(reply: _Reply) -> int | None:
    """Return the SOA serial of an authoritative answer, else None."""
    msg = reply.message
    if msg is None or msg.rcode() != dns.rcode.NOERROR:
        return None
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return int(rrset[0].serial)
    return None
