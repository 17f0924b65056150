"""The reads behind `failover.promote.others`' decisions, and the hooks the steps call.

- `before_push` (state step, a new change or a resumed one): `--from`, the open changes of
  others on NAME's records (Gerrit, the lock shared by every host), the flip you did not see
  (the repository's history, `failover.repo.history`).
- `after_push` (push step): look again; the later of two racing changes stops.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from failover.errors import GitError
from failover.promote.others import (
    Flip,
    OpenChange,
    from_gerrit_time,
    lock_refusal,
    moves_records,
    race_loser,
    recent_flip,
    stale_from,
)

if TYPE_CHECKING:
    from failover.promote.context import Context
    from failover.repo.history import HistoryEntry

GIT_TIMEOUT = 30.0
"""Seconds for reading the operator's identity and the history of the records."""


def records(ctx: Context) -> tuple[str, ...]:
    """Return NAME's records (a region's one API name, a service's or group's records)."""
    plan = ctx.plan
    return tuple(r.fqdn for r in plan.name.records)


def check_from(ctx: Context, zone_candidate: str | None) -> None:
    """Refuse a stale `--from CURRENT` (exit 3): the zone at the tip and every nameserver
    must say CURRENT."""
    plan = ctx.plan
    served = {str(s.server): s.controller for s in (plan.dns.servers if plan.dns else ())}
    stale_from(ctx.request.from_, zone=zone_candidate, served=served, name=plan.region.name)


def before_push(ctx: Context) -> None:
    """Refuse another's open change of the records or their recent flip, unless acked.

    A resumed change (pushed by an earlier run, which passed these gates) is held only to
    the race rule: an earlier open change of the records, not acknowledged, stops it.
    """
    plan, acks = ctx.plan, ctx.request.acks
    name = plan.region.name
    if plan.change is not None:
        race_loser(name, plan.change.number, moving_changes(ctx, exclude={plan.change.number}),
                   acks)
        return
    moving = moving_changes(ctx, exclude=set(), warn=True)
    lock_refusal(name, moving, acks)
    for change in moving:  # each acknowledged, or lock_refusal had refused
        plan.acknowledged.append(f"Acknowledged open change {change.url} by "
                                 f"{change.owner or 'unknown'} (--ack)")
    flip = recent_flip(name, last_flip(ctx), window=ctx.cfg.safety.flap_window,
                       me=operator(ctx), acks=acks)
    if flip is not None:
        plan.acknowledged.append(flip.acknowledgement())


def after_push(ctx: Context) -> None:
    """After the push: stop when an earlier open change of the same records appeared."""
    plan = ctx.plan
    mine = plan.change_number
    if mine is None:
        return
    try:
        moving = moving_changes(ctx, exclude={mine})
    except GitError as exc:  # the review step names the change; a re-run looks again
        ctx.observer.warn(f"could not look for a racing change of {plan.region.name}'s records "
                          f"after the push: {exc.message}")
        return
    race_loser(plan.region.name, mine, moving, ctx.request.acks)


def moving_changes(ctx: Context, *, exclude: set[int], warn: bool = False) -> list[OpenChange]:
    """Return the open changes (anyone's, not `exclude`) whose diff changes NAME's records.

    Each change's zone file is read at its current revision and at that revision's parent
    (Gerrit's REST API), and the records' lines compared by content.
    """
    gerrit, review = ctx.gerrit, ctx.checkout.review
    path, wanted = ctx.plan.name.zone_file, records(ctx)  # the name's own (a service's)
    project = review.project_name
    from failover.promote.chain import numbers

    exclude = exclude | numbers(ctx)  # the TTL chain's own changes change the records' TTL
    now = time.time()
    found: list[OpenChange] = []
    for change in gerrit.open_changes_touching(path, project, review.branch):
        if change.number in exclude:
            continue
        revision = change.current_revision or gerrit.get_change(project,
                                                                 change.number).current_revision
        if revision is None:
            continue
        parent = gerrit.commit_parent(project, revision)
        before, after = (_text(gerrit.file_content(project, r, path)) for r in (parent, revision))
        if not moves_records(before, after, wanted, path):
            if warn:  # another name's change: no lock, but it may conflict (issue 20)
                ctx.observer.warn(
                    f"another open change touches {path}: {change.url} ({change.subject}); "
                    "it may move the same record or conflict with this failover: look at "
                    "it in Gerrit")
        else:
            created = from_gerrit_time(change.created)
            found.append(OpenChange(number=change.number, url=change.url,
                                    owner=change.owner_name or change.owner or "",
                                    subject=change.subject, change_id=change.change_id,
                                    age=now - created.timestamp() if created else 0.0))
    return found


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def last_flip(ctx: Context) -> Flip | None:
    """Return the last change of NAME's records at the remote tip within `[safety]
    flap_window` (the history parser), None without one or when the window is 0.

    Only the window's commits are read: a record last changed years ago would otherwise
    stream the zone file's whole history (tens of seconds for templates/wmnet on a busy
    host) for a gate that lets anything older than the window pass.
    """
    from failover.repo.history import read_history

    cfg, checkout = ctx.cfg, ctx.checkout
    window = cfg.safety.flap_window
    if window <= 0:
        return None
    path = ctx.plan.name.zone_file
    entries = read_history(checkout.path, checkout.remote_ref, path, records(ctx),
                           zone=path.rsplit("/", 1)[-1].rstrip("."), limit=1,
                           timeout=GIT_TIMEOUT, since=time.time() - window, keep=moved_targets)
    if not entries:
        return None
    e = entries[0]
    return Flip(sha=e.sha, author=e.author, email=e.author_email, subject=e.subject,
                age=time.time() - e.committed.timestamp())


def moved_targets(entry: HistoryEntry) -> bool:
    """Whether a commit moved a record (its targets changed), not only its TTL or spacing:
    a TTL chain's lowering, or a TTL restored, is no flip."""
    return any(set(c.before) != set(c.after) for c in entry.changes)


def operator(ctx: Context) -> Sequence[str]:
    """Return the operator's git name and e-mail in the checkout (their own flips pass): the
    identity the promote's commit is written with (`failover.repo.commit.identity`)."""
    from failover.repo.commit import configured_identity

    return [f.strip() for f in configured_identity(ctx.checkout) if f.strip()]
