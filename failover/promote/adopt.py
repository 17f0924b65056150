"""`promote NAME TARGET --change N|URL|Change-Id`: adopt a change someone (or a bot) made.

Most DB-master flips of operations/dns are written by a Gerrit bot; what stays manual is the
last mile. The adopted change is read through REST (its patch, the zone file at its parent
and at its revision) and must do exactly what a promote of our own would: move NAME's
record(s), all to TARGET, and nothing else. Otherwise the promote refuses (exit 3), naming
every other line it changes. Then it is followed to the merge, deployed and verified like
our own change; one already merged goes straight to deploy and verify.

Examples:
    >>> other_lines("-a\\n+b\\n", "-a\\n+b\\n-c\\n")                     # doctest: +SKIP
    ['-c']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from failover.errors import GateRefused, GitError

if TYPE_CHECKING:
    from failover.gerrit import ChangeInfo
    from failover.promote.context import Context
    from failover.zone import ZoneEdit

FILE_RE = re.compile(r"^diff --git a/(\S+) b/", re.MULTILINE)
"""A file's header in `git format-patch` text."""


def changed_lines(old: str, new: str) -> list[str]:
    """Return the lines a change from `old` to `new` removes (`-line`) and adds (`+line`)."""
    return [ln for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="",
                                              n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def other_lines(expected: list[str], actual: list[str]) -> list[str]:
    """Return the lines of `actual` the expected change does not have, in order, once each."""
    want = set(expected)
    return list(dict.fromkeys(ln for ln in actual if ln not in want))


def patch_diff(patch: str) -> str:
    """Return the diff part of `git format-patch` text (from the first `diff --git`)."""
    start = patch.find("diff --git ")
    return patch[start:] if start >= 0 else patch


def adopt(ctx: Context) -> None:
    """Read the change `--change` names, check it moves only NAME to TARGET, make it the plan's.

    Raises:
        GateRefused: it changes other lines or files, or another project/branch (exit 3).
        GitError: Gerrit does not know it, it is abandoned, or merged but undone (exit 4).
    """
    plan, r = ctx.plan, ctx.request
    review = ctx.checkout.review
    project = review.project_name
    info = ctx.gerrit.find_change(r.change or "", project)
    if (info.project, info.branch) != (project, review.branch):
        raise GateRefused(f"change {info.url} is on {info.project} {info.branch}, not "
                          f"{project} {review.branch}",
                          hint="give a change of the checkout's project and branch")
    if info.status == "ABANDONED":
        raise GitError(f"change {info.url} is abandoned",
                       hint="restore it in Gerrit and run again, or promote without --change")
    patch = ctx.gerrit.patch(project, info.number)
    edit = check(ctx, info, patch)
    plan.edit, plan.change_url = edit, info.url
    plan.gerrit_flow["adopted"] = {"number": info.number, "url": info.url,
                                   "owner": info.owner, "status": info.status,
                                   "subject": info.subject, "wip": info.wip}
    ctx.observer.note(f"adopting {info.url} ({info.subject}) by {info.owner or '?'}: it "
                      f"moves only {plan.region.fqdn} to {plan.target.name}")
    if info.status == "MERGED":
        if plan.kind not in ("resume deploy", "nothing to do"):
            raise GitError(f"change {info.url} is merged, but the zone at the remote tip has "
                           f"{plan.region.fqdn} -> {plan.zone_target}: a later change undid it",
                           hint="look at the zone file's history; run without --change to "
                                "write a new change")
        return
    if plan.kind in ("resume deploy", "nothing to do"):
        ctx.observer.warn(f"the zone at the remote tip already points at {plan.target.name}; "
                          f"the open change {info.url} would change nothing more: abandon it")
        return
    plan.kind, plan.change, plan.change_url = "resume review", info, info.url
    plan.change_id = info.change_id
    plan.skip(("prepare", "confirm-push", "push"), f"adopted change {info.url}")
    plan.step("state").summary = (f"{plan.label}: adopting {info.url} ({info.status}"
                                  f"{', work in progress' if info.wip else ''})")


def check(ctx: Context, info: ChangeInfo, patch: str) -> ZoneEdit:
    """Return our own edit of the zone at the change's parent, with the change's diff;
    GateRefused naming every other line (and file) the change changes."""
    from failover.zone import edit_record

    plan = ctx.plan
    project, path = info.project, plan.name.zone_file
    if not info.parent or not info.current_revision:
        raise GitError(f"Gerrit did not give the parent of {info.url}'s current patch set")
    old = ctx.gerrit.file_content(project, info.parent, path).decode("utf-8", "replace")
    new = ctx.gerrit.file_content(project, info.current_revision, path).decode("utf-8",
                                                                                "replace")
    if plan.name.kind != "region":
        from failover.promote import records

        edits = records.edit(ctx, old)
        edit = replace(edits.edits[0], diff=edits.diff, new_text=edits.new_text)
    else:
        edit = edit_record(old, plan.region.fqdn, plan.target.target, path=path)
    others = [f"{path}: {ln}" for ln in other_lines(changed_lines(old, edit.new_text),
                                                    changed_lines(old, new))]
    others += [f"{f} (another file)" for f in dict.fromkeys(FILE_RE.findall(patch))
               if f != path]
    missing = other_lines(changed_lines(old, new), changed_lines(old, edit.new_text))
    if others or missing:
        what = f"it also changes: {'; '.join(others)}" if others else \
            f"it does not make: {'; '.join(missing)}"
        raise GateRefused(
            f"change {info.url} does not only move {plan.region.fqdn} to "
            f"{plan.target.name}: {what}",
            hint="adopt only a change that moves this name's record(s) to the target; "
                 "split it in Gerrit, or promote without --change")
    return replace(edit, diff=patch_diff(patch))
