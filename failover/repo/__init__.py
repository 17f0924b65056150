"""The operations/dns checkout: fetch, build the change in a temporary worktree, push for review.

The package: review.py (.gitreview), checkout.py (open, fetch, read, run git), worktree.py,
commit.py (message, Change-Id, commit), push.py (push for review, Gerrit's answer).

The operator's own working tree, index, HEAD, branches, tags and stash are never touched: the
remote is fetched (only its remote-tracking ref moves), the change is built on the remote
branch's tip in a `git worktree add --detach` under a temp directory, committed there without
hooks, pushed to `refs/for/<branch>`, and the worktree is removed whatever happens.

Push options: topic, reviewers and hashtags go as `git push -o topic=.. -o r=.. -o t=..`
(Gerrit >= 2.14 reads them) rather than git-review's `%topic=..,r=..` suffix, so a value can
never break the ref name.

Examples:
    >>> checkout = open_checkout(Path("~/src/operations/dns").expanduser())  # doctest: +SKIP
    >>> fetch(checkout)
    >>> with change_worktree(checkout) as wt:
    ...     edit(wt.path / "templates/wikimediacloud.org")
    ...     commit = commit_change(wt, subject="wikimediacloud: fail over ...", body="Why.",
    ...                            bug="T12345")
    ...     result = push_for_review(wt, checkout.review, topic="openstack-failover")
    >>> result.url
    'https://gerrit.wikimedia.org/r/c/operations/dns/+/123456'
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from failover.lazy import resolve

if TYPE_CHECKING:
    from failover.names import BUG_RE
    from failover.repo.checkout import (
        Checkout,
        checkout_error,
        fetch,
        open_checkout,
        read_remote_file,
        ref_sha,
        run_git,
    )
    from failover.repo.commit import (
        CommitInfo,
        build_commit_message,
        check_command_line_text,
        commit_change,
        compute_change_id,
        subject_topic,
        wrap_body,
    )
    from failover.repo.push import (
        PushOutcome,
        PushRejected,
        PushResult,
        last_pushed,
        parse_push_output,
        push_for_review,
        push_options,
        record_pushed,
        rejection_error,
    )
    from failover.repo.review import GitReview, read_gitreview
    from failover.repo.worktree import (
        Worktree,
        change_worktree,
        remove_empty_temp_dirs,
        remove_stale_worktrees,
    )

_WHERE = {
    "BUG_RE": "names", "Checkout": "checkout", "checkout_error": "checkout", "fetch": "checkout",
    "open_checkout": "checkout", "read_remote_file": "checkout", "ref_sha": "checkout",
    "run_git": "checkout",
    "CommitInfo": "commit", "build_commit_message": "commit",
    "check_command_line_text": "commit", "commit_change": "commit",
    "compute_change_id": "commit", "subject_topic": "commit", "wrap_body": "commit",
    "PushOutcome": "push", "PushRejected": "push", "PushResult": "push",
    "last_pushed": "push", "parse_push_output": "push", "push_for_review": "push",
    "push_options": "push", "record_pushed": "push", "rejection_error": "push",
    "GitReview": "review", "read_gitreview": "review", "Worktree": "worktree",
    "change_worktree": "worktree", "remove_empty_temp_dirs": "worktree",
    "remove_stale_worktrees": "worktree",
}
"""Where each name of the package is defined. The modules are imported when a name is first
asked for, not when one module of the package is: `failover history` reads checkout, review
and history, without commit, push and worktree."""


def __getattr__(name: str) -> object:
    """Return the package's `name` (PEP 562), its modules imported at the first one asked."""
    return resolve(globals(), _WHERE, name, _modules)


def _modules() -> dict[str, ModuleType]:
    from failover import names
    from failover.repo import checkout, commit, push, review, worktree

    return {"names": names, "checkout": checkout, "commit": commit, "push": push,
            "review": review, "worktree": worktree}


__all__ = [
    "BUG_RE", "Checkout", "CommitInfo", "GitReview", "PushOutcome", "PushRejected",
    "PushResult", "Worktree", "build_commit_message", "change_worktree",
    "check_command_line_text", "checkout_error", "commit_change", "compute_change_id", "fetch",
    "last_pushed", "open_checkout", "parse_push_output", "push_for_review", "push_options",
    "read_gitreview", "read_remote_file", "record_pushed", "ref_sha", "rejection_error",
    "remove_empty_temp_dirs", "remove_stale_worktrees", "run_git", "subject_topic", "wrap_body",
]
