"""Run one promote: fill the Plan and walk its steps, for real or as a dry-run.

`Promotion(cfg, request, observer).run()` walks the steps of `failover.promote.steps` in
order. The first steps only read (lock, both controllers' HAProxy, nameservers, zone at the
remote tip, open changes in Gerrit), decide (`failover.promote.decide`) and build the change in
a temporary worktree; they run in both modes. The steps that act run for real, or, in a
dry-run, are described and marked `would run`. Every step is recorded in the audit log; an
error stops the walk with its exit code, and Ctrl-C or SIGTERM leaves a clean state and says
how to resume (running the same command again).

Examples:
    >>> promotion = Promotion(cfg, PromoteRequest("eqiad1", "cloudcontrol1004", dry_run=True),
    ...                       observer)                                  # doctest: +SKIP
    >>> promotion.run().outcome
    'done'
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from failover.errors import FailoverError, GateRefused, Interrupted, UsageError
from failover.promote.context import Context
from failover.promote.plan import Observer, Outcome, Plan, PromoteRequest, Step, round_seconds
from failover.promote.steps import STEPS, StepSpec
from failover.signals import STOP

if TYPE_CHECKING:
    from failover.config import Config


STEP_MODULES = ("git", "failover.lock", "failover.haproxy", "failover.dnscheck",
                "failover.gerrit", "failover.repo", "failover.zone", "failover.deploy")
"""What the steps import when they run, imported before the first step (issue 14)."""


class Promotion:
    """Runs one promote: builds the plan, then walks its steps (or describes them)."""

    def __init__(self, cfg: Config, request: PromoteRequest, observer: Observer) -> None:
        self.cfg = cfg
        self.request = request
        self.observer = observer
        from failover.model import name_of

        member = None
        if request.action is not None:  # a depool or pool: a promote between two sets
            from failover.promote.pooling import start

            name, member = start(cfg, request.region, request.member or "",
                                 "depool" if request.action == "depool" else "pool")
        else:
            name = name_of(cfg, request.region)  # its records, candidates, zone file, topic
        name.candidate(request.target)
        first = name.records[0]
        self.plan = Plan(request=request, name=name, region=first,
                         target=first.controller(request.target),
                         deploy=name.deploy_argv(cfg),
                         steps=[Step(s.key, s.title, s.acts) for s in STEPS], member=member)
        from failover.names import BUG_RE
        from failover.repo import check_command_line_text

        for task in request.bugs:
            if not BUG_RE.fullmatch(task):
                raise UsageError(f"bad task id {task!r}",
                                 hint="give a Phabricator task like T12345")
        if request.reason is not None:  # refused before the lock, health and fetch
            check_command_line_text("--reason", request.reason)
        from failover.promote.gerritflow import check_request

        check_request(request)  # issue 23's options: which go together
        from failover.audit import AuditLog, default_audit_path

        self.audit = AuditLog(cfg.audit_log or default_audit_path(), {
            "region": request.region, "to": request.target, "reason": request.reason,
            "bug": request.bug, "forced": request.force, "dry_run": request.dry_run,
            **({"action": request.action, "member": request.member} if request.action else {})})
        from failover.promote.outside import Outside

        # the outside systems (failover.outside_systems): silence, SAL, task comments, metrics
        self.outside = Outside(cfg, request, self.plan, self.audit, observer)
        self.context = Context(cfg, request, self.plan, observer, outside=self.outside)
        self._audited = self._audit_warned = False

    def run(self) -> Plan:
        """Return the plan after walking every step; raise the error that stopped it, if any."""
        for name in STEP_MODULES:  # before any step's clock starts: its seconds are its work
            importlib.import_module(name)
        plan = self.plan
        shielded = False
        try:
            with self.context.stack:
                try:
                    for spec, step in zip(STEPS, plan.steps, strict=True):
                        if spec.run is None:  # record: done last, whatever happened
                            break
                        if step.status == "pending":
                            self._walk(spec, spec.run, step)
                        else:
                            self.observer.step_finished(step)
                        if spec.preview_after and plan.kind != "nothing to do":
                            self.outside.describe()
                            self.observer.preview(plan)
                        if plan.outcome == "stopped":
                            break
                finally:  # from here on, clean-up and the record are not cut short
                    STOP.deferred += 1
                    shielded = True
            plan.outcome = "done" if plan.outcome in ("pending", "running") else plan.outcome
            plan.exit_code = 0
            return plan
        except KeyboardInterrupt:
            stopped = Interrupted(self._resume_text("interrupted"))
            self._fail("interrupted", stopped)
            raise stopped from None
        except FailoverError as exc:
            self._fail("refused" if isinstance(exc, GateRefused) else "failed", exc)
            raise
        finally:
            try:  # the outside systems never raise an outside failure; a bug there still
                self.outside.end()  # leaves the run's record
            finally:
                self._record()
            if shielded:
                STOP.deferred -= 1
                STOP.pending = False  # the run has ended: a signal now changes nothing

    def _walk(self, spec: StepSpec, run: Callable[[Context], None], step: Step) -> None:
        if self.request.dry_run and spec.acts:
            step.status = "would run"
            step.summary = spec.describe(self.context)
            self.observer.step_finished(step)
            return
        if spec.acts and not spec.asks:
            self.outside.start()  # silence, then SAL START: once, before the push
        step.status = "running"
        self.observer.step_started(step)
        start = time.monotonic()
        try:
            run(self.context)
        finally:
            step.seconds = time.monotonic() - start
        if step.status == "running":
            step.status = "done"
        self._audit(step.key, step.status, refuse=not self._audited, summary=step.summary,
                    seconds=round_seconds(step.seconds), change_url=self.plan.change_url)
        self.observer.step_finished(step)

    def _fail(self, outcome: Outcome, exc: FailoverError) -> None:
        plan = self.plan
        for step in plan.steps:
            if step.status == "running":
                step.status = "interrupted" if outcome == "interrupted" else \
                    "refused" if outcome == "refused" else "failed"
                step.summary = exc.message
                self._audit(step.key, step.status, summary=step.summary,
                            change_url=plan.change_url)
                self.observer.step_finished(step)
        plan.outcome, plan.error, plan.exit_code = outcome, str(exc), exc.exit_code

    def _audit(self, step: str, result: str, *, refuse: bool = False, **details: Any) -> None:
        """Append an audit line; a failing log refuses the run's start, later only warns.

        After the first line, the run may have pushed or merged: losing its change or its
        real outcome because the log's disk is full would be worse than a missing line.
        """
        try:
            self.audit.record(step, result, **details)
        except (OSError, FailoverError) as exc:
            why = exc.message if isinstance(exc, FailoverError) else \
                f"cannot write the audit log {self.audit.path}: {exc.strerror or exc}"
            if refuse:
                raise UsageError(why, hint="set [audit] log to a writable file (or free the "
                                           "disk); nothing was done") from None
            if not self._audit_warned:
                self._audit_warned = True
                self.observer.warn(f"{why}; the run goes on without it (from step {step})")
            return
        self._audited = True

    def _record(self) -> None:
        plan = self.plan
        step = plan.step("record")
        step.status, step.summary = "done", f"outcome {plan.outcome}"
        details: dict[str, Any] = {"from": plan.current}
        self._audit("record", plan.outcome, kind=plan.label, change_url=plan.change_url,
                    error=plan.error, exit_code=plan.exit_code,
                    durations={k: round_seconds(v) for k, v in plan.durations.items()},
                    **details)
        self.observer.step_finished(step)

    def _resume_text(self, what: str) -> str:
        plan = self.plan
        where = f" (change {plan.change_url})" if plan.change_url else ""
        merged = plan.kind == "resume deploy" or plan.step("review").status == "done"
        if merged:
            then = "it sees the change merged and goes on with the deploy and verification"
        elif plan.change_url:
            then = "it finds the open change and goes on from there"
        elif plan.step("push").status == "running":
            then = "it finds the change if the push reached Gerrit, else it pushes it"
        else:
            then = "nothing was pushed, so it starts from the beginning"
        return (f"{what}{where}; the checkout is untouched. Run the same command again to "
                f"resume: {then}")
