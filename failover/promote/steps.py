"""Every step of a promote, described once: key, title, whether it acts, how it runs, and
what it would do (the dry-run's line).

A step's `run` (in `read` or `act`) reads and fills the Plan through the run's `Context`
(`context`), which also carries what steps hand on to later ones. `failover.promote.run`
walks them in order.

Examples:
    >>> [s.key for s in STEPS]
    ['lock', 'health', 'state', 'prepare', 'confirm-push', 'push', 'lower-ttl', 'review', \
'confirm-deploy', 'deploy', 'verify', 'recursors', 'restore-ttl', 'record']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from failover.promote import chain
from failover.promote.act import (
    confirm_deploy,
    confirm_push,
    deploy,
    describe_push,
    describe_verify,
    prepare,
    push,
    review,
    verify,
)
from failover.promote.context import Context
from failover.promote.propagation import describe_wipe, wipe_recursors
from failover.promote.read import health, lock, state


@dataclass(frozen=True)
class StepSpec:
    """One step: `run` does it; in a dry-run a step that `acts` is `describe`d instead."""

    key: str
    title: str
    acts: bool
    run: Callable[[Context], None] | None
    """None for `record`, which the run does last, whatever happened."""
    describe: Callable[[Context], str] = lambda ctx: ""
    asks: bool = False
    """A go/abort prompt: acts, but the SAL START and the silence wait for the next step."""
    preview_after: bool = False
    """The change is built once this step is over: show the preview (unless nothing to do)."""


def _ask(ctx: Context) -> str:
    return "skipped: --yes" if ctx.request.yes else "ask go/abort"


STEPS: tuple[StepSpec, ...] = (
    StepSpec("lock", "take the lock of the checkout", False, lock),
    StepSpec("health", "read both controllers' HAProxy", False, health),
    StepSpec("state", "read the nameservers, the zone at the remote tip and open changes",
             False, state),
    StepSpec("prepare", "build the change on the remote tip in a temporary worktree", False,
             prepare, preview_after=True),
    StepSpec("confirm-push", "ask go/abort before pushing", True, confirm_push,
             describe=_ask, asks=True),
    StepSpec("push", "commit and push the change for review", True, push,
             describe=describe_push),
    StepSpec("lower-ttl", "land the TTL chain's lowered TTL and wait out the old one", True,
             chain.lower, describe=chain.describe_lower),
    StepSpec("review", "follow the change until it is merged", True, review,
             describe=lambda ctx: f"follow the change until merged (up to "
                                  f"{ctx.cfg.gerrit.review_timeout:.0f}s)"),
    StepSpec("confirm-deploy", "ask go/abort before deploying", True, confirm_deploy,
             describe=lambda ctx: _ask(ctx) if ctx.plan.deploy else "skipped: --yes",
             asks=True),
    StepSpec("deploy", "run the deploy command", True, deploy,
             describe=lambda ctx: " ".join(ctx.plan.deploy) if ctx.plan.deploy
             else "none configured: run authdns-update by hand"),
    StepSpec("verify", "wait until every nameserver answers the new target", True, verify,
             describe=describe_verify),
    StepSpec("recursors", "wipe the recursors' caches and wait for the new answer", True,
             wipe_recursors, describe=describe_wipe),
    StepSpec("restore-ttl", "land the TTL chain's restored TTL and verify it", True,
             chain.restore, describe=chain.describe_restore),
    StepSpec("record", "record the outcome in the audit log", False, None),
)
"""Every step of a promote, in order."""
