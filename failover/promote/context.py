"""What the steps of one promote share: `Context`, with what earlier steps hand on.

The config, the request, the plan, the observer and the ExitStack that cleans up are there
from the start; the checkout, the Gerrit client and the subject topic come from the state
step, the worktree from the prepare step. Asking for one before its step ran is a bug in
the step order (RuntimeError), never a user's mistake.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from failover.promote.message import subject
from failover.promote.plan import Observer, Plan, PromoteRequest

if TYPE_CHECKING:
    from failover.config import Config
    from failover.gerrit import GerritClient
    from failover.promote.outside import Outside
    from failover.promote.propagation import Convergence
    from failover.repo import Checkout, Worktree

T = TypeVar("T")


def _need(value: T | None, what: str) -> T:
    if value is None:  # a step order mistake in this module, never a user's
        raise RuntimeError(f"{what} is not known yet: the step that makes it has not run")
    return value


@dataclass
class Context:
    """What a run's steps share: the config, the request, the plan, the observer, the
    ExitStack that cleans up, and what earlier steps hand on to later ones."""

    cfg: Config
    request: PromoteRequest
    plan: Plan
    observer: Observer
    stack: ExitStack = field(default_factory=ExitStack)
    topic: str | None = None
    """The subject topic (`[dns] subject_topic`, else the zone file history's)."""
    opened: Checkout | None = None
    client: GerritClient | None = None
    tree: Worktree | None = None
    merged_at: float | None = None
    """When the review step saw the change merged (time.monotonic), if this run saw it."""
    convergence: Convergence | None = None
    """When each server first answered the target (from the deploy on)."""
    pushed_at: float | None = None
    """time.monotonic() when this run's push was done (None: it pushed nothing)."""
    outside: Outside | None = None
    """The run's outside systems (`failover.promote.outside`: SAL lines said beside the steps)."""

    @property
    def checkout(self) -> Checkout:
        """Return the checkout the state step opened."""
        return _need(self.opened, "the checkout")

    @property
    def gerrit(self) -> GerritClient:
        """Return the Gerrit client the state step made."""
        return _need(self.client, "the Gerrit client")

    @property
    def worktree(self) -> Worktree:
        """Return the temporary worktree the prepare step made."""
        return _need(self.tree, "the worktree")

    def subject(self) -> str:
        """Return this failover's commit subject."""
        from failover.zone import zone_name

        plan = self.plan
        if plan.revert is not None:  # a failback written as Gerrit's Revert writes it
            from failover.promote.revert import revert_subject

            return revert_subject(plan.revert.subject)
        zone = zone_name(plan.name.zone_file)
        if plan.member is not None:  # a depool or pool
            from failover.promote.pooling import subject as member_subject

            return member_subject(self.topic or zone, plan.member)
        service = plan.name.kind != "region"  # a service's or group's own name, no "API"
        fqdn = f"{plan.name.name}.{zone}" if service else plan.region.fqdn
        return subject(self.topic, zone=zone, region=plan.region.name, fqdn=fqdn,
                       to=plan.target.name, service=service)

    def short(self) -> str:
        """Return the name as subjects write it (`openstack.eqiad1`; a service's own name)."""
        from failover.promote.message import short_name
        from failover.zone import zone_name

        name = self.plan.name
        if name.kind != "region":
            return name.name
        return short_name(name.records[0].fqdn, zone_name(name.zone_file))

    def leaning(self) -> list[str]:
        """Return the services the target serves only through the old primary's own servers."""
        from failover.haproxy import depends_on

        plan = self.plan
        target = plan.health.controllers.get(plan.target.name) if plan.health else None
        if target is None or not plan.current or plan.current == plan.target.name:
            return []
        return depends_on(target, plan.current)


def stop_no_wait(plan: Plan) -> None:
    """Stop after the push (--no-wait): every step but the record is skipped."""
    plan.outcome = "stopped"
    plan.skip(tuple(s.key for s in plan.steps if s.key != "record"),
              "--no-wait: run the same command again to go on")
