"""`status`, `health`, `verify` and `check` for a `[services.*]` or `[groups.*]` name.

A service's record (a group's records, each its own) is asked of every nameserver as a
region's name is (`failover.dnscheck` on `Service.as_region(record)`), the zone is read once
where `failover status` reads it, and the candidates' health is read by kind
(`failover.health`). Everything is returned as data; `failover.render.services` renders it.

Examples:
    >>> status = read_service_status(cfg, cfg.service("irc"))          # doctest: +SKIP
    >>> status.primary, [r.record for r in status.records]             # doctest: +SKIP
    ('irc1001', ['irc.wikimedia.org'])
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from failover.check import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    CheckResult,
    DisagreementLog,
    PerfDatum,
    bounded_config,
    in_background,
    said_nothing,
    unknown,
)
from failover.config import Config, Service
from failover.dnscheck import (
    DnsReport,
    candidate_target_problems,
    check_records,
    check_region,
    wait_for_records,
)
from failover.errors import FailoverError
from failover.health import HealthResult, read_all, read_health
from failover.status import ZoneStatus


@dataclass(frozen=True)
class RecordStatus:
    """One record of a service: what the nameservers and the zone say it points to."""

    record: str
    dns: DnsReport | None
    dns_error: str | None
    zone: ZoneStatus

    @property
    def candidate(self) -> str | None:
        """Return the candidate every nameserver points this record at, or None."""
        return self.dns.controller if self.dns is not None and self.dns.agree else None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: record, candidate, dns (as a region's), zone."""
        dns: dict[str, Any] = {"controller": None, "agree": False, "servers": [],
                               "error": self.dns_error}
        if self.dns is not None:
            doc = self.dns.to_dict()
            dns.update(controller=doc["controller"], agree=doc["agree"], servers=doc["servers"])
        return {"record": self.record, "candidate": self.candidate, "dns": dns,
                "zone": self.zone.to_dict()}


@dataclass(frozen=True)
class ServiceStatus:
    """A service or group as `failover status NAME` shows it."""

    service: Service
    health: dict[str, HealthResult]
    records: tuple[RecordStatus, ...]

    @property
    def primary(self) -> str | None:
        """Return the candidate (side) every record points at, or None (split or unknown)."""
        names = {r.candidate for r in self.records}
        return names.pop() if len(names) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        """Return the `failover status --json` entry of a service (under "services")."""
        return {"group": self.service.group, "zone_file": self.service.zone_file,
                "primary": self.primary, "records": [r.to_dict() for r in self.records],
                "candidates": {n: h.to_dict() for n, h in self.health.items()}}


def _dns_or_error(cfg: Config, svc: Service, record: str) -> tuple[DnsReport | None, str | None]:
    try:
        return check_region(cfg, svc.as_region(record)), None
    except FailoverError as exc:
        return None, exc.message


def zone_statuses(cfg: Config, svc: Service) -> dict[str, ZoneStatus]:
    """Return every record's target in the zone, read once where `failover status` reads it."""
    from failover import status as core
    from failover.zone import ZoneError, current_target, read_zone

    cfg = cfg.for_service(svc)
    if not cfg.dns.checkout.is_dir():
        return {r: ZoneStatus(error="checkout not found") for r in svc.records}
    text, where = core._zone_at_gerrit(cfg)
    if text is None:
        text, where = core._zone_at_remote(cfg)
    source, revision, age = where
    try:
        if text is None:
            text, source = read_zone(cfg.dns.zone_path), "working tree"
    except ZoneError as exc:
        return {r: ZoneStatus(error=exc.message) for r in svc.records}
    out = {}
    for record in svc.records:
        try:
            target = current_target(text, record, path=cfg.dns.zone_file)
        except ZoneError as exc:
            out[record] = ZoneStatus(error=exc.message, source=source, revision=revision,
                                     age_seconds=age)
            continue
        found = svc.candidate_for(record, target)
        out[record] = ZoneStatus(target=target, controller=found.name if found else None,
                                 source=source, revision=revision, age_seconds=age)
    return out


def read_service_status(cfg: Config, svc: Service) -> ServiceStatus:
    """Return the service's status: health, nameservers and zone, read at the same time."""
    with ThreadPoolExecutor(max_workers=1 + len(svc.records),
                            thread_name_prefix="service-status") as pool:
        health = pool.submit(read_all, cfg, svc.candidates)
        answers = {r: pool.submit(_dns_or_error, cfg, svc, r) for r in svc.records}
        zones = zone_statuses(cfg, svc)
        records = tuple(RecordStatus(r, *answers[r].result(), zones[r]) for r in svc.records)
        return ServiceStatus(svc, health.result(), records)


def read_service_health(cfg: Config, svc: Service,
                        only: str | None = None) -> dict[str, HealthResult]:
    """Return the candidates' health (only `only` when given), read at the same time."""
    picked = [svc.candidate(only)] if only is not None else list(svc.candidates)
    return read_all(cfg, picked)


def verify_service(cfg: Config, svc: Service, expect: str | None, *, wait_for: float | None,
                   interval: float,
                   on_round: Callable[[list[DnsReport], int, float], None] | None = None,
                   ) -> list[DnsReport]:
    """Return every record's nameserver report; with `wait_for`, wait until every nameserver
    answers `expect`'s target for every record. Each round asks all records at once."""
    regions = [svc.as_region(record) for record in svc.records]
    if expect is None or wait_for is None:
        return check_records(cfg, [(r, r.controller(expect) if expect else None)
                                   for r in regions])
    return wait_for_records(cfg, [(r, r.controller(expect)) for r in regions],
                            timeout=wait_for, interval=interval, on_round=on_round)


def check_service(cfg: Config, svc: Service, *, grace: float, timeout: float,
                  state_file: Path, deadline: float | None = None,
                  clock: Callable[[], float] = time.time) -> CheckResult:
    """Return the monitoring check's result for a service: every record pointing at one
    candidate, that candidate healthy (CRITICAL if not), the others healthy (WARNING)."""
    if deadline is None:
        deadline = time.monotonic() + timeout
    bounded = bounded_config(cfg, round(max(0.01, deadline - time.monotonic()), 2))
    checks = {c.name: in_background(read_health, bounded, c) for c in svc.candidates}
    answers = {r: in_background(check_region, bounded, svc.as_region(r)) for r in svc.records}
    # each candidate's targets' A/AAAA, as a region's (issue 15); late ones are not judged
    targets = {c.name: in_background(candidate_target_problems, bounded, svc, c.name)
               for c in svc.candidates}
    pending: list[Future[Any]] = [*answers.values(), *checks.values(), *targets.values()]
    wait(pending, timeout=max(0.0, deadline - time.monotonic()))
    late = [f"the nameservers for {r}" for r, f in answers.items() if not f.done()]
    late += [f"the health check of {n}" for n, f in checks.items() if not f.done()]
    if late:
        return unknown(f"check timed out after {timeout:g}s: no answer from {', '.join(late)}")
    reports = {r: f.result() for r, f in answers.items()}
    health = {n: f.result() for n, f in checks.items()}
    problems = {n: "; ".join(p.values()) for n, f in targets.items()
                if f.done() and f.exception() is None and (p := f.result())}
    return judge_service(svc, reports, health, grace=grace, log=DisagreementLog(state_file),
                         now=clock(), targets=problems)


def judge_service(svc: Service, reports: dict[str, DnsReport], health: dict[str, HealthResult],
                  *, grace: float, log: DisagreementLog, now: float,
                  targets: dict[str, str] | None = None) -> CheckResult:
    """Return the check's result for what the nameservers said of every record and the
    candidates' health. `targets`: {candidate: what is wrong with its targets}: the primary's
    is CRITICAL, a standby's WARNING (as a region's controllers)."""
    parts: list[tuple[int, str]] = []
    pointing: Counter[str] = Counter()
    age = 0.0
    details: list[str] = []
    for record, rep in reports.items():
        answered = [a for a in rep.servers if not said_nothing(a)]
        says = Counter(a.controller or a.answer or a.verdict for a in answered)
        for a in rep.servers:
            rtt = f" {a.rtt_ms:.1f} ms" if a.rtt_ms is not None else ""
            details.append(f"{record} at {a.server}: {a.answer or '-'}"
                           f"{f' ({a.controller})' if a.controller else ''} {a.verdict}{rtt}")
        if not answered:
            parts.append((CRITICAL, f"no nameserver answered for {record}"))
            continue
        if len(says) > 1:
            first = max(0.0, now - log.since(f"{svc.name} {record}", now))
            age = max(age, first)
            parts.append((WARNING if first < grace else CRITICAL,
                          f"nameservers disagree on {record} for {first:.0f}s (grace "
                          f"{grace:g}s): " + ", ".join(f"{n} say {w}" for w, n in says.items())))
        else:
            log.clear(f"{svc.name} {record}")
        if len(answered) < len(rep.servers):
            parts.append((WARNING, f"{len(rep.servers) - len(answered)} of {len(rep.servers)} "
                                   f"nameservers did not answer for {record}"))
        top = says.most_common(1)[0][0]
        if top not in svc.candidate_names:
            parts.append((CRITICAL, f"{record} -> {top}: no known "
                                    f"{'side' if svc.group else 'candidate'} "
                                    f"(known: {', '.join(svc.candidate_names)})"))
        else:
            pointing[top] += 1
    primary = pointing.most_common(1)[0][0] if pointing else None
    if len(pointing) > 1:
        parts.append((CRITICAL, "records split: " + ", ".join(
            f"{n} record(s) -> {c}" for c, n in pointing.items())))
    for name, h in health.items():
        details.append(f"{name}: {'healthy' if h.healthy else 'UNHEALTHY'} ({h.checked}: "
                       f"{h.detail}) in {h.ms:.1f} ms")
        if name == primary:
            parts.insert(0, (OK if h.healthy else CRITICAL,
                             f"{svc.name} -> {name}, {'healthy' if h.healthy else 'UNHEALTHY'}"
                             f" ({h.detail})"))
        elif not h.healthy:
            parts.append((WARNING, f"standby {name} UNHEALTHY ({h.detail})"))
        else:
            parts.append((OK, f"standby {name} healthy"))
        if problem := (targets or {}).get(name):
            parts.append((CRITICAL if name == primary else WARNING,
                          f"{'' if name == primary else 'standby '}{problem}"))
    perf = [PerfDatum(f"{n}_healthy", int(h.healthy), minimum=0, maximum=1)
            for n, h in health.items()]
    rtts = [a.rtt_ms for rep in reports.values() for a in rep.servers if a.rtt_ms is not None]
    perf.append(PerfDatum("dns_rtt_max", round(max(rtts), 1) if rtts else None, "ms",
                          minimum=0))
    perf.append(PerfDatum("records_pointing", sum(pointing.values()), minimum=0,
                          maximum=len(reports)))
    perf.append(PerfDatum("dns_disagree_age", round(age), "s", crit=grace, minimum=0))
    if not parts:
        return CheckResult(UNKNOWN, f"{svc.name}: nothing to check", tuple(perf))
    parts.sort(key=lambda p: -p[0])  # the worst first; the primary first among equals
    return CheckResult(max(p[0] for p in parts), "; ".join(p[1] for p in parts), tuple(perf),
                       details=tuple(details))
