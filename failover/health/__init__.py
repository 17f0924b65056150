"""A candidate's health, one module per kind behind one interface, registered in `KINDS`.

A kind is a module of this package with two functions (`HealthKind`): `describe(health)`,
what is checked in a few words, and `read(cfg, name, health)`, (healthy, detail). Adding a
kind is one module plus its line in `KINDS` (the config accepts every registered kind).
`read_health(cfg, candidate)` returns a `HealthResult`; no reader raises for an unreachable
or failing candidate (that is a verdict, with its reason), and each is bounded by the
health's `timeout` (haproxy: `[haproxy] timeout`).

Examples:
    >>> read_health(cfg, Candidate("irc1001", {}, Health("tcp", host="127.0.0.1", port=6667)))
    ...                                                                  # doctest: +SKIP
    HealthResult(name='irc1001', kind='tcp', healthy=True, detail='connected to 127.0.0.1:6667')
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from collections.abc import Sequence

    from failover.config import Candidate, Config, Health

KINDS: dict[str, str] = {
    "tcp": "failover.health.tcp",
    "http": "failover.health.http",
    "command": "failover.health.command",
    "haproxy": "failover.health.haproxy",
    "none": "failover.health.none",
}
"""Every health kind and its module: the one place a kind is registered (imported when used)."""


class HealthKind(Protocol):
    """What a health kind's module provides."""

    def describe(self, h: Health) -> str:
        """Return what is checked, in a few words (credentials are hidden by the caller)."""
        ...

    def read(self, cfg: Config, name: str, h: Health) -> tuple[bool, str]:
        """Return (healthy, detail) for candidate `name`; never raise for a failing one."""
        ...


def kind(name: str) -> HealthKind:
    """Return the module of the health kind `name` (a KeyError for an unregistered one)."""
    return cast("HealthKind", importlib.import_module(KINDS[name]))


@dataclass(frozen=True)
class HealthResult:
    """One candidate's health verdict: healthy or why not, and what was checked."""

    name: str
    kind: str
    healthy: bool
    detail: str
    checked: str = ""
    """What was checked (`tcp irc1001.wikimedia.org:6667`)."""
    ms: float = 0.0

    @property
    def reachable(self) -> bool:
        """Return True when the check could say healthy (a `none` check is never unhealthy)."""
        return self.healthy

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as JSON-able data."""
        return {"kind": self.kind, "healthy": self.healthy, "detail": self.detail,
                "checked": self.checked, "ms": round(self.ms, 1)}


def read_health(cfg: Config, candidate: Candidate) -> HealthResult:
    """Return the candidate's health, as its `health` kind reads it."""
    h = candidate.health
    started = time.monotonic()
    healthy, detail = kind(h.kind).read(cfg, candidate.name, h)
    from failover.redact import redact_text  # a command's output may quote a URL too

    return HealthResult(candidate.name, h.kind, healthy, redact_text(detail), h.describe(),
                        (time.monotonic() - started) * 1000)


def read_all(cfg: Config, candidates: Sequence[Candidate]) -> dict[str, HealthResult]:
    """Return every candidate's health, read at the same time, in config order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(candidates))) as pool:
        results = list(pool.map(lambda c: read_health(cfg, c), candidates))
    return {r.name: r for r in results}
