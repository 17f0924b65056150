"""Run one promote: fill the Plan and walk its steps, for real or as a dry-run.

`Promotion(cfg, request, observer).run()` walks `Plan.steps` in order. The first steps only
read (lock, both controllers' HAProxy, nameservers, zone at the remote tip, open changes in
Gerrit) and build the change in a temporary worktree; they run in both modes. The steps that
act run for real, or, in a dry-run, are described and marked `would run`. Every step is
recorded in the audit log; an error stops the walk with its exit code, and Ctrl-C or SIGTERM
leaves a clean state and says how to resume (running the same command again).

Examples:
    >>> promotion = Promotion(cfg, PromoteRequest("eqiad1", "cloudcontrol1004", dry_run=True),
    ...                       observer)                                  # doctest: +SKIP
    >>> promotion.run().outcome
    'done'
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from failover import __version__
from failover.errors import FailoverError, GateRefused, GitError, Interrupted, UsageError
from failover.plan import STEPS, Observer, Plan, PromoteRequest, Step, round_seconds

if TYPE_CHECKING:
    from failover.config import Config
    from failover.dnscheck import DnsReport
    from failover.gerrit import ChangeInfo, GerritClient
    from failover.repo import Checkout, Worktree

PUSHED_LOOKUP_TRIES = 5
"""How many times the review step asks Gerrit for the change just pushed (by Change-Id)."""


SUBJECT_MAX = 50
"""The subject length the repository's `.gitmessage` asks for."""
SUBJECT_SHAPES = ("fail over {short} to {to}", "move {region} API to {to}",
                  "{region} API to {to}")
"""The subject after `topic: `, by preference; the first that fits SUBJECT_MAX is used."""
SUBJECT_PARSE_RE = re.compile(r"(?:[^\s:]+: )?(?:fail over |move )?(?P<what>\S+?)"
                              r"(?: API)? to (?P<to>[A-Za-z0-9-]+)")
"""Any of SUBJECT_SHAPES (and earlier versions' subjects): what moved, and where to."""


class Promotion:
    """Runs one promote: builds the plan, then walks its steps (or describes them)."""

    def __init__(self, cfg: Config, request: PromoteRequest, observer: Observer) -> None:
        self.cfg = cfg
        self.request = request
        self.observer = observer
        region = cfg.region(request.region)
        self.plan = Plan(request=request, region=region, target=region.controller(request.target),
                         deploy=cfg.dns.deploy)
        from failover.repo import BUG_RE, check_command_line_text

        for task in ([request.bug] if request.bug is not None else []) + list(request.bugs):
            if not BUG_RE.fullmatch(task):
                raise UsageError(f"bad task id {task!r}",
                                 hint="give a Phabricator task like T12345")
        if request.reason is not None:  # refused before the lock, health and fetch
            check_command_line_text("--reason", request.reason)
        from failover.audit import AuditLog, default_audit_path

        self.audit = AuditLog(cfg.audit_log or default_audit_path(), {
            "region": request.region, "to": request.target, "reason": request.reason,
            "bug": request.bug, "forced": request.force, "dry_run": request.dry_run})
        from failover.habits import Habits

        self.habits = Habits(cfg, request, self.audit, observer)  # SAL, silence, task comment
        self._checkout: Checkout | None = None
        self._worktree: Worktree | None = None
        self._gerrit: GerritClient | None = None
        self._topic: str | None = None
        self._audited = self._audit_warned = False

    def run(self) -> Plan:
        """Return the plan after walking every step; raise the error that stopped it, if any."""
        plan = self.plan
        handlers: dict[str, Callable[[], None]] = {
            "health": self._health, "state": self._state,
            "prepare": self._prepare, "confirm-push": lambda: self._confirm("push"),
            "push": self._push, "review": self._review,
            "confirm-deploy": lambda: self._confirm("deploy"), "deploy": self._deploy,
            "verify": self._verify,
        }
        shielded = False
        try:
            with ExitStack() as stack:
                self._stack = stack
                try:
                    for step in plan.steps:
                        if step.key == "record":
                            break
                        if step.key == "lock":
                            self._walk(step, self._lock)
                        elif step.status == "pending":
                            self._walk(step, handlers[step.key])
                        else:
                            self.observer.step_finished(step)
                        if step.key == "prepare" and plan.kind != "nothing to do":
                            self.habits.describe(plan)
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
            self.habits.end(self.plan)
            self._record()
            if shielded:
                STOP.deferred -= 1
                STOP.pending = False  # the run has ended: a signal now changes nothing

    # -- walking ------------------------------------------------------------------------------

    def _walk(self, step: Step, handler: Callable[[], None]) -> None:
        if self.request.dry_run and step.acts:
            step.status = "would run"
            step.summary = self._describe(step.key)
            self.observer.step_finished(step)
            return
        if step.acts and not step.key.startswith("confirm-"):
            self.habits.before_acting(self.plan)  # silence, then SAL START: once, before push
        step.status = "running"
        self.observer.step_started(step)
        start = time.monotonic()
        try:
            handler()
        finally:
            step.seconds = time.monotonic() - start
        if step.status == "running":
            step.status = "done"
        self._audit(step.key, step.status, refuse=not self._audited, summary=step.summary,
                    seconds=round_seconds(step.seconds), change_url=self.plan.change_url)
        self.observer.step_finished(step)

    def _fail(self, outcome: str, exc: FailoverError) -> None:
        plan = self.plan
        for step in plan.steps:
            if step.status == "running":
                step.status = "interrupted" if outcome == "interrupted" else outcome
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
        self._audit("record", plan.outcome, kind=plan.kind, change_url=plan.change_url,
                    error=plan.error, exit_code=plan.exit_code, **details)
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

    # -- the steps ----------------------------------------------------------------------------

    def _lock(self) -> None:
        from failover.lock import FailoverLock

        r = self.request
        lock = FailoverLock.for_checkout(
            self.cfg.dns.checkout, f"promote {r.region} {r.target}"
            + (" --dry-run" if r.dry_run else ""))
        self._stack.enter_context(lock)
        self.plan.step("lock").summary = (
            f"took over a stale lock of {lock.stale.describe()}" if lock.stale else "held")

    def _health(self) -> None:
        from failover.haproxy import read_region_health

        plan = self.plan
        plan.health = health = read_region_health(self.cfg, plan.region)
        target = health.controllers[plan.target.name]
        plan.step("health").summary = "; ".join(
            f"{n} {'healthy' if c.healthy else 'UNHEALTHY'}"
            + ("" if c.reachable else f" ({c.error})") for n, c in health.controllers.items())
        if not target.healthy:
            why = target.error if not target.reachable else ", ".join(target.failing)
            if not self.request.force:
                raise GateRefused(
                    f"refusing to promote {plan.target.name}: its HAProxy is not healthy "
                    f"(failing: {why})",
                    hint="fix it and check with `failover health`, or pass --force "
                         "(recorded in the commit and the audit log)")
            self.observer.warn(f"--force: promoting unhealthy {plan.target.name} ({why})")
        from failover.dnscheck import refuse_dangling_target  # issue 15: a dangling target

        if warning := refuse_dangling_target(self.cfg, plan.region, plan.target):
            self.observer.warn(warning)

    def _state(self) -> None:
        from failover import repo
        from failover.dnscheck import check_region
        from failover.gerrit import GerritClient, credentials
        from failover.zone import current_target

        plan, cfg = self.plan, self.cfg
        plan.dns = check_region(cfg, plan.region, plan.target)
        plan.nameservers = [str(s.server) for s in plan.dns.servers]
        self._checkout = checkout = repo.open_checkout(cfg.dns.checkout)
        for path in repo.remove_stale_worktrees(checkout):  # we hold the lock: none is in use
            self.observer.warn(f"removed the temporary worktree {path} of an earlier run "
                               "that was killed")
        for path in repo.remove_empty_temp_dirs():
            self.observer.warn(f"removed the empty temporary directory {path} of an earlier run")
        self._gerrit = GerritClient(cfg.gerrit.url, auth=credentials(cfg.gerrit.url),
                                    timeout=cfg.gerrit.timeout, ca_bundle=cfg.gerrit.ca_bundle)
        # Open changes are listed before the fetch: a change merged in between is then seen
        # at the fetched tip (resume deploy); listed after, it would be in neither place and
        # a second change would be pushed.
        review = checkout.review
        open_changes = self._gerrit.find_open_changes(cfg.dns.topic, review.project_name,
                                                      review.branch)
        repo.fetch(checkout, timeout=cfg.gerrit.timeout * 6)
        text = repo.read_remote_file(checkout, cfg.dns.zone_file)
        self._topic = cfg.dns.subject_topic or repo.subject_topic(checkout, cfg.dns.zone_file)
        plan.zone_target = current_target(text, plan.region.fqdn, path=cfg.dns.zone_file)
        zone_ctl = plan.region.controller_for_target(plan.zone_target)
        plan.current = plan.dns.controller or (zone_ctl.name if zone_ctl else None)
        plan.push = {"remote": checkout.review.remote, "ref": f"HEAD:refs/for/"
                     f"{checkout.review.branch}", "options": self._push_options()}
        self._decide(zone_ctl.name if zone_ctl else None, open_changes)

    def _decide(self, zone_ctl: str | None, open_changes: list[ChangeInfo]) -> None:
        plan, target = self.plan, self.plan.target.name
        served = plan.dns is not None and plan.dns.agree and plan.dns.controller == target
        step = plan.step("state")
        if zone_ctl == target:
            self._warn_open_elsewhere(open_changes)
        if zone_ctl == target and served:
            plan.kind, plan.outcome = "nothing to do", "nothing to do"
            step.summary = f"{plan.region.fqdn} already points at {target} (zone and nameservers)"
            plan.skip(tuple(k for k, _, _ in STEPS), "nothing to do")
            return
        if zone_ctl == target:
            plan.kind = "resume deploy"
            step.summary = "the zone at the remote tip already points at the target; " \
                           "waiting for deploy and nameservers"
            plan.skip(("prepare", "confirm-push", "push", "review"), "already merged")
            return
        self._find_open_change(open_changes)
        current = plan.health.controllers.get(plan.current) if plan.health and plan.current \
            else None
        plan.kind = "emergency" if current is not None and not current.healthy else "planned"
        if plan.kind == "planned":
            self._planned_gate()
        if plan.change is not None:
            plan.kind = f"resume review ({plan.kind})"
            plan.skip(("confirm-push", "push"), f"change {plan.change_url} is already open")
            if self.request.no_wait:  # it is pushed already: --no-wait stops here
                plan.outcome = "stopped"
                plan.skip(tuple(k for k, _, _ in STEPS if k != "record"),
                          "--no-wait: run the same command again to go on")
        step.summary = (f"{plan.kind}: {plan.current or plan.zone_target} -> {target}; "
                        f"{plan.dns.matching if plan.dns else 0}/{len(plan.nameservers)} "
                        "nameservers already answer the target")

    def _planned_gate(self) -> None:
        """Refuse a planned promote whose target serves a service only through the old primary."""
        leaning = self._leaning()
        if not leaning:
            return
        plan = self.plan
        why = (f"without {plan.current}'s own servers, {plan.target.name}'s HAProxy has no "
               f"usable server for: {', '.join(leaning)}")
        if not self.request.force:
            raise GateRefused(
                f"refusing the planned promote of {plan.target.name}: {why}",
                hint=f"bring {plan.target.name}'s own backends of those services up (see "
                     "`failover health`), or pass --force (recorded in the commit and the "
                     "audit log)")
        self.observer.warn(f"--force: {why}")

    def _leaning(self) -> list[str]:
        """Return the services the target serves only through the old primary's own servers."""
        from failover.haproxy import depends_on

        plan = self.plan
        target = plan.health.controllers.get(plan.target.name) if plan.health else None
        if target is None or not plan.current or plan.current == plan.target.name:
            return []
        return depends_on(target, plan.current)

    def _elsewhere(self, open_changes: list[ChangeInfo]) -> list[ChangeInfo]:
        """Return the open failover changes of this region that point at another controller."""
        return [c for c in open_changes
                if (to := self._subject_target(c.subject)) and to != self.plan.target.name]

    def _warn_open_elsewhere(self, open_changes: list[ChangeInfo]) -> None:
        for change in self._elsewhere(open_changes):
            self.observer.warn(f"an open failover change points elsewhere: {change.url} "
                               f"({change.subject}); merging it would move the name again: "
                               "abandon it in Gerrit")

    def _find_open_change(self, open_changes: list[ChangeInfo]) -> None:
        plan = self.plan
        for change in open_changes:
            if self._subject_target(change.subject) == plan.target.name:
                plan.change, plan.change_url = change, change.url
                plan.change_id = change.change_id
        if plan.change is None:
            self._find_pushed_change(self._subject())
        if other := self._elsewhere(open_changes):
            change = other[0]
            raise GateRefused(
                f"an open failover change for {plan.region.name} points elsewhere: "
                f"{change.url} ({change.subject})",
                hint="abandon it in Gerrit (or let it merge) and run again")

    def _find_pushed_change(self, subject: str) -> None:
        """Follow the change an earlier run pushed (found by its Change-Id), or push to it.

        The topic query can miss it (a REST root that does not see it, an index late after
        the push); its Change-Id is then reused, so a push makes a new patch set of that
        same change, never a second change.
        """
        from failover import repo

        plan = self.plan
        assert self._checkout is not None and self._gerrit is not None
        pushed = repo.last_pushed(self._checkout, subject)
        if pushed is None:
            return
        found = self._gerrit.find_change_by_id(pushed["change_id"],
                                               self._checkout.review.project_name,
                                               change_url=pushed["url"])
        if found is not None and found.status != "NEW":
            return  # merged or abandoned: a new failover is a new change
        plan.change_id = pushed["change_id"]
        if found is not None:
            plan.change, plan.change_url = found, found.url

    def _lookup_pushed(self, project: str) -> ChangeInfo:
        """Return the change just pushed, asking Gerrit by Change-Id a few times (its index
        can be late); GitError (exit 4) when the REST root never shows it."""
        plan = self.plan
        assert self._gerrit is not None
        delay = min(max(self.cfg.gerrit.poll_interval, 0.1), 2.0)
        for attempt in range(1, PUSHED_LOOKUP_TRIES + 1):
            found = self._gerrit.find_change_by_id(plan.change_id or "", project,
                                                   change_url=plan.change_url)
            if found is not None:
                return found
            if attempt < PUSHED_LOOKUP_TRIES:
                time.sleep(delay)
                delay *= 2
        raise GitError(
            f"Gerrit took the push ({plan.change_url}) but its REST API at {self.cfg.gerrit.url}"
            f" does not show change {plan.change_id} after {PUSHED_LOOKUP_TRIES} lookups",
            hint="check that [gerrit] url is the REST root of the Gerrit the checkout pushes to "
                 "(.gitreview); then run the same command again: it finds this change by its "
                 "Change-Id and pushes no second one")

    def _prepare(self) -> None:
        from failover import repo
        from failover.zone import edit_record, read_zone, validate_zone, write_atomic, zone_name

        plan, cfg = self.plan, self.cfg
        assert self._checkout is not None
        with deferred_signals():  # no worktree or temp directory half made
            self._worktree = wt = self._stack.enter_context(
                repo.change_worktree(self._checkout))
        path = wt.path / cfg.dns.zone_file
        edit = edit_record(read_zone(path), plan.region.fqdn, plan.target.target,
                           path=cfg.dns.zone_file)
        plan.checks = validate_zone(edit.new_text, path=cfg.dns.zone_file,
                                    zone=zone_name(cfg.dns.zone_file), checkout=wt.path)
        write_atomic(path, edit.new_text)
        commit = repo.commit_change(wt, subject=self._subject(), body=self._body(),
                                    bug=self.request.bug, change_id=plan.change_id,
                                    bugs=self.request.bugs, signoff=self.request.signoff)
        plan.edit, plan.message, plan.change_id = edit, commit.message, commit.change_id
        plan.step("prepare").summary = (f"{edit.path}:{edit.record.line}: {edit.old_target} -> "
                                        f"{edit.new_target}; validated; commit {commit.sha[:12]}")

    def _confirm(self, what: str) -> None:
        step = self.plan.step(f"confirm-{what}")
        if self.request.yes:
            step.summary = "--yes given"
            return
        if what == "deploy" and not self.plan.deploy:
            step.status, step.summary = "skipped", "no [dns] deploy command configured"
            return
        question = {"push": f"Push the change to {self.plan.push.get('remote')} for review?",
                    "deploy": f"Run the deploy command: {' '.join(self.plan.deploy)}?"}[what]
        try:
            self.observer.confirm(question)
        except GateRefused as exc:
            if exc.message.startswith("cannot ask"):  # no terminal: its own hint (--yes)
                raise
            raise GateRefused(exc.message, hint=self._after_abort(what)) from None
        step.summary = f"go from {getpass.getuser()}"

    def _after_abort(self, what: str) -> str:
        """Return what an abort at the `what` prompt left, and how to go on."""
        if what == "push":
            return "nothing was pushed: the change existed only in a temporary worktree"
        return (f"the change {self.plan.change_url or ''} is merged but not deployed: run the "
                "same command again to deploy and verify, or deploy by hand and run "
                f"`failover verify {self.plan.region.name} --expect {self.plan.target.name}`")

    def _push(self) -> None:
        from failover import repo

        plan, dns = self.plan, self.cfg.dns
        assert self._worktree is not None and self._checkout is not None
        result = repo.push_for_review(self._worktree, self._checkout.review, topic=dns.topic,
                                      reviewers=dns.reviewers, hashtags=dns.hashtags,
                                      timeout=self.cfg.gerrit.timeout * 6)
        plan.change_url, plan.change_number = result.url, result.number
        repo.record_pushed(self._checkout, change_id=plan.change_id or "",
                           subject=self._subject(), url=result.url)
        kind = "new change" if result.created else "new patch set"
        plan.step("push").summary = f"{result.url} ({kind})"
        if self.request.no_wait:
            plan.outcome = "stopped"
            plan.skip(tuple(k for k, _, _ in STEPS if k != "record"),
                      "--no-wait: run the same command again to go on")

    def _review(self) -> None:
        plan = self.plan
        assert self._gerrit is not None and self._checkout is not None
        project = self._checkout.review.project_name
        if plan.change is None:
            plan.change = self._lookup_pushed(project)
        step = plan.step("review")

        def polled(info: ChangeInfo, elapsed: float) -> None:
            votes = ", ".join(f"{k} {v:+d}" for k, v in info.labels.items()) or "no votes yet"
            self.observer.progress(step, f"waiting for review of {info.url}: {info.status}, "
                                         f"{votes} ({elapsed:.0f}s)")

        plan.change = self._gerrit.follow_change(
            project, plan.change.number, timeout=self.cfg.gerrit.review_timeout,
            interval=self.cfg.gerrit.poll_interval, on_poll=polled)
        plan.change_url = plan.change.url
        step.summary = f"{plan.change.url} merged"
        if self._fetch_merged():
            self._check_merged_tip()

    def _fetch_merged(self) -> bool:
        """Fetch again, so the checkout's remote-tracking branch shows the merged change."""
        from failover import repo

        assert self._checkout is not None
        try:
            repo.fetch(self._checkout, timeout=self.cfg.gerrit.timeout * 6)
        except FailoverError as exc:  # only the operator's view of the branch is late
            self.observer.warn(f"could not fetch the merged change: {exc.message}")
            return False
        return True

    def _check_merged_tip(self) -> None:
        """Raise GitError when the zone at the merged tip does not point at the target.

        A later patch set of the change (or a change merged right after it) may undo the
        edit: no deploy can make the nameservers answer the target then.
        """
        from failover import repo
        from failover.errors import GitError
        from failover.zone import current_target

        plan, cfg = self.plan, self.cfg
        assert self._checkout is not None and plan.change is not None
        target = current_target(repo.read_remote_file(self._checkout, cfg.dns.zone_file),
                                plan.region.fqdn, path=cfg.dns.zone_file)
        if plan.region.controller_for_target(target) == plan.target:
            return
        revision = (plan.change.current_revision or "")[:12]
        raise GitError(
            f"{plan.change.url} was merged (patch set {revision or '?'}), but the zone at the "
            f"merged tip {self._checkout.remote_ref} has {plan.region.fqdn} -> {target}, not "
            f"{plan.target.target}: what was merged does not make this failover",
            hint="look at the merged patch set in Gerrit; nothing was deployed. Run the same "
                 "command again to push a new change")

    def _deploy(self) -> None:
        from failover.deploy import run_deploy

        plan = self.plan
        step = plan.step("deploy")
        if not plan.deploy:
            step.status = "skipped"
            step.summary = "no [dns] deploy configured: run authdns-update by hand now"
            self.observer.warn(step.summary + "; waiting for the nameservers")
            return
        run_deploy(plan.deploy, timeout=self.cfg.dns.deploy_timeout)
        step.summary = "exit 0"

    def _verify(self) -> None:
        from failover.dnscheck import wait_for_agreement
        from failover.errors import VerifyError

        plan, cfg = self.plan, self.cfg
        step = plan.step("verify")

        def round_done(report: DnsReport, number: int, pause: float) -> None:
            plan.dns = report
            self.observer.progress(step, f"{report.matching}/{len(report.servers)} nameservers "
                                         f"answer {plan.target.name} (round {number})")

        plan.dns = wait_for_agreement(cfg, plan.region, plan.target, timeout=cfg.verify.timeout,
                                      interval=cfg.verify.interval, on_round=round_done)
        if not (plan.dns.agree and plan.dns.controller == plan.target.name):
            bad = [f"{s.server}: {s.verdict}" for s in plan.dns.servers if not s.ok]
            raise VerifyError(
                f"not every nameserver answers {plan.target.target} after "
                f"{cfg.verify.timeout:.0f}s: {'; '.join(bad)}",
                hint=f"check the deploy; `failover verify {plan.region.name} --expect "
                     f"{plan.target.name}` keeps checking")
        step.summary = f"all {len(plan.dns.servers)} nameservers answer {plan.target.target}"

    # -- texts --------------------------------------------------------------------------------

    def _subject(self) -> str:
        """Return `topic: ...`, the first shape of SUBJECT_SHAPES that fits 50 characters.

        The topic is `[dns] subject_topic`, else the one the zone file's history uses most,
        else the zone file's name. When no shape fits, the shortest is used.
        """
        from failover.zone import zone_name

        zone = zone_name(self.cfg.dns.zone_file)
        topic = self._topic or zone
        names = {"short": self.plan.region.fqdn.removesuffix("." + zone),
                 "region": self.plan.region.name, "to": self.plan.target.name}
        shapes = [f"{topic}: " + shape.format(**names) for shape in SUBJECT_SHAPES]
        return next((s for s in shapes if len(s) <= SUBJECT_MAX), min(shapes, key=len))

    def _subject_target(self, subject: str) -> str | None:
        """Return the controller a failover subject of this region names (any shape, any
        topic, also the `fail over SHORT to X` of earlier versions), else None."""
        from failover.zone import zone_name

        zone = zone_name(self.cfg.dns.zone_file)
        m = SUBJECT_PARSE_RE.fullmatch(subject)
        if m is None or m.group("what") not in (self.plan.region.name,
                                                self.plan.region.fqdn.removesuffix("." + zone)):
            return None
        return m.group("to")

    def _body(self) -> str:
        plan, r = self.plan, self.request
        was = plan.current or plan.zone_target or "?"
        if "emergency" in plan.kind:
            first = (f"Emergency failover of {plan.region.fqdn} from {was} to {plan.target.name}:"
                     f" {was}'s HAProxy is not healthy.")
        else:
            first = f"Planned failover of {plan.region.fqdn} from {was} to {plan.target.name}."
        parts = [first]
        if r.reason:
            parts.append(f"Reason: {r.reason}")
        lines = [f"HAProxy health at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}:"]
        for name, ctl in (plan.health.controllers.items() if plan.health else ()):
            role = " (new primary)" if name == plan.target.name else (
                " (current primary)" if name == plan.current else "")
            up = sum(1 for s in ctl.services.values() if s.healthy)
            state = (f"healthy, {up}/{len(ctl.services)} services up" if ctl.healthy else
                     f"UNHEALTHY ({ctl.error or 'failing: ' + ', '.join(ctl.failing)})")
            lines.append(f"- {name}{role}: {state}")
        parts.append("\n".join(lines))
        if r.force and plan.health and not plan.health.controllers[plan.target.name].healthy:
            parts.append(f"Forced with --force by {getpass.getuser()}: the target was not "
                         "healthy when promoted.")
        elif r.force and "planned" in plan.kind and (leaning := self._leaning()):
            parts.append(f"Forced with --force by {getpass.getuser()}: without {plan.current}'s "
                         f"own servers, the target had no usable server for: "
                         f"{', '.join(leaning)}.")
        parts.append(f"Made with failover {__version__}: failover promote {r.region} {r.target}")
        return "\n\n".join(parts)

    def _push_options(self) -> list[str]:
        dns = self.cfg.dns
        return ([f"topic={dns.topic}"] + [f"r={x}" for x in dns.reviewers]
                + [f"t={x}" for x in dns.hashtags])

    def _describe(self, key: str) -> str:
        plan = self.plan
        return {
            "confirm-push": "skipped: --yes" if self.request.yes else "ask go/abort",
            "push": f"git push {plan.push.get('remote')} {plan.push.get('ref')} "
                    + " ".join(f"-o {o}" for o in plan.push.get("options", [])),
            "review": f"follow the change until merged (up to "
                      f"{self.cfg.gerrit.review_timeout:.0f}s)",
            "confirm-deploy": "skipped: --yes" if self.request.yes or not plan.deploy
                              else "ask go/abort",
            "deploy": " ".join(plan.deploy) if plan.deploy else "none configured: "
                      "run authdns-update by hand",
            "verify": f"ask {', '.join(plan.nameservers) or 'the nameservers'} until they "
                      f"answer {plan.target.target} (up to {self.cfg.verify.timeout:.0f}s)",
        }.get(key, "")


class _Stopping:
    """The signal state of a run: the first signal stops it, later ones are ignored.

    A second Ctrl-C (or SIGTERM/SIGHUP) arriving while the run cleans up, records its
    outcome or prints its report would cut that short (a traceback, no JSON, an outcome left
    `pending`): only the first one raises. `deferred` blocks delay it past a short critical
    section (creating the temporary worktree), so nothing is half made.
    """

    stopping = False
    deferred = 0
    pending = False


STOP = _Stopping()


def _on_signal(signum: int, frame: object) -> None:
    if STOP.stopping:
        return
    if STOP.deferred:
        STOP.pending = True
        return
    STOP.stopping = True
    raise KeyboardInterrupt


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Within the block a stopping signal waits; it is raised when the block ends."""
    STOP.deferred += 1
    try:
        yield
    finally:
        STOP.deferred -= 1
        if not STOP.deferred and STOP.pending and not STOP.stopping:
            STOP.pending, STOP.stopping = False, True
            raise KeyboardInterrupt


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP stop the run once, cleanly.

    The first raises KeyboardInterrupt, so the run cleans up as on Ctrl-C (SIGHUP: the
    operator's ssh session dropped); any later one is ignored, also after the block when the
    run was stopped, so the report and the JSON document are printed whole.
    """
    import signal

    names = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    STOP.stopping, STOP.deferred, STOP.pending = False, 0, False
    old = {signum: signal.signal(signum, _on_signal) for signum in names}
    try:
        yield
    finally:
        for signum, handler in old.items():  # stopped: ignored until the exit, which the
            signal.signal(signum, signal.SIG_IGN if STOP.stopping else handler)  # reports
