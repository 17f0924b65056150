"""The push for review (`git push -o topic=.. -o r=.. -o t=..` to `refs/for/<branch>`), reading
Gerrit's answer (the change, or the rejection and what to do), and the record of the last push."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from failover.errors import GitError
from failover.names import CHANGE_ID_RE
from failover.repo.checkout import GIT_TIMEOUT, Checkout, _last_line, git_repo, run_git
from failover.repo.review import GitReview
from failover.repo.worktree import Worktree

SUCCESS_RE = re.compile(r"^(?:remote:)?\s*(https?://\S+/\+/(\d+))(?:\s+(.*?))?\s*$")
"""A change line of Gerrit's SUCCESS block: URL, number, subject and markers."""


REJECTED_RE = re.compile(r"\[remote rejected\][^(]*\((.*)\)\s*$")
"""A rejected ref in git's push output, with Gerrit's reason."""


@dataclass(frozen=True)
class PushOutcome:
    """What git's push output says: the change (URL, number, new or not) or a rejection."""

    url: str | None = None
    number: int | None = None
    created: bool = False
    rejected: str | None = None


@dataclass(frozen=True)
class PushResult:
    """A change pushed for review: its URL and number, and whether it is a new change."""

    url: str
    number: int
    created: bool
    changes: tuple[PushOutcome, ...] = ()
    """Every change the push made or updated, in Gerrit's order (a relation chain: the
    oldest first); the first is `url`/`number`."""


class PushRejected(GitError):
    """Gerrit refused the push; `reason` is its words (exit 4)."""

    def __init__(self, message: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


def push_options(topic: str | None, reviewers: Iterable[str] = (),
                 hashtags: Iterable[str] = ()) -> list[str]:
    """Return the Gerrit push options of a push for review (the preview shows the same).

    Examples:
        >>> push_options("openstack-failover", ["alice"], ["failover"])
        ['topic=openstack-failover', 'r=alice', 't=failover']
    """
    return ([f"topic={topic}"] if topic else []) + [f"r={r}" for r in reviewers] \
        + [f"t={h}" for h in hashtags]


def push_for_review(worktree: Worktree, review: GitReview, *, topic: str | None = None,
                    reviewers: Iterable[str] = (), hashtags: Iterable[str] = (),
                    timeout: float = GIT_TIMEOUT, extra: Iterable[str] = (),
                    ref: str = "HEAD") -> PushResult:
    """Return the change made by pushing the worktree's HEAD (or `ref`) to
    `refs/for/<branch>`; `extra` push options follow (Gerrit's `wip`, `ready`).

    Raises:
        PushRejected: Gerrit refused it (reason, what to do; exit 4).
        GitError: the push failed otherwise, or Gerrit's answer names no change.
    """
    options = push_options(topic, reviewers, hashtags) + list(extra)
    args = ["push", *(f"--push-option={o}" for o in options), review.remote,
            f"{ref}:refs/for/{review.branch}"]
    code, output = run_git(args, worktree.path, timeout=timeout)
    lines = [ln.replace("\x1b[K", "") for ln in output.splitlines()]
    if code != 0 and not parse_push_output(lines).rejected:
        if code is not None and (hook := _refusing_pre_push_hook(worktree.path, lines)):
            path, said = hook
            raise GitError(f"push to {review.remote} refused by the pre-push hook {path}: "
                           f"{said or f'exit {code}'}",
                           hint="fix what the hook says (it is yours, not Gerrit's); nothing "
                                "was pushed and nothing was left behind")
        reason = _last_line(output) if code is not None else f"timed out after {timeout:g}s"
        raise GitError(f"push to {review.remote} failed: {reason or f'exit {code}'}",
                       hint="check the network and credentials; nothing was left behind")
    outcome = parse_push_output(lines)
    if outcome.rejected:
        raise rejection_error(outcome.rejected, review)
    if outcome.url is None or outcome.number is None:
        raise GitError("Gerrit accepted the push but named no change",
                       hint=f"look for topic {topic} in Gerrit" if topic else None)
    return PushResult(url=outcome.url, number=outcome.number, created=outcome.created,
                      changes=tuple(pushed_changes(lines)))


def _refusing_pre_push_hook(cwd: Path, lines: list[str]) -> tuple[str, str] | None:
    """Return (hook path, what it said) when the checkout's pre-push hook stopped the push.

    git runs the hook before it connects and, when the hook fails, prints the hook's own
    output then only `error: failed to push some refs`; nothing came from the remote.
    """
    if any(ln.startswith(("remote:", "To ")) for ln in lines) \
            or not any(ln.startswith("error: failed to push some refs") for ln in lines):
        return None
    try:
        found = subprocess.run(["git", "rev-parse", "--git-path", "hooks/pre-push"], cwd=cwd,
                               capture_output=True, text=True, timeout=30, check=True)
    except (subprocess.SubprocessError, OSError):
        return None
    hook = Path(found.stdout.strip())
    hook = hook if hook.is_absolute() else cwd / hook
    if not (hook.is_file() and os.access(hook, os.X_OK)):
        return None
    said = [ln.strip() for ln in lines
            if ln.strip() and not ln.startswith("error: failed to push some refs")]
    return str(hook), " / ".join(said)[-500:]


PUSHED_FILE = "failover-pushed.json"
"""In the checkout's git directory: the last change a run pushed (Change-Id, subject, URL)."""


def record_pushed(checkout: Checkout, *, change_id: str, subject: str, url: str) -> None:
    """Remember the change just pushed, so a re-run finds it by its Change-Id.

    Kept in the checkout's own git directory (shared by every user and worktree of it), as
    the change belongs to the repository, not to one user's state.
    """
    path = Path(git_repo(checkout.path).common_dir) / PUSHED_FILE
    data = {"change_id": change_id, "subject": subject, "url": url,
            "project": checkout.review.project_name, "branch": checkout.review.branch}
    tmp = path.with_name(f"{PUSHED_FILE}.{os.getpid()}.tmp")
    with suppress(OSError):
        tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def last_pushed(checkout: Checkout, subject: str) -> dict[str, str] | None:
    """Return the change an earlier run pushed with this subject to this branch, or None."""
    path = Path(git_repo(checkout.path).common_dir) / PUSHED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:10000])
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("subject") != subject \
            or data.get("project") != checkout.review.project_name \
            or data.get("branch") != checkout.review.branch \
            or not CHANGE_ID_RE.fullmatch(str(data.get("change_id", ""))):
        return None
    return {k: str(v) for k, v in data.items()}


def parse_push_output(lines: Iterable[str]) -> PushOutcome:
    """Return the change (URL, number, [NEW]) or the rejection reason in git push output."""
    for line in lines:
        line = line.rstrip()
        if m := REJECTED_RE.search(line):
            return PushOutcome(rejected=m.group(1))
        if m := SUCCESS_RE.match(line):
            rest = m.group(3) or ""
            return PushOutcome(url=m.group(1), number=int(m.group(2)),
                               created=rest.endswith("[NEW]"))
    return PushOutcome()


def pushed_changes(lines: Iterable[str]) -> list[PushOutcome]:
    """Return every change line of Gerrit's SUCCESS block (a chain: one per commit, in order).

    Examples:
        >>> [c.number for c in pushed_changes(["remote:   https://g/c/p/+/7 a [NEW]",
        ...                                    "remote:   https://g/c/p/+/8 b [NEW]"])]
        [7, 8]
    """
    return [PushOutcome(url=m.group(1), number=int(m.group(2)),
                        created=(m.group(3) or "").endswith("[NEW]"))
            for line in lines if (m := SUCCESS_RE.match(line.rstrip()))]


def rejection_error(reason: str, review: GitReview) -> PushRejected:
    """Return the error for Gerrit's rejection `reason`, saying what to do about it."""
    branch = review.branch
    known = [
        ("missing Change-Id", "the commit has no Change-Id footer Gerrit accepts",
         "this is a bug in failover (it writes one); report it with the message"),
        ("multiple Change-Id", "the commit message has more than one Change-Id line",
         "check commit-msg hooks and commit templates that add Change-Id lines"),
        ("invalid Change-Id", "the commit's Change-Id line is malformed",
         "this is a bug in failover; report it with the message"),
        ("no new changes", "Gerrit already has this exact commit",
         "the change was pushed before: find it by topic in Gerrit and follow it"),
        (f"branch {branch} not found", f"branch {branch} does not exist in Gerrit",
         "check defaultbranch in .gitreview"),
        ("prohibited by Gerrit", "Gerrit does not let you push for review here",
         f"check your account's permissions on {review.project_name}"),
        ("closed", "the change with this Change-Id is already merged or abandoned",
         "restore it in Gerrit, or run again to push a new change"),
    ]
    for key, what, hint in known:
        if key in reason:
            return PushRejected(f"Gerrit rejected the push: {what} ({reason})", reason,
                                hint=hint)
    return PushRejected(f"Gerrit rejected the push: {reason}", reason,
                        hint="read the reason; nothing was left behind locally")
