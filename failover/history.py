"""`failover history NAME`'s core: the changes of a name's records, from the repository.

Reads the zone file of the name (a region's `[dns] zone_file`, a service's own) in the
operator's checkout at the remote-tracking branch (nothing is fetched: what the last fetch
brought), through `failover.repo.history`, and names each target's candidate where the
config knows it.

Examples:
    >>> found = name_history(cfg, "eqiad1", limit=5)                      # doctest: +SKIP
    >>> found.entries[0].subject, found.moved(found.entries[0])
    ('wikimediacloud.org: fail over ...', ('cloudcontrol1003', 'cloudcontrol1004'))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from failover.config import Config
    from failover.repo.history import HistoryEntry

GIT_TIMEOUT = 60.0
"""Seconds the history read may take (the whole real history takes under one)."""


@dataclass(frozen=True)
class NameHistory:
    """The changes of a name's records, newest first, and where they were read."""

    name: str
    records: tuple[str, ...]
    zone_file: str
    ref: str
    tip: str
    entries: list[HistoryEntry]
    limit: int | None = None
    candidates: dict[str, str] = field(default_factory=dict)
    """Target (absolute, lower-case) -> the candidate (controller) it is."""

    def label(self, target: str) -> str:
        """Return a target as people say it: its candidate's name, else the target."""
        return self.candidates.get(target.lower().rstrip(".") + ".") or target.rstrip(".")

    def set_label(self, targets: tuple[str, ...]) -> list[str]:
        """Return [its candidate] when `targets` (several, or SRV members) are a candidate's
        whole set, else []."""
        from failover.zone.setspec import matches_set

        if len(targets) < 2 and not any(" " in t for t in targets):
            return []
        found = ", ".join(targets)
        return [c for spec, c in self.candidates.items() if matches_set(found, spec)][:1]

    def moved(self, entry: HistoryEntry) -> tuple[str, str]:
        """Return what the records pointed to before and after `entry`, as labels.

        One record of one type: its target; several: `TYPE target` each, `-` for none.
        """
        many = len({(c.record, c.rtype) for e in self.entries for c in e.changes}) > 1 or \
            len(entry.changes) > 1

        def say(targets: tuple[str, ...], rtype: str, record: str) -> str:
            words = self.set_label(targets) or [self.label(t) for t in targets]
            head = (f"{record} " if len(self.records) > 1 else "") + f"{rtype} "
            return (head if many else "") + (", ".join(words) or "-")

        before = "; ".join(say(c.before, c.rtype, c.record) for c in entry.changes)
        after = "; ".join(say(c.after, c.rtype, c.record) for c in entry.changes)
        return before, after

    def to_dict(self) -> dict[str, Any]:
        """Return the history as JSON-able data (`failover history --json`)."""
        return {
            "name": self.name, "records": list(self.records), "zone_file": self.zone_file,
            "ref": self.ref, "tip": self.tip, "limit": self.limit,
            "changes": [self._entry(e) for e in self.entries],
        }

    def _entry(self, e: HistoryEntry) -> dict[str, Any]:
        before, after = self.moved(e)
        return {
            "commit": e.sha, "subject": e.subject, "author": e.author,
            "author_email": e.author_email, "written": e.authored.isoformat(),
            "merged": e.committed.isoformat(), "committer": e.committer,
            "written_to_merged_seconds": e.written_to_merged, "bugs": list(e.bugs),
            "change_id": e.change_id, "by_failover": e.by_tool, "from": before, "to": after,
            "records": [{"record": c.record, "type": c.rtype, "from": list(c.before),
                         "to": list(c.after)} for c in e.changes],
        }


def name_history(cfg: Config, name: str, *, limit: int | None = None) -> NameHistory:
    """Return the changes of NAME's records at the checkout's remote-tracking branch.

    Raises:
        UsageError: unknown name, or the checkout is not one (exit 2).
        GitError: the remote-tracking branch is missing, or git failed (exit 4).
    """
    from failover.repo.history import read_history

    records, zone_file, candidates = _records(cfg, name)
    ref, tip = remote_tracking_ref(cfg.dns.checkout)
    # the zone is the file's name (failover.zone.zone_name), not imported before git starts
    entries = read_history(cfg.dns.checkout, tip, zone_file, records,
                           zone=zone_file.rsplit("/", 1)[-1].rstrip("."), limit=limit,
                           timeout=GIT_TIMEOUT)
    return NameHistory(name=name, records=records, zone_file=zone_file, ref=ref, tip=tip,
                       entries=entries, limit=limit, candidates=candidates)


def _records(cfg: Config, name: str) -> tuple[tuple[str, ...], str, dict[str, str]]:
    """Return NAME's records, its zone file, and {absolute target: candidate}."""
    from failover.names import normalize_target

    if (svc := cfg.service(name)) is not None:
        known = {normalize_target(t).lower(): c.name for c in svc.candidates
                 for t in c.targets.values()}
        return svc.records, svc.zone_file or cfg.dns.zone_file, known
    region = cfg.region(name)
    known = {normalize_target(c.target).lower(): c.name for c in region.controllers}
    return (region.fqdn,), cfg.dns.zone_file, known


def review_remote(checkout: os.PathLike[str]) -> tuple[str, str]:
    """Return the remote git-review pushes to and the review branch, from the checkout.

    The remote is `git config gitreview.remote`, else `.gitreview`'s, else an `origin` when
    there is no `gerrit` remote (a plain clone).

    Raises:
        UsageError: not a checkout with a `.gitreview` (exit 2).
    """
    from pathlib import Path

    from failover.errors import UsageError
    from failover.repo.checkout import run_git
    from failover.repo.review import DEFAULT_REMOTE, read_gitreview

    path = Path(checkout)
    if not (path / ".git").exists():
        raise UsageError(f"{path} is not a git checkout",
                         hint="clone operations/dns there, or fix [dns] checkout")
    review = read_gitreview(path)
    code, out = run_git(["config", "--get", "gitreview.remote"], path, timeout=10)
    if code == 0 and out.strip():
        return out.strip(), review.branch
    if review.remote == DEFAULT_REMOTE:
        code, out = run_git(["remote"], path, timeout=10)
        names = out.split() if code == 0 else []
        if DEFAULT_REMOTE not in names and "origin" in names:
            return "origin", review.branch
    return review.remote, review.branch


def remote_tracking_ref(checkout: os.PathLike[str]) -> tuple[str, str]:
    """Return the checkout's remote-tracking ref of the review branch, and its commit.

    Raises:
        UsageError: not a checkout with a `.gitreview` (exit 2).
        GitError: the branch was never fetched (exit 4).
    """
    from pathlib import Path

    from failover.errors import GitError
    from failover.repo.checkout import run_git

    path = Path(checkout)
    remote, branch = review_remote(path)
    ref = f"refs/remotes/{remote}/{branch}"
    code, out = run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], path,
                        timeout=10)
    if code == 0 and out.strip():
        return ref, out.strip().splitlines()[0]
    raise GitError(f"{path} has no remote-tracking branch {remote}/{branch}",
                   hint=f"fetch it first: git fetch {remote}")
