"""The operators' habits around a promote: the SAL lines, the silence, the task comment.

Each is off unless configured (`[sal]`, `[alertmanager]` with `--silence`, `[phabricator]`
with `--bug`) and none can fail or hold up the failover: an outside system that is down, slow
or answering errors costs at most its timeout and becomes a warning and an audit line.
`Promotion` calls four methods: `describe` before the preview (what would be sent: shown on a
dry-run, where nothing is sent), `before_acting` once before the first step that acts (the
silence, then SAL `START`), and `end` when the run ends (an unneeded silence expired, SAL
`END (PASS)` / `END (FAIL)`, the task comment). Every call to an outside system is an
`outside_call`: a signal (Ctrl-C, SIGTERM, SIGHUP) ends it at once, also in the end of a run
where other signals wait, and the run records it ("interrupted") and sends nothing more.

Examples:
    >>> habits = Habits(cfg, request, audit, observer)                  # doctest: +SKIP
    >>> habits.describe(plan); habits.before_acting(plan); habits.end(plan)
    >>> plan.sal
    ['!log alice@cumin1002 admin START - failover promote eqiad1 cloudcontrol1004 (T12345)', ...]
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from failover.errors import FailoverError, OutsideError, UsageError

OUTSIDE_FAILURES = (OutsideError, UsageError, OSError)
"""What an outside call can fail with: its own error, a token/netrc problem, or the OS (a
`ca_bundle` gone since the config was read): each a warning and an audit line (issue 20)."""
REUSE_SLACK = 300.0
"""A found silence ending at most this much before the asked end is reused, not extended:
a resumed run minutes after its first part asks the same window again."""

if TYPE_CHECKING:
    from failover.alertmanager import AlertmanagerClient, Silence
    from failover.audit import AuditLog
    from failover.config import Config
    from failover.promote.plan import Observer, Plan, PromoteRequest


class Habits:
    """Sends what a promote tells the outside world, never letting it fail the run."""

    def __init__(self, cfg: Config, request: PromoteRequest, audit: AuditLog,
                 observer: Observer, *, sal_project: str = "") -> None:
        from failover.outside import operator

        self.cfg, self.request, self.audit, self.observer = cfg, request, audit, observer
        self.sal_project = sal_project
        """The project the SAL lines name first: the name's own (`failover.model`)."""
        self.user, self.host = operator()
        self.silence_seconds: float | None = None
        self._started = False
        self._created: Silence | None = None
        self._doing = ""
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
        message = sal_message(phase, self.request, project=self.sal_project,
                              exit_code=exit_code)
        return sal_line(message, user=self.user, host=self.host)

    def _old_primary(self, plan: Plan) -> str | None:
        return plan.current if plan.current and plan.current != plan.target.name else None

    def _left_hosts(self, plan: Plan) -> tuple[list[str], str | None]:
        """Return the hosts the records leave (the alerts to silence), or why there are none.

        A region's old primary is its controller's name; a service's or group's are the
        short names of the old candidate's targets that the new one does not keep (a group's
        side is a data centre, not a host Alertmanager knows).
        """
        from failover.names import normalize_target, record_type_for

        old = self._old_primary(plan)
        if old is None:
            return [], "no old primary known: no silence created"
        name = plan.name
        if name.kind == "region":
            return [old], None
        left = name.candidate(old).targets
        new = name.candidate(plan.target.name).targets
        hosts = []
        for record in (r.fqdn for r in name.records):
            if name.record(record).set_type is not None:  # a set: the hosts it leaves
                from failover.zone.setspec import hosts as set_hosts

                kept = set(set_hosts(new[record]))
                hosts += [h.split(".")[0].lower() for h in set_hosts(left[record])
                          if h not in kept and not h[:1].isdigit() and ":" not in h]
                continue
            target = left[record]
            if normalize_target(target) == normalize_target(new[record]):
                continue
            if record_type_for(target) != "CNAME":
                return [], (f"{record} leaves {target}, an address, not a host name: no "
                            "silence created (silence its host by hand)")
            hosts.append(target.rstrip(".").split(".")[0].lower())
        if not hosts:
            return [], "the records leave no host: no silence created"
        return list(dict.fromkeys(hosts)), None

    def _matchers(self, hosts: list[str]) -> list[dict[str, Any]]:
        """Return the matchers with `{controller}` as the host, or every host (a regex).

        Raises:
            UsageError: several hosts and a matcher that is not a regular expression.
        """
        from failover.alertmanager import matcher_text, parse_matcher

        assert self.cfg.alertmanager is not None
        out = []
        for text in self.cfg.alertmanager.matchers:
            one = parse_matcher(text, controller=hosts[0])
            if len(hosts) > 1 and "{controller}" in text:
                if not one["isRegex"]:
                    raise UsageError(
                        f"the records leave {len(hosts)} hosts ({', '.join(hosts)}) and the "
                        f"matcher {matcher_text(one)} is not a regular expression (=~): no "
                        "silence created (silence them by hand)")
                one = parse_matcher(text, controller=f"(?:{'|'.join(hosts)})")
            out.append(one)
        return out

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
        hosts, _why = self._left_hosts(plan)
        if self.silence_seconds is not None and hosts and plan.silence is None:
            from failover.alertmanager import Silence, iso

            try:
                matchers = self._matchers(hosts)
            except UsageError:  # said when the run would create it (_silence)
                return
            now = time.time()
            plan.silence = Silence(None, None, iso(now), iso(now + self.silence_seconds),
                                   tuple(matchers), self.user, self._comment())

    # -- before the first step that acts ------------------------------------------------------

    def before_acting(self, plan: Plan) -> None:
        """Silence the old primary and send SAL START, once per run (never on a dry-run)."""
        if self._started or self.request.dry_run:
            return
        self._started = True
        self.describe(plan)
        try:
            if self.silence_seconds is not None:
                self._silence(plan)
            if self._sal_on():
                self._sal(plan, "START")
        except KeyboardInterrupt:  # the run stops: nothing was pushed
            self._interrupted()
            raise

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        """Within the block, one call to the outside system `what`, which a signal ends."""
        from failover.signals import outside_call

        self._doing = what
        with outside_call():
            yield

    def _interrupted(self) -> None:
        self._warn(self._doing, "interrupted",
                   f"stopped by a signal while waiting on {self._doing}; nothing more is sent "
                   "to the outside systems (SAL, Alertmanager, Phabricator) by this run")

    def _silence(self, plan: Plan) -> None:
        hosts, why = self._left_hosts(plan)
        try:
            matchers = self._matchers(hosts) if hosts else []
        except UsageError as exc:
            why = exc.message
        if why is not None:
            self._warn("silence", "skipped", why)
            plan.silence = None
            return
        client, comment = self._client(), self._comment()
        what = ", ".join(hosts)
        try:
            with self._call("silence"):
                silence, how = self._silence_for(client, matchers, comment, plan)
        except OUTSIDE_FAILURES as exc:
            plan.silence = None
            self._warn("silence", "failed", f"no silence for {what}: {_why(exc)}")
            return
        plan.silence = silence
        self._note(f"silence {how}: {silence.id} until {silence.ends_at} ({silence.url})")
        self._log("silence", how.split(" ", 1)[0], summary=f"{what} until {silence.ends_at}",
                  silence_id=silence.id, silence_url=silence.url, ends_at=silence.ends_at)

    def _silence_for(self, client: AlertmanagerClient, matchers: list[dict[str, Any]],
                     comment: str, plan: Plan) -> tuple[Silence, str]:
        """Return the silence for this run and how it came: created, reused or extended.

        A silence with the same matchers, author and comment is this run's own when the run
        resumes (reused while it ends when asked), or an earlier run's: reused only when it
        ends no earlier than asked, else extended to the asked end, never taken as it is.
        """
        assert self.silence_seconds is not None
        found = client.find(matchers, created_by=self.user, comment=comment)
        if found is None:
            self._created = client.create(matchers, seconds=self.silence_seconds,
                                          created_by=self.user, comment=comment)
            return self._created, "created"
        want = time.time() + self.silence_seconds
        ends = found.ends()
        whose = "this run's own, resumed" if plan.kind.startswith("resume") else \
            "an earlier run's"
        if ends is not None and ends >= want - REUSE_SLACK:
            return found, f"reused ({whose}, ending when asked or later)"
        extended = client.extend(found, seconds=self.silence_seconds)
        return extended, f"extended ({whose}, was until {found.ends_at})"

    def _sal(self, plan: Plan, phase: str, exit_code: int | None = None) -> None:
        from failover.sal import sal_message, send_sal

        assert self.cfg.sal is not None
        message = sal_message(phase, self.request, project=self.sal_project,
                              exit_code=exit_code,
                              durations=plan.durations if phase.startswith("END") else None)
        with self._call("sal"):
            result = send_sal(self.cfg.sal, message, user=self.user)
        if result.error:
            self._warn("sal", "failed", f"{result.error}; not logged: {result.line}")
            return
        plan.sal.append(result.line)
        self._log("sal", "sent", summary=result.line)

    # -- at the end ---------------------------------------------------------------------------

    def say(self, plan: Plan, phase: str) -> None:
        """Send one SAL line beside START and END (e.g. `SELF-MERGED ...`), when SAL is on."""
        if self._sal_on() and not self.request.dry_run:
            self._sal(plan, phase)

    def end(self, plan: Plan) -> None:
        """Expire an unneeded silence, send SAL END, comment on the task (if the run acted)."""
        if not self._started:
            return
        try:
            self._end(plan)
        except KeyboardInterrupt:  # the run's record follows: its outcome stays the run's
            self._interrupted()

    def _end(self, plan: Plan) -> None:
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
            with self._call("silence"):
                self._client().expire(silence.id)
        except OUTSIDE_FAILURES as exc:
            self._warn("silence", "failed", f"could not expire silence {silence.id}: "
                                            f"{_why(exc)}; expire it at {silence.url}")
            return
        self._note(f"silence {silence.id} expired: nothing was pushed")
        self._log("silence", "expired", summary="nothing was pushed", silence_id=silence.id)

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
            with self._call("task"):
                ConduitClient(phab.url, token=token, timeout=phab.timeout,
                              ca_bundle=phab.ca_bundle).comment(task, self.task_text(plan))
        except KeyboardInterrupt:
            entry["error"] = "interrupted by a signal"
            raise
        except OUTSIDE_FAILURES as exc:
            entry["error"] = _why(exc)
            self._warn("task", "failed", f"no comment on {task}: {entry['error']}")
            return
        entry["sent"] = True
        self._log("task", "commented", summary=f"{task} on {phab.url}", task=task)

    # -- reporting ----------------------------------------------------------------------------

    def _warn(self, what: str, result: str, text: str) -> None:
        self.observer.warn(text)
        self._log(what, result, summary=text)

    def _log(self, what: str, result: str, **details: Any) -> None:
        """Append an audit line; a log that cannot be written is the run's to report (it
        warns once), never a reason to stop here."""
        try:
            self.audit.record(what, result, **details)
        except (OSError, FailoverError) as exc:
            self.observer.warn(f"no audit line for {what} {result}: {_why(exc)}")

    def _note(self, text: str) -> None:
        self.observer.note(text)


def _why(exc: BaseException) -> str:
    """Return an outside failure's reason (an OSError's own text: a missing CA file, ...)."""
    if isinstance(exc, FailoverError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
