"""`promote --switch-ttl TTL` (or a name's `switch_ttl`): the TTL chain, wired into the steps.

The three changes of `failover.promote.ttlchain` (lower the TTL, switch, restore it) are
committed in the temporary worktree, each the parent of the next, and pushed at once (one
push: a Gerrit relation chain), as work in progress: a reviewer's +2 on all three cannot
land the switch (or the restore, which would submit its ancestors) before its time. Then:

- `lower-ttl` step: the lowering change is marked ready and followed until merged, deployed;
  the step waits until every nameserver serves the lowered TTL and the old TTL has passed
  since (`switch_may_merge`), bounded by `[verify] timeout` plus the old TTL;
- `review`, `deploy`, `verify`: the switch, as any promote's change (marked ready first);
- `restore-ttl` step: the restoring change is marked ready, followed, deployed, and the
  step waits until every nameserver serves the old TTL again.

A rerun finds the open chain by the name's topic and the chain's subjects (the switch by
the promote's own rules), and goes on from the first change not merged. Dry-run shows the
three changes (`Plan.ttl_chain`, the JSON `ttl_chain`).
"""

from __future__ import annotations

import getpass
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from failover.errors import GitError, UsageError, VerifyError

if TYPE_CHECKING:
    from failover.gerrit import ChangeInfo
    from failover.promote.context import Context
    from failover.promote.plan import PromoteRequest
    from failover.repo import PushResult, Worktree

STEP_KEYS = ("lower-ttl", "restore-ttl")
"""The promote's steps that only a chain runs (skipped otherwise)."""
NO_CHAIN = "no --switch-ttl (one change)"
"""The summary of the chain's steps in a promote of one change (the text view hides them)."""


def requested(ctx: Context) -> str | None:
    """Return the switch TTL asked for (`--switch-ttl`, else the name's `switch_ttl`)."""
    if ctx.request.switch_ttl is not None:
        return ctx.request.switch_ttl
    service = ctx.plan.name.service
    return service.switch_ttl if service is not None else None


def check_request(r: PromoteRequest) -> None:
    """Refuse a bad `--switch-ttl` and the options it does not go with (exit 2)."""
    if r.switch_ttl is None:
        return
    from failover.promote.ttlchain import ttl_problem_and_fix

    if (found := ttl_problem_and_fix(r.switch_ttl)) is not None:
        raise UsageError(f"--switch-ttl: {found[0]}",
                         hint=f"{found[1]}, e.g. --switch-ttl 10s; or leave --switch-ttl out "
                              "to switch in one change")
    if r.change is not None or r.prepare or r.prepare_failback:
        raise UsageError("--switch-ttl writes its own chain of three changes: it does not go "
                         "with --change, --prepare or --prepare-failback")


def _changes(ctx: Context) -> list[dict[str, Any]]:
    chain = ctx.plan.ttl_chain
    return list(chain["changes"]) if chain else []


def numbers(ctx: Context) -> set[int]:
    """Return the chain's change numbers known so far (the guard does not race them)."""
    return {c["number"] for c in _changes(ctx) if c.get("number")}


# -- prepare: three commits -------------------------------------------------------------------

def prepare(ctx: Context, text: str, wt: Worktree) -> None:
    """Build, validate and commit the three changes in the worktree (HEAD: the restore)."""
    from failover import repo
    from failover.promote import records
    from failover.promote.message import body
    from failover.promote.ttlchain import build_chain, written_ttl
    from failover.zone import validate_zone, write_atomic, zone_name
    from failover.zone.sets import SetEdit

    plan, cfg, r = ctx.plan, ctx.cfg, ctx.request
    ttl = requested(ctx) or ""
    zone_file = plan.name.zone_file
    rtypes = {rec.record_type for rec in plan.name.records}
    if len(rtypes) != 1:
        raise UsageError(f"{plan.name.name}'s records are of types {sorted(rtypes)}: the TTL "
                         "chain lowers the TTL of one type", hint="promote without the chain")
    switched: list[Any] = []

    def switch(lowered: str) -> SetEdit:
        edits = records.edit(ctx, lowered)
        switched.append(edits)
        return SetEdit(zone_file, lowered, edits.new_text, edits.diff, edits.changed,
                       "switch")

    chain = build_chain(text, [rec.fqdn for rec in plan.name.records], rtypes.pop(), switch,
                        written_ttl(ttl), path=zone_file, zone=zone_name(zone_file),
                        subject=ctx.subject(), short=ctx.short())
    main = body(plan, leaning=ctx.leaning(), user=getpass.getuser())
    path, base, entries = wt.path / zone_file, wt.base, []
    owners = ", ".join(rec.fqdn for rec in plan.name.records)
    for step in chain.steps:
        checks = validate_zone(step.edit.new_text, path=zone_file, zone=zone_name(zone_file),
                               checkout=wt.path, netbox_snippets=cfg.dns.netbox_snippets)
        write_atomic(path, step.edit.new_text)
        commit = repo.commit_change(replace(wt, base=base), subject=step.subject,
                                    body=step_body(step.number, chain.old_ttl, chain.switch_ttl,
                                                   owners, r.reason, main),
                                    bug=r.bug, bugs=r.bugs, signoff=r.signoff,
                                    change_id=plan.change_id if step.number == 2 else None)
        base = commit.sha
        entries.append({"step": step.number, "what": step.what, "subject": step.subject,
                        "change_id": commit.change_id, "commit": commit.sha,
                        "diff": step.edit.diff, "message": commit.message, "number": None,
                        "url": None, "status": None})
        if step.number == 2:
            plan.checks, plan.message, plan.change_id = checks, commit.message, commit.change_id
            edits = switched[-1]
            plan.edit = replace(edits.edits[0], diff=edits.diff, new_text=edits.new_text)
    plan.ttl_chain = {"switch_ttl": chain.switch_ttl, "old_ttl": chain.old_ttl,
                      "old_seconds": chain.old_seconds, "changes": entries}
    plan.push["options"] = [*plan.push.get("options", []), "wip"]
    plan.step("prepare").summary = (
        f"TTL chain of 3 commits: {chain.old_ttl} -> {chain.switch_ttl}, switch, "
        f"-> {chain.old_ttl}; validated; head {base[:12]}")


def step_body(number: int, old: str, new: str, fqdn: str, reason: str | None,
              main: str) -> str:
    """Return a chain commit's body: which step it is, then (the switch's) the usual body.

    Examples:
        >>> step_body(1, "5M", "10", "irc.wikimedia.org", None, "x").splitlines()[0]
        'Step 1/3 of a TTL chain: lower the TTL of irc.wikimedia.org from 5M to'
    """
    what = {1: f"lower the TTL of {fqdn} from {old} to {new}, so that the switch "
               "(2/3) takes effect within seconds. It is merged first; the switch waits "
               f"until every nameserver serves TTL {new} and {old} have passed since.",
            2: f"the switch itself, with TTL {new}; merged once the lowered TTL has been "
               "served for the old TTL's time.",
            3: f"restore the TTL of {fqdn} to {old}; merged once the switch (2/3) is "
               "verified on every nameserver."}[number]
    parts = [f"Step {number}/3 of a TTL chain: {what}"]
    if number == 2:
        parts.append(main)
    elif reason:
        parts.append(f"Reason: {reason}")
    from failover.repo.commit import wrap_body

    return wrap_body("\n\n".join(parts))


def pushed(ctx: Context, result: PushResult) -> PushResult:
    """Record the chain's pushed changes; return the switch's (the promote's own change)."""
    from failover.repo import PushResult

    entries = _changes(ctx)
    if not entries:
        return result
    project = ctx.checkout.review.project_name
    found = list(result.changes)
    for i, entry in enumerate(entries):
        if len(found) == len(entries) and found[i].url and found[i].number:
            entry.update(url=found[i].url, number=found[i].number, status="NEW")
            continue
        info = ctx.gerrit.find_change_by_id(entry["change_id"], project)
        if info is None:
            raise GitError(f"Gerrit took the chain's push but does not show its change "
                           f"{entry['change_id']} ({entry['subject']})",
                           hint="run the same command again: it finds the chain by topic")
        entry.update(url=info.url, number=info.number, status=info.status)
    switch = entries[1]
    ctx.observer.note("pushed the TTL chain as one relation chain (work in progress until "
                      "each one's turn): " + ", ".join(f"{e['step']}/3 {e['url']}"
                                                      for e in entries))
    return PushResult(url=switch["url"], number=switch["number"], created=result.created,
                      changes=result.changes)


# -- after the state step: a resumed chain ----------------------------------------------------

def after_state(ctx: Context, open_changes: list[ChangeInfo]) -> None:
    """With a chain asked for: find its open changes (a rerun), or skip the chain's steps."""
    from failover.promote.ttlchain import chain_step_of

    plan = ctx.plan
    if requested(ctx) is None:  # also over "nothing to do": the text view hides them
        for s in plan.steps:
            if s.key in STEP_KEYS and s.status in ("pending", "skipped"):
                s.status, s.summary = "skipped", NO_CHAIN
        return
    plan.revert = None  # the switch's parent is the lowering change: no plain revert
    found = {step: (c, ttl) for c in open_changes
             if (m := chain_step_of(c.subject, ctx.short())) for step, ttl in [m]}
    if plan.kind == "nothing to do" and 3 not in found:
        return
    _need_credentials(ctx)
    if plan.kind == "new change":
        for c, _ in found.values():
            ctx.observer.warn(f"an open change of an earlier TTL chain of {plan.name.name} "
                              f"has no open switch: {c.url} ({c.subject}); abandon it")
        return
    _resume(ctx, found)


def _need_credentials(ctx: Context) -> None:
    """Refuse (exit 2, before any push) a real run without Gerrit HTTP credentials."""
    from failover.gerrit import credentials

    if not ctx.request.dry_run and credentials(ctx.cfg.gerrit.url) is None:
        raise UsageError("--switch-ttl marks each change of the chain ready in its turn "
                         "through Gerrit's REST API, which needs your Gerrit HTTP credentials",
                         hint="set FAILOVER_GERRIT_USER and FAILOVER_GERRIT_PASSWORD (or "
                              "~/.netrc); nothing was pushed")


def _resume(ctx: Context, found: dict[int, tuple[ChangeInfo, str]]) -> None:
    """Fill the plan's chain from Gerrit and the zone at the tip; skip what is merged."""
    from failover import repo

    plan = ctx.plan
    ttl = requested(ctx) or ""
    text = repo.read_remote_file(ctx.checkout, plan.name.zone_file)
    at_tip = tip_ttl(ctx, text)
    old = found[3][1] if 3 in found else None
    switch_merged = plan.kind in ("resume deploy", "nothing to do")
    if old is None and not switch_merged and 1 in found:
        old = at_tip
    if old is None:
        if at_tip is not None and switch_merged:
            old = at_tip  # the restore is merged too: the TTL at the tip is the old one
        else:
            raise GitError(f"the switch of {plan.name.name} is open, but no open change of "
                           "its TTL chain restores the TTL",
                           hint="push the restore by hand, or abandon the switch and run "
                                "again")
    from failover.promote.ttlchain import written_ttl
    from failover.zone.sets import ttl_seconds

    def entry(step: int, what: str, info: ChangeInfo | None, status: str) -> dict[str, Any]:
        return {"step": step, "what": what, "subject": info.subject if info else None,
                "change_id": info.change_id if info else None, "commit":
                info.current_revision if info else None, "diff": None, "message": None,
                "number": info.number if info else None, "url": info.url if info else None,
                "status": info.status if info else status}

    switch = plan.change
    plan.ttl_chain = {"switch_ttl": written_ttl(ttl), "old_ttl": old,
                      "old_seconds": ttl_seconds(old), "changes": [
                          entry(1, "lower TTL", found.get(1, (None, ""))[0], "MERGED"),
                          entry(2, "switch", switch, "MERGED"),
                          entry(3, "restore TTL", found.get(3, (None, ""))[0], "MERGED")]}
    plan.skip(("prepare",), "the TTL chain is in Gerrit: " + ", ".join(
        f"{e['step']}/3 {e['url'] or 'merged'}" for e in plan.ttl_chain["changes"]))
    if switch_merged:
        plan.skip(("lower-ttl",), "the switch is merged")
    if plan.kind == "nothing to do" and 3 in found:  # the restore is what is left
        plan.outcome = "pending"
        restore = plan.step("restore-ttl")
        restore.status, restore.summary = "pending", ""


def tip_ttl(ctx: Context, text: str) -> str | None:
    """Return the one TTL the records' live lines have in `text` (None: several or none)."""
    from failover.zone import zone_name
    from failover.zone.sets import find_sets

    plan = ctx.plan
    rtype = plan.name.records[0].record_type
    ttls = {ln.ttl for rs in find_sets(text, [r.fqdn for r in plan.name.records], rtype,
                                       path=plan.name.zone_file,
                                       zone=zone_name(plan.name.zone_file)).values()
            for ln in rs.live}
    return ttls.pop() if len(ttls) == 1 else None


# -- the chain's own steps ----------------------------------------------------------------------

def _land(ctx: Context, index: int, step_key: str) -> bool:
    """Mark the chain's change `index` ready, self-merge it if asked, follow it until merged;
    return False when it was merged before this run."""
    entry = _changes(ctx)[index]
    if entry["status"] == "MERGED" or entry["number"] is None:
        return False
    project = ctx.checkout.review.project_name
    gerrit, cfg = ctx.gerrit, ctx.cfg.gerrit
    info = gerrit.get_change(project, entry["number"], more=True)
    if info.status == "NEW" and info.wip:
        gerrit.set_ready(project, info.number)
        ctx.observer.note(f"{info.url} ({entry['step']}/3) marked ready for review")
    if info.status == "NEW" and ctx.request.self_merge:
        from failover.promote.prepared import _submit_when_submittable

        gerrit.review(project, info.number, {"Code-Review": 2},
                      message="Self-merged by `failover promote --self-merge`.")
        _submit_when_submittable(ctx, project, info.number)
    step = ctx.plan.step(step_key)

    def polled(change: ChangeInfo, elapsed: float) -> None:
        votes = ", ".join(f"{k} {v:+d}" for k, v in change.labels.items()) or "no votes yet"
        ctx.observer.progress(step, f"waiting for review of {change.url} "
                                    f"({entry['step']}/3): {change.status}, {votes} "
                                    f"({elapsed:.0f}s)")

    done = gerrit.follow_change(project, info.number, timeout=cfg.review_timeout,
                                interval=cfg.poll_interval, on_poll=polled)
    entry["status"] = done.status
    return True


def _deploy(ctx: Context, what: str) -> None:
    """Run the deploy command for one of the chain's changes (none: say so)."""
    from failover.deploy import run_deploy

    plan = ctx.plan
    if not plan.deploy:
        ctx.observer.warn(f"no [dns] deploy configured: run authdns-update by hand now ({what})")
        return
    if not ctx.request.yes:
        ctx.observer.confirm(f"Run the deploy command for {what}: {' '.join(plan.deploy)}?")
    ctx.observer.note(f"deploy ({what}): {' '.join(plan.deploy)}: its own output follows")
    try:
        run_deploy(plan.deploy, timeout=ctx.cfg.dns.deploy_timeout)
    finally:
        ctx.observer.note("deploy: end of its output")


def served_ttls(ctx: Context) -> list[int | None]:
    """Return, per nameserver, the longest TTL it answers for the records (None: no answer)."""
    from failover.dnscheck import check_records

    plan = ctx.plan
    reports = check_records(ctx.cfg, [(r, r.controller(plan.target.name))
                                      for r in plan.name.records])
    out: list[int | None] = []
    for i in range(len(reports[0].servers)):
        ttls = [rep.servers[i].ttl for rep in reports]
        out.append(None if any(t is None for t in ttls) else max(t for t in ttls if t))
    return out


def lower(ctx: Context) -> None:
    """Land the lowering change, deploy it, and wait until the switch may be merged."""
    from failover.promote.ttlchain import switch_may_merge

    plan, cfg = ctx.plan, ctx.cfg
    chain = plan.ttl_chain or {}
    step = plan.step("lower-ttl")
    new, old = int(chain["switch_ttl"]), int(chain["old_seconds"])
    if _land(ctx, 0, "lower-ttl") or any(t is None or t > new for t in served_ttls(ctx)):
        _deploy(ctx, "the lowered TTL (1/3)")
    start = time.monotonic()
    deadline = start + cfg.verify.timeout + old
    since: float | None = None
    while True:
        now = time.monotonic()
        ttls = served_ttls(ctx)
        ok, when, why = switch_may_merge(ttls, since, old, new, now)
        if ok:
            break
        if since is None and when is not None:
            since = now
        if now >= deadline or (since is None and now - start >= cfg.verify.timeout):
            raise VerifyError(f"the lowered TTL is not served everywhere after "
                              f"{now - start:.0f}s: {why}",
                              hint="check the deploy; run the same command again to go on")
        ctx.observer.progress(step, f"{why} (TTLs served: {', '.join(map(str, ttls))})")
        pause = cfg.verify.interval if when is None else min(max(when - now, 0.05), 1.0)
        time.sleep(pause)
    _ready_switch(ctx)
    step.summary = (f"{_changes(ctx)[0]['url']} merged; every nameserver serves TTL {new}; "
                    f"waited {time.monotonic() - start:.1f}s (old TTL {chain['old_ttl']})")


def _ready_switch(ctx: Context) -> None:
    """Mark the switch (2/3) ready for review now that it may be merged."""
    plan = ctx.plan
    project = ctx.checkout.review.project_name
    number = plan.change.number if plan.change else _changes(ctx)[1]["number"]
    if number is None:
        return
    info = ctx.gerrit.get_change(project, number, more=True)
    if info.status == "NEW" and info.wip:
        ctx.gerrit.set_ready(project, number)
        ctx.observer.note(f"{info.url} (2/3, the switch) marked ready for review")
    plan.change = replace(info, wip=False)


def restore(ctx: Context) -> None:
    """Land the restoring change, deploy it, and wait until every nameserver serves it."""
    from failover.zone.sets import ttl_seconds

    plan, cfg = ctx.plan, ctx.cfg
    chain = plan.ttl_chain or {}
    step = plan.step("restore-ttl")
    if plan.change is not None:  # the switch, as the review step left it
        _changes(ctx)[1]["status"] = plan.change.status
    elif plan.kind == "resume deploy":
        _changes(ctx)[1]["status"] = "MERGED"
    old = ttl_seconds(str(chain["old_ttl"]))
    if _land(ctx, 2, "restore-ttl") or any(t != old for t in served_ttls(ctx)):
        _deploy(ctx, "the restored TTL (3/3)")
    start = time.monotonic()
    while (ttls := served_ttls(ctx)) and any(t != old for t in ttls):
        if time.monotonic() - start >= cfg.verify.timeout:
            raise VerifyError(f"not every nameserver serves the restored TTL {old}s after "
                              f"{cfg.verify.timeout:.0f}s (TTLs: {', '.join(map(str, ttls))})",
                              hint="check the deploy; run the same command again to go on")
        ctx.observer.progress(step, f"waiting for TTL {old}s (served: "
                                    f"{', '.join(map(str, ttls))})")
        time.sleep(cfg.verify.interval)
    step.summary = (f"{_changes(ctx)[2]['url'] or 'merged'}; every nameserver serves TTL "
                    f"{chain['old_ttl']} again")


def describe_lower(ctx: Context) -> str:
    """Return what the lower-ttl step would do (the dry-run's line)."""
    c = ctx.plan.ttl_chain or {}
    return (f"mark 1/3 ready, follow it until merged (up to {ctx.cfg.gerrit.review_timeout:.0f}"
            f"s), deploy, wait until every nameserver serves TTL {c.get('switch_ttl')}, then "
            f"{c.get('old_seconds')}s (the old TTL {c.get('old_ttl')}) more")


def describe_restore(ctx: Context) -> str:
    """Return what the restore-ttl step would do (the dry-run's line)."""
    c = ctx.plan.ttl_chain or {}
    return (f"mark 3/3 ready, follow it until merged, deploy, wait until every nameserver "
            f"serves TTL {c.get('old_ttl')} again")
