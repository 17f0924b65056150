"""One failover model: a NAME is a set of records moving between candidates.

A `FailoverName` has records (each: its zone file, owner FQDN, type, and what it says for each
candidate) and candidates (each with a health check of any kind, `failover.health`). Every
`[regions.*]`, `[services.*]` and `[groups.*]` is read into it by `name_of`, from the config's
own `Region` and `Service`:

- a region: one record (its API name), the controllers as candidates, each with a `haproxy`
  health over the region's services; the `[dns]` zone file, topic and `[sal]` project;
- a service: its records, every one to the candidate's target; a group: several records,
  each to the side's own; their own zone file, topic and SAL project when given.

status, health, check, verify and promote read a name through this one model; only the
renderings of a region keep its own documents (its HAProxy services), as the contract is.

Examples:
    >>> name = name_of(cfg, "eqiad1")                                   # doctest: +SKIP
    >>> [r.fqdn for r in name.records], name.candidate_names
    (['openstack.eqiad1.wikimediacloud.org'], ('cloudcontrol1005', 'cloudcontrol1006'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from failover.config import Candidate, Config, Controller, Health, Region, Service
from failover.names import normalize_target

Kind = Literal["region", "service", "group"]
"""What a name was configured as: the renderings differ by kind, the paths do not."""


class Pointing(Protocol):
    """A DNS name that points at one of several candidates: what `failover.dnscheck` asks
    and judges (a `Record`; a config `Region` is one too)."""

    @property
    def name(self) -> str:
        """The failover name (messages say `... is no controller of NAME`)."""
        ...

    @property
    def fqdn(self) -> str:
        """The owner name asked of the nameservers."""
        ...

    @property
    def controllers(self) -> tuple[Controller, ...]:
        """What the record says for each candidate (its name and target)."""
        ...

    @property
    def controller_names(self) -> tuple[str, ...]:
        """The candidates' names in config order."""
        ...

    def controller_for_target(self, target: str) -> Controller | None:
        """Return the candidate whose target is `target`, or None."""
        ...

    def __hash__(self) -> int:
        """Hashable: the judgement caches its lookups per record."""
        ...


@dataclass(frozen=True)
class Record:
    """One record of a name: where it lives, its owner, and its target per candidate."""

    name: str
    """The failover name the record belongs to."""
    fqdn: str
    """The owner, lower-case, without the trailing dot."""
    zone_file: str
    """The zone template holding it, in the operations/dns checkout."""
    controllers: tuple[Controller, ...]
    """Per candidate, what the record should say when that candidate is the primary."""
    set_type: str | None = None
    """SRV, A or AAAA when each target is a set of members (`failover.zone.setspec`);
    None: one target per candidate."""

    @property
    def record_type(self) -> str:
        """Return the record's type: the set's, else the one the candidates' targets make
        (CNAME, A or AAAA, the first's)."""
        if self.set_type is not None:
            return self.set_type
        return self.controllers[0].record_type if self.controllers else "CNAME"

    @property
    def controller_names(self) -> tuple[str, ...]:
        """Return the candidates' names in config order."""
        return tuple(c.name for c in self.controllers)

    def controller(self, name: str) -> Controller:
        """Return what the record says for candidate `name` (a KeyError if it is none)."""
        return next(c for c in self.controllers if c.name == name)

    def controller_for_target(self, target: str) -> Controller | None:
        """Return the candidate whose target for this record is `target` (compared absolutely;
        a set as a set: `failover.zone.setspec.matches_set`)."""
        if self.set_type is not None:
            from failover.zone.setspec import matches_set

            return next((c for c in self.controllers if matches_set(target, c.target)), None)
        want = normalize_target(target)
        return next((c for c in self.controllers if normalize_target(c.target) == want), None)

    def target(self, candidate: str) -> str:
        """Return the record's target when `candidate` is the primary."""
        return self.controller(candidate).target


@dataclass(frozen=True)
class FailoverName:
    """A name the tool moves: its records, its candidates and its own settings."""

    name: str
    kind: Kind
    records: tuple[Record, ...]
    candidates: tuple[Candidate, ...]
    zone_file: str
    """The zone template its records live in."""
    topic: str
    """The Gerrit topic its changes are pushed with and found by."""
    sal_project: str
    """The Cloud VPS project its SAL lines name first ("" for none)."""
    region: Region | None = None
    """The config's region this name was read from (None: a service or group)."""
    service: Service | None = None
    """The config's service or group this name was read from (None: a region)."""

    @property
    def candidate_names(self) -> tuple[str, ...]:
        """Return the candidates' names in config order."""
        return tuple(c.name for c in self.candidates)

    def candidate(self, name: str) -> Candidate:
        """Return the candidate called `name`, or raise UsageError naming the choices (in the
        words of its kind: a region's controller, a service's candidate, a group's side)."""
        if self.region is not None:
            self.region.controller(name)
        elif self.service is not None:
            self.service.candidate(name)
        return next(c for c in self.candidates if c.name == name)

    def candidate_for(self, record: Record, target: str) -> Candidate | None:
        """Return the candidate whose target for `record` is `target`, or None."""
        found = record.controller_for_target(target)
        return None if found is None else next(c for c in self.candidates
                                               if c.name == found.name)

    def deploy_argv(self, cfg: Config) -> tuple[str, ...]:
        """Return the deploy command for this name: `{zone_file}` filled in with its own."""
        from failover.config.model import DEPLOY_PLACEHOLDER

        return tuple(a.replace(DEPLOY_PLACEHOLDER, self.zone_file) for a in cfg.dns.deploy)

    def record(self, fqdn: str) -> Record:
        """Return the record whose owner is `fqdn`."""
        return next(r for r in self.records if r.fqdn == fqdn)


def name_of(cfg: Config, name: str) -> FailoverName:
    """Return the region, service or group called `name` as a FailoverName.

    Raises:
        UsageError: no region, service or group is called `name` (naming every one there is).
    """
    svc = cfg.service(name)
    return of_service(cfg, svc) if svc is not None else of_region(cfg, cfg.region(name))


def every_name(cfg: Config) -> list[FailoverName]:
    """Return every name of the config: the regions, then the services and groups."""
    return [*(of_region(cfg, r) for r in cfg.regions.values()),
            *(of_service(cfg, s) for s in cfg.services.values())]


def of_region(cfg: Config, region: Region) -> FailoverName:
    """Return a region as a name: one record, the controllers as candidates with a `haproxy`
    health over the region's services, the `[dns]` and `[sal]` settings."""
    record = Record(region.name, region.fqdn, cfg.dns.zone_file, region.controllers)
    candidates = tuple(
        Candidate(c.name, {region.fqdn: c.target},
                  Health("haproxy", stats=c.stats, services=region.services,
                         ca_bundle=c.ca_bundle, timeout=cfg.haproxy.timeout))
        for c in region.controllers)
    return FailoverName(region.name, "region", (record,), candidates, cfg.dns.zone_file,
                        cfg.dns.topic, cfg.sal.project if cfg.sal else "", region=region)


def of_service(cfg: Config, svc: Service) -> FailoverName:
    """Return a service or group as a name: its records, its candidates, its own settings
    (zone file, topic, SAL project), the `[dns]` zone file when it names none."""
    zone_file = svc.zone_file or cfg.dns.zone_file
    records = tuple(
        Record(svc.name, fqdn, zone_file, tuple(
            Controller(name=c.name, target=c.targets[fqdn], stats=c.health.stats or "")
            for c in svc.candidates), svc.record_type)
        for fqdn in svc.records)
    return FailoverName(svc.name, "group" if svc.group else "service", records, svc.candidates,
                        zone_file, svc.push_topic, svc.sal_project, service=svc)

