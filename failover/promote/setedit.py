"""A promote's edit of set records (SRV, round-robin A/AAAA): where each set points in the
template (`record_target`), every record's set made the candidate's (`set_edits`), and a set
edit as the promote's ZoneEdits (`as_zone_edits`, also the depool's and pool's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from failover.zone.scan import ZoneError

if TYPE_CHECKING:
    from failover.model import FailoverName, Record
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
    from failover.zone.sets import find_set, replace_sets
    from failover.zone.setspec import matches

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
