"""One round over every server (check_region), every region (check_regions), and rounds until
they agree or the timeout passes (wait_for_agreement, on failover.retry's Poller)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from failover.config import Config, Controller, Region
from failover.dnscheck.judge import DnsReport, _fresh_by, _judge, _most_common, _read
from failover.dnscheck.query import _ask, _query_pool
from failover.dnscheck.servers import (
    Server,
    _is_address,
    _servers_for,
    resolve_nameservers,
    system_resolver,
)
from failover.errors import UsageError
from failover.retry import Poller

if TYPE_CHECKING:
    import dns.resolver  # imported where used: start-up pays only for what a command needs

log = logging.getLogger("failover.dnscheck")


MIN_INTERVAL = 0.1
"""Shortest pause between two polling rounds: at most 10 queries a second per server."""


BACKOFF = 1.5
"""Factor the pause grows by after each round, up to the cap."""


def check_region(cfg: Config, region: Region, expect: Controller | None = None, *,
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
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        reports = list(pool.map(lambda r: check_region(cfg, r, resolver=resolver), chosen))
    return {r.name: rep for r, rep in zip(chosen, reports, strict=True)}


def wait_for_agreement(
    cfg: Config, region: Region, expect: Controller, *, timeout: float, interval: float,
    max_interval: float | None = None,
    on_round: Callable[[DnsReport, int, float], None] | None = None,
    resolver: dns.resolver.Resolver | None = None,
) -> DnsReport:
    """Return the last report, once every server matches `expect` or `timeout` has passed.

    The pause between rounds starts at `interval` and grows by BACKOFF up to `max_interval`
    (default: [verify] interval). `on_round(report, round_number, next_pause)` is called after
    each round; `next_pause` is 0.0 after the last one. The caller decides the exit code.
    """
    _check_expect(region, expect)
    servers = resolve_nameservers(cfg, region.fqdn, resolver)
    recursors = _recursors(cfg, resolver)
    cap = max(MIN_INTERVAL, max_interval if max_interval is not None else cfg.verify.interval)
    poller = Poller(delay=max(MIN_INTERVAL, interval), factor=BACKOFF, cap=cap,
                    timeout=timeout)
    planned = poller.planned()
    for attempt in poller:
        report = _ask_all(cfg, region, expect, servers, recursors)
        done = report.agree or attempt.last
        next_pause = 0.0 if done else attempt.pause
        if not done:
            log.info("[%d/%d, retrying in %.1fs] %s: %d of %d servers answer %s",
                     attempt.number, max(planned, attempt.number + 1), next_pause,
                     region.fqdn, report.matching, len(report.servers), expect.name)
        if on_round is not None:
            on_round(report, attempt.number, next_pause)
        if done:
            return report
    raise AssertionError("unreachable: the last round returns")


def _check_expect(region: Region, expect: Controller | None) -> None:
    if expect is not None and expect not in region.controllers:
        raise UsageError(f"{expect.name!r} is not a controller of region {region.name!r}",
                         hint=f"choose one of: {', '.join(region.controller_names)}")


def _recursors(cfg: Config, resolver: dns.resolver.Resolver | None) -> tuple[Server, ...]:
    names = cfg.verify.recursors
    if not all(_is_address(ns.host) for ns in names):
        resolver = resolver or system_resolver(cfg.verify.query_timeout)
    return _servers_for(names, resolver)


def _ask_all(cfg: Config, region: Region, expect: Controller | None,
             servers: Sequence[Server], recursors: Sequence[Server]) -> DnsReport:
    """Return the report of one round: every server (and recursor) asked concurrently."""
    rdtype = "AAAA" if {c.record_type for c in region.controllers} == {"AAAA"} else "A"
    timeout = cfg.verify.query_timeout
    everyone = [*servers, *recursors]
    checked_at = datetime.now(UTC)
    replies = list(_query_pool().map(
        lambda i: _ask(everyone[i], region.fqdn, rdtype, timeout, recursion=i >= len(servers)),
        range(len(everyone))))
    answers = [_read(region, s, r) for s, r in zip(everyone, replies, strict=True)]
    auth, recs = answers[:len(servers)], answers[len(servers):]
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
