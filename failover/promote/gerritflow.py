"""Issue 23's hooks into the promote's steps: adopt, prepare, the maintenance pair, self-merge.

The shared steps call these few functions (one line each), so the promote's own modules stay
as they are; the work is in `failover.promote.adopt` and `failover.promote.prepared`:

- `check_request`: which options go together (before anything is read);
- `after_state`: after the decision: adopt `--change`, find a prepared change (or a
  prepared failback), check `--self-merge` is allowed;
- `push_options`: `wip` for `--prepare`, `ready` when a prepared change is rebased;
- `after_push`: push the failback beside the failover, stop after a `--prepare` push;
- `before_review`: mark a prepared change ready, submit an approved failback, self-merge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from failover.errors import GateRefused, UsageError

if TYPE_CHECKING:
    from failover.gerrit import ChangeInfo
    from failover.promote.context import Context
    from failover.promote.plan import PromoteRequest


def check_request(r: PromoteRequest) -> None:
    """Refuse options that do not go together (UsageError, exit 2)."""
    if r.change is not None and (r.prepare or r.prepare_failback):
        raise UsageError("--change adopts an existing change: it does not go with --prepare "
                         "or --prepare-failback")
    from failover.promote import chain

    chain.check_request(r)  # --switch-ttl: a relation chain of three changes
    if r.prepare and r.self_merge:
        raise UsageError("--prepare pushes work in progress to land later; --self-merge "
                         "lands it now: choose one")


def after_state(ctx: Context, open_changes: list[ChangeInfo]) -> None:
    """Adopt `--change`, or find a prepared change or failback; check `--self-merge`."""
    from failover.promote import chain, prepared

    plan, r = ctx.plan, ctx.request
    chain.after_state(ctx, open_changes)  # --switch-ttl: the open chain of a rerun
    if r.change is not None:
        from failover.promote.adopt import adopt

        adopt(ctx)
    elif plan.kind != "nothing to do" and plan.ttl_chain is None:
        prepared.find(ctx, open_changes)
    if r.prepare or r.prepare_failback:
        prepared.check_prepare(ctx)
    if r.prepare:
        plan.push["options"] = [*plan.push.get("options", []), "wip"]
        if plan.kind == "resume review" and plan.change is not None:  # prepared already
            prepared.stop_prepared(ctx, plan.change.number, plan.change.url)
    if r.self_merge and plan.kind not in ("nothing to do", "resume deploy") \
            and not plan.emergency and not ctx.cfg.gerrit.self_merge:
        raise GateRefused(
            f"refusing --self-merge: {plan.current or 'the current primary'} is healthy "
            "(not an emergency), and [gerrit] self_merge is not set",
            hint="get the change reviewed (run without --self-merge), or set [gerrit] "
                 "self_merge = true where the team allows it")
    if r.self_merge and plan.kind not in ("nothing to do", "resume deploy"):
        ctx.observer.warn("--self-merge: the change will be approved (Code-Review +2) and "
                          "submitted by you, without a colleague's review")


def push_options(ctx: Context) -> list[str]:
    """Return the extra push options: `wip` (--prepare), `ready` (a prepared change rebased)."""
    if ctx.request.prepare or ctx.plan.ttl_chain is not None:  # a chain: ready in turn
        return ["wip"]
    return ["ready"] if ctx.plan.gerrit_flow.get("prepared", {}).get("rebased_on") else []


def after_push(ctx: Context, number: int, url: str) -> None:
    """Push the failback (--prepare-failback); stop after a --prepare push."""
    from failover.promote import prepared

    if ctx.request.prepare_failback:
        prepared.push_failback(ctx, url)
    if ctx.request.prepare:
        prepared.stop_prepared(ctx, number, url)


def before_review(ctx: Context, project: str) -> None:
    """Mark a prepared change ready, submit an approved failback, or self-merge."""
    from failover.promote import prepared

    prepared.make_ready(ctx, project)
    if ctx.request.self_merge:
        prepared.self_merge(ctx, project)
    elif ctx.plan.gerrit_flow.get("failback", {}).get("approved"):
        prepared.submit_approved(ctx, project)
