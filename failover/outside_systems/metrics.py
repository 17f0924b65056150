"""Prometheus metrics as an outside system: each run added to node_exporter's textfile.

On with `[metrics] textfile`, for every run that is not a dry-run, whether it acted or not
(`failover.metrics` writes the file: counts per outcome, the last durations, the last
success). A local file, so it is written even after a signal ended the other systems' calls;
a failure is a warning and an audit line, never the run's.

Examples:
    >>> make(cfg, run).end(run)                                          # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from failover.outside_systems.base import OutsideRun, OutsideSystem

if TYPE_CHECKING:
    from failover.config import Config
    from failover.config.model import MetricsConfig


def make(cfg: Config, run: OutsideRun) -> OutsideSystem | None:
    """Return the metrics for this run, None without `[metrics]` or on a dry-run."""
    if cfg.metrics is None or run.dry_run:
        return None
    return TextfileMetrics(cfg.metrics)


class TextfileMetrics(OutsideSystem):
    """Adds the run to the `[metrics] textfile` when it ends."""

    calls_out = False

    def __init__(self, cfg: MetricsConfig) -> None:
        self.cfg = cfg

    def end(self, run: OutsideRun) -> None:
        """Add this run (its outcome, `failed` if it never got one, and its durations)."""
        outcome = run.outcome if run.outcome not in ("pending", "running") else "failed"
        try:
            from failover.metrics import write_run

            write_run(self.cfg.textfile, run.region, outcome, run.durations, now=time.time())
        except Exception as exc:  # metrics are a courtesy: nothing of theirs may fail the run
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                f"{type(exc).__name__}: {exc}"
            run.warn("metrics", "failed", f"cannot write the metrics file {self.cfg.textfile}: "
                                          f"{reason}; the run's outcome is not affected")
