"""The changes prepared ahead (`promote --prepare`, `--prepare-failback`), as the checkout
records them: `NAME TARGET` -> Change-Id, URL, number (and `failback`).

Kept in the checkout's git directory (shared by its users and worktrees, as the last pushed
change is), so the promote at the window finds the change by its Change-Id whatever its
subject, and `failover status` shows a prepared change per name without asking Gerrit.
Standard library only: `status` imports it (its start-up is pinned, issue 14).

Examples:
    >>> prepared_in(Path("/srv/dns"))                                   # doctest: +SKIP
    {'eqiad1 cloudcontrol1004': {'change_id': 'I...', 'url': '...', 'number': 12}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PREPARED_FILE = "failover-prepared.json"
"""In the checkout's git directory: the changes prepared per `NAME TARGET`."""


def read_prepared(path: Path) -> dict[str, dict[str, Any]]:
    """Return the prepared changes recorded in `path` (`NAME TARGET` -> entry), or none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:100000])
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def prepared_in(checkout: Path) -> dict[str, dict[str, Any]]:
    """Return the prepared changes of a checkout (a plain clone: `.git/`), or none."""
    return read_prepared(checkout / ".git" / PREPARED_FILE)


def prepared_lines(checkout: Path, names: list[str]) -> list[str]:
    """Return one line per prepared change of `names`: `NAME -> TARGET: URL (...)`."""
    out = []
    for key, entry in sorted(prepared_in(checkout).items()):
        name, _, target = key.partition(" ")
        if name in names:
            what = "the failback" if entry.get("failback") else "prepared"
            out.append(f"{name} -> {target}: {what} {entry.get('url', '?')} (work in progress "
                       "when pushed; the promote without --prepare lands it)")
    return out
