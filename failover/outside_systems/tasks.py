"""Phabricator as an outside system: one comment on each `--bug` task when the run ends.

On with `[phabricator]` and `--bug`; the Conduit token comes from FAILOVER_PHABRICATOR_TOKEN
or ~/.netrc (`failover.phabricator`). The comment says what moved where, the change, the
outcome and the audit run; each task's entry (task, sent, error) is the JSON's
`task_comments`. A comment that cannot be sent is a warning and an audit line.

Examples:
    >>> system = make(cfg, run)                                          # doctest: +SKIP
    >>> system.end(run); run.task_comments
    [{'task': 'T12345', 'sent': True, 'error': None}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from failover.errors import OutsideError
from failover.outside_systems.base import OUTSIDE_FAILURES, OutsideRun, OutsideSystem, why

if TYPE_CHECKING:
    from failover.config import Config
    from failover.config.model import PhabricatorConfig


def make(cfg: Config, run: OutsideRun) -> OutsideSystem | None:
    """Return the task comments for this run, None without `--bug` or `[phabricator]`."""
    if not run.tasks or cfg.phabricator is None:
        return None
    return TaskComments(cfg.phabricator)


class TaskComments(OutsideSystem):
    """Comments on each task of the run, once, when a run that acted ends."""

    def __init__(self, cfg: PhabricatorConfig) -> None:
        self.cfg = cfg

    def end(self, run: OutsideRun) -> None:
        """Comment on each task (if the run started)."""
        if not run.started:
            return
        for task in run.tasks:  # one comment on each task
            self._comment(run, task)

    def _comment(self, run: OutsideRun, task: str) -> None:
        from failover.phabricator import ConduitClient, phabricator_token

        phab = self.cfg
        entry: dict[str, Any] = {"task": task, "sent": False, "error": None}
        run.task_comments.append(entry)
        try:
            token = phabricator_token(phab.url)
            if not token:
                raise OutsideError("no Conduit token: set FAILOVER_PHABRICATOR_TOKEN or add "
                                   f"the host of {phab.url} to ~/.netrc")
            with run.call("task"):
                ConduitClient(phab.url, token=token, timeout=phab.timeout,
                              ca_bundle=phab.ca_bundle).comment(task, task_text(run))
        except KeyboardInterrupt:
            entry["error"] = "interrupted by a signal"
            raise
        except OUTSIDE_FAILURES as exc:
            entry["error"] = why(exc)
            run.warn("task", "failed", f"no comment on {task}: {entry['error']}")
            return
        entry["sent"] = True
        run.log("task", "commented", summary=f"{task} on {phab.url}", task=task)


def task_text(run: OutsideRun) -> str:
    """Return the task comment: what moved where, the change, the outcome, the run id."""
    was = run.current or run.zone_target or "?"
    outcome = "done" if run.outcome == "done" else (
        f"{run.outcome} (exit {run.exit_code}): {run.error or ''}".strip())
    if run.outcome == "stopped":
        outcome = "pushed; waiting for review (--no-wait)"
    lines = [f"{run.user}@{run.host} ran `failover promote {run.region} {run.target}`"
             + (f" ({run.reason})" if run.reason else "") + ":",
             f"- {run.fqdn}: {was} -> {run.target} ({run.label})",
             f"- change: {run.change_url or 'none'}",
             f"- outcome: {outcome}",
             f"- audit run: {run.audit.run_id} (in {run.audit.path} on {run.host})"]
    if run.self_merged:
        lines.append(f"- self-merged by {run.user} (Code-Review +2 and submit, an emergency)")
    if run.silence is not None and run.silence.id:
        lines.append(f"- silence: {run.silence.url} until {run.silence.ends_at}")
    return "\n".join(lines)
