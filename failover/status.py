"""The `failover status` core: where each name's records point, per the nameservers and the zone.

One path for every name (`failover.model`): `read_status` asks the nameservers for every
record, reads each name's zone file once as Gerrit has it (or the remote-tracking branch,
saying how old it is), and reads every candidate's health (`read_name_health`), all at the
same time, and returns one NameStatus per name. Rendering is `failover.render.status`'s job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from failover.config import Candidate, Config
from failover.dnscheck import DnsReport, check_region
from failover.errors import FailoverError
from failover.health import HealthResult, read_all
from failover.model import FailoverName, Record

if TYPE_CHECKING:
    from failover.haproxy import RegionHealth


@dataclass(frozen=True)
class ZoneStatus:
    """What the zone template in the checkout says the name points to, or why it cannot say."""

    target: str | None = None
    controller: str | None = None
    error: str | None = None
    source: str | None = None
    """Where it was read: Gerrit's branch (`Gerrit master`, current), the remote-tracking
    branch as last fetched (e.g. origin/master, see `age_seconds`) or the working tree."""
    revision: str | None = None
    """The commit the zone was read at (None for the working tree)."""
    age_seconds: float | None = None
    """For the remote-tracking branch: seconds since it was last fetched (None: unknown)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: target, controller, error, source, revision, age_seconds."""
        return {"target": self.target, "controller": self.controller, "error": self.error,
                "source": self.source, "revision": self.revision,
                "age_seconds": None if self.age_seconds is None else round(self.age_seconds)}


@dataclass(frozen=True)
class RecordStatus:
    """One record of a name: what the nameservers and the zone say it points to."""

    record: Record
    dns: DnsReport | None
    dns_error: str | None
    zone: ZoneStatus

    @property
    def candidate(self) -> str | None:
        """Return the candidate every nameserver points this record at, or None."""
        return self.dns.controller if self.dns is not None and self.dns.agree else None

    def dns_dict(self) -> dict[str, Any]:
        """Return the `dns` part of the JSON form: controller, agree, servers, error."""
        dns: dict[str, Any] = {"controller": None, "agree": False, "servers": [],
                               "error": self.dns_error}
        if self.dns is not None:
            doc = self.dns.to_dict()
            dns.update(controller=doc["controller"], agree=doc["agree"], servers=doc["servers"])
        return dns


@dataclass(frozen=True)
class NameStatus:
    """A name as `failover status` shows it: every record's DNS and zone, the health."""

    name: FailoverName
    records: tuple[RecordStatus, ...]
    health: dict[str, HealthResult]
    """Every candidate's verdict, whatever its kind."""
    haproxy: RegionHealth | None = None
    """A region's HAProxy read, per service (its documents show it); None for the others."""

    @property
    def primary(self) -> str | None:
        """Return the candidate every record points at, or None (split or unknown)."""
        names = {r.candidate for r in self.records}
        return names.pop() if len(names) == 1 else None


def read_name_health(cfg: Config, name: FailoverName, only: str | None = None,
                     ) -> tuple[dict[str, HealthResult], RegionHealth | None]:
    """Return the candidates' health (only `only` when given), read at the same time, and
    a region's HAProxy read (what its health and status show per service).

    A region's controllers are read once, as one region (`read_region_health`: each
    controller's services judged against its peers); every other kind by its module.

    Raises:
        UsageError: `only` is no candidate of the name.
    """
    picked = [name.candidate(only)] if only is not None else list(name.candidates)
    if name.records and name.records[0].set_type is not None:  # every host of each set
        return _read_set_candidates(cfg, name, picked), None
    if name.region is None:
        return read_all(cfg, picked), None
    from failover.haproxy import read_region_health
    from failover.health.haproxy import as_result

    read = read_region_health(cfg, name.region, only=only)
    return {c.name: as_result(c.name, c.health.describe(), read.controllers[c.name])
            for c in picked if c.name in read.controllers}, read


def _read_set_candidates(cfg: Config, name: FailoverName, picked: Sequence[Candidate]
                         ) -> dict[str, HealthResult]:
    """Return each candidate's health as a set's: every target host of its records' sets."""
    with ThreadPoolExecutor(max_workers=max(1, len(picked))) as pool:
        return dict(zip((c.name for c in picked),
                        pool.map(lambda c: candidate_health(cfg, name, c), picked),
                        strict=True))


def candidate_health(cfg: Config, name: FailoverName, c: Candidate) -> HealthResult:
    """Return one candidate's health: by its kind, or, for a set's, every host of its sets."""
    if not name.records or name.records[0].set_type is None:
        from failover.health import read_health

        return read_health(cfg, c)
    from failover.health.sets import read_set_health
    from failover.zone.setspec import parse_set

    members = {m.key(): m for r in name.records for m in parse_set(r.target(c.name))}
    return read_set_health(cfg, c.name, c.health, list(members.values()))


def zone_statuses(cfg: Config, name: FailoverName) -> dict[str, ZoneStatus]:
    """Return what the zone template says about each of the name's records, and where it
    was read (its zone file read once).

    Read as Gerrit has it now (REST: the branch's revision, then the file at it) when the
    [gerrit] url is the Gerrit of the checkout's `.gitreview`; else (or when Gerrit cannot be
    read) at the remote-tracking branch as last fetched, with its age; else from the working
    tree. Nothing is fetched and the checkout is not changed.
    """
    from failover.promote.setedit import record_target
    from failover.zone import ZoneError, read_zone

    if not cfg.dns.checkout.is_dir():
        return {r.fqdn: ZoneStatus(error="checkout not found") for r in name.records}
    text, where = _zone_at_gerrit(cfg, name.zone_file)
    if text is None:
        text, where = _zone_at_remote(cfg, name.zone_file)
    source, revision, age = where
    try:
        if text is None:
            text, source = read_zone(cfg.dns.checkout / name.zone_file), "working tree"
    except ZoneError as exc:
        return {r.fqdn: ZoneStatus(error=exc.message) for r in name.records}
    out = {}
    for record in name.records:
        try:
            target = record_target(text, record, name.zone_file)
        except ZoneError as exc:
            out[record.fqdn] = ZoneStatus(error=exc.message, source=source, revision=revision,
                                          age_seconds=age)
            continue
        found = record.controller_for_target(target)
        out[record.fqdn] = ZoneStatus(target=target, controller=found.name if found else None,
                                      source=source, revision=revision, age_seconds=age)
    return out


_Where = tuple[str | None, str | None, float | None]
"""Where a zone text was read: (source, revision, age in seconds)."""


def _zone_at_gerrit(cfg: Config, zone_file: str) -> tuple[str | None, _Where]:
    """Return the zone template at Gerrit's branch tip, read over REST, or None.

    Only when [gerrit] url names the host `.gitreview` pushes to: status never asks a
    Gerrit other than the checkout's own.
    """
    from urllib.parse import urlsplit

    from failover import repo
    from failover.gerrit import GerritClient, credentials

    try:  # .gitreview alone names the Gerrit project: no GitPython when Gerrit answers
        review = repo.read_gitreview(cfg.dns.checkout)
        if (urlsplit(cfg.gerrit.url).hostname or "").lower() != review.host.lower():
            return None, (None, None, None)
        client = GerritClient(cfg.gerrit.url, auth=credentials(cfg.gerrit.url),
                              timeout=cfg.gerrit.timeout, ca_bundle=cfg.gerrit.ca_bundle,
                              retries=1)
        revision = client.branch_revision(review.project_name, review.branch)
        data = client.file_content(review.project_name, revision, zone_file)
    except FailoverError as exc:
        logging.getLogger(__name__).info("zone not read from Gerrit: %s", exc.message)
        return None, (None, None, None)
    return data.decode("utf-8", errors="replace"), (f"Gerrit {review.branch}", revision, None)


def _zone_at_remote(cfg: Config, zone_file: str) -> tuple[str | None, _Where]:
    """Return the zone template on the remote-tracking branch, its name, commit and age."""
    import git

    from failover import repo

    try:
        checkout = repo.open_checkout(cfg.dns.checkout)
        text = repo.read_remote_file(checkout, zone_file)
        revision = repo.ref_sha(checkout)  # from the ref's file: no git object reader
    except (FailoverError, ValueError, git.GitError):
        return None, (None, None, None)
    return text, (f"{checkout.review.remote}/{checkout.review.branch}", revision,
                  fetched_age(checkout.path, checkout.remote_ref))


def fetched_age(path: Path, ref: str) -> float | None:
    """Return seconds since `ref` was last updated, or None when git cannot tell.

    From the ref's reflog (a fetch writes one), else the loose ref file's time; a ref only in
    packed-refs (a fresh clone, after gc) has no time of its own: None, never a guess.
    """
    import git

    from failover.repo.checkout import git_repo

    try:
        repo = git_repo(path)
        entries = git.RefLog.from_file(git.RefLog.path(git.Reference(repo, ref)))
        if entries:
            return max(0.0, time.time() - entries[-1].time[0])
        return max(0.0, time.time() - (Path(repo.common_dir) / ref).stat().st_mtime)
    except (OSError, ValueError, git.GitError):
        return None


def _dns_or_error(cfg: Config, record: Record) -> tuple[DnsReport | None, str | None]:
    try:
        return check_region(cfg, record), None
    except FailoverError as exc:
        return None, exc.message


def read_status(cfg: Config, names: Sequence[FailoverName]) -> dict[str, NameStatus]:
    """Return every name's status; health reads and DNS questions all run concurrently."""
    workers = sum(1 + len(n.records) for n in names) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status") as pool:
        healths = {n.name: pool.submit(read_name_health, cfg, n) for n in names}
        answers = {(n.name, r.fqdn): pool.submit(_dns_or_error, cfg, r)
                   for n in names for r in n.records}
        zones = {n.name: zone_statuses(cfg, n) for n in names}
        out = {}
        for n in names:
            records = tuple(RecordStatus(r, *answers[n.name, r.fqdn].result(),
                                         zones[n.name][r.fqdn]) for r in n.records)
            out[n.name] = NameStatus(n, records, *healths[n.name].result())
        return out
