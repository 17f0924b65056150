"""The `haproxy` health kind: the candidate's HAProxy stats, its services judged as a
region's controller's are (`failover.haproxy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from failover.health import HealthResult

if TYPE_CHECKING:
    from failover.config import Config, Health
    from failover.haproxy import ControllerHealth


def describe(h: Health) -> str:
    """Return what is checked: `haproxy https://host:8404/stats`."""
    return f"haproxy {h.stats}"


def read(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Read the candidate's HAProxy stats and judge the listed services (as a region's)."""
    from failover.haproxy import read_stats_health

    return verdict(read_stats_health(cfg, name, h.stats or "", h.services,
                                     ca_bundle=h.ca_bundle))


def verdict(read: ControllerHealth) -> tuple[bool, str]:
    """Return (healthy, detail) of a HAProxy read: its listed services UP, the failing ones."""
    if not read.reachable:
        return False, read.error or "HAProxy did not answer"
    up = sum(1 for s in read.services.values() if s.healthy)
    if not read.healthy:
        return False, f"{up}/{len(read.services)} services UP; failing: {', '.join(read.failing)}"
    return True, f"{up}/{len(read.services)} services UP"


def as_result(name: str, checked: str, read: ControllerHealth) -> HealthResult:
    """Return a region controller's HAProxy read as a health verdict (this kind's words)."""
    healthy, detail = verdict(read)
    return HealthResult(name, "haproxy", healthy, detail, checked, read.fetch_ms)
