"""Prometheus metrics of the promotes, written for node_exporter's textfile collector.

With `[metrics] textfile = "/var/lib/prometheus/node.d/failover.prom"`, every promote that
is not a dry-run rewrites that file (the official `prometheus-client`: a `CollectorRegistry`
written by `write_to_textfile`, i.e. to a temporary file renamed over it, so node_exporter
never reads half a file) with:

- `failover_promote_runs_total{name, outcome}`: runs per name and outcome (a counter);
- `failover_promote_duration_seconds{name, phase}`: the last run's durations per name
  (`push_to_merge`, ... : the Plan's `durations`);
- `failover_promote_last_success_timestamp_seconds{name}`: when a run last ended `done`.

The counts are kept across runs in the file itself: each write reads the previous file (the
text format, with prometheus-client's parser), adds this run and writes everything back, under
an exclusive lock on `<file>.lock` (two promotes of different names may end at once). A file
removed or unreadable starts the counts again from this run: Prometheus reads that as a
counter reset, which `rate()` and `increase()` handle. Writing never fails the run: the caller
turns an error into a warning and an audit line.

Examples:
    >>> write_run(Path("/tmp/failover.prom"), "eqiad1", "done",
    ...           {"push_to_merge": 12.5}, now=1750000000.0)          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from failover.lock import flock_within

RUNS = "failover_promote_runs"
"""The counter of runs (exposed with `_total`)."""
DURATION = "failover_promote_duration_seconds"
"""The gauges of the last run's durations, per name and phase."""
LAST_SUCCESS = "failover_promote_last_success_timestamp_seconds"
"""The gauge of the last successful run's time, per name (Unix seconds)."""
LOCK_WAIT = 5.0
"""Seconds a run waits for another run's lock on the file before giving up (a warning)."""


@dataclass(eq=False)  # hashable by identity: the registry keeps its collectors in a dict
class PromoteMetrics:
    """Everything the file holds: counts, the last durations, the last successes."""

    runs: dict[tuple[str, str], float] = field(default_factory=dict)
    durations: dict[str, dict[str, float]] = field(default_factory=dict)
    last_success: dict[str, float] = field(default_factory=dict)

    def add_run(self, name: str, outcome: str, durations: Mapping[str, float],
                now: float) -> None:
        """Count one run of `name`; its durations replace the name's last ones."""
        key = (name, label_value(outcome))
        self.runs[key] = self.runs.get(key, 0.0) + 1
        self.durations[name] = {phase: float(s) for phase, s in durations.items()}
        if outcome == "done":
            self.last_success[name] = now

    def collect(self) -> Iterator[object]:
        """Yield the metric families (prometheus-client's custom collector interface)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        runs = CounterMetricFamily(RUNS, "Promote runs of failover, per name and outcome.",
                                   labels=["name", "outcome"])
        for (name, outcome), count in sorted(self.runs.items()):
            runs.add_metric([name, outcome], count)
        yield runs
        durations = GaugeMetricFamily(DURATION, "Durations of the last promote of a name, "
                                                "per phase (e.g. push_to_merge).",
                                      labels=["name", "phase"])
        for name, phases in sorted(self.durations.items()):
            for phase, seconds in sorted(phases.items()):
                durations.add_metric([name, phase], seconds)
        yield durations
        success = GaugeMetricFamily(LAST_SUCCESS, "When a promote of a name last ended done "
                                                  "(Unix time).", labels=["name"])
        for name, when in sorted(self.last_success.items()):
            success.add_metric([name], when)
        yield success


def label_value(outcome: str) -> str:
    """Return an outcome as a label value: `nothing to do` -> `nothing_to_do`."""
    return outcome.replace(" ", "_")


def parse_metrics(text: str) -> PromoteMetrics:
    """Return what a previous file held (its other series are dropped).

    Raises:
        ValueError: the text is not the Prometheus text format.
    """
    from prometheus_client.parser import text_string_to_metric_families

    found = PromoteMetrics()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = s.labels
            if s.name == f"{RUNS}_total" and {"name", "outcome"} <= labels.keys():
                found.runs[(labels["name"], labels["outcome"])] = float(s.value)
            elif s.name == DURATION and {"name", "phase"} <= labels.keys():
                found.durations.setdefault(labels["name"], {})[labels["phase"]] = \
                    float(s.value)
            elif s.name == LAST_SUCCESS and "name" in labels:
                found.last_success[labels["name"]] = float(s.value)
    return found


def read_metrics(path: Path) -> PromoteMetrics:
    """Return the previous file's metrics; empty when it is missing or not readable as such."""
    try:
        return parse_metrics(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PromoteMetrics()
    except (ValueError, UnicodeDecodeError):
        return PromoteMetrics()  # a torn or foreign file: start the counts again


def write_run(path: Path, name: str, outcome: str, durations: Mapping[str, float], *,
              now: float) -> PromoteMetrics:
    """Add one run to the metrics file at `path` (atomically); return what was written.

    Raises:
        OSError: the directory, the lock or the file cannot be written.
    """
    from prometheus_client import CollectorRegistry, write_to_textfile

    with _locked(path):
        metrics = read_metrics(path)
        metrics.add_run(name, outcome, durations, now)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(metrics)  # type: ignore[arg-type]
        write_to_textfile(str(path), registry)
    return metrics


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<path>.lock` (never followed through a symlink)."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        flock_within(fd, LOCK_WAIT)  # OSError (EAGAIN) when another run holds it too long
        yield
    finally:
        os.close(fd)
