"""The promote's steps that build and act: prepare (both modes), then confirm, push, review,
deploy and verify (described, not run, in a dry-run)."""

from __future__ import annotations

import getpass
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from failover.errors import FailoverError, GateRefused, GitError, NoTerminal
from failover.promote.context import Context, stop_no_wait
from failover.promote.message import body
from failover.retry import Poller
from failover.signals import deferred_signals

if TYPE_CHECKING:
    from failover.dnscheck import DnsReport
    from failover.gerrit import ChangeInfo
    from failover.promote.plan import Plan
    from failover.promote.propagation import Convergence

PUSHED_LOOKUP_TRIES = 5
"""How many times the review step asks Gerrit for the change just pushed (by Change-Id)."""


def prepare(ctx: Context) -> None:
    """Build the change on the remote tip in a temporary worktree, validated and committed."""
    from failover import repo
    from failover.promote import records
    from failover.zone import read_zone, validate_zone, write_atomic, zone_name

    plan, cfg, r = ctx.plan, ctx.cfg, ctx.request
    with deferred_signals():  # no worktree or temp directory half made
        ctx.tree = wt = ctx.stack.enter_context(repo.change_worktree(ctx.checkout))
    zone_file = plan.name.zone_file
    path = wt.path / zone_file
    from failover.promote import chain

    if plan.member is not None:  # a depool or pool: the member's lines out or back
        from failover.promote.pooling import edit as member_edit

        edits = member_edit(ctx, read_zone(path))
    elif chain.requested(ctx) is not None:  # three commits: lower the TTL, switch, restore
        chain.prepare(ctx, read_zone(path), wt)
        return
    else:
        edits = records.edit(ctx, read_zone(path))
    if plan.revert is not None and plan.revert.text not in (None, edits.new_text):
        plan.revert = None  # the zone moved since the revert was found: our own edit
    edit = replace(edits.edits[0], diff=edits.diff, new_text=edits.new_text)
    plan.checks = validate_zone(edit.new_text, path=zone_file, zone=zone_name(zone_file),
                                checkout=wt.path, netbox_snippets=cfg.dns.netbox_snippets)
    write_atomic(path, edit.new_text)
    if plan.member is not None:  # a depool or pool
        from failover.promote.pooling import body as member_body

        text = member_body(plan, getpass.getuser())
    else:
        text = body(plan, leaning=ctx.leaning(), user=getpass.getuser())
    if plan.revert is not None:  # as Gerrit's Revert: what it reverts, then the reason
        from failover.promote.revert import revert_body

        text = revert_body(plan.revert.sha, "\n\n".join(
            ([f"Reason for revert: {r.reason}"] if r.reason else [])
            + (["\n".join(plan.acknowledged)] if plan.acknowledged else [])))
    commit = repo.commit_change(wt, subject=ctx.subject(), body=text, bug=r.bug,
                                change_id=plan.change_id, bugs=r.bugs, signoff=r.signoff)
    plan.edit, plan.message, plan.change_id = edit, commit.message, commit.change_id
    plan.step("prepare").summary = "; ".join(  # records already there are no edit
        f"{e.path}:{e.record.line}: {e.old_target} -> {e.new_target}"
        for e in edits.edits if e.changed) + f"; validated; commit {commit.sha[:12]}"


def _confirm(ctx: Context, what: str, question: str) -> None:
    step = ctx.plan.step(f"confirm-{what}")
    if ctx.request.yes:
        step.summary = "--yes given"
        return
    try:
        ctx.observer.confirm(question)
    except NoTerminal:  # its own hint (--yes)
        raise
    except GateRefused as exc:
        raise GateRefused(exc.message, hint=_after_abort(ctx, what)) from None
    step.summary = f"go from {getpass.getuser()}"


def _after_abort(ctx: Context, what: str) -> str:
    """Return what an abort at the `what` prompt left, and how to go on."""
    plan = ctx.plan
    if what == "push":
        return "nothing was pushed: the change existed only in a temporary worktree"
    return (f"the change {plan.change_url or ''} is merged but not deployed: run the "
            "same command again to deploy and verify, or deploy by hand and run "
            f"`failover verify {plan.region.name} --expect {plan.target.name}`")


def confirm_push(ctx: Context) -> None:
    """Ask go/abort before pushing."""
    _confirm(ctx, "push", f"Push the change to {ctx.plan.push.get('remote')} for review?")


def confirm_deploy(ctx: Context) -> None:
    """Ask go/abort before deploying (nothing to ask without a deploy command)."""
    if not ctx.request.yes and not ctx.plan.deploy:
        step = ctx.plan.step("confirm-deploy")
        step.status, step.summary = "skipped", "no [dns] deploy command configured"
        return
    _confirm(ctx, "deploy", f"Run the deploy command: {' '.join(ctx.plan.deploy)}?")


def push(ctx: Context) -> None:
    """Commit and push the change for review (--no-wait stops after it)."""
    from failover import repo
    from failover.promote import gerritflow

    plan, dns = ctx.plan, ctx.cfg.dns
    result = repo.push_for_review(ctx.worktree, ctx.checkout.review, topic=ctx.plan.name.topic,
                                  reviewers=dns.reviewers, hashtags=dns.hashtags,
                                  timeout=ctx.cfg.gerrit.timeout * 6,
                                  extra=gerritflow.push_options(ctx))
    from failover.promote import chain

    result = chain.pushed(ctx, result)  # a TTL chain: the switch is the promote's change
    plan.change_url, plan.change_number = result.url, result.number
    ctx.pushed_at = time.monotonic()
    repo.record_pushed(ctx.checkout, change_id=plan.change_id or "", subject=ctx.subject(),
                       url=result.url)
    kind = "new change" if result.created else "new patch set"
    plan.step("push").summary = f"{result.url} ({kind})"
    gerritflow.after_push(ctx, result.number, result.url)  # issue 23: prepare, failback
    from failover.promote import guard

    guard.after_push(ctx)  # a race: the later of two changes of the records stops here
    if ctx.request.no_wait:
        stop_no_wait(plan)


def describe_push(ctx: Context) -> str:
    """Return the push command line the push step runs."""
    push = ctx.plan.push
    return (f"git push {push.get('remote')} {push.get('ref')} "
            + " ".join(f"-o {o}" for o in push.get("options", [])))


# -- review, deploy, verify -------------------------------------------------------------------

def review(ctx: Context) -> None:
    """Follow the change until it is merged; check the merged tip makes this failover."""
    plan = ctx.plan
    project = ctx.checkout.review.project_name
    if plan.change is None:
        plan.change = _lookup_pushed(ctx, project)
    from failover.promote.gerritflow import before_review

    before_review(ctx, project)  # issue 23: mark ready, submit a failback, self-merge
    step = plan.step("review")

    said: list[str] = []

    def polled(info: ChangeInfo, elapsed: float) -> None:
        if info.mergeable is False and not said:  # once: Gerrit says it in every answer
            said.append(info.url)
            ctx.observer.warn(f"Gerrit says {info.url} cannot be merged (mergeable: false): "
                              "another change touched the same lines of the zone file; "
                              "rebase it in Gerrit, or abandon it and run again")
        votes = ", ".join(f"{k} {v:+d}" for k, v in info.labels.items()) or "no votes yet"
        ctx.observer.progress(step, f"waiting for review of {info.url}: {info.status}, "
                                    f"{votes} ({elapsed:.0f}s)")

    plan.change = ctx.gerrit.follow_change(
        project, plan.change.number, timeout=ctx.cfg.gerrit.review_timeout,
        interval=ctx.cfg.gerrit.poll_interval, on_poll=polled)
    plan.change_url = plan.change.url
    ctx.merged_at = time.monotonic()
    if ctx.pushed_at is not None:
        plan.durations["push_to_merge"] = time.monotonic() - ctx.pushed_at
    step.summary = f"{plan.change.url} merged" + (
        f" {plan.durations['push_to_merge']:.1f}s after the push" if ctx.pushed_at else "") + (
        " (self-merged: Code-Review +2 and submit by the operator)"
        if plan.gerrit_flow.get("self_merged") else "")
    if _fetch_merged(ctx):
        _check_merged_tip(ctx, plan.change)


def _lookup_pushed(ctx: Context, project: str) -> ChangeInfo:
    """Return the change just pushed, asking Gerrit by Change-Id a few times (its index
    can be late); GitError (exit 4) when the REST root never shows it."""
    plan = ctx.plan
    delay = min(max(ctx.cfg.gerrit.poll_interval, 0.1), 2.0)
    for _ in Poller(delay=delay, factor=2.0, tries=PUSHED_LOOKUP_TRIES):
        found = ctx.gerrit.find_change_by_id(plan.change_id or "", project,
                                             change_url=plan.change_url)
        if found is not None:
            return found
    raise GitError(
        f"Gerrit took the push ({plan.change_url}) but its REST API at {ctx.cfg.gerrit.url}"
        f" does not show change {plan.change_id} after {PUSHED_LOOKUP_TRIES} lookups",
        hint="check that [gerrit] url is the REST root of the Gerrit the checkout pushes to "
             "(.gitreview); then run the same command again: it finds this change by its "
             "Change-Id and pushes no second one")


def _fetch_merged(ctx: Context) -> bool:
    """Fetch again, so the checkout's remote-tracking branch shows the merged change."""
    from failover import repo

    try:
        repo.fetch(ctx.checkout, timeout=ctx.cfg.gerrit.timeout * 6)
    except FailoverError as exc:  # only the operator's view of the branch is late
        ctx.observer.warn(f"could not fetch the merged change: {exc.message}")
        return False
    return True


def _check_merged_tip(ctx: Context, change: ChangeInfo) -> None:
    """Raise GitError when the zone at the merged tip does not point at the target.

    A later patch set of the change (or a change merged right after it) may undo the
    edit: no deploy can make the nameservers answer the target then.
    """
    from failover import repo
    from failover.promote.records import zone_candidate

    plan = ctx.plan
    text = repo.read_remote_file(ctx.checkout, plan.name.zone_file)
    target, name = zone_candidate(plan.name, text)
    if name == plan.target.name:
        return
    revision = (change.current_revision or "")[:12]
    raise GitError(
        f"{change.url} was merged (patch set {revision or '?'}), but the zone at the "
        f"merged tip {ctx.checkout.remote_ref} has {plan.region.fqdn} -> {target}, not "
        f"{plan.target.target}: what was merged does not make this failover",
        hint="look at the merged patch set in Gerrit; nothing was deployed. Run the same "
             "command again to push a new change")


def deploy(ctx: Context) -> None:
    """Run the deploy command (none configured: say to run authdns-update by hand)."""
    from failover.deploy import run_deploy

    plan = ctx.plan
    step = plan.step("deploy")
    if not plan.deploy:
        step.status = "skipped"
        step.summary = "no [dns] deploy configured: run authdns-update by hand now"
        ctx.observer.warn(step.summary + "; waiting for the nameservers")
        return
    from failover.promote.propagation import Watch, records

    shown = " ".join(plan.deploy)
    # the deploy has the terminal (it asks its own question): its output is framed, not
    # prefixed, so the operator tells it from the tool's
    ctx.observer.note(f"deploy: {shown}: its own output follows")
    try:
        # the servers are asked while the deploy reaches them one after another: each one's time
        with Watch(ctx.cfg, records(plan), _convergence(ctx)):
            run_deploy(plan.deploy, timeout=ctx.cfg.dns.deploy_timeout)
    finally:
        ctx.observer.note("deploy: end of its output")
    step.summary = "exit 0"


def _convergence(ctx: Context) -> Convergence:
    """Return the run's Convergence, measured from the merge (else from now)."""
    from failover.promote.propagation import Convergence

    if ctx.convergence is None:
        merged = ctx.merged_at
        ctx.convergence = Convergence(merged if merged is not None else time.monotonic(),
                                      merged=merged is not None)
    return ctx.convergence


def verify(ctx: Context) -> None:
    """Wait until every nameserver and authdns host answers the new target for every record
    (VerifyError naming the others after the timeout); say when each one first did."""
    from failover.dnscheck import wait_for_records
    from failover.errors import VerifyError
    from failover.promote.propagation import answering, records

    plan, cfg = ctx.plan, ctx.cfg
    step = plan.step("verify")
    convergence = _convergence(ctx)
    items = records(plan)

    def round_done(reports: list[DnsReport], number: int, pause: float) -> None:
        convergence.saw(reports)
        _keep(ctx, reports)
        ctx.observer.progress(step, f"{answering(reports)} answer {plan.target.name} "
                                    f"(round {number})")

    reports = wait_for_records(cfg, items, timeout=cfg.verify.timeout,
                               interval=cfg.verify.interval, on_round=round_done)
    _keep(ctx, reports)
    plan.host_times = dict(convergence.first)
    plan.durations.update(convergence.durations())
    each = plan.name.kind != "region"  # a region's one record is not named
    bad = {str(a.server): f"{a.server}: {a.verdict}" + (f" for {r.fqdn}" if each else "")
           for r in reports for a in r.servers if not a.ok}
    if bad:
        silent = [a for r in reports for a in r.hosts if a.rtt_ms is None]
        hosts = f" (not answering: {', '.join(sorted({str(a.server) for a in silent}))})" \
            if silent else ""
        raise VerifyError(
            f"not every nameserver answers {plan.target.target} after "
            f"{cfg.verify.timeout:.0f}s{hosts}: {'; '.join(bad.values())}",
            hint=f"check the deploy; `failover verify {plan.request.region} --expect "
                 f"{plan.target.name}` keeps checking")
    step.summary = _verified(ctx, reports) + "; " + convergence.describe() + _durations(plan)


def _keep(ctx: Context, reports: list[DnsReport]) -> None:
    """Keep the round's reports in the plan (`dns`: the first record's)."""
    plan = ctx.plan
    plan.dns = reports[0]
    plan.record_dns.update({r.fqdn: r for r in reports})


def _verified(ctx: Context, reports: list[DnsReport]) -> str:
    """Return what the verify step found, as its summary starts."""
    plan = ctx.plan
    first = reports[0]
    hosts = len(first.hosts)
    who = f"all {len(first.servers)} nameservers" + (f" ({hosts} authdns hosts)" if hosts else "")
    if plan.name.kind == "region":
        return f"{who} answer {plan.target.target}"
    return (f"{who} answer {plan.target.name} for {len(reports)} record(s): " + ", ".join(
        f"{r.fqdn} -> {plan.name.record(r.fqdn).target(plan.target.name)}" for r in reports))


def _durations(plan: Plan) -> str:
    """Return `; merge -> first host 0.41s, -> all hosts 2.53s` (what was measured)."""
    d = plan.durations
    parts = [f"{label} {d[key]:.2f}s" for key, label in (
        ("merge_to_first_host", "merge -> first host"),
        ("merge_to_all_hosts", "-> all hosts")) if key in d]
    return "; " + ", ".join(parts) if parts else ""


def describe_verify(ctx: Context) -> str:
    """Return what the verify step would do: whom it asks, until what, for how long."""
    plan, cfg = ctx.plan, ctx.cfg
    hosts = [str(h) for h in cfg.verify.authdns_hosts]
    named = [n for n in plan.nameservers if n not in hosts] or ["the nameservers"]
    also = f" and {len(hosts)} authdns hosts ({', '.join(hosts)})" if hosts else ""
    return (f"ask {', '.join(named)}{also} until they answer {plan.target.target} (up to "
            f"{cfg.verify.timeout:.0f}s); say when each first did (from the merge)")
