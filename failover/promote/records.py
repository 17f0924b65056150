"""The promote's parts over a name's records (`failover.model`): every record read at the
remote tip, all of them edited in one change (`failover.zone.edit_records`), and the commit
body's records and health lines. A region is one record; a service or group one or more.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.model import FailoverName
    from failover.promote.context import Context
    from failover.promote.plan import Plan
    from failover.zone import ZoneEdits


def zone_candidate(name: FailoverName, text: str) -> tuple[str, str | None]:
    """Return (the first record's target in `text`, the candidate every record points at)."""
    from failover.promote.setedit import record_target

    found = [(r, record_target(text, r, name.zone_file)) for r in name.records]
    names = {c.name if (c := r.controller_for_target(t)) else None for r, t in found}
    return found[0][1], names.pop() if len(names) == 1 else None


def edit(ctx: Context, text: str) -> ZoneEdits:
    """Return every record pointed at the target's own target for it, in one edit: the
    revert's lines when the promote is a failback written as a revert (`as_revert`), else
    `target_edit`."""
    return as_revert(ctx.plan, text, target_edit(ctx, text))


def target_edit(ctx: Context, text: str) -> ZoneEdits:
    """Return every record pointed at the target's own target for it, in one edit (the
    live set made the candidate's; a commented standby swapped live; the target token)."""
    from failover.promote.standby import standby_edits
    from failover.zone import RecordChange, edit_records

    plan = ctx.plan
    if plan.name.records[0].set_type is not None:  # SRV or round-robin sets, line by line
        from failover.promote.setedit import set_edits

        return set_edits(text, plan.name, plan.target.name)
    targets = {r.fqdn: r.target(plan.target.name) for r in plan.name.records}
    svc = plan.name.service
    swapped = None if svc is not None and svc.standby == "none" else standby_edits(
        text, targets, path=plan.name.zone_file,
        required=svc is not None and svc.standby == "commented",
        follow=svc is not None and svc.standby_follows)
    if swapped is not None:  # a commented standby names the target: its line goes live
        return swapped
    return edit_records(text, [RecordChange(fqdn, target) for fqdn, target in targets.items()],
                        path=plan.name.zone_file)


def body_lines(plan: Plan) -> list[str]:
    """Return a service's commit body paragraphs after the first: records and health."""
    from failover.health.command import command_verdict

    records = "\n".join(f"- {r.fqdn} -> {r.target(plan.target.name)}"
                        for r in plan.name.records)
    lines = ["Health checks:"]
    for name, r in plan.candidate_health.items():
        role = " (new)" if name == plan.target.name else (
            " (current)" if name == plan.current else "")
        detail = command_verdict(r.detail) if r.kind == "command" \
            else r.detail  # a plugin's verdict, not its timing figures
        lines.append(f"- {name}{role}: {'healthy' if r.healthy else 'UNHEALTHY'}, {detail}")
    return [f"Records:\n{records}", "\n".join(lines)]


def as_revert(plan: Plan, text: str, edits: ZoneEdits) -> ZoneEdits:
    """Return `edits` (the promote's own edit of `text`) as the revert writes them, when the
    plan is a revert found at `text` (`failover.promote.revert`); else `edits` as they are."""
    from failover.zone import find_record
    from failover.zone.sets import unified_diff

    rev = plan.revert
    if rev is None or rev.text is None or rev.base != text or rev.text == edits.new_text:
        return edits
    path, new = plan.name.zone_file, rev.text
    if plan.name.records[0].set_type is not None:
        from failover.promote.setedit import as_zone_edits, record_target

        return as_zone_edits(text, new, [
            (r, record_target(text, r, path), record_target(new, r, path))
            for r in plan.name.records], path)
    diff = unified_diff(text, new, path)
    return replace(edits, diff=diff, new_text=new, edits=tuple(
        replace(e, diff=diff, new_text=new,
                new_line=find_record(new, e.record.name, path=path).line_text)
        for e in edits.edits))
