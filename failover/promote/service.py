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
    from failover.model import of_service

    # as a region's (issue 15): a target that does not resolve is refused, dry-run too
    records = of_service(ctx.cfg, svc).records
    for warning in refuse_dangling_candidate(ctx.cfg, records, plan.target.name):
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


def body_lines(plan: Plan, svc: Service) -> list[str]:
    """Return the commit body's paragraphs after the first: the records and the health."""
    from failover.health.command import command_verdict

    cand = svc.candidate(plan.target.name)
    records = "\n".join(f"- {r} -> {cand.targets[r]}" for r in svc.records)
    lines = ["Health checks:"]
    for name, r in plan.service_health.items():
        role = " (new)" if name == plan.target.name else (
            " (current)" if name == plan.current else "")
        detail = command_verdict(r.detail) if svc.candidate(name).health.kind == "command" \
            else r.detail  # a plugin's verdict, not its timing figures
        lines.append(f"- {name}{role}: {'healthy' if r.healthy else 'UNHEALTHY'}, {detail}")
    return [f"Records:\n{records}", "\n".join(lines)]
