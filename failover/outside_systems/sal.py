"""The Server Admin Log as an outside system: `START` before acting, `END` at the end.

The lines themselves, and wmflib's relay client, are `failover.sal`'s. On with `[sal]`, off
with `--no-sal`. Besides START and END, a line said beside the steps (`SELF-MERGED <url>`) is
logged too. A relay that is down or slow is a warning and an audit line, never a failure.

Examples:
    >>> system = make(cfg, run)                                          # doctest: +SKIP
    >>> system.describe(run); run.sal_planned
    ['!log alice@cumin1002 admin START - failover promote eqiad1 cloudcontrol1004', ...]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from failover.outside_systems.base import OutsideRun, OutsideSystem

if TYPE_CHECKING:
    from failover.config import Config, SalConfig


def make(cfg: Config, run: OutsideRun) -> OutsideSystem | None:
    """Return the SAL for this run, None without `[sal]` or with `--no-sal`."""
    if cfg.sal is None or run.no_sal:
        return None
    return SalLog(cfg.sal)


class SalLog(OutsideSystem):
    """Sends the run's `!log` lines to the SAL relay."""

    def __init__(self, cfg: SalConfig) -> None:
        self.cfg = cfg

    def describe(self, run: OutsideRun) -> None:
        """Fill in the lines the run sends: START, and END (PASS) when all goes well."""
        run.sal_planned = [self._text(run, "START"), self._text(run, "END (PASS)")]

    def start(self, run: OutsideRun) -> None:
        """Send START."""
        self._send(run, "START")

    def say(self, run: OutsideRun, text: str) -> None:
        """Log a line said beside the steps (never on a dry-run)."""
        if not run.dry_run:
            self._send(run, text)

    def end(self, run: OutsideRun) -> None:
        """Send END (PASS), or END (FAIL) with the exit code, if the run started."""
        if not run.started:
            return
        failed = run.outcome in ("failed", "refused", "interrupted")
        self._send(run, "END (FAIL)" if failed else "END (PASS)",
                   run.exit_code if failed else None)

    def _text(self, run: OutsideRun, phase: str) -> str:
        from failover.sal import sal_line, sal_message

        message = sal_message(phase, run, project=run.project)
        return sal_line(message, user=run.user, host=run.host)

    def _send(self, run: OutsideRun, phase: str, exit_code: int | None = None) -> None:
        from failover.sal import sal_message, send_sal

        message = sal_message(phase, run, project=run.project, exit_code=exit_code,
                              durations=run.durations if phase.startswith("END") else None)
        with run.call("sal"):
            result = send_sal(self.cfg, message, user=run.user)
        if result.error:
            run.warn("sal", "failed", f"{result.error}; not logged: {result.line}")
            return
        run.sal.append(result.line)
        run.log("sal", "sent", summary=result.line)
