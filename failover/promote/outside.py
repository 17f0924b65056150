"""The promote's outside systems (`failover.outside_systems`), owned here: told the plan's
facts before each call, their results copied back into the plan.

The systems see only an `OutsideRun` (plain facts and what they sent), never the Plan; this
module is the one place that maps one onto the other: the Plan's `sal`, `sal_planned`,
`silence` and `task_comments` (JSON fields, a contract) are what the systems filled.

Examples:
    >>> outside = Outside(cfg, request, plan, audit, observer)           # doctest: +SKIP
    >>> outside.describe(); outside.start(); outside.end()
    >>> plan.sal
    ['!log alice@cumin1002 admin START - failover promote eqiad1 cloudcontrol1004', ...]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from failover.outside_systems import configured
from failover.outside_systems.base import OutsideRun, Records, Says

if TYPE_CHECKING:
    from failover.config import Config
    from failover.promote.plan import Plan, PromoteRequest


class Outside:
    """The run's outside systems (SAL, silence, task comments, metrics), seen from the plan."""

    def __init__(self, cfg: Config, request: PromoteRequest, plan: Plan, audit: Records,
                 observer: Says) -> None:
        """Make the systems configured for this request.

        Raises:
            UsageError: a system asked for but not configured (`--silence`, no Alertmanager).
        """
        self.plan = plan
        self.run = OutsideRun(
            region=request.region, target=request.target, name=plan.name, audit=audit,
            observer=observer, reason=request.reason, tasks=request.tasks,
            dry_run=request.dry_run, action=request.action, member=request.member or "",
            no_sal=request.no_sal, silence_for=request.silence,
            project=plan.name.sal_project)  # SAL lines name the name's own project
        self.systems = configured(cfg, self.run)

    def describe(self) -> None:
        """Fill in the plan what the run will send (before the preview)."""
        with self._told():
            self.systems.describe()

    def start(self) -> None:
        """Silence the old primary and send SAL START, once, before the first step that acts."""
        with self._told():
            self.systems.start()

    def say(self, text: str) -> None:
        """Say a line beside the steps (SAL: `SELF-MERGED <url>`)."""
        with self._told():
            self.systems.say(text)

    def end(self) -> None:
        """End every system: expire an unneeded silence, SAL END, task comments, metrics."""
        with self._told():
            self.systems.end()

    @contextmanager
    def _told(self) -> Iterator[None]:
        """Within the block the systems see the plan as it is; what they sent goes back."""
        run, plan = self.run, self.plan
        run.current, run.zone_target = plan.current, plan.zone_target
        run.fqdn, run.label = plan.region.fqdn, plan.label
        run.resuming = plan.kind.startswith("resume")
        run.change_url = plan.change_url
        run.self_merged = bool(plan.gerrit_flow.get("self_merged"))
        run.outcome, run.exit_code, run.error = plan.outcome, plan.exit_code, plan.error
        run.durations = plan.durations
        run.sal, run.sal_planned = plan.sal, plan.sal_planned
        run.silence, run.task_comments = plan.silence, plan.task_comments
        try:
            yield
        finally:
            plan.sal, plan.sal_planned = run.sal, run.sal_planned
            plan.silence, plan.task_comments = run.silence, run.task_comments
