"""A failback written as Gerrit's Revert button writes it.

When the promote puts the record(s) back exactly where the last merged change of them came
from, and nothing else changed in those lines since, its commit is that change's revert:
subject `Revert "<subject of the change undone>"`, body `This reverts commit <sha>.`, then
the reason and the footers (what the `Revert` button of Gerrit makes, and how a quarter of
the failovers of operations/dns were undone by hand).

A change qualifies when it is the last commit at the remote tip that changed any line of the
record(s) (found by content: each record's line by owner, type and target wherever it is in
the file, so a commit that only adds or removes lines above it moves it without changing
it), it is a failover of this name (`is_failover`: the tool's subjects, a hand-written
failover or switchover naming it, or a revert of one), it has one parent, it changed only the
zone file and only those lines, and the lines the promote writes are, byte for byte, the lines
it replaced.

Examples:
    >>> revert_subject("wikimedia.org: fail over irc to irc1002")
    'Revert "wikimedia.org: fail over irc to irc1002"'
    >>> is_failover("Failover irc.wikimedia.org to irc2003", region="irc", short="irc")
    True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import git

    from failover.promote.context import Context

HISTORY_TIMEOUT = 30.0
"""Seconds the history of the records may take to read (`failover.repo.history`)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reverted:
    """The merged change a failback reverts."""

    sha: str
    subject: str


def revert_subject(subject: str) -> str:
    """Return Gerrit's subject of the revert of a change titled `subject`."""
    return f'Revert "{subject}"'


def revert_body(sha: str, rest: str) -> str:
    """Return Gerrit's revert body: `This reverts commit <sha>.`, then `rest` (the reason)."""
    return f"This reverts commit {sha}." + (f"\n\n{rest}" if rest else "")


def _lines(text: str, records: Sequence[str], path: str) -> dict[str, tuple[int, str]] | None:
    """Return each record's (line number, line text) in `text`, None when one is not there."""
    from failover.zone import ZoneError, find_record

    try:
        found = {r: find_record(text, r, path=path) for r in records}
    except ZoneError:
        return None
    return {r: (rec.line, rec.line_text) for r, rec in found.items()}


def is_failover(subject: str, *, region: str, short: str) -> bool:
    """Return True when `subject` is a failover's of this name: the tool's own subjects (any
    shape), a hand-written `... fail over/failover/switchover ...` naming it, or a revert of
    one of these."""
    import re

    from failover.promote.message import subject_target

    while subject.startswith('Revert "') and subject.endswith('"'):
        subject = subject[len('Revert "'):-1]
    if subject_target(subject, region=region, short=short) is not None:
        return True
    named = any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", subject, re.IGNORECASE)
                for n in {region, short})
    return named and re.search(r"(?i)\b(?:fail ?over|switch ?over)", subject) is not None


def find_reverted(git_dir: Path, tip: str, path: str, records: Sequence[str],
                  new_text: str, *, region: str, short: str) -> Reverted | None:
    """Return the change that writing `new_text` at `tip` reverts (see the module), or None.

    `new_text` is the zone file as the promote writes it; the change must be a failover of
    `region` (`short` as subjects name it, see `is_failover`). Errors reading the history
    mean "no revert": the promote then writes its own message.
    """
    import git

    from failover.errors import GitError
    from failover.repo.history import read_history

    try:
        repo = git.Repo(git_dir)
        head = repo.commit(tip)
        now = _lines(_blob(head, path), records, path)
        after = _lines(new_text, records, path)
        if now is None or after is None:
            return None
        # the last commit that changed a line of the records, from the one streamed
        # `git log -p` the history and the flap window read too (failover.repo.history)
        last = read_history(git_dir, tip, path, records, limit=1, timeout=HISTORY_TIMEOUT,
                            zone=path.rsplit("/", 1)[-1].rstrip("."))
        if not last:
            return None
        commit = repo.commit(last[0].sha)
        if len(commit.parents) != 1:
            return None  # a merge: not what Gerrit's button reverts
        parent = commit.parents[0]
        mine, before = _lines(_blob(commit, path), records, path), \
            _lines(_blob(parent, path), records, path)
        if mine is None or before is None or _texts(mine) != _texts(now):
            return None  # the records came or went there, or changed since
        if _texts(before) != _texts(after):
            return None  # not back to where that change came from
        if not _only_these_lines(commit, parent, path, mine, before) or \
                not is_failover(str(commit.summary), region=region, short=short):
            return None
        return Reverted(commit.hexsha, str(commit.summary))
    except (git.GitError, GitError, ValueError, KeyError, OSError) as exc:
        log.info("no revert looked up: %s", exc)
    return None


def _texts(lines: dict[str, tuple[int, str]]) -> dict[str, str]:
    return {r: text for r, (_, text) in lines.items()}


def _blob(commit: git.Commit, path: str) -> str:
    blob = commit.tree / path
    return bytes(blob.data_stream.read()).decode("utf-8", "surrogateescape")


def _only_these_lines(commit: git.Commit, parent: git.Commit, path: str,
                      mine: dict[str, tuple[int, str]],
                      before: dict[str, tuple[int, str]]) -> bool:
    """Return True when `commit` changed only `path`, and in it only the records' lines."""
    diffs = parent.diff(commit)
    if {d.a_path for d in diffs} != {path} or {d.b_path for d in diffs} != {path}:
        return False
    new, old = _blob(commit, path).splitlines(), _blob(parent, path).splitlines()
    if len(new) != len(old):
        return False
    changed = {i + 1 for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}
    return changed <= {n for n, _ in mine.values()} and \
        {n for n, _ in mine.values()} == {n for n, _ in before.values()}


def look_up(ctx: Context, text: str) -> Reverted | None:
    """Return the change this promote reverts, from the zone `text` at the remote tip."""
    from failover.promote import records
    from failover.zone import ZoneError

    plan = ctx.plan
    try:
        new_text = records.edit(ctx, text).new_text
    except ZoneError:
        return None  # the prepare step says what is wrong with the zone
    checkout = ctx.checkout
    return find_reverted(checkout.path, checkout.remote_ref, plan.name.zone_file,
                         [r.fqdn for r in plan.name.records],
                         new_text, region=plan.region.name, short=ctx.short())
