"""What a read of HAProxy stats gives: rows, snapshots, and the verdicts per service/controller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

USABLE_STATES = ("UP", "no check")
"""Server states that take new sessions. DRAIN and NOLB serve existing sessions only."""

CHUNK = 65536
"""Bytes read at a time from an HTTP body or the stats socket."""


class StatsParseError(ValueError):
    """The text is not HAProxy stats CSV (HTML, empty, no `# pxname` header, cut lines)."""


class StatsReadError(Exception):
    """The stats could not be read; the message is the one-line reason shown to people."""


@dataclass(frozen=True, slots=True)
class StatRow:
    """One line of `show stat`: a frontend, a backend, or one server of a backend."""

    pxname: str
    svname: str
    kind: str  # "frontend", "backend", "server" (listeners are skipped)
    status: str
    active: bool
    backup: bool
    scur: int
    check_status: str
    lastchg: int | None
    weight: int | None = None
    """The server's effective weight; 0 takes no new sessions (`set weight B/S 0`)."""

    @property
    def state(self) -> str:
        """Return the status without its check counter: `UP 1/2` gives `UP`."""
        return "no check" if self.status == "no check" else self.status.split(" ", 1)[0]

    @property
    def usable(self) -> bool:
        """Return True when this server takes new sessions: UP (or going down), weight > 0."""
        return self.state in USABLE_STATES and self.weight != 0


@dataclass(frozen=True)
class StatsSnapshot:
    """What one read of a controller's stats gave: the rows, `show info` fields, the time taken."""

    rows: tuple[StatRow, ...]
    info: Mapping[str, str] = field(default_factory=dict)
    fetch_ms: float = 0.0


@dataclass(frozen=True)
class ServiceHealth:
    """The verdict for one service (`<service>_frontend` + `_backend`, or `listen <service>`)."""

    name: str
    healthy: bool
    servers_up: int
    servers_total: int
    backup_only: bool
    detail: str
    cell: str
    sessions: int = 0
    usable_servers: tuple[str, ...] = ()
    """The names of the backend's servers that take new sessions."""

    def to_dict(self) -> dict[str, Any]:
        """Return the service's JSON document (issue 2's keys, plus `sessions`, servers)."""
        return {"healthy": self.healthy, "servers_up": self.servers_up,
                "servers_total": self.servers_total, "backup_only": self.backup_only,
                "detail": self.detail, "sessions": self.sessions,
                "usable_servers": list(self.usable_servers)}


@dataclass(frozen=True)
class ControllerHealth:
    """One controller's HAProxy: reachable or why not, and every listed service's verdict."""

    name: str
    reachable: bool
    error: str | None
    services: Mapping[str, ServiceHealth]
    fetch_ms: float = 0.0
    source: str = ""
    version: str | None = None
    owners: Mapping[str, str] = field(default_factory=dict)
    """Which controller each backend server belongs to (by `[haproxy] server_pattern`)."""

    @property
    def healthy(self) -> bool:
        """Return True when HAProxy answered and every listed service is healthy."""
        return self.reachable and all(s.healthy for s in self.services.values())

    @property
    def failing(self) -> list[str]:
        """Return the names of the services that are not healthy, in config order."""
        return [n for n, s in self.services.items() if not s.healthy]

    @property
    def sessions(self) -> dict[str, int]:
        """Return the current client sessions (frontend scur) per service."""
        return {n: s.sessions for n, s in self.services.items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the controller's JSON document (issue 2's keys, plus fetch time and source)."""
        return {"reachable": self.reachable, "healthy": self.healthy, "error": self.error,
                "services": {n: s.to_dict() for n, s in self.services.items()},
                "fetch_ms": round(self.fetch_ms, 1), "stats": self.source,
                "version": self.version}


@dataclass(frozen=True)
class RegionHealth:
    """Every read controller of a region, in config order."""

    region: str
    controllers: Mapping[str, ControllerHealth]

    @property
    def healthy(self) -> bool:
        """Return True when every controller read is healthy."""
        return bool(self.controllers) and all(c.healthy for c in self.controllers.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the `failover health --json` document."""
        return {"region": self.region,
                "controllers": {n: c.to_dict() for n, c in self.controllers.items()}}
