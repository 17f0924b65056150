"""Parse HAProxy stats CSV and `show info`, and judge each service and controller."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from failover.config import Controller, HaproxyConfig, redact_url
from failover.haproxy.model import (
    USABLE_STATES,
    ControllerHealth,
    ServiceHealth,
    StatRow,
    StatsParseError,
    StatsSnapshot,
)

__all__ = ["USABLE_STATES", "judge_controller", "judge_service", "parse_show_info",
           "parse_stats_csv", "unreachable"]

# --- parsing ---------------------------------------------------------------------------------

_KINDS = {"0": "frontend", "1": "backend", "2": "server"}


def parse_stats_csv(text: str) -> list[StatRow]:
    """Return the frontend, backend and server rows of HAProxy stats CSV, read by its header.

    Raises:
        StatsParseError: empty text, HTML, no `# pxname` header, or a line cut short.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise StatsParseError("empty answer, not HAProxy CSV")
    if stripped.startswith("<"):
        raise StatsParseError("an HTML page, not HAProxy CSV (does the URL end in ';csv'?)")
    if not stripped.startswith("# pxname"):
        first = stripped.splitlines()[0][:60] if stripped.splitlines() else ""
        raise StatsParseError(f"not HAProxy CSV: no '# pxname' header (starts {first!r})")
    try:
        lines = list(csv.reader(io.StringIO(stripped, newline=""), strict=True))
    except csv.Error as exc:
        raise StatsParseError(f"HAProxy CSV malformed or cut short: {exc}") from None
    header = [h.strip() for h in lines[0]]
    header[0] = header[0].removeprefix("#").strip()
    col = {name: i for i, name in enumerate(header) if name}
    for needed in ("pxname", "svname", "status"):
        if needed not in col:
            raise StatsParseError(f"HAProxy CSV header has no {needed!r} column")
    width = max(col.values()) + 1
    at = [col.get(name) for name in _COLUMNS]
    rows = []
    for number, fields in enumerate(lines[1:], start=2):
        if len(fields) < width:
            if not fields or fields == [""]:
                continue
            raise StatsParseError(f"line {number} is cut short: {len(fields)} fields, "
                                  f"header has {len(header)}")
        px, sv, status, act, bck, scur, check, lastchg, kind = (
            fields[i].strip() if i is not None else "" for i in at)
        kind = _KINDS.get(kind) or _kind_of(kind, sv, number)
        if kind == "listener":
            continue
        rows.append(StatRow(px, sv, kind, status, bool(_int(act, "act", number)),
                            bool(_int(bck, "bck", number)), _int(scur, "scur", number) or 0,
                            check, _int(lastchg, "lastchg", number)))
    return rows


_COLUMNS = ("pxname", "svname", "status", "act", "bck", "scur", "check_status", "lastchg", "type")


def _kind_of(kind: str, svname: str, number: int) -> str:
    """Return the row kind when the `type` column is absent, empty, or a listener (3)."""
    if kind == "3":
        return "listener"  # only with `option socket-stats`
    if kind:
        raise StatsParseError(f"line {number}: unknown proxy type {kind[:10]!r}")
    return {"FRONTEND": "frontend", "BACKEND": "backend"}.get(svname, "server")


def _int(value: str, name: str, number: int) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise StatsParseError(f"line {number}: {name} is not a number: {value[:20]!r}")
    return int(value)


def parse_show_info(text: str) -> dict[str, str]:
    """Return the `Key: value` fields of `show info` (Name, Version, Uptime_sec, ...)."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            info[key.strip()] = value.strip()
    return info


# --- judging ---------------------------------------------------------------------------------

def judge_service(service: str, rows: Sequence[StatRow],
                  haproxy_cfg: HaproxyConfig) -> ServiceHealth:
    """Return the verdict for `service`: OPEN frontend and at least one usable backend server."""
    fe_name = haproxy_cfg.frontend_pattern.format(service=service)
    be_name = haproxy_cfg.backend_pattern.format(service=service)
    frontend = next((r for r in rows if r.pxname == fe_name and r.kind == "frontend"), None)
    backend = next((r for r in rows if r.pxname == be_name and r.kind == "backend"), None)
    servers = [r for r in rows if r.pxname == be_name and r.kind == "server"]
    if frontend is None and backend is None:
        return ServiceHealth(service, False, 0, 0, False,
                             f"{fe_name} and {be_name} are not in the stats", "missing")
    up = [s for s in servers if s.usable]
    backup_only = bool(up) and not any(s.active for s in up)
    notes = [_server_note(s) for s in servers if s.status != "UP" or s.backup]
    problems = []
    if frontend is None:
        problems.append(f"{fe_name} is not in the stats")
    elif frontend.status != "OPEN":
        problems.append(f"frontend {frontend.status or 'without status'}")
    if backend is None:
        problems.append(f"{be_name} is not in the stats")
    elif not up:
        problems.append("no server takes new sessions")
    healthy = not problems
    if backup_only:
        notes.insert(0, "running on backup only")
    detail = "; ".join(problems + [n for n in notes if n])
    if not detail:
        detail = f"all {len(servers)} servers UP"
    return ServiceHealth(service, healthy, len(up), len(servers), backup_only, detail,
                         _cell(healthy, frontend, backend, servers, up, backup_only),
                         frontend.scur if frontend else 0)


def _server_note(s: StatRow) -> str:
    role = f"server {s.svname}" + (" (backup)" if s.backup else "")
    check = f", check {s.check_status}" if s.check_status and s.state not in ("UP", "MAINT") else ""
    if s.state == "DRAIN":
        return f"{role} DRAIN: serves existing sessions, takes no new ones"
    if s.state == "NOLB":
        return f"{role} NOLB: takes no new sessions"
    if s.state == "UP" and s.status != "UP":
        return f"{role} {s.status}: failing checks{check}"
    if s.state == "UP":
        return ""
    return f"{role} {s.status}{check}"


def _cell(healthy: bool, frontend: StatRow | None, backend: StatRow | None,
          servers: Sequence[StatRow],
          up: Sequence[StatRow], backup_only: bool) -> str:
    counts = f"{len(up)}/{len(servers)}"
    if healthy:
        return f"UP {counts}" + (" backup only" if backup_only else "")
    if frontend is None or backend is None:
        return "missing " + ("frontend" if frontend is None else "backend")
    if frontend.status != "OPEN":
        return f"frontend {frontend.status or '?'}"
    states = {s.state for s in servers}
    if len(states) == 1 and states & {"MAINT", "DRAIN", "NOLB"}:
        return states.pop()
    return f"DOWN {counts}"


def judge_controller(controller: Controller, services: Iterable[str], snapshot: StatsSnapshot,
                     haproxy_cfg: HaproxyConfig) -> ControllerHealth:
    """Return the controller's health from one stats snapshot, for the listed services."""
    judged = {s: judge_service(s, snapshot.rows, haproxy_cfg) for s in services}
    return ControllerHealth(controller.name, True, None, judged, snapshot.fetch_ms,
                            redact_url(controller.stats), snapshot.info.get("Version"))


def unreachable(controller: Controller, services: Iterable[str], reason: str,
                fetch_ms: float = 0.0) -> ControllerHealth:
    """Return the health of a controller whose stats could not be read, for `reason`."""
    judged = {s: ServiceHealth(s, False, 0, 0, False, f"unreachable: {reason}", "unreachable")
              for s in services}
    return ControllerHealth(controller.name, False, reason, judged, fetch_ms,
                            redact_url(controller.stats))
