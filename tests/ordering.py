"""The order the test modules are handed to the parallel workers: the longest first.

pytest-xdist's `--dist loadfile` gives each worker a whole module at a time (so a
module-scoped world starts once), in queue order. By default xdist orders that queue by the
number of tests in a module, which puts the few-test, minute-long world modules (runbooks,
signal interrupts, the set-up test) last: one of them then runs alone at the end while the
other workers idle. `--no-loadscope-reorder` (pyproject.toml) keeps the collection order,
and this module sorts the collection by each module's seconds, longest first, so the long
modules start at once and the short ones fill in at the end (longest processing time first).

A module's seconds are those the last fully passing run measured (pytest's cache,
`failover/module-seconds`), else the figure in SECONDS below, else a default (world modules
before unit modules). The controller reads them once and hands them to every worker, which
must all collect the same order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

CACHE_KEY = "failover/module-seconds"
"""Where the last fully passing run's seconds per module are kept (pytest's cache)."""

SECONDS = {
    "tests/world/test_setup.py": 60.0,
    "tests/world/test_promote.py": 60.0,
    "tests/world/faults/test_process.py": 55.0,
    "tests/world/test_runbooks_more.py": 55.0,
    "tests/world/faults/test_process_more.py": 50.0,
    "tests/world/test_runbooks.py": 50.0,
    "tests/world/faults/test_signals.py": 45.0,
    "tests/world/test_revert.py": 40.0,
    "tests/world/realrepo/test_real_promotes.py": 40.0,
    "tests/world/test_security.py": 40.0,
    "tests/world/test_habits.py": 35.0,
    "tests/world/faults/test_git.py": 30.0,
    "tests/world/realrepo/test_replay_cli.py": 25.0,
    "tests/world/test_metrics.py": 25.0,
    "tests/world/faults/test_dns.py": 25.0,
    "tests/world/test_nrpe.py": 20.0,
    "tests/world/test_history.py": 20.0,
    "tests/world/test_promote_service.py": 20.0,
    "tests/world/test_promote_gerrit_flow.py": 20.0,
    "tests/world/faults/test_safety.py": 20.0,
    "tests/world/sandbox/test_up.py": 15.0,
    "tests/world/test_repo.py": 15.0,
    "tests/world/test_gerrit.py": 15.0,
    "tests/world/test_promote_irc.py": 15.0,
    # unit modules whose property tests (hypothesis) take long
    "tests/unit/test_bad_input.py": 30.0,
    "tests/unit/zone/test_scan.py": 25.0,
    "tests/unit/test_startup.py": 15.0,
    "tests/unit/config/test_files.py": 12.0,
    "tests/unit/config/test_services.py": 6.0,
    "tests/unit/config/test_load.py": 5.0,
    "tests/unit/zone/test_replay_shapes.py": 5.0,
    "tests/unit/zone/test_ci_check.py": 5.0,
}
"""A fresh checkout's estimate (no cache yet): seconds of the longest modules, measured in
runs of this machine's suite (2 cores, `-n 4`)."""

WORLD_DEFAULT, UNIT_DEFAULT = 5.0, 0.5
"""Seconds assumed for a module neither the cache nor SECONDS knows."""


def module_of(nodeid: str) -> str:
    """Return the file part of a test id, the unit `--dist loadfile` schedules."""
    return nodeid.split("::", 1)[0]


def known_seconds(config: pytest.Config) -> dict[str, float]:
    """Return the seconds per module: SECONDS updated with the cache's (if any)."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and "module_seconds" in workerinput:
        return dict(workerinput["module_seconds"])
    seconds = dict(SECONDS)
    cache = getattr(config, "cache", None)
    if cache is not None:
        stored = cache.get(CACHE_KEY, {})
        if isinstance(stored, dict):
            seconds.update({k: float(v) for k, v in stored.items()
                            if isinstance(k, str) and isinstance(v, (int, float))})
    return seconds


def seconds_of(module: str, seconds: dict[str, float]) -> float:
    """Return the seconds a module is expected to take."""
    if module in seconds:
        return seconds[module]
    return WORLD_DEFAULT if module.startswith("tests/world/") else UNIT_DEFAULT


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """Return `items` grouped by module, the modules longest first (ties: collection order),
    the tests of a module in their own order."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(module_of(item.nodeid), []).append(item)
    order = sorted(modules, key=lambda m: -seconds_of(m, seconds))
    return [item for module in order for item in modules[module]]


class Recorder:
    """The controller's seconds per module in this run (setup, call and teardown summed)."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        """Count one phase of one test."""
        self.seconds[module_of(report.nodeid)] += report.duration

    def store(self, config: pytest.Config, exitstatus: int) -> None:
        """Keep this run's seconds in the cache when every test ran and passed (a failing,
        interrupted or `-k` run measures part of a module only)."""
        cache = getattr(config, "cache", None)
        if (cache is None or exitstatus != 0 or not self.seconds or config.option.keyword
                or config.option.markexpr or getattr(config.option, "lf", False)):
            return
        stored = cache.get(CACHE_KEY, {})
        merged = dict(stored) if isinstance(stored, dict) else {}
        merged.update({k: round(v, 1) for k, v in self.seconds.items()})
        cache.set(CACHE_KEY, merged)
