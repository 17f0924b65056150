"""The failover as a plan: one list of steps, plain data, shared by the real run and the dry-run.

`failover.promote.run.Promotion` fills a Plan and walks its steps (`failover.promote.steps`):
the first ones only read and build the change in a temporary worktree (both modes); those
that act (push, review, deploy, verify) run for real, or, in a dry-run, are described with
exactly what they would do and marked `would run`. The Rich view, the JSON document and
the audit log are renderings of it.

Examples:
    >>> plan = Promotion(cfg, PromoteRequest("eqiad1", "cloudcontrol1004"), observer).plan
    ...                                                                  # doctest: +SKIP
    >>> [s.key for s in plan.steps]
    ['lock', 'health', 'state', 'prepare', 'confirm-push', 'push', 'review',
     'confirm-deploy', 'deploy', 'verify', 'recursors', 'record']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from failover.alertmanager import Silence
    from failover.config import Controller
    from failover.dnscheck import DnsReport
    from failover.gerrit import ChangeInfo
    from failover.haproxy import RegionHealth
    from failover.health import HealthResult
    from failover.model import FailoverName, Record
    from failover.promote.pooling import MemberAction
    from failover.promote.revert import Reverted
    from failover.zone import ZoneEdit

StepStatus = Literal["pending", "running", "done", "skipped", "would run", "failed", "refused",
                     "interrupted"]
"""What became of a step."""
Kind = Literal["pending", "new change", "nothing to do", "resume review", "resume deploy"]
"""What the run does, as `failover.promote.decide` found it (`Plan.label` is the JSON `kind`)."""
Outcome = Literal["pending", "running", "done", "stopped", "nothing to do", "failed", "refused",
                  "interrupted"]
"""How the run ended."""


@dataclass(frozen=True)
class PromoteRequest:
    """What the operator asked for: region, target controller, and the options."""

    region: str
    target: str
    dry_run: bool = False
    yes: bool = False
    force: bool = False
    reason: str | None = None
    no_wait: bool = False
    bugs: tuple[str, ...] = ()
    """Every task of `--bug` (repeatable), in order."""
    signoff: bool = False
    silence: str | None = None
    """--silence DURATION: silence the old primary in Alertmanager (e.g. 2h)."""
    no_sal: bool = False
    change: str | None = None
    """--change N|URL|Change-Id: adopt that change instead of writing one (issue 23)."""
    prepare: bool = False
    """--prepare: push the change as work in progress and stop (issue 23)."""
    prepare_failback: bool = False
    """--prepare-failback: push the failover's revert beside it, as work in progress."""
    self_merge: bool = False
    """--self-merge: vote Code-Review +2 and submit as the operator (an emergency)."""

    from_: str | None = None
    """--from CURRENT: refused unless the zone at the tip and the nameservers say CURRENT."""
    acks: tuple[str, ...] = ()
    """--ack CHANGE/COMMIT (repeatable): another's open change or recent flip, seen."""
    switch_ttl: str | None = None
    """--switch-ttl TTL: lower the TTL, switch, restore, as a relation chain of three changes
    (`failover.promote.chain`); None: the name's `switch_ttl` setting, if any."""
    member: str | None = None
    """`failover depool|pool NAME MEMBER`: the member (`target` is then `depooled`/`pooled`)."""
    action: str | None = None
    """"depool" or "pool" with `member`; None: a promote."""

    @property
    def bug(self) -> str | None:
        """Return the first task (the JSON field `bug`), None without `--bug`."""
        return self.bugs[0] if self.bugs else None

    @property
    def tasks(self) -> list[str]:
        """Return every task of the run, in order, each once."""
        return list(dict.fromkeys(self.bugs))


@dataclass
class Step:
    """One step of the plan and what became of it."""

    key: str
    title: str
    acts: bool
    status: StepStatus = "pending"
    summary: str = ""
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the step as JSON-able data."""
        return {"key": self.key, "title": self.title, "status": self.status,
                "summary": self.summary, "seconds": round_seconds(self.seconds)}


@dataclass
class Plan:
    """Everything the failover found, will do, and did: the one object both modes share."""

    request: PromoteRequest
    name: FailoverName
    """The name moved (`failover.model`): a region, a service or a group."""
    region: Record
    """Its first record (a region's only one), with the target's `target` below."""
    target: Controller
    steps: list[Step] = field(default_factory=list)
    """Filled from `failover.promote.steps.STEPS` by the run."""
    kind: Kind = "pending"
    emergency: bool = False
    """The current primary's HAProxy is not healthy (a new change or resume review)."""
    current: str | None = None
    """The controller the name points at now (nameservers, else the zone), if known."""
    health: RegionHealth | None = None
    """A region's HAProxy read (its documents and gates show it per service)."""
    candidate_health: dict[str, HealthResult] = field(default_factory=dict)
    """Every candidate's verdict, whatever its kind."""
    dns: DnsReport | None = None
    zone_target: str | None = None
    edit: ZoneEdit | None = None
    message: str | None = None
    change_id: str | None = None
    push: dict[str, Any] = field(default_factory=dict)
    change: ChangeInfo | None = None
    change_url: str | None = None
    change_number: int | None = None
    """The pushed change's number, known from the push before any REST query."""
    deploy: tuple[str, ...] = ()
    nameservers: list[str] = field(default_factory=list)
    checks: tuple[str, ...] = ()
    """What validated the edited zone (Jinja strict render, tabs, zone_validator, gdnsd)."""
    outcome: Outcome = "pending"
    error: str | None = None
    exit_code: int | None = None
    sal: list[str] = field(default_factory=list)
    """The Server Admin Log lines sent (none on a dry-run)."""
    sal_planned: list[str] = field(default_factory=list)
    """The SAL lines the run sends: START, and END (PASS) when all goes well."""
    silence: Silence | None = None
    """The old primary's silence (id None: would be created, as in a dry-run)."""
    task_comments: list[dict[str, Any]] = field(default_factory=list)
    """One entry per task commented on: task, sent, error."""
    record_dns: dict[str, DnsReport] = field(default_factory=dict)
    """The nameservers' report per record (`dns`: the first record's)."""
    revert: Reverted | None = None
    """The merged change this failback reverts (`failover.promote.revert`), if any."""
    durations: dict[str, float] = field(default_factory=dict)
    """How long the run's stages took, in seconds: push_to_merge, merge_to_first_host,
    merge_to_all_hosts, merge_to_all_recursors (each when measured)."""
    host_times: dict[str, float] = field(default_factory=dict)
    """Per authoritative server: seconds after the merge (else the deploy's start) when it
    first answered the target for every record."""
    gerrit_flow: dict[str, Any] = field(default_factory=dict)
    """Issue 23's facts (`failover.promote.gerritflow`): adopted, prepared, failback,
    self_merged; the JSON `gerrit_flow`."""
    acknowledged: list[str] = field(default_factory=list)
    """The commit message's lines recording what `--ack` acknowledged (issue 24)."""
    ttl_chain: dict[str, Any] | None = None
    """The TTL chain's facts (`failover.promote.chain`): the TTLs and its three changes;
    the JSON `ttl_chain` (None: a promote of one change)."""
    member: MemberAction | None = None
    """A depool or pool (`failover.promote.pooling`): the member moved; None: a promote."""

    def step(self, key: str) -> Step:
        """Return the step called `key`."""
        return next(s for s in self.steps if s.key == key)

    @property
    def label(self) -> str:
        """Return the kind as the JSON document, the audit log and the views name it.

        A new change is `planned` or `emergency`; a resumed review says which, in brackets.
        """
        planned = "emergency" if self.emergency else "planned"
        if self.kind == "new change":
            return planned
        return f"resume review ({planned})" if self.kind == "resume review" else self.kind

    def skip(self, keys: tuple[str, ...], why: str) -> None:
        """Mark the pending steps in `keys` skipped, saying why."""
        for s in self.steps:
            if s.key in keys and s.status == "pending":
                s.status, s.summary = "skipped", why

    @property
    def sessions(self) -> dict[str, int]:
        """Return the client sessions per service the current primary's HAProxy holds."""
        if not self.health or not self.current or self.current == self.target.name:
            return {}
        ctl = self.health.controllers.get(self.current)
        return dict(ctl.sessions) if ctl and ctl.reachable else {}

    def to_dict(self) -> dict[str, Any]:
        """Return the plan and its outcome as one JSON-able document."""
        doc = self._to_dict()
        doc["revert"] = ({"commit": self.revert.sha, "subject": self.revert.subject}
                         if self.revert else None)
        doc["gerrit_flow"] = dict(self.gerrit_flow)
        doc["ttl_chain"] = self.ttl_chain
        if self.member is not None:
            doc["member"] = self.member.to_dict(reverts=self.revert is not None)
        if self.name.kind != "region":  # a service's or group's own part of the document
            doc["service"] = {
                "name": self.name.name, "group": self.name.kind == "group",
                "zone_file": self.edit.path if self.edit else None,
                "health": {n: h.to_dict() for n, h in self.candidate_health.items()},
                "records": [{"record": rec.fqdn, "target": rec.target(self.target.name),
                             "dns": d.to_dict() if (d := self.record_dns.get(rec.fqdn)) else None}
                            for rec in self.name.records]}
        return doc

    def _to_dict(self) -> dict[str, Any]:
        r = self.request
        return {
            "region": r.region, "fqdn": self.region.fqdn, "from": self.current,
            "to": r.target, "target": self.target.target, "kind": self.label,
            "dry_run": r.dry_run, "forced": r.force, "bug": r.bug, "reason": r.reason,
            "bugs": r.tasks,
            "signoff": r.signoff, "checks": list(self.checks),
            "health": self.health.to_dict() if self.health else None,
            "sessions": self.sessions,
            "dns": self.dns.to_dict() if self.dns else None,
            "zone": {"target_at_tip": self.zone_target,
                     "path": self.edit.path if self.edit else None,
                     "diff": self.edit.diff if self.edit else None},
            "commit": {"message": self.message, "change_id": self.change_id},
            "push": self.push,
            "change": {"url": self.change_url,
                       "number": self.change.number if self.change else self.change_number,
                       "status": self.change.status if self.change else None},
            "deploy": {"command": list(self.deploy)},
            "verify": {"nameservers": self.nameservers},
            "steps": [s.to_dict() for s in self.steps],
            "outcome": self.outcome, "error": self.error, "exit_code": self.exit_code,
            "sal": self.sal, "sal_planned": self.sal_planned,
            "silence": self.silence.to_dict() if self.silence else None,
            "task_comments": self.task_comments,
            "durations": {k: round(v, 3) for k, v in self.durations.items()},
            "host_times": self.host_times,
        }


def failure_document(request: PromoteRequest, outcome: Outcome, error: str,
                     exit_code: int) -> dict[str, Any]:
    """Return the JSON document of a promote that failed before its plan existed.

    A bad argument or config (unknown region, bad --bug, no config file) has no plan: the
    document is an empty Plan's, so it has the same keys, those not known yet null (`fqdn`,
    `target`, `kind`) or empty, and a script reads it the same way.
    """
    from failover.config import Controller
    from failover.model import FailoverName, Record

    record = Record(request.region, "", "", ())
    name = FailoverName(request.region, "region", (record,), (), "", "", "")
    plan = Plan(request=request, name=name, region=record,
                target=Controller(request.target, "", ""), outcome=outcome, error=error,
                exit_code=exit_code)
    return {**plan.to_dict(), "fqdn": None, "target": None, "kind": None}


class Observer(Protocol):
    """What the plan tells the operator and asks of them (render.plan implements it)."""

    def step_started(self, step: Step) -> None:
        """A step starts."""

    def step_finished(self, step: Step) -> None:
        """A step ended (done, skipped, would run, failed, ...)."""

    def preview(self, plan: Plan) -> None:
        """The change is built: show health, diff, message, push, deploy, nameservers."""

    def progress(self, step: Step, text: str) -> None:
        """A long wait goes on: `text` says what is awaited and for how long already."""

    def warn(self, text: str) -> None:
        """Something the operator should know that does not stop the run."""

    def confirm(self, question: str) -> None:
        """Return on go; raise GateRefused on abort."""

    def note(self, text: str) -> None:
        """Something done beside the steps (a silence created, ...)."""


class QuietObserver:
    """An Observer that shows nothing and answers go (benchmarks, automation)."""

    def step_started(self, step: Step) -> None:
        """Show nothing."""

    def step_finished(self, step: Step) -> None:
        """Show nothing."""

    def preview(self, plan: Plan) -> None:
        """Show nothing."""

    def progress(self, step: Step, text: str) -> None:
        """Show nothing."""

    def warn(self, text: str) -> None:
        """Show nothing."""

    def confirm(self, question: str) -> None:
        """Answer go."""

    def note(self, text: str) -> None:
        """Show nothing."""


def durations_text(durations: dict[str, float]) -> str:
    """Return the durations as one short phrase: `push_to_merge 12.3s, ...` ("" for none)."""
    return ", ".join(f"{k} {v:.1f}s" for k, v in durations.items())


def round_seconds(value: float | None) -> float | None:
    """Return seconds rounded to milliseconds (None stays None)."""
    return None if value is None else round(value, 3)
