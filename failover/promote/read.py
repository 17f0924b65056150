"""The promote's steps that only read (both modes): lock, health, and state, which decides.

`state` reads the nameservers, the zone at the remote tip and the open changes, then hands
them to `failover.promote.decide.decide` and marks the plan with the Decision.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from failover.errors import GateRefused
from failover.promote.context import Context, stop_no_wait
from failover.promote.decide import Pushed, Reading, decide, wants_pushed

if TYPE_CHECKING:
    from failover.gerrit import ChangeInfo
    from failover.promote.plan import Plan


def lock(ctx: Context) -> None:
    """Take the checkout's lock until the run ends."""
    from failover.lock import FailoverLock

    r = ctx.request
    held = FailoverLock.for_checkout(ctx.cfg.dns.checkout, f"promote {r.region} {r.target}"
                                     + (" --dry-run" if r.dry_run else ""))
    ctx.stack.enter_context(held)
    ctx.plan.step("lock").summary = (
        f"took over a stale lock of {held.stale.describe()}" if held.stale else "held")


def health(ctx: Context) -> None:
    """Read every candidate's health (a region's: its controllers' HAProxy), and refuse an
    unhealthy target unless --force; then refuse a target that does not resolve (issue 15)."""
    from failover.dnscheck import refuse_dangling_candidate
    from failover.status import read_name_health

    plan = ctx.plan
    if plan.member is not None:  # a depool or pool: the set's gate
        from failover.promote.pooling import gate

        gate(ctx)
        return
    plan.candidate_health, plan.health = read_name_health(ctx.cfg, plan.name)
    if plan.health is not None:  # a region: its controllers' HAProxy, per service
        plan.step("health").summary = "; ".join(
            f"{n} {'healthy' if c.healthy else 'UNHEALTHY'}"
            + ("" if c.reachable else f" ({c.error})") for n, c in plan.health.controllers.items())
        ctl = plan.health.controllers[plan.target.name]
        why = None if ctl.healthy else ctl.error if not ctl.reachable else ", ".join(ctl.failing)
        refused = f"its HAProxy is not healthy (failing: {why})"
    else:
        plan.step("health").summary = "; ".join(
            f"{n} {'healthy' if r.healthy else 'UNHEALTHY'} ({r.detail})"
            for n, r in plan.candidate_health.items())
        read = plan.candidate_health[plan.target.name]
        why = None if read.healthy else read.detail
        refused = f"its health check failed ({read.checked}: {read.detail})"
    if why is not None:
        if not ctx.request.force:
            raise GateRefused(
                f"refusing to promote {plan.target.name}: {refused}",
                hint="fix it and check with `failover health`, or pass --force "
                     "(recorded in the commit and the audit log)")
        ctx.observer.warn(f"--force: promoting unhealthy {plan.target.name} ({why})")
    for warning in refuse_dangling_candidate(ctx.cfg, plan.name.records, plan.target.name,
                                             per_record=plan.name.kind != "region"):
        ctx.observer.warn(warning)


# -- state: read, then decide -----------------------------------------------------------------

def state(ctx: Context) -> None:
    """Read the nameservers, the zone at the remote tip and the open changes; decide.

    The reads that do not depend on each other run at the same time: the nameservers' answers,
    the Gerrit query followed by the fetch, the clean-up of earlier runs' leftovers, and the
    imports the later steps need (`failover.promote.preload`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from failover import repo
    from failover.dnscheck import check_records
    from failover.gerrit import GerritClient, credentials
    from failover.promote.preload import preload
    from failover.promote.records import zone_candidate

    plan, cfg = ctx.plan, ctx.cfg
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="state") as pool:
        records = pool.submit(check_records, cfg, [(r, r.controller(plan.target.name))
                                                   for r in plan.name.records])
        ctx.opened = checkout = repo.open_checkout(cfg.dns.checkout)
        ctx.client = gerrit = GerritClient(cfg.gerrit.url, auth=credentials(cfg.gerrit.url),
                                           timeout=cfg.gerrit.timeout,
                                           ca_bundle=cfg.gerrit.ca_bundle)
        review = checkout.review

        # Open changes are listed before the fetch: a change merged in between is then seen
        # at the fetched tip (resume deploy); listed after, it would be in neither place and
        # a second change would be pushed. So the two stay in this order, one after the
        # other in one thread (the fetch starts once Gerrit has answered the list), and run
        # beside the nameservers' answers and the clean-up below, not after them.
        def listed_then_fetched() -> list[ChangeInfo]:
            listed = gerrit.find_open_changes(plan.name.topic, review.project_name,
                                              review.branch)
            repo.fetch(checkout, timeout=cfg.gerrit.timeout * 6)
            return listed

        fetched = pool.submit(listed_then_fetched)
        loaded = pool.submit(preload)  # the later steps' imports, during the network's wait
        for path in repo.remove_stale_worktrees(checkout):  # we hold the lock: none is in use
            ctx.observer.warn(f"removed the temporary worktree {path} of an earlier run "
                              "that was killed")
        for path in repo.remove_empty_temp_dirs():
            ctx.observer.warn(f"removed the empty temporary directory {path} of an earlier "
                              "run")
        plan.record_dns = {r.fqdn: r for r in records.result()}
        plan.dns = plan.record_dns[plan.region.fqdn]
        plan.nameservers = [str(s.server) for s in plan.dns.servers]
        open_changes = fetched.result()
        loaded.result()
    text = repo.read_remote_file(checkout, plan.name.zone_file)
    if plan.member is not None:  # the sets as the fetched tip has them
        from failover.promote.pooling import rebuild

        if rebuild(ctx, text):
            plan.record_dns = {r.fqdn: r for r in check_records(
                cfg, [(r, r.controller(plan.target.name)) for r in plan.name.records])}
            plan.dns = plan.record_dns[plan.region.fqdn]
    ctx.topic = cfg.dns.subject_topic or repo.subject_topic(checkout, plan.name.zone_file)
    plan.zone_target, name = zone_candidate(plan.name, text)
    zone_ctl = plan.region.controller(name) if name else None
    plan.current = plan.dns.controller or (zone_ctl.name if zone_ctl else None)
    if plan.member is not None:  # a pool back: the revert of the depool?
        from failover.promote.pooling import look_up_revert

        look_up_revert(ctx, text)
    elif zone_ctl is None or zone_ctl.name != plan.target.name:  # a failback: a Revert?
        from failover.promote.revert import look_up

        plan.revert = look_up(ctx, text)
    plan.push = {"remote": review.remote, "ref": f"HEAD:refs/for/{review.branch}",
                 "options": repo.push_options(plan.name.topic, cfg.dns.reviewers,
                                              cfg.dns.hashtags)}
    apply_decision(ctx, _reading(ctx, zone_ctl.name if zone_ctl else None, open_changes))
    from failover.promote.gerritflow import after_state

    after_state(ctx, open_changes)  # --change, prepared changes, --self-merge
    if plan.kind in ("new change", "resume review"):  # other operators (issue 24)
        from failover.promote import guard

        guard.check_from(ctx, zone_ctl.name if zone_ctl else None)
        guard.before_push(ctx)


def _reading(ctx: Context, zone_ctl: str | None, open_changes: list[ChangeInfo]) -> Reading:

    plan = ctx.plan
    current = plan.candidate_health.get(plan.current) if plan.current else None
    reading = Reading(
        target=plan.target.name, region=plan.region.name,
        short=ctx.short(),
        zone_controller=zone_ctl,
        served=_served(plan),
        current=plan.current, current_healthy=current.healthy if current else None,
        open_changes=open_changes, leaning=ctx.leaning(), force=ctx.request.force)
    if not wants_pushed(reading):
        return reading
    pushed = _pushed(ctx)
    return reading if pushed is None else replace(reading, pushed=pushed)


def _served(plan: Plan) -> bool:
    """Return True when every nameserver answers the target for every record."""
    return bool(plan.record_dns) and all(
        rep.agree and rep.controller == plan.target.name for rep in plan.record_dns.values())


def _pushed(ctx: Context) -> Pushed | None:
    """Return the change an earlier run pushed (found by its Change-Id), if any.

    The topic query can miss it (a REST root that does not see it, an index late after
    the push); its Change-Id is then reused, so a push makes a new patch set of that
    same change, never a second change.
    """
    from failover import repo

    pushed = repo.last_pushed(ctx.checkout, ctx.subject())
    if pushed is None:
        return None
    found = ctx.gerrit.find_change_by_id(pushed["change_id"], ctx.checkout.review.project_name,
                                         change_url=pushed["url"])
    return Pushed(pushed["change_id"], found)


def apply_decision(ctx: Context, reading: Reading) -> None:
    """Decide from the reading, and mark the plan so: kind, change, skipped steps, summary."""

    plan, target = ctx.plan, ctx.plan.target.name
    decision = decide(reading)
    for warning in decision.warnings:
        ctx.observer.warn(warning)
    plan.kind, plan.emergency = decision.kind, decision.emergency
    step = plan.step("state")
    if decision.kind == "nothing to do":
        plan.outcome = "nothing to do"
        step.summary = f"{plan.region.fqdn} already points at {target} (zone and nameservers)"
        plan.skip(tuple(s.key for s in plan.steps), "nothing to do")
        return
    if decision.kind == "resume deploy":
        step.summary = "the zone at the remote tip already points at the target; " \
                       "waiting for deploy and nameservers"
        plan.skip(("prepare", "confirm-push", "push", "review"), "already merged")
        return
    if decision.change_id is not None:
        plan.change_id = decision.change_id
    if decision.change is not None:
        plan.change, plan.change_url = decision.change, decision.change.url
        plan.skip(("confirm-push", "push"), f"change {plan.change_url} is already open")
        if ctx.request.no_wait:  # it is pushed already: --no-wait stops here
            stop_no_wait(plan)
    step.summary = (f"{plan.label}: {plan.current or plan.zone_target} -> {target}; "
                    f"{plan.dns.matching if plan.dns else 0}/{len(plan.nameservers)} "
                    "nameservers already answer the target")
