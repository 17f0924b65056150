"""The health of a set's candidate: every target host of the set, each checked on its own.

A candidate of an SRV (or round-robin A/AAAA) record is several hosts; it is healthy when
every one of them is. The candidate's `health` is read once per host, with `{host}` in a
`tcp` host, an `http` URL or a `command` argv replaced by the host (a `tcp` check without
`{host}` connects where it says, for every host alike). `failover depool` asks the same of
each member left in the set (`member_results`).

Examples:
    >>> health = Health("command", argv=("check_etcd", "{host}"))          # doctest: +SKIP
    >>> read_set_health(cfg, "eqiad", health, parse_set(spec)).detail      # doctest: +SKIP
    '3/3 hosts healthy'
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.config import Config, Health
    from failover.health import HealthResult
    from failover.zone.sets import Member

from failover.names import HOST_PLACEHOLDER


def for_host(health: Health, host: str) -> Health:
    """Return `health` with `{host}` replaced by `host` (no trailing dot)."""
    return replace(
        health,
        host=health.host.replace(HOST_PLACEHOLDER, host) if health.host else health.host,
        url=health.url.replace(HOST_PLACEHOLDER, host) if health.url else health.url,
        argv=tuple(a.replace(HOST_PLACEHOLDER, host) for a in health.argv))


def member_results(cfg: Config, name: str, health: Health, members: Sequence[Member]
                   ) -> dict[str, HealthResult]:
    """Return each member's health (by `Member.key()`), read at the same time."""
    from failover.config.model import Candidate
    from failover.health import read_health

    def one(member: Member) -> HealthResult:
        host = member.target.rstrip(".")
        return read_health(cfg, Candidate(name, {}, for_host(health, host)))

    if not members:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(members)),
                            thread_name_prefix="set-health") as pool:
        results = list(pool.map(one, members))
    return {m.key(): r for m, r in zip(members, results, strict=True)}


def read_set_health(cfg: Config, name: str, health: Health, members: Sequence[Member]
                    ) -> HealthResult:
    """Return candidate `name`'s health: healthy when every host of its set is."""
    from failover.health import HealthResult

    started = time.monotonic()
    results = member_results(cfg, name, health, members)
    sick = [(m, results[m.key()]) for m in members if not results[m.key()].healthy]
    if sick:
        detail = "; ".join(f"{m.target.rstrip('.')}: {r.detail}" for m, r in sick)
        detail = f"{len(members) - len(sick)}/{len(members)} hosts healthy; {detail}"
    else:
        detail = f"{len(members)}/{len(members)} hosts healthy"
    checked = f"{health.describe()} for each of {len(members)} hosts"
    return HealthResult(name, health.kind, not sick, detail, checked,
                        (time.monotonic() - started) * 1000)
