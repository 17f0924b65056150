"""The promote's parts over a name's records (`failover.model`): every record read at the
remote tip, all of them edited in one change (`failover.zone.edit_records`), and the commit
body's records and health lines. A region is one record; a service or group one or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from failover.zone.scan import ZoneError

if TYPE_CHECKING:
    from failover.model import FailoverName, Record
    from failover.promote.context import Context
    from failover.promote.plan import Plan
    from failover.zone import ZoneEdits
    from failover.zone.sets import Member


def record_target(text: str, record: Record, path: str) -> str:
    """Return where `record` points in the template: its target, or its live set as one
    text (`failover.zone.setspec`)."""
    from failover.zone import current_target, zone_name

    if record.set_type is not None:
        from failover.zone.setspec import zone_set

        return zone_set(text, record.fqdn, record.set_type, path=path, zone=zone_name(path))
    return current_target(text, record.fqdn, path=path)


def zone_candidate(name: FailoverName, text: str) -> tuple[str, str | None]:
    """Return (the first record's target in `text`, the candidate every record points at)."""
    found = [(r, record_target(text, r, name.zone_file)) for r in name.records]
    names = {c.name if (c := r.controller_for_target(t)) else None for r, t in found}
    return found[0][1], names.pop() if len(names) == 1 else None


def edit(ctx: Context, text: str) -> ZoneEdits:
    """Return every record pointed at the target's own target for it, in one edit."""
    from failover.promote.standby import standby_edits
    from failover.zone import RecordChange, edit_records

    plan = ctx.plan
    if plan.member is not None:  # a depool or pool: the member's lines out or back
        from failover.promote.pooling import edit as member_edit

        return member_edit(ctx, text)
    if plan.name.records[0].set_type is not None:  # SRV or round-robin sets, line by line
        return set_edits(text, plan.name, plan.target.name)
    targets = {r.fqdn: r.target(plan.target.name) for r in plan.name.records}
    svc = plan.name.service
    swapped = standby_edits(text, targets, path=plan.name.zone_file,
                            required=svc is not None and svc.standby == "commented",
                            follow=svc is not None and svc.standby_follows)
    if swapped is not None:  # a commented standby names the target: its line goes live
        return swapped
    return edit_records(text, [RecordChange(fqdn, target) for fqdn, target in targets.items()],
                        path=plan.name.zone_file)


def set_edits(text: str, name: FailoverName, candidate: str) -> ZoneEdits:
    """Return the edit making every record's live set the candidate's, in one change.

    Members already there keep their line; the others take the lines of those leaving, only
    their data tokens changed (as the etcd switchover was written), the fields a candidate
    does not give kept from the line (`failover.zone.sets.replace_sets`).
    """
    from failover.zone import zone_name
    from failover.zone.setspec import parse_set

    path, zone = name.zone_file, zone_name(name.zone_file)
    new_text = text
    changed: list[tuple[Record, str]] = []
    for record in name.records:
        before = record_target(new_text, record, path)
        new_text = replace_set(new_text, record, parse_set(record.target(candidate)), path,
                               zone)
        changed.append((record, before))
    return as_zone_edits(text, new_text, [(r, b, record_target(new_text, r, path))
                                          for r, b in changed], path)


def replace_set(text: str, record: Record, members: Sequence[Member], path: str, zone: str
                ) -> str:
    """Return `text` with the live set of `record` made `members`, kept where it already is."""
    from failover.dnscheck.srvset import matches
    from failover.zone.sets import find_set, replace_sets

    assert record.set_type is not None
    current = find_set(text, record.fqdn, record.set_type, path=path, zone=zone).members()
    if matches(current, members):
        return text
    return replace_sets(text, [record.fqdn], record.set_type, members, path=path,
                        zone=zone).new_text


def as_zone_edits(old_text: str, new_text: str, records: Sequence[tuple[Record, str, str]],
                  path: str) -> ZoneEdits:
    """Return a set edit as the promote's ZoneEdits: one ZoneEdit per record (old and new
    set as its targets, its first live line as its line), the whole file's diff."""
    from failover.zone import ZoneEdit, ZoneEdits, zone_name
    from failover.zone.scan import ZoneRecord
    from failover.zone.sets import find_set, unified_diff

    zone = zone_name(path)
    diff = unified_diff(old_text, new_text, path)
    edits = []
    for record, before, after in records:
        assert record.set_type is not None
        first = find_set(old_text, record.fqdn, record.set_type, path=path, zone=zone).live[0]
        try:
            now = find_set(new_text, record.fqdn, record.set_type, path=path,
                           zone=zone).live[0].text
        except ZoneError:
            now = ""
        rec = ZoneRecord(path=path, line=first.line, line_text=first.text, owner=first.name,
                         name=record.fqdn + ".", ttl=first.ttl, rclass="IN",
                         rtype=record.set_type, target=before, span=(0, 0),
                         origin=first.origin, absolute_target=before)
        edits.append(ZoneEdit(path=path, record=rec, old_target=before, new_target=after,
                              old_line=first.text, new_line=now, diff=diff,
                              changed=before != after, old_text=old_text, new_text=new_text))
    return ZoneEdits(path=path, edits=tuple(edits), diff=diff, changed=new_text != old_text,
                     old_text=old_text, new_text=new_text)


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
