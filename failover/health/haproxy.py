"""The `haproxy` health kind: the candidate's HAProxy stats, its services judged as a
region's controller's are (`failover.haproxy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.config import Config, Health


def describe(h: Health) -> str:
    """Return what is checked: `haproxy https://host:8404/stats`."""
    return f"haproxy {h.stats}"


def read(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Read the candidate's HAProxy stats and judge the listed services (as a region's)."""
    from failover.haproxy import read_stats_health

    read = read_stats_health(cfg, name, h.stats or "", h.services, ca_bundle=h.ca_bundle)
    if not read.reachable:
        return False, read.error or "HAProxy did not answer"
    up = sum(1 for s in read.services.values() if s.healthy)
    if not read.healthy:
        return False, f"{up}/{len(read.services)} services UP; failing: {', '.join(read.failing)}"
    return True, f"{up}/{len(read.services)} services UP"
