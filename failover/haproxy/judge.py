"""Parse HAProxy stats CSV and `show info`, and judge each service and controller."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence

from failover.config import Controller, HaproxyConfig, redact_url
from failover.haproxy.model import (
    USABLE_STATES,
    ControllerHealth,
    ServiceHealth,
    StatRow,
    StatsParseError,
    StatsSnapshot,
)

__all__ = ["USABLE_STATES", "dependencies", "depends_on", "judge_controller", "judge_service",
           "parse_show_info", "parse_stats_csv", "server_owner", "unreachable"]

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
        px, sv, status, act, bck, scur, check, lastchg, kind, weight = (
            fields[i].strip() if i is not None else "" for i in at)
        kind = _KINDS.get(kind) or _kind_of(kind, sv, number)
        if kind == "listener":
            continue
        rows.append(StatRow(px, sv, kind, status, bool(_int(act, "act", number)),
                            bool(_int(bck, "bck", number)), _int(scur, "scur", number) or 0,
                            check, _int(lastchg, "lastchg", number),
                            _int(weight, "weight", number)))
    return rows


_COLUMNS = ("pxname", "svname", "status", "act", "bck", "scur", "check_status", "lastchg", "type",
            "weight")


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
    """Return the verdict for `service`: OPEN frontend, at least one usable backend server,
    and HAProxy's own BACKEND row not DOWN.

    The service is a `<service>_frontend`/`<service>_backend` pair (the patterns), or else a
    `listen <service>` proxy (production's TCP services, e.g. Galera's `mysql`).
    """
    fe_name = haproxy_cfg.frontend_pattern.format(service=service)
    be_name = haproxy_cfg.backend_pattern.format(service=service)
    if not any(r.pxname in (fe_name, be_name) for r in rows) and any(
            r.pxname == service and r.kind == "backend" for r in rows):
        fe_name = be_name = service  # a listen proxy: frontend and backend rows share its name
    frontend = next((r for r in rows if r.pxname == fe_name and r.kind == "frontend"), None)
    backend = next((r for r in rows if r.pxname == be_name and r.kind == "backend"), None)
    servers = [r for r in rows if r.pxname == be_name and r.kind == "server"]
    if frontend is None and backend is None:
        return ServiceHealth(service, False, 0, 0, False,
                             f"{fe_name} and {be_name} are not in the stats", "missing")
    up = [s for s in servers if s.usable]
    backup_only = bool(up) and not any(s.active for s in up)
    notes = [_server_note(s) for s in servers if s.status != "UP" or s.backup or not s.usable]
    problems = []
    if frontend is None:
        problems.append(f"{fe_name} is not in the stats")
    elif frontend.status != "OPEN":
        problems.append(f"frontend {frontend.status or 'without status'}")
    if backend is None:
        problems.append(f"{be_name} is not in the stats")
    elif not up:
        problems.append("no server takes new sessions")
    elif backend.status and backend.state != "UP":
        # HAProxy's own verdict is never overridden to healthy
        problems.append(f"HAProxy says {be_name} is {backend.status}")
    healthy = not problems
    if backup_only:
        notes.insert(0, "running on backup only")
    detail = "; ".join(problems + [n for n in notes if n])
    if not detail:
        detail = f"all {len(servers)} servers UP"
    return ServiceHealth(service, healthy, len(up), len(servers), backup_only, detail,
                         _cell(healthy, frontend, backend, servers, up, backup_only),
                         frontend.scur if frontend else 0, tuple(s.svname for s in up))


def _server_note(s: StatRow) -> str:
    role = f"server {s.svname}" + (" (backup)" if s.backup else "")
    check = f", check {s.check_status}" if s.check_status and s.state not in ("UP", "MAINT") else ""
    if s.weight == 0 and s.state in USABLE_STATES:
        return f"{role} weight 0: takes no new sessions"
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
    if servers and all(s.weight == 0 for s in servers):
        return "weight 0"
    return f"DOWN {counts}"


def judge_controller(controller: Controller, services: Iterable[str], snapshot: StatsSnapshot,
                     haproxy_cfg: HaproxyConfig,
                     controllers: Sequence[str] = ()) -> ControllerHealth:
    """Return the controller's health from one stats snapshot, for the listed services.

    `controllers` (the region's) are matched to the servers' names by `server_pattern`.
    """
    judged = {s: judge_service(s, snapshot.rows, haproxy_cfg) for s in services}
    names = {n for s in judged.values() for n in s.usable_servers}
    owners = {n: o for n in sorted(names)
              if (o := server_owner(n, controllers, haproxy_cfg.server_pattern))}
    return ControllerHealth(controller.name, True, None, judged, snapshot.fetch_ms,
                            redact_url(controller.stats), snapshot.info.get("Version"), owners)


def server_owner(server: str, controllers: Sequence[str], pattern: str) -> str | None:
    """Return the controller a backend server belongs to: its name holds the pattern as a word.

    A word is bounded by the name's ends or by a character that is no letter, digit or `-`
    (so `cloudcontrol2001` is not `cloudcontrol2001-dev`); the longest match wins.

    Examples:
        >>> server_owner("cloudcontrol1004", ["cloudcontrol1003", "cloudcontrol1004"],
        ...              "{controller}")
        'cloudcontrol1004'
        >>> server_owner("db.cloudcontrol1003.eqiad", ["cloudcontrol1003"], "{controller}")
        'cloudcontrol1003'
    """
    found = [c for c in controllers if re.search(
        r"(?<![A-Za-z0-9-])" + re.escape(pattern.format(controller=c)) + r"(?![A-Za-z0-9-])",
        server)]
    return max(found, key=len) if found else None


def depends_on(target: ControllerHealth, other: str) -> list[str]:
    """Return the services of `target` whose every usable server is `other`'s (config order).

    The planned-maintenance gate: every controller's HAProxy balances to every controller's
    servers, so a target may look healthy only through the servers of the controller about
    to go down. A server whose name matches no controller counts as not `other`'s; a service
    with no usable server at all is the health gate's (it is unhealthy), not listed here.

    Examples:
        >>> depends_on(health_of_cloudcontrol1004, "cloudcontrol1003")   # doctest: +SKIP
        ['nova_api']
    """
    return [name for name, s in target.services.items()
            if s.usable_servers
            and all(target.owners.get(server) == other for server in s.usable_servers)]


def dependencies(controllers: Mapping[str, ControllerHealth]) -> dict[str, dict[str, list[str]]]:
    """Return, per controller, the other controllers it depends on and for which services."""
    return {name: {other: found for other in controllers if other != name
                   if (found := depends_on(c, other))}
            for name, c in controllers.items() if c.reachable}


def unreachable(controller: Controller, services: Iterable[str], reason: str,
                fetch_ms: float = 0.0) -> ControllerHealth:
    """Return the health of a controller whose stats could not be read, for `reason`."""
    judged = {s: ServiceHealth(s, False, 0, 0, False, f"unreachable: {reason}", "unreachable")
              for s in services}
    return ControllerHealth(controller.name, False, reason, judged, fetch_ms,
                            redact_url(controller.stats))
