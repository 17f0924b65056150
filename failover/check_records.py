"""`failover check` for a name of several possible records (a service, a group).

Every record is asked of every nameserver (`failover.dnscheck`, on the name's records of
`failover.model`), every candidate's health read by its kind (`failover.health`), and the
whole judged as one plugin result: every record pointing at one candidate, that candidate
healthy (CRITICAL if not), the others healthy (WARNING).

Examples:
    >>> check_name(cfg, name_of(cfg, "irc"), grace=300, timeout=10,
    ...            state_file=Path("/tmp/s"))                               # doctest: +SKIP
    CheckResult(state=0, summary='irc -> irc1001, healthy (connected to ...)', ...)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, wait
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
from failover.config import Config
from failover.dnscheck import DnsReport, candidate_target_problems, check_region
from failover.health import HealthResult
from failover.model import FailoverName
from failover.status import candidate_health


def check_name(cfg: Config, name: FailoverName, *, grace: float, timeout: float,
                  state_file: Path, deadline: float | None = None,
                  clock: Callable[[], float] = time.time) -> CheckResult:
    """Return the monitoring check's result for a service: every record pointing at one
    candidate, that candidate healthy (CRITICAL if not), the others healthy (WARNING)."""
    if deadline is None:
        deadline = time.monotonic() + timeout
    bounded = bounded_config(cfg, round(max(0.01, deadline - time.monotonic()), 2))
    checks = {c.name: in_background(candidate_health, bounded, name, c)
              for c in name.candidates}
    answers = {r.fqdn: in_background(check_region, bounded, r) for r in name.records}
    # each candidate's targets' A/AAAA, as a region's (issue 15); late ones are not judged
    targets = {c.name: in_background(candidate_target_problems, bounded, name.records, c.name)
               for c in name.candidates}
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
    return judge_name(name, reports, health, grace=grace, log=DisagreementLog(state_file),
                         now=clock(), targets=problems)


def judge_name(name: FailoverName, reports: dict[str, DnsReport], health: dict[str, HealthResult],
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
            first = max(0.0, now - log.since(f"{name.name} {record}", now))
            age = max(age, first)
            parts.append((WARNING if first < grace else CRITICAL,
                          f"nameservers disagree on {record} for {first:.0f}s (grace "
                          f"{grace:g}s): " + ", ".join(f"{n} say {w}" for w, n in says.items())))
        else:
            log.clear(f"{name.name} {record}")
        if len(answered) < len(rep.servers):
            parts.append((WARNING, f"{len(rep.servers) - len(answered)} of {len(rep.servers)} "
                                   f"nameservers did not answer for {record}"))
        top = says.most_common(1)[0][0]
        if top not in name.candidate_names:
            parts.append((CRITICAL, f"{record} -> {top}: no known "
                                    f"{'side' if name.kind == 'group' else 'candidate'} "
                                    f"(known: {', '.join(name.candidate_names)})"))
        else:
            pointing[top] += 1
    primary = pointing.most_common(1)[0][0] if pointing else None
    if len(pointing) > 1:
        parts.append((CRITICAL, "records split: " + ", ".join(
            f"{n} record(s) -> {c}" for c, n in pointing.items())))
    for cand, h in health.items():
        details.append(f"{cand}: {'healthy' if h.healthy else 'UNHEALTHY'} ({h.checked}: "
                       f"{h.detail}) in {h.ms:.1f} ms")
        if cand == primary:
            parts.insert(0, (OK if h.healthy else CRITICAL,
                             f"{name.name} -> {cand}, {'healthy' if h.healthy else 'UNHEALTHY'}"
                             f" ({h.detail})"))
        elif not h.healthy:
            parts.append((WARNING, f"standby {cand} UNHEALTHY ({h.detail})"))
        else:
            parts.append((OK, f"standby {cand} healthy"))
        if problem := (targets or {}).get(cand):
            parts.append((CRITICAL if cand == primary else WARNING,
                          f"{'' if cand == primary else 'standby '}{problem}"))
    perf = [PerfDatum(f"{n}_healthy", int(h.healthy), minimum=0, maximum=1)
            for n, h in health.items()]
    rtts = [a.rtt_ms for rep in reports.values() for a in rep.servers if a.rtt_ms is not None]
    perf.append(PerfDatum("dns_rtt_max", round(max(rtts), 1) if rtts else None, "ms",
                          minimum=0))
    perf.append(PerfDatum("records_pointing", sum(pointing.values()), minimum=0,
                          maximum=len(reports)))
    perf.append(PerfDatum("dns_disagree_age", round(age), "s", crit=grace, minimum=0))
    if not parts:
        return CheckResult(UNKNOWN, f"{name.name}: nothing to check", tuple(perf))
    parts.sort(key=lambda p: -p[0])  # the worst first; the primary first among equals
    return CheckResult(max(p[0] for p in parts), "; ".join(p[1] for p in parts), tuple(perf),
                       details=tuple(details))
