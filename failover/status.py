"""The `failover status` core: where each region's name points, per the nameservers and the zone.

`read_status` asks the nameservers, reads the zone as Gerrit has it (or the remote-tracking
branch, saying how old it is), and reads every controller's HAProxy, all at the same time, and
returns one RegionStatus per region. Rendering is `failover.render.status`'s job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from failover.config import Config, Region
from failover.dnscheck import DnsReport, check_region
from failover.errors import FailoverError
from failover.haproxy import (
    RegionHealth,
    read_region_health,
)


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
class RegionStatus:
    """One region as `failover status` shows it: the DNS answers, the zone file, the health."""

    region: Region
    health: RegionHealth
    dns: DnsReport | None
    dns_error: str | None
    zone: ZoneStatus

    @property
    def primary(self) -> str | None:
        """Return the controller every nameserver points at, or None if they do not agree."""
        return self.dns.controller if self.dns is not None and self.dns.agree else None


def zone_status(cfg: Config, region: Region) -> ZoneStatus:
    """Return what the zone template says about the region's name, and where it was read.

    Read as Gerrit has it now (REST: the branch's revision, then the file at it) when the
    [gerrit] url is the Gerrit of the checkout's `.gitreview`; else (or when Gerrit cannot be
    read) at the remote-tracking branch as last fetched, with its age; else from the working
    tree. Nothing is fetched and the checkout is not changed.
    """
    from failover.zone import ZoneError, current_target, read_zone

    if not cfg.dns.checkout.is_dir():
        return ZoneStatus(error="checkout not found")
    text, where = _zone_at_gerrit(cfg)
    if text is None:
        text, where = _zone_at_remote(cfg)
    source, revision, age = where
    try:
        if text is None:
            text, source = read_zone(cfg.dns.zone_path), "working tree"
        target = current_target(text, region.fqdn, path=cfg.dns.zone_file)
    except ZoneError as exc:
        return ZoneStatus(error=exc.message, source=source, revision=revision, age_seconds=age)
    found = region.controller_for_target(target)
    return ZoneStatus(target=target, controller=found.name if found else None, source=source,
                      revision=revision, age_seconds=age)


_Where = tuple[str | None, str | None, float | None]
"""Where a zone text was read: (source, revision, age in seconds)."""


def _zone_at_gerrit(cfg: Config) -> tuple[str | None, _Where]:
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
        data = client.file_content(review.project_name, revision, cfg.dns.zone_file)
    except FailoverError as exc:
        logging.getLogger(__name__).info("zone not read from Gerrit: %s", exc.message)
        return None, (None, None, None)
    return data.decode("utf-8", errors="replace"), (f"Gerrit {review.branch}", revision, None)


def _zone_at_remote(cfg: Config) -> tuple[str | None, _Where]:
    """Return the zone template on the remote-tracking branch, its name, commit and age."""
    import git

    from failover import repo

    try:
        checkout = repo.open_checkout(cfg.dns.checkout)
        text = repo.read_remote_file(checkout, cfg.dns.zone_file)
        revision = str(git.Repo(checkout.path).commit(checkout.remote_ref).hexsha)
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

    try:
        repo = git.Repo(path)
        entries = git.RefLog.from_file(git.RefLog.path(git.Reference(repo, ref)))
        if entries:
            return max(0.0, time.time() - entries[-1].time[0])
        return max(0.0, time.time() - (Path(repo.common_dir) / ref).stat().st_mtime)
    except (OSError, ValueError, git.GitError):
        return None


def _dns_or_error(cfg: Config, region: Region) -> tuple[DnsReport | None, str | None]:
    try:
        return check_region(cfg, region), None
    except FailoverError as exc:
        return None, exc.message


def read_status(cfg: Config, regions: Sequence[Region]) -> dict[str, RegionStatus]:
    """Return every region's status; health reads and DNS questions all run concurrently."""
    workers = 2 * len(regions) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status") as pool:
        healths = {r.name: pool.submit(read_region_health, cfg, r) for r in regions}
        answers = {r.name: pool.submit(_dns_or_error, cfg, r) for r in regions}
        zones = {r.name: zone_status(cfg, r) for r in regions}
        return {r.name: RegionStatus(r, healths[r.name].result(), *answers[r.name].result(),
                                     zones[r.name]) for r in regions}

