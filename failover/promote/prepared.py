"""Changes prepared ahead (`--prepare`, `--prepare-failback`) and self-merge (`--self-merge`).

- `--prepare` pushes the change as work in progress (Gerrit's `wip` push option): nobody can
  submit it, so an early +2 or a colleague's `authdns-update` cannot land it. At the window,
  the same promote without `--prepare` finds it (topic and subject, or its Change-Id); when
  the tip moved it builds it again on the tip with the same Change-Id (a new patch set,
  pushed `ready`; Gerrit keeps the votes of a trivial rebase), refusing when the record
  itself changed; otherwise it marks it ready through REST; then it goes on as usual.
- `--prepare-failback` pushes, beside the failover, its revert as work in progress (parent:
  the failover), so reviewers approve both in one sitting. `failover promote NAME OLD` later
  finds it (subject `Revert "<failover subject>"`), marks it ready and, when it was approved
  already, submits it: no second review.
- `--self-merge` (an emergency, or `[gerrit] self_merge = true`): Code-Review +2 as the
  operator, then submit once Gerrit says submittable (CI's Verified included); a loud SAL
  line, the audit and the task comment say so. Gerrit's refusal is exit 4, the change open.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from failover.errors import GateRefused, GitError, UsageError
from failover.prepared_changes import PREPARED_FILE, read_prepared
from failover.retry import Poller

if TYPE_CHECKING:
    from failover.gerrit import ChangeInfo
    from failover.promote.context import Context

SUBMIT_WAIT_CAP = 15.0
"""The longest pause (seconds) between two looks at whether the change is submittable."""


def _tip(ctx: Context) -> str:
    from failover.repo.checkout import ref_sha

    return ref_sha(ctx.checkout)


def _prepared_path(ctx: Context) -> Path:
    from failover.repo.checkout import git_repo

    return Path(git_repo(ctx.checkout.path).common_dir) / PREPARED_FILE


def remember(ctx: Context, name: str, target: str, entry: dict[str, Any] | None) -> None:
    """Record a prepared change of `name` to `target` (None: forget it), so the window's run
    finds it by its Change-Id whatever its subject (kept in the checkout, as `record_pushed`
    does)."""
    path = _prepared_path(ctx)
    data = read_prepared(path)
    if entry is None and f"{name} {target}" not in data:
        return
    data.pop(f"{name} {target}", None)
    if entry is not None:
        data[f"{name} {target}"] = entry
    tmp = path.with_name(f"{PREPARED_FILE}.{os.getpid()}.tmp")
    with suppress(OSError):
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def find(ctx: Context, open_changes: list[ChangeInfo]) -> None:
    """Look at the open change the decision found (prepared?), or for the change prepared
    for this name and target (by its Change-Id), or a prepared failback (by its subject)."""
    plan, r = ctx.plan, ctx.request
    project = ctx.checkout.review.project_name
    if r.prepare:
        return
    entry = read_prepared(_prepared_path(ctx)).get(f"{r.region} {r.target}")
    if plan.kind != "new change" and entry and not r.dry_run:  # landed, or found by topic
        remember(ctx, r.region, r.target, None)
    if plan.kind == "resume review" and plan.change is not None:
        info = ctx.gerrit.get_change(project, plan.change.number, more=True)
        plan.change = info
        if info.wip:
            _prepared(ctx, info)
        return
    if plan.kind != "new change":
        return
    found: ChangeInfo | None = None
    if entry and isinstance(entry.get("change_id"), str):
        found = ctx.gerrit.find_change_by_id(entry["change_id"], project)
    elif plan.revert is not None:
        subject = ctx.subject()
        found = next((c for c in reversed(open_changes) if c.subject == subject), None)
        entry = {"failback": True}
    if entry and not ctx.request.dry_run:  # used now (or landed, or abandoned): forgotten
        remember(ctx, r.region, r.target, None)
    if found is None or found.status != "NEW":
        return
    info = ctx.gerrit.get_change(project, found.number, more=True)
    if not (entry or {}).get("failback"):
        plan.kind, plan.change, plan.change_url = "resume review", info, info.url
        plan.change_id = info.change_id
        plan.skip(("confirm-push", "push"), f"the prepared change {info.url}")
        _prepared(ctx, info)
        return
    approved = info.labels.get("Code-Review") == 2
    plan.gerrit_flow["failback"] = {"number": info.number, "url": info.url,
                                    "wip": info.wip, "approved": approved}
    plan.kind, plan.change, plan.change_url = "resume review", info, info.url
    plan.change_id = info.change_id
    plan.skip(("prepare", "confirm-push", "push"), f"the prepared failback {info.url}")
    plan.step("state").summary = (f"{plan.label}: the prepared failback {info.url}"
                                  f"{' (approved)' if approved else ''}")
    ctx.observer.note(f"found the failback prepared with the failover: {info.url}; it is "
                      "marked ready" + (" and submitted (approved already: no second review)"
                                        if approved else " and followed until merged"))


def _prepared(ctx: Context, info: ChangeInfo) -> None:
    """A prepared (work-in-progress) change of this failover: rebase it if the tip moved."""
    plan = ctx.plan
    tip = _tip(ctx)
    entry: dict[str, object] = {"number": info.number, "url": info.url, "wip": True}
    plan.gerrit_flow["prepared"] = entry
    if not info.parent or info.parent == tip:
        ctx.observer.note(f"found the prepared change {info.url}: it is marked ready for "
                          "review, then followed")
        return
    old = ctx.gerrit.file_content(info.project, info.parent, ctx.plan.name.zone_file).decode(
        "utf-8", "replace")
    was = _record_target(ctx, old)
    if was != plan.zone_target:
        raise GateRefused(
            f"the prepared change {info.url} was written when {plan.region.fqdn} pointed at "
            f"{was}; at the remote tip it points at {plan.zone_target}: the record itself "
            "changed since",
            hint="abandon the prepared change in Gerrit and run again (a new change)")
    entry["rebased_on"] = tip
    for key in ("confirm-push", "push"):  # build it again on the tip: a new patch set
        step = plan.step(key)
        step.status, step.summary = "pending", ""
    ctx.observer.note(f"found the prepared change {info.url}; the tip moved since "
                      f"({info.parent[:12]} -> {tip[:12]}): it is built again on the tip "
                      "(same Change-Id) and pushed ready for review")


def _record_target(ctx: Context, text: str) -> str:
    from failover.promote.records import zone_candidate

    return zone_candidate(ctx.plan.name, text)[0]


def check_prepare(ctx: Context) -> None:
    """Refuse --prepare-failback where there is nothing to fail back from (exit 2)."""
    plan = ctx.plan
    if ctx.request.prepare_failback and (plan.name.kind != "region" or not plan.zone_target):
        raise UsageError("--prepare-failback prepares a region's failback (its one record)",
                         hint="prepare a service's failback with a second --prepare "
                              "promote after the failover merged")
    if plan.kind == "resume review" and plan.change is not None and ctx.request.prepare:
        ctx.observer.warn(f"the change {plan.change.url} is already pushed"
                          + (" (work in progress)" if plan.change.wip else
                             ": it is NOT work in progress"))


def stop_prepared(ctx: Context, number: int, url: str) -> None:
    """Stop after the --prepare push: say that nothing can land it before the window."""
    plan, r = ctx.plan, ctx.request
    plan.gerrit_flow["prepared"] = {"number": number, "url": url, "wip": True}
    remember(ctx, r.region, r.target, {"change_id": plan.change_id, "url": url,
                                       "number": number})
    plan.outcome = "stopped"
    why = (f"--prepare: {url} is work in progress: nobody can submit it before the window;"
           f" then run `failover promote {r.region} {r.target}` (without --prepare)")
    plan.skip(tuple(s.key for s in plan.steps if s.key != "record"), why)
    ctx.observer.note(why)


def push_failback(ctx: Context, failover_url: str) -> None:
    """Push the failover's revert as work in progress, on top of the failover (a chain)."""
    from failover import repo
    from failover.promote.revert import revert_body, revert_subject
    from failover.zone import edit_record, read_zone, write_atomic

    plan, cfg, r = ctx.plan, ctx.cfg, ctx.request
    wt = ctx.worktree
    code, head = repo.run_git(["rev-parse", "HEAD"], wt.path, timeout=30)
    if code != 0:
        raise GitError(f"cannot read the failover commit in {wt.path}: {head.strip()}")
    sha = head.strip().splitlines()[-1]
    path = wt.path / ctx.plan.name.zone_file
    back = edit_record(read_zone(path), plan.region.fqdn, plan.zone_target or "",
                       path=ctx.plan.name.zone_file)
    write_atomic(path, back.new_text)
    commit = repo.commit_change(replace(wt, base=sha), subject=revert_subject(ctx.subject()),
                                body=revert_body(sha, "Failback prepared with the failover "
                                                      f"{failover_url}."),
                                bug=r.bug, bugs=r.bugs, signoff=r.signoff)
    dns = cfg.dns
    result = repo.push_for_review(wt, ctx.checkout.review, topic=dns.topic,
                                  reviewers=dns.reviewers, hashtags=dns.hashtags,
                                  timeout=cfg.gerrit.timeout * 6, extra=["wip"])
    plan.gerrit_flow["failback"] = {"number": result.number, "url": result.url, "wip": True,
                                    "change_id": commit.change_id}
    if plan.current:
        remember(ctx, r.region, plan.current, {"change_id": commit.change_id,
                                               "url": result.url, "number": result.number,
                                               "failback": True})
    ctx.observer.note(f"the failback is prepared beside it: {result.url} (work in progress, "
                      f"on top of the failover; `failover promote {r.region} "
                      f"{plan.current or '?'}` marks it ready and follows it)")


def make_ready(ctx: Context, project: str) -> None:
    """Mark the change ready for review when it is work in progress (prepared, adopted)."""
    plan = ctx.plan
    change = plan.change
    if change is None or not change.wip or plan.gerrit_flow.get("prepared", {}).get(
            "rebased_on"):
        return
    ctx.gerrit.set_ready(project, change.number)
    plan.change = replace(change, wip=False)
    for key in ("prepared", "failback", "adopted"):
        if key in plan.gerrit_flow:
            plan.gerrit_flow[key]["wip"] = False
            plan.gerrit_flow[key]["marked_ready"] = True
    ctx.observer.note(f"{change.url} marked ready for review")


def _submit_when_submittable(ctx: Context, project: str, number: int) -> None:
    """Wait until Gerrit says submittable (CI's Verified), then submit; Gerrit's words on
    refusal (GitError, exit 4): submit anyway once the wait is over, to get them."""
    cfg = ctx.cfg.gerrit
    step = ctx.plan.step("review")
    poller = Poller(delay=min(cfg.poll_interval, 2.0), factor=1.5, cap=SUBMIT_WAIT_CAP,
                    timeout=cfg.review_timeout)
    for attempt in poller:
        info = ctx.gerrit.get_change(project, number, more=True)
        if info.status == "MERGED" or info.submittable:
            break
        votes = ", ".join(f"{k} {v:+d}" for k, v in info.labels.items())
        ctx.observer.progress(step, f"waiting until {info.url} is submittable ({votes}; "
                                    f"{attempt.elapsed:.0f}s)")
        if attempt.last:
            break
    if info.status != "MERGED":
        ctx.gerrit.submit(project, number)


def submit_approved(ctx: Context, project: str) -> None:
    """Submit the prepared failback approved with the failover (no second review)."""
    change = ctx.plan.change
    if change is None:
        return
    _submit_when_submittable(ctx, project, change.number)
    ctx.plan.gerrit_flow["failback"]["submitted"] = True


def self_merge(ctx: Context, project: str) -> None:
    """Vote Code-Review +2 as the operator and submit once submittable; say so loudly."""
    plan, r = ctx.plan, ctx.request
    change = plan.change
    if change is None:
        return
    if change.status != "MERGED":
        ctx.gerrit.review(project, change.number, {"Code-Review": 2},
                          message="Self-merged by `failover promote --self-merge`: an "
                                  "emergency failover that cannot wait for a review.")
        _submit_when_submittable(ctx, project, change.number)
    plan.gerrit_flow["self_merged"] = True
    ctx.observer.warn(f"SELF-MERGED {change.url}: Code-Review +2 and submit by you, without "
                      "a colleague's review")
    if ctx.outside is not None:
        ctx.outside.say(f"SELF-MERGED {change.url}")
    _ = r
