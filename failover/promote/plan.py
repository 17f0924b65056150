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
    from failover.config import Controller, Region, Service
    from failover.dnscheck import DnsReport
    from failover.gerrit import ChangeInfo
    from failover.haproxy import RegionHealth
    from failover.health import HealthResult
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
    bug: str | None = None
    reason: str | None = None
    no_wait: bool = False
    bugs: tuple[str, ...] = ()
    """Every task of `--bug` (repeatable), in order; `bug` is the first of them."""
    signoff: bool = False
    silence: str | None = None
    """--silence DURATION: silence the old primary in Alertmanager (e.g. 2h)."""
    no_sal: bool = False
    from_: str | None = None
    """--from CURRENT: refused unless the zone at the tip and the nameservers say CURRENT."""
    acks: tuple[str, ...] = ()
    """--ack CHANGE/COMMIT (repeatable): another's open change or recent flip, seen."""

    @property
    def tasks(self) -> list[str]:
        """Return every task of the run (`bug`, then `bugs`), in order, each once."""
        return list(dict.fromkeys(([self.bug] if self.bug else []) + list(self.bugs)))


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
    region: Region
    target: Controller
    steps: list[Step] = field(default_factory=list)
    """Filled from `failover.promote.steps.STEPS` by the run."""
    kind: Kind = "pending"
    emergency: bool = False
    """The current primary's HAProxy is not healthy (a new change or resume review)."""
    current: str | None = None
    """The controller the name points at now (nameservers, else the zone), if known."""
    health: RegionHealth | None = None
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
    service: Service | None = None
    """A `[services.*]`/`[groups.*]` promote (region: its first record as a Region)."""
    service_health: dict[str, HealthResult] = field(default_factory=dict)
    record_dns: dict[str, DnsReport] = field(default_factory=dict)
    """A service's nameserver report per record."""
    revert: Reverted | None = None
    """The merged change this failback reverts (`failover.promote.revert`), if any."""
    durations: dict[str, float] = field(default_factory=dict)
    """How long the run's stages took, in seconds: push_to_merge, merge_to_first_host,
    merge_to_all_hosts, merge_to_all_recursors (each when measured)."""
    host_times: dict[str, float] = field(default_factory=dict)
    """Per authoritative server: seconds after the merge (else the deploy's start) when it
    first answered the target for every record."""
    acknowledged: list[str] = field(default_factory=list)
    """The commit message's lines recording what `--ack` acknowledged (issue 24)."""

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
        if self.service is not None:
            cand = self.service.candidate(self.target.name)
            doc["service"] = {
                "name": self.service.name, "group": self.service.group,
                "zone_file": self.edit.path if self.edit else None,
                "health": {n: h.to_dict() for n, h in self.service_health.items()},
                "records": [{"record": rec, "target": cand.targets[rec],
                             "dns": rep.to_dict() if (rep := self.record_dns.get(rec)) else None}
                            for rec in self.service.records]}
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
