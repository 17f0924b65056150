"""Render `failover history`: one block per change, newest first, or the JSON document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from failover.durations import short_duration

if TYPE_CHECKING:
    from failover.history import NameHistory
    from failover.repo.history import HistoryEntry


def history_text(found: NameHistory) -> str:
    """Return the history as people read it: a heading, then two lines per change."""
    what = ", ".join(found.records)
    count = len(found.entries)
    more = f" (the last {count}: --limit)" if found.limit is not None and \
        count >= found.limit else ""
    lines = [f"{found.name} ({what}) in {found.zone_file} at {found.ref} "
             f"({found.tip[:12]}): {count} change{'s' if count != 1 else ''}{more}"]
    for entry in found.entries:
        lines += entry_lines(found, entry)
    if not found.entries:
        lines.append("no commit changed these records (is the name in this zone file?)")
    return "\n".join(lines) + "\n"


def entry_lines(found: NameHistory, e: HistoryEntry) -> list[str]:
    """Return one change's two lines: when, from -> to, who; then commit, footers, delay."""
    before, after = found.moved(e)
    tool = "  [failover]" if e.by_tool else ""
    footers = [f"Bug: {', '.join(e.bugs)}"] if e.bugs else []
    if e.change_id:
        footers.append(f"Change-Id: {e.change_id}")
    footers.append(f"merged {short_duration(e.written_to_merged)} after written")
    return [f"{e.committed:%Y-%m-%d %H:%M %z}  {before} -> {after}  by {e.author}{tool}",
            f"    {e.sha[:12]} {e.subject}",
            f"    {'; '.join(footers)}"]

