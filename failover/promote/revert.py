"""A failback written as Gerrit's Revert button writes it.

When the promote puts the record(s) back exactly where the last merged change of them came
from, and nothing else changed in those lines since, its commit is that change's revert:
subject `Revert "<subject of the change undone>"`, body `This reverts commit <sha>.`, then
the reason and the footers (what the `Revert` button of Gerrit makes, and how a quarter of
the failovers of operations/dns were undone by hand).

The lines of a record are every line, live or commented, of its owner and type: one CNAME
line, the lines of an SRV or round-robin A/AAAA set, a live line and its commented standby
(`failover.zone.sets.find_sets`). A change qualifies when it is the last commit at the remote
tip that changed a line of the records (found by content, `failover.repo.history`: a commit
that only adds or removes lines elsewhere moves them without changing them), it is a failover
of this name (`is_failover`; a pool's: the depool it undoes), it has one parent, it changed
only the zone file and in it only those lines, and the records' lines at the tip are, in
order and byte for byte, the lines it wrote. The revert is then the tip with that change's
hunks inverted (`invert`): the lines it replaced put back byte for byte, in their place, every
other line as the tip has it. It is written only when it puts the records where the promote
is asked (the lines the promote's own edit would write, in any order; a pool: the same
members), else the promote writes its own edit and message.

Examples:
    >>> revert_subject("wikimedia.org: fail over irc to irc1002")
    'Revert "wikimedia.org: fail over irc to irc1002"'
    >>> is_failover("Failover irc.wikimedia.org to irc2003", region="irc", short="irc")
    True
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import git

    from failover.model import FailoverName
    from failover.promote.context import Context

HISTORY_TIMEOUT = 30.0
"""Seconds the history of the records (and the change's diff) may take to read."""

Key = tuple[str, str]
"""A record's lines: its owner (`irc.wikimedia.org`) and type (`CNAME`, `SRV`, ...)."""
Lines = dict[Key, list[tuple[int, str]]]
"""Per record, its lines (live and commented) in file order: 1-based number and text."""
Hunk = tuple[int, int, int, int]
"""A change's hunk as 0-based half-open ranges: old lines [i1, i2) became new [j1, j2)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reverted:
    """The merged change a failback reverts, and the zone file its revert writes."""

    sha: str
    subject: str
    base: str | None = field(default=None, repr=False, compare=False)
    """The zone file at the remote tip the revert was found at."""
    text: str | None = field(default=None, repr=False, compare=False)
    """The zone file the revert writes: `base` with the change's lines put back."""


def revert_subject(subject: str) -> str:
    """Return Gerrit's subject of the revert of a change titled `subject`."""
    return f'Revert "{subject}"'


def revert_body(sha: str, rest: str) -> str:
    """Return Gerrit's revert body: `This reverts commit <sha>.`, then `rest` (the reason)."""
    return f"This reverts commit {sha}." + (f"\n\n{rest}" if rest else "")


def is_failover(subject: str, *, region: str, short: str) -> bool:
    """Return True when `subject` is a failover's of this name: the tool's own subjects (any
    shape), a hand-written `... fail over/failover/switchover ...` naming it, or a revert of
    one of these."""
    from failover.promote.message import subject_target

    while subject.startswith('Revert "') and subject.endswith('"'):
        subject = subject[len('Revert "'):-1]
    if subject_target(subject, region=region, short=short) is not None:
        return True
    named = any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", subject, re.IGNORECASE)
                for n in {region, short})
    return named and re.search(r"(?i)\b(?:fail ?over|switch ?over)", subject) is not None


# -- the records' lines -------------------------------------------------------------------------

def record_keys(name: FailoverName, text: str) -> list[Key]:
    """Return the owner and type of each of the name's records (a single record's type as
    the template writes it at `text`).

    Raises:
        ZoneError: a single record that is not one line of the template.
    """
    from failover.zone import find_record

    return [(r.fqdn, r.set_type or find_record(text, r.fqdn, path=name.zone_file).rtype)
            for r in name.records]


def set_lines(text: str, keys: Sequence[Key], path: str) -> Lines | None:
    """Return each record's lines in `text` (live and commented, in file order), None when
    one of them has no live line."""
    from failover.zone import zone_name
    from failover.zone.scan import ZoneError, absolute_name
    from failover.zone.sets import find_sets

    out: Lines = {}
    for rtype in dict.fromkeys(t for _, t in keys):
        names = [n for n, t in keys if t == rtype]
        try:
            found = find_sets(text, names, rtype, path=path, zone=zone_name(path))
        except ZoneError:
            return None
        for name in names:
            rs = found[absolute_name(name, ".", ".")]
            if not rs.live:
                return None
            out[(name, rtype)] = sorted((ln.line, ln.text) for ln in [*rs.live, *rs.commented])
    return out


def _texts(lines: Lines) -> dict[Key, list[str]]:
    return {k: [t for _, t in v] for k, v in lines.items()}


def same_lines(a: str, b: str, keys: Sequence[Key], path: str) -> bool:
    """Return True when the records' lines in `a` and `b` are the same lines, byte for byte,
    in any order."""
    la, lb = set_lines(a, keys, path), set_lines(b, keys, path)
    return la is not None and lb is not None and \
        {k: sorted(v) for k, v in _texts(la).items()} == \
        {k: sorted(v) for k, v in _texts(lb).items()}


# -- the revert --------------------------------------------------------------------------------

def invert(tip: str, parent: str, hunks: Sequence[Hunk], moved: dict[int, int]) -> str | None:
    """Return `tip` with the change's `hunks` (its parent's text: `parent`) inverted, None
    when one cannot be placed.

    `moved` maps each line of the records in the change's text to the same line at the tip
    (1-based numbers). A hunk's new lines must be records' lines lying together at the tip
    (they are replaced by the parent's lines); a hunk that only removed lines is put back
    after (or before) the records' line it was next to.
    """
    lines, old = tip.split("\n"), parent.split("\n")
    spans: list[tuple[int, int, list[str]]] = []
    for i1, i2, j1, j2 in hunks:
        if j2 > j1:
            at = [moved.get(j, 0) for j in range(j1 + 1, j2 + 1)]  # 0: not a record's line
            if 0 in at or at != list(range(at[0], at[0] + len(at))):
                return None
            start, end = at[0] - 1, at[-1]
        elif j1 in moved:
            start = end = moved[j1]
        elif j1 + 1 in moved:
            start = end = moved[j1 + 1] - 1
        else:
            return None
        spans.append((start, end, old[i1:i2]))
    spans.sort(key=lambda s: (s[0], s[1]))
    out: list[str] = []
    pos = 0
    for start, end, put in spans:
        if start < pos:
            return None  # two hunks on the same lines: not what one change writes
        out += [*lines[pos:start], *put]
        pos = end
    return "\n".join([*out, *lines[pos:]])


def _others(text: str, lines: Lines) -> list[str]:
    """Return the lines of `text` that are not the records' (what a revert must keep)."""
    mine = {n for v in lines.values() for n, _ in v}
    return [ln for i, ln in enumerate(text.split("\n"), 1) if i not in mine]


def find_reverted(git_dir: Path, tip: str, path: str, keys: Sequence[Key], *,
                  wanted: Callable[[str], bool], accept: Callable[[str], bool],
                  text: str | None = None) -> Reverted | None:
    """Return the change the promote reverts at `tip` (see the module), or None.

    `keys`: the records; `wanted`: whether a subject is one this promote may revert (a
    failover of the name, a depool of the member); `accept`: whether the zone file the
    revert would write puts the records where the promote is asked; `text`: the file at
    `tip` when the caller has read it already (not read again). Errors reading the
    history mean "no revert": the promote then writes its own message.
    """
    import git

    from failover.errors import GitError
    from failover.repo.checkout import git_repo
    from failover.repo.history import read_history

    try:
        repo = git_repo(git_dir)
        base = text if text is not None else _blob(repo, tip, path)
        now = set_lines(base, keys, path)
        if now is None:
            return None
        last = read_history(git_dir, tip, path, [k for k, _ in keys], limit=1,
                            timeout=HISTORY_TIMEOUT, zone=path.rsplit("/", 1)[-1].rstrip("."))
        if not last or not wanted(last[0].subject):
            return None
        sha = last[0].sha
        parents = repo.git.rev_list("--parents", "-n", "1", sha).split()[1:]
        if len(parents) != 1:
            return None  # a merge (or the first commit): not what Gerrit's button reverts
        hunks = _hunks(repo, parents[0], sha, path)
        mine_text, before_text = _blob(repo, sha, path), _blob(repo, parents[0], path)
        mine, before = set_lines(mine_text, keys, path), set_lines(before_text, keys, path)
        if hunks is None or mine is None or before is None or _texts(mine) != _texts(now):
            return None  # other files changed, or the records came or went, or changed since
        if not _only_these(hunks, mine, before):
            return None
        moved = {m: n for k in keys for (m, _), (n, _) in zip(mine[k], now[k], strict=True)}
        text = invert(base, before_text, hunks, moved)
        after = set_lines(text, keys, path) if text is not None else None
        if text is None or after is None or _texts(after) != _texts(before) or \
                _others(text, after) != _others(base, now) or not accept(text):
            return None
        return Reverted(sha, last[0].subject, base, text)
    except (git.GitError, GitError, ValueError, KeyError, OSError) as exc:
        log.info("no revert looked up: %s", exc)
    return None


def _only_these(hunks: Sequence[Hunk], mine: Lines, before: Lines) -> bool:
    """Return True when every line the hunks remove or add is one of the records'."""
    new = {n for v in mine.values() for n, _ in v}
    old = {n for v in before.values() for n, _ in v}
    return all(set(range(i1 + 1, i2 + 1)) <= old and set(range(j1 + 1, j2 + 1)) <= new
               for i1, i2, j1, j2 in hunks)


def _blob(repo: git.Repo, rev: str, path: str) -> str:
    """Return the file at `rev` (one `git cat-file`, bytes kept as surrogate escapes)."""
    data = repo.git.cat_file("blob", f"{rev}:{path}", stdout_as_string=False,
                             strip_newline_in_stdout=False,
                             kill_after_timeout=HISTORY_TIMEOUT)
    return bytes(data).decode("utf-8", "surrogateescape")


def _hunks(repo: git.Repo, parent: str, sha: str, path: str) -> list[Hunk] | None:
    """Return the hunks `sha` made to `path` (git's own diff), None when it changed any
    other file."""
    out = repo.git.diff("-U0", "--no-renames", "--no-color", "--no-ext-diff", "--no-textconv",
                        "--text", "--src-prefix=a/", "--dst-prefix=b/", parent, sha,
                        kill_after_timeout=HISTORY_TIMEOUT)
    from failover.repo.history import HUNK_RE

    hunks: list[Hunk] = []
    for line in out.split("\n"):
        if line.startswith("diff --git ") and line != f"diff --git a/{path} b/{path}":
            return None
        m = HUNK_RE.match(line)
        if m is not None:
            a, b = int(m.group(1)), int(m.group(2) or 1)
            c, d = int(m.group(3)), int(m.group(4) or 1)
            i1, j1 = (a - 1 if b else a), (c - 1 if d else c)
            hunks.append((i1, i1 + b, j1, j1 + d))
    return hunks


# -- the promote's ----------------------------------------------------------------------------

def look_up(ctx: Context, text: str) -> Reverted | None:
    """Return the change this promote reverts, from the zone `text` at the remote tip."""
    from failover.promote import records
    from failover.zone import ZoneError

    plan = ctx.plan
    path = plan.name.zone_file
    try:
        new_text = records.target_edit(ctx, text).new_text
        keys = record_keys(plan.name, text)
    except ZoneError:
        return None  # the prepare step says what is wrong with the zone
    checkout = ctx.checkout
    return find_reverted(
        checkout.path, checkout.remote_ref, path, keys,
        wanted=lambda s: is_failover(s, region=plan.region.name, short=ctx.short()),
        accept=lambda t: same_lines(t, new_text, keys, path), text=text)
