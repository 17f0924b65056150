"""A promote of a record with a commented standby: swap which line is live, as people do.

`;doc   300 IN CNAME doc1003.eqiad.wmnet.` beside the live `doc   300 IN CNAME
doc2002.codfw.wmnet.`: a failover to doc1003 makes its line live and comments the other,
the `;` in column one, every other byte kept ("wmnet: failover doc host", 2025-01-07).
Changing the live line's target instead would leave the commented line naming the new
primary as its standby. `standby_edits` is the hook of `failover.promote.records.edit`: it
returns the swap when every record has a commented line of its owner and type naming its
new target (and the live line is another), else None (the usual target edit).
"""

from __future__ import annotations

from collections.abc import Mapping

from failover.zone import ZoneEdit, ZoneEdits, ZoneError, find_record, zone_name
from failover.zone.sets import find_set, swap_standby, unified_diff


def standby_edits(text: str, targets: Mapping[str, str], *, path: str,
                  required: bool = False, follow: bool = False) -> ZoneEdits | None:
    """Return the edit swapping each record's commented standby live, or None when some
    record has no commented line naming its new target (or already points there).

    `required` (the config's `standby = "commented"`): a record without such a line is an
    error (ZoneError naming the line to write), never a plain target edit. `follow`
    (`standby_follows = true`): the one commented line then follows the old target while
    the live line takes the new one.
    """
    zone = zone_name(path)
    new_text = text
    edits: list[tuple[str, str, str]] = []  # record, old target, new target
    for record, target in targets.items():
        rec = find_record(text, record, path=path)
        try:
            rs = find_set(new_text, record, rec.rtype, path=path, zone=zone)
        except ZoneError:
            if required:
                raise
            return None
        want = target.lower().rstrip(".") + "."
        if rec.absolute_target.lower() == want:
            if required:
                continue
            return None
        if not required and not follow and not any(
                ln.member.key() == want for ln in rs.commented):
            return None
        new_text = swap_standby(new_text, record, rec.rtype, target, path=path,
                                zone=zone, follow=follow).new_text
        edits.append((record, rec.target, target))
    if not edits:
        return None
    diff = unified_diff(text, new_text, path)
    new_lines = new_text.split("\n")
    out = []
    for record, old_target, target in edits:
        rec = find_record(text, record, path=path)
        after = find_record(new_text, record, path=path)
        out.append(ZoneEdit(path=path, record=rec, old_target=old_target, new_target=target,
                            old_line=rec.line_text,
                            new_line=new_lines[after.line - 1].removesuffix("\r"),
                            diff=diff, changed=True, old_text=text, new_text=new_text))
    return ZoneEdits(path=path, edits=tuple(out), diff=diff, changed=True, old_text=text,
                     new_text=new_text)
