"""The operators' habits around a promote: the SAL lines, the silence, the task comment.

Each is off unless configured (`[sal]`, `[alertmanager]` with `--silence`, `[phabricator]`
with `--bug`) and none can fail or hold up the failover: an outside system that is down, slow
or answering errors costs at most its timeout and becomes a warning and an audit line.
`Promotion` calls four methods: `describe` before the preview (what would be sent: shown on a
dry-run, where nothing is sent), `before_acting` once before the first step that acts (the
silence, then SAL `START`), and `end` when the run ends (an unneeded silence expired, SAL
`END (PASS)` / `END (FAIL)`, the task comment).

Examples:
    >>> habits = Habits(cfg, request, audit, observer)                  # doctest: +SKIP
    >>> habits.describe(plan); habits.before_acting(plan); habits.end(plan)
    >>> plan.sal
    ['!log alice@cumin1002 admin START - failover promote eqiad1 cloudcontrol1004 (T12345)', ...]
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from failover.errors import OutsideError, UsageError

if TYPE_CHECKING:
    from failover.alertmanager import AlertmanagerClient, Silence
    from failover.audit import AuditLog
    from failover.config import Config
    from failover.promote.plan import Observer, Plan, PromoteRequest


class Habits:
    """Sends what a promote tells the outside world, never letting it fail the run."""

    def __init__(self, cfg: Config, request: PromoteRequest, audit: AuditLog,
                 observer: Observer) -> None:
        from failover.outside import operator

        self.cfg, self.request, self.audit, self.observer = cfg, request, audit, observer
        self.user, self.host = operator()
        self.silence_seconds: float | None = None
        self._started = False
        self._created: Silence | None = None
        if request.silence is not None:
            from failover.alertmanager import parse_duration

            self.silence_seconds = parse_duration(request.silence)
            if cfg.alertmanager is None:
                raise UsageError("--silence needs an Alertmanager",
                                 hint="add [alertmanager] url (and matchers) to the config")

    # -- what would be sent ---------------------------------------------------------------------

    def _sal_on(self) -> bool:
        return self.cfg.sal is not None and not self.request.no_sal

    def _sal_text(self, phase: str, exit_code: int | None = None) -> str:
        from failover.sal import sal_line, sal_message

        assert self.cfg.sal is not None
        message = sal_message(phase, self.request, project=self.cfg.sal.project,
                              exit_code=exit_code)
        return sal_line(message, user=self.user, host=self.host)

    def _old_primary(self, plan: Plan) -> str | None:
        return plan.current if plan.current and plan.current != plan.target.name else None

    def _matchers(self, controller: str) -> list[dict[str, Any]]:
        from failover.alertmanager import parse_matcher

        assert self.cfg.alertmanager is not None
        return [parse_matcher(m, controller=controller) for m in self.cfg.alertmanager.matchers]

    def _comment(self) -> str:
        r = self.request
        what = r.reason or f"failover promote {r.region} {r.target}"
        return f"{what} - {self.user}@{self.host}" + (f" - {', '.join(r.tasks)}" if r.tasks else "")

    def _client(self) -> AlertmanagerClient:
        from failover.alertmanager import AlertmanagerClient

        am = self.cfg.alertmanager
        assert am is not None
        return AlertmanagerClient(am.url, timeout=am.timeout, ca_bundle=am.ca_bundle)

    def describe(self, plan: Plan) -> None:
        """Fill in what the run will send: SAL lines, the silence (id None until created)."""
        if self._sal_on():
            plan.sal_planned = [self._sal_text("START"), self._sal_text("END (PASS)")]
        old = self._old_primary(plan)
        if self.silence_seconds is not None and old and plan.silence is None:
            from failover.alertmanager import Silence, iso

            now = time.time()
            plan.silence = Silence(None, None, iso(now), iso(now + self.silence_seconds),
                                   tuple(self._matchers(old)), self.user, self._comment())

    # -- before the first step that acts ------------------------------------------------------

    def before_acting(self, plan: Plan) -> None:
        """Silence the old primary and send SAL START, once per run (never on a dry-run)."""
        if self._started or self.request.dry_run:
            return
        self._started = True
        self.describe(plan)
        if self.silence_seconds is not None:
            self._silence(plan)
        if self._sal_on():
            self._sal(plan, "START")

    def _silence(self, plan: Plan) -> None:
        old = self._old_primary(plan)
        if old is None:
            self._warn("silence", "skipped", "no old primary known: no silence created")
            plan.silence = None
            return
        client, matchers, comment = self._client(), self._matchers(old), self._comment()
        assert self.silence_seconds is not None
        try:
            silence = client.find(matchers, created_by=self.user, comment=comment)
            if silence is None:
                silence = self._created = client.create(
                    matchers, seconds=self.silence_seconds, created_by=self.user,
                    comment=comment)
        except OutsideError as exc:
            plan.silence = None
            self._warn("silence", "failed", f"no silence for {old}: {exc.message}")
            return
        plan.silence = silence
        how = "reused" if silence.reused else "created"
        self._note(f"silence {how}: {silence.id} until {silence.ends_at} ({silence.url})")
        self.audit.record("silence", how, summary=f"{old} until {silence.ends_at}",
                          silence_id=silence.id, silence_url=silence.url,
                          ends_at=silence.ends_at)

    def _sal(self, plan: Plan, phase: str, exit_code: int | None = None) -> None:
        from failover.sal import sal_message, send_sal

        assert self.cfg.sal is not None
        message = sal_message(phase, self.request, project=self.cfg.sal.project,
                              exit_code=exit_code)
        result = send_sal(self.cfg.sal, message, user=self.user)
        if result.error:
            self._warn("sal", "failed", f"{result.error}; not logged: {result.line}")
            return
        plan.sal.append(result.line)
        self.audit.record("sal", "sent", summary=result.line)

    # -- at the end ---------------------------------------------------------------------------

    def say(self, plan: Plan, phase: str) -> None:
        """Send one SAL line beside START and END (e.g. `SELF-MERGED ...`), when SAL is on."""
        if self._sal_on() and not self.request.dry_run:
            self._sal(plan, phase)

    def end(self, plan: Plan) -> None:
        """Expire an unneeded silence, send SAL END, comment on the task (if the run acted)."""
        if not self._started:
            return
        failed = plan.outcome in ("failed", "refused", "interrupted")
        if failed and self._created is not None and plan.change_url is None:
            self._expire(plan, self._created)
        if self._sal_on():
            self._sal(plan, "END (FAIL)" if failed else "END (PASS)",
                      plan.exit_code if failed else None)
        if self.request.tasks and self.cfg.phabricator is not None:
            for task in self.request.tasks:  # one comment on each task
                self._task_comment(plan, task)

    def _expire(self, plan: Plan, silence: Silence) -> None:
        assert silence.id is not None
        try:
            self._client().expire(silence.id)
        except OutsideError as exc:
            self._warn("silence", "failed", f"could not expire silence {silence.id}: "
                                            f"{exc.message}; expire it at {silence.url}")
            return
        self._note(f"silence {silence.id} expired: nothing was pushed")
        self.audit.record("silence", "expired", summary="nothing was pushed",
                          silence_id=silence.id)

    def task_text(self, plan: Plan) -> str:
        """Return the task comment: what moved where, the change, the outcome, the run id."""
        r = plan.request
        was = plan.current or plan.zone_target or "?"
        outcome = "done" if plan.outcome == "done" else (
            f"{plan.outcome} (exit {plan.exit_code}): {plan.error or ''}".strip())
        if plan.outcome == "stopped":
            outcome = "pushed; waiting for review (--no-wait)"
        lines = [f"{self.user}@{self.host} ran `failover promote {r.region} {r.target}`"
                 + (f" ({r.reason})" if r.reason else "") + ":",
                 f"- {plan.region.fqdn}: {was} -> {plan.target.name} ({plan.label})",
                 f"- change: {plan.change_url or 'none'}",
                 f"- outcome: {outcome}",
                 f"- audit run: {self.audit.run_id} (in {self.audit.path} on {self.host})"]
        if plan.gerrit_flow.get("self_merged"):
            lines.append(f"- self-merged by {self.user} (Code-Review +2 and submit, "
                         "an emergency)")
        if plan.silence is not None and plan.silence.id:
            lines.append(f"- silence: {plan.silence.url} until {plan.silence.ends_at}")
        return "\n".join(lines)

    def _task_comment(self, plan: Plan, task: str) -> None:
        from failover.phabricator import ConduitClient, phabricator_token

        phab = self.cfg.phabricator
        assert phab is not None
        entry: dict[str, Any] = {"task": task, "sent": False, "error": None}
        plan.task_comments.append(entry)
        try:
            token = phabricator_token(phab.url)
            if not token:
                raise OutsideError("no Conduit token: set FAILOVER_PHABRICATOR_TOKEN or add "
                                   f"the host of {phab.url} to ~/.netrc")
            ConduitClient(phab.url, token=token, timeout=phab.timeout,
                          ca_bundle=phab.ca_bundle).comment(task, self.task_text(plan))
        except (OutsideError, UsageError) as exc:
            entry["error"] = exc.message
            self._warn("task", "failed", f"no comment on {task}: {exc.message}")
            return
        entry["sent"] = True
        self.audit.record("task", "commented", summary=f"{task} on {phab.url}", task=task)

    # -- reporting ----------------------------------------------------------------------------

    def _warn(self, what: str, result: str, text: str) -> None:
        self.observer.warn(text)
        self.audit.record(what, result, summary=text)

    def _note(self, text: str) -> None:
        note = getattr(self.observer, "note", None)  # observers written before it: warn
        (note or self.observer.warn)(text)
