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
    """Read both controllers' HAProxy; refuse an unhealthy target unless --force."""
    from failover.dnscheck import refuse_dangling_target
    from failover.haproxy import read_region_health

    plan = ctx.plan
    if plan.service is not None:
        from failover.promote import service

        return service.health(ctx, plan.service)
    plan.health = read = read_region_health(ctx.cfg, plan.region)
    target = read.controllers[plan.target.name]
    plan.step("health").summary = "; ".join(
        f"{n} {'healthy' if c.healthy else 'UNHEALTHY'}"
        + ("" if c.reachable else f" ({c.error})") for n, c in read.controllers.items())
    if not target.healthy:
        why = target.error if not target.reachable else ", ".join(target.failing)
        if not ctx.request.force:
            raise GateRefused(
                f"refusing to promote {plan.target.name}: its HAProxy is not healthy "
                f"(failing: {why})",
                hint="fix it and check with `failover health`, or pass --force "
                     "(recorded in the commit and the audit log)")
        ctx.observer.warn(f"--force: promoting unhealthy {plan.target.name} ({why})")
    if warning := refuse_dangling_target(ctx.cfg, plan.region, plan.target):  # issue 15
        ctx.observer.warn(warning)


# -- state: read, then decide -----------------------------------------------------------------

def state(ctx: Context) -> None:
    """Read the nameservers, the zone at the remote tip and the open changes; decide.

    The reads that do not depend on each other run at the same time: the nameservers' answers,
    the Gerrit query followed by the fetch, and the clean-up of earlier runs' leftovers.
    """
    from concurrent.futures import ThreadPoolExecutor

    from failover import repo
    from failover.dnscheck import check_region
    from failover.gerrit import GerritClient, credentials
    from failover.zone import current_target

    plan, cfg = ctx.plan, ctx.cfg
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="state") as pool:
        if plan.service is not None:
            from failover.promote import service

            records = pool.submit(service.read_dns, cfg, plan.service, plan.target.name)
        else:
            answers = pool.submit(check_region, cfg, plan.region, plan.target)
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
            listed = gerrit.find_open_changes(cfg.dns.topic, review.project_name,
                                              review.branch)
            repo.fetch(checkout, timeout=cfg.gerrit.timeout * 6)
            return listed

        fetched = pool.submit(listed_then_fetched)
        for path in repo.remove_stale_worktrees(checkout):  # we hold the lock: none is in use
            ctx.observer.warn(f"removed the temporary worktree {path} of an earlier run "
                              "that was killed")
        for path in repo.remove_empty_temp_dirs():
            ctx.observer.warn(f"removed the empty temporary directory {path} of an earlier "
                              "run")
        if plan.service is not None:
            plan.record_dns = records.result()
            plan.dns = plan.record_dns[plan.service.records[0]]
        else:
            plan.dns = answers.result()
        plan.nameservers = [str(s.server) for s in plan.dns.servers]
        open_changes = fetched.result()
    text = repo.read_remote_file(checkout, cfg.dns.zone_file)
    ctx.topic = cfg.dns.subject_topic or repo.subject_topic(checkout, cfg.dns.zone_file)
    if plan.service is not None:
        from failover.promote import service

        plan.zone_target, name = service.zone_candidate(plan.service, text, cfg.dns.zone_file)
        zone_ctl = plan.region.controller(name) if name else None
    else:
        plan.zone_target = current_target(text, plan.region.fqdn, path=cfg.dns.zone_file)
        zone_ctl = plan.region.controller_for_target(plan.zone_target)
    plan.current = plan.dns.controller or (zone_ctl.name if zone_ctl else None)
    if zone_ctl is None or zone_ctl.name != plan.target.name:  # a failback: Gerrit's Revert?
        from failover.promote.revert import look_up

        plan.revert = look_up(ctx, text)
    plan.push = {"remote": review.remote, "ref": f"HEAD:refs/for/{review.branch}",
                 "options": repo.push_options(cfg.dns.topic, cfg.dns.reviewers,
                                              cfg.dns.hashtags)}
    apply_decision(ctx, _reading(ctx, zone_ctl.name if zone_ctl else None, open_changes))
    if plan.kind in ("new change", "resume review"):  # other operators (issue 24)
        from failover.promote import guard

        guard.check_from(ctx, zone_ctl.name if zone_ctl else None)
        guard.before_push(ctx)


def _reading(ctx: Context, zone_ctl: str | None, open_changes: list[ChangeInfo]) -> Reading:

    plan = ctx.plan
    current = plan.health.controllers.get(plan.current) if plan.health and plan.current \
        else plan.service_health.get(plan.current) if plan.current else None
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
    if plan.service is not None:
        from failover.promote import service

        return service.served(plan)
    return plan.dns is not None and plan.dns.agree and plan.dns.controller == plan.target.name


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
