"""The promote steps' parts for a service or group (`[services.*]`, `[groups.*]`).

The run is the region's (`failover.promote.run`): one plan, the same steps, decide, message
and audit. Here are what differs: the health of the candidates by their kind
(`failover.health`), the nameservers and the zone read for every record, all records edited
in one change (`failover.zone.edit_records`), and every record verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from failover.errors import GateRefused

if TYPE_CHECKING:
    from failover.config import Config, Service
    from failover.dnscheck import DnsReport
    from failover.promote.context import Context
    from failover.promote.plan import Plan
    from failover.zone import ZoneEdits


def health(ctx: Context, svc: Service) -> None:
    """Read every candidate's health; refuse an unhealthy target unless --force."""
    from failover.health import read_all

    plan = ctx.plan
    plan.service_health = read = read_all(ctx.cfg, svc.candidates)
    plan.step("health").summary = "; ".join(
        f"{n} {'healthy' if r.healthy else 'UNHEALTHY'} ({r.detail})" for n, r in read.items())
    target = read[plan.target.name]
    if not target.healthy:
        if not ctx.request.force:
            raise GateRefused(
                f"refusing to promote {plan.target.name}: its health check failed "
                f"({target.checked}: {target.detail})",
                hint="fix it and check with `failover health`, or pass --force "
                     "(recorded in the commit and the audit log)")
        ctx.observer.warn(f"--force: promoting unhealthy {plan.target.name} ({target.detail})")
    from failover.dnscheck import refuse_dangling_candidate

    # as a region's (issue 15): a target that does not resolve is refused, dry-run too
    for warning in refuse_dangling_candidate(ctx.cfg, svc, plan.target.name):
        ctx.observer.warn(warning)


def read_dns(cfg: Config, svc: Service, target: str) -> dict[str, DnsReport]:
    """Return every record's nameserver report, judged against the candidate `target`."""
    from failover.dnscheck import check_region

    out = {}
    for record in svc.records:
        region = svc.as_region(record)
        out[record] = check_region(cfg, region, region.controller(target))
    return out


def zone_candidate(svc: Service, text: str, path: str) -> tuple[str, str | None]:
    """Return (the first record's target at the tip, the candidate every record points at)."""
    from failover.zone import current_target

    found = {r: current_target(text, r, path=path) for r in svc.records}
    names = {c.name if (c := svc.candidate_for(r, t)) else None for r, t in found.items()}
    first = found[svc.records[0]]
    return first, names.pop() if len(names) == 1 else None


def served(plan: Plan) -> bool:
    """Return True when every nameserver answers the target for every record."""
    return bool(plan.record_dns) and all(
        rep.agree and rep.controller == plan.target.name for rep in plan.record_dns.values())


def edit(ctx: Context, svc: Service, text: str) -> ZoneEdits:
    """Return every record pointed at the target's own target for it, in one edit."""
    from failover.zone import RecordChange, edit_records

    cand = svc.candidate(ctx.plan.target.name)
    return edit_records(text, [RecordChange(r, cand.targets[r]) for r in svc.records],
                        path=ctx.cfg.dns.zone_file)


def wait(ctx: Context, svc: Service) -> None:
    """Wait until every nameserver answers the target for every record (VerifyError)."""
    from failover.dnscheck import wait_for_agreement
    from failover.errors import VerifyError

    plan, cfg = ctx.plan, ctx.cfg
    step = plan.step("verify")
    for record in svc.records:
        region = svc.as_region(record)
        expect = region.controller(plan.target.name)

        def round_done(report: DnsReport, number: int, pause: float, record: str = record) -> None:
            ctx.observer.progress(step, f"{record}: {report.matching}/{len(report.servers)} "
                                        f"nameservers answer {plan.target.name} (round {number})")

        plan.record_dns[record] = rep = wait_for_agreement(
            cfg, region, expect, timeout=cfg.verify.timeout, interval=cfg.verify.interval,
            on_round=round_done)
        if not (rep.agree and rep.controller == plan.target.name):
            bad = [f"{s.server}: {s.verdict}" for s in rep.servers if not s.ok]
            raise VerifyError(
                f"not every nameserver answers {expect.target} for {record} after "
                f"{cfg.verify.timeout:.0f}s: {'; '.join(bad)}",
                hint=f"check the deploy; `failover verify {svc.name} --expect "
                     f"{plan.target.name}` keeps checking")
    plan.dns = plan.record_dns[svc.records[0]]
    step.summary = (f"all {len(plan.dns.servers)} nameservers answer {plan.target.name} for "
                    f"{len(svc.records)} record(s): " + ", ".join(
                        f"{r} -> {svc.candidate(plan.target.name).targets[r]}"
                        for r in svc.records))


def body_lines(plan: Plan, svc: Service) -> list[str]:
    """Return the commit body's paragraphs after the first: the records and the health."""
    cand = svc.candidate(plan.target.name)
    records = "\n".join(f"- {r} -> {cand.targets[r]}" for r in svc.records)
    lines = ["Health checks:"]
    for name, r in plan.service_health.items():
        role = " (new)" if name == plan.target.name else (
            " (current)" if name == plan.current else "")
        lines.append(f"- {name}{role}: {'healthy' if r.healthy else 'UNHEALTHY'}, {r.detail}")
    return [f"Records:\n{records}", "\n".join(lines)]
