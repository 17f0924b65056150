"""The configuration as frozen dataclasses: no loading here (`failover.config.load`).

Examples:
    >>> cfg = load_config(Path("examples/sandbox.toml"))      # doctest: +SKIP
    >>> cfg.region("eqiad1").controller("cloudcontrol1004").target
    'cloudcontrol1004.wikimedia.org.'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from failover.config.keys import NOT_READ, only, per_variant, read_from, toml_keys
from failover.errors import UsageError
from failover.health import KINDS
from failover.names import normalize_target, record_type_for, validate_name

STATS_SCHEMES = ("http", "https", "unix", "ssh")
"""Schemes a controller's `stats` URL may use."""

DEFAULT_SERVICES = (
    "designate", "keystone_admin", "keystone_public", "glance_api", "cinder_api", "trove_api",
    "neutron", "nova_api", "placement_api", "nova_metadata", "mysql",
)
"""The HAProxy services of a region when the config lists none (eqiad1's, 2022-2023;
`mysql` is a `listen` proxy)."""


@dataclass(frozen=True)
class Controller:
    """One controller of a region: what the DNS record points to and where its stats are."""

    name: str = field(metadata=NOT_READ)
    target: str
    stats: str
    ca_bundle: str | None = None

    @property
    def record_type(self) -> str:
        """Return the record type that points at this controller: CNAME, A or AAAA."""
        return record_type_for(self.target)


@dataclass(frozen=True)
class Region:
    """A region: its API name, the HAProxy services to judge, and its controllers."""

    name: str = field(metadata=NOT_READ)
    fqdn: str
    services: tuple[str, ...]
    controllers: tuple[Controller, ...]

    @property
    def controller_names(self) -> tuple[str, ...]:
        """Return the controllers' names in config order."""
        return tuple(c.name for c in self.controllers)

    def controller(self, name: str) -> Controller:
        """Return the controller called `name`, or raise UsageError naming the choices."""
        for c in self.controllers:
            if c.name == name:
                return c
        validate_name(name, "controller")
        raise UsageError(
            f"unknown controller {name!r} for region {self.name!r}",
            hint=f"choose one of: {', '.join(self.controller_names)}",
        )

    def controller_for_target(self, target: str) -> Controller | None:
        """Return the controller whose record target is `target` (names compared absolutely)."""
        want = normalize_target(target)
        for c in self.controllers:
            if normalize_target(c.target) == want:
                return c
        return None


HEALTH_KINDS = tuple(KINDS)
"""How a candidate's health is read: every kind registered in `failover.health.KINDS`."""

AUDIT_KEYS = frozenset({"log"})
"""The keys of `[audit]` (read into `Config.audit_log`)."""


@dataclass(frozen=True)
class Health:
    """How one candidate's health is read: `kind` and the keys that kind uses."""

    kind: str = "none"
    host: str | None = field(default=None, metadata=only("tcp"))
    """tcp: the host to connect to."""
    port: int | None = field(default=None, metadata=only("tcp"))
    """tcp: the port."""
    url: str | None = field(default=None, metadata=only("http"))
    """http: the URL to GET (TLS always verified)."""
    status: int = field(default=200, metadata=only("http"))
    """http: the expected status."""
    contains: str | None = field(default=None, metadata=only("http"))
    """http: text the body must hold."""
    ca_bundle: str | None = field(default=None, metadata=only("http", "haproxy"))
    """http, haproxy: a CA bundle to trust."""
    argv: tuple[str, ...] = field(default=(), metadata=only("command"))
    """command: the argv (exit 0 is healthy)."""
    stats: str | None = field(default=None, metadata=only("haproxy"))
    """haproxy: the stats URL, as a controller's `stats`."""
    services: tuple[str, ...] = field(default=(), metadata=only("haproxy"))
    """haproxy: the HAProxy services to judge (none: every frontend/backend pair found)."""
    timeout: float = field(default=5.0, metadata=only("tcp", "http", "command"))

    def describe(self) -> str:
        """Return what is checked, in a few words (`tcp irc1001:6667`), credentials hidden.

        The one description every human-facing rendering shows (health, status, the promote
        preview, check): a password in a URL, also inside a command's argv, is `***`.
        """
        from failover.health import kind
        from failover.redact import redact_text

        return redact_text(kind(self.kind).describe(self))


@dataclass(frozen=True)
class Candidate:
    """Where a service (or a side of a group) can point: a target per record, and its health."""

    name: str = field(metadata=NOT_READ)
    targets: Mapping[str, str] = field(metadata=read_from("target"))
    """record FQDN -> target as the zone writes it as a FQDN (`irc1001.wikimedia.org.`)."""
    health: Health = Health()


@dataclass(frozen=True)
class Service:
    """A failover target beside the regions: `[services.NAME]` (one or more records, all
    to the candidate's target) or `[groups.NAME]` (several records, each to the side's own)."""

    name: str = field(metadata=NOT_READ)
    records: tuple[str, ...] = field(metadata=per_variant(
        services=("fqdn", "records"), groups=("members",)))
    """Record FQDNs, lower-case, without the trailing dot."""
    candidates: tuple[Candidate, ...] = field(metadata=per_variant(
        services=("candidates",), groups=("sides", "health")))
    zone_file: str | None = None
    """None: `[dns] zone_file`."""
    group: bool = field(default=False, metadata=NOT_READ)
    topic: str | None = None
    """The Gerrit topic of its changes; None: `<name>-failover` (`push_topic`)."""
    sal_project: str = ""
    """The Cloud VPS project its SAL lines name first; "": none (production's own SAL)."""
    switch_ttl: str | None = None
    """A promote lowers its records' TTL to this first, switches, then restores it (three
    changes, a relation chain), as `--switch-ttl`; None: one change."""
    record_type: str | None = field(default=None, metadata=read_from("type"))
    """`type = "SRV"` (or "A"/"AAAA"): each target is a set of members (`failover.zone.setspec`);
    None: one CNAME, A or AAAA target per record."""
    min_members: int | None = None
    """The fewest members `failover depool` may leave in a set (None: depool refused)."""
    standby: str | None = None
    """`"commented"`: the standby is a commented line beside the live one, swapped by a
    promote; `"none"`: the live line's target is edited, commented lines left as they are;
    None: a commented line naming the target is swapped live when the zone has one."""
    standby_follows: bool = False
    """With a commented standby: the commented line follows the other candidate (its target
    rewritten) when no commented line names the new target."""

    @property
    def push_topic(self) -> str:
        """Return the Gerrit topic its changes are pushed with and found by.

        `[dns] topic` is the regions' (`openstack-failover`, the name they move); a service
        or group without its own `topic` is named after what it moves the same way
        (`irc-failover`, `db-masters-failover`): its changes are found by that topic alone,
        never mixed with the regions' or another name's open changes.
        """
        return self.topic or f"{self.name}-failover"

    @property
    def candidate_names(self) -> tuple[str, ...]:
        """Return the candidates' (sides') names in config order."""
        return tuple(c.name for c in self.candidates)

    def candidate(self, name: str) -> Candidate:
        """Return the candidate called `name`, or raise UsageError naming the choices."""
        for c in self.candidates:
            if c.name == name:
                return c
        validate_name(name, "candidate")
        raise UsageError(f"unknown {'side' if self.group else 'candidate'} {name!r} for "
                         f"{self.name!r}", hint=f"choose one of: {', '.join(self.candidate_names)}")

    def candidate_for(self, record: str, target: str) -> Candidate | None:
        """Return the candidate whose target for `record` is `target` (compared absolutely)."""
        if self.record_type is not None:  # a set: the same members, in any order
            from failover.zone.setspec import matches_set

            return next((c for c in self.candidates
                         if matches_set(target, c.targets[record])), None)
        want = normalize_target(target)
        for c in self.candidates:
            if normalize_target(c.targets[record]) == want:
                return c
        return None


@dataclass(frozen=True)
class HaproxyConfig:
    """How HAProxy stats are read and how proxies are named."""

    connect_timeout: float = 3.0
    timeout: float = 5.0
    max_bytes: int = 16 * 1024 * 1024
    frontend_pattern: str = "{service}_frontend"
    backend_pattern: str = "{service}_backend"
    # unix-connect: a bare path makes socat create a plain file where no socket is
    # production's stats socket is `mode 666 level user`: reading it needs no sudo
    ssh_command: tuple[str, ...] = ("socat", "unix-connect:{socket}", "stdio")
    ssh_config: str | None = None  # passed as `ssh -F PATH`; else the operator's own config
    server_pattern: str = "{controller}"
    """A backend server belongs to a controller when this, filled in, is a word of its name."""


@dataclass(frozen=True)
class DnsConfig:
    """The operations/dns checkout, the zone template, and how a change is pushed and deployed."""

    checkout: Path
    zone_file: str = "templates/wikimediacloud.org"
    topic: str = "openstack-failover"
    subject_topic: str | None = None
    """The subject's `topic: `; None: the one the zone file's history uses most."""
    reviewers: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    deploy: tuple[str, ...] = ()
    """The deploy argv as configured; `{zone_file}` in it stands for the name's zone file."""
    deploy_timeout: float = 600.0
    deploy_probe: tuple[str, ...] = ()
    """argv showing the deploy host answers (`failover check --path`); (): derived from an
    ssh deploy command."""
    netbox_snippets: Path | None = None
    """Netbox's generated zone snippets (what `$INCLUDE netbox/...` names), on this host;
    None: the zone check stands in for them."""

    @property
    def zone_path(self) -> Path:
        """Return the zone template's path inside the checkout."""
        return self.checkout / self.zone_file

    @property
    def deploy_argv(self) -> tuple[str, ...]:
        """Return the deploy command to run: `{zone_file}` filled in with `zone_file`."""
        return tuple(a.replace(DEPLOY_PLACEHOLDER, self.zone_file) for a in self.deploy)


DEPLOY_PLACEHOLDER = "{zone_file}"
"""The one placeholder `[dns] deploy` may hold: the zone file of the name being moved."""


@dataclass(frozen=True)
class GerritConfig:
    """The Gerrit REST root and how long to follow a change."""

    url: str = "https://gerrit.wikimedia.org/r"
    timeout: float = 10.0
    review_timeout: float = 4 * 3600.0
    poll_interval: float = 10.0
    ca_bundle: str | None = None
    self_merge: bool = False
    """May `promote --self-merge` be used outside an emergency (issue 23)."""


@dataclass(frozen=True)
class Nameserver:
    """One nameserver to ask: a host name or address, and a port."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        if self.port == 53:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


AUTHDNS_PORT = 5353
"""The port an authdns host answers on directly (as spicerack's DNS checks ask it)."""

WIPE_PLACEHOLDERS = ("name",)
"""What a recursor's `wipe` argv may hold: `{name}`, the record's name without the final dot."""


@dataclass(frozen=True)
class Recursor:
    """A recursor whose cache the promote wipes: its address and the wipe command (argv)."""

    server: Nameserver = field(metadata=read_from("address"))
    wipe: tuple[str, ...] = ()
    """argv with `{name}` (e.g. `ssh HOST sudo rec_control wipe-cache {name}$`); () none."""

    def wipe_argv(self, name: str) -> tuple[str, ...]:
        """Return the wipe argv for the record `name` (no trailing dot)."""
        return tuple(a.format(name=name.rstrip(".")) for a in self.wipe)


@dataclass(frozen=True)
class VerifyConfig:
    """Which nameservers to ask and how long to wait for them to agree."""

    nameservers: tuple[Nameserver, ...] = ()
    recursors: tuple[Nameserver, ...] = ()
    """Every recursor's address (`recursor_wipes` holds those given as tables)."""
    timeout: float = 900.0
    query_timeout: float = 2.0
    interval: float = 2.0
    authdns_hosts: tuple[Nameserver, ...] = ()
    """Every authdns host, asked directly (port 5353 unless given) beside the nameservers."""
    recursor_wipes: tuple[Recursor, ...] = field(default=(), metadata=NOT_READ)
    """The recursors given as tables (`address`, `wipe`): the promote wipes their caches."""
    wipe_timeout: float = 30.0
    """Seconds one wipe command may take."""


@dataclass(frozen=True)
class SalConfig:
    """Where the Server Admin Log lines go: a tcpircbot relay (`!log` one line a connection)."""

    host: str
    port: int = 9201
    project: str = "admin"
    """The Cloud VPS project WMCS cookbooks name after the user ("" for none)."""


@dataclass(frozen=True)
class AlertmanagerConfig:
    """The Alertmanager (API v2) that silences the old primary, and the matchers to use."""

    url: str
    matchers: tuple[str, ...] = ('instance=~"{controller}(:[0-9]+)?"',)
    timeout: float = 5.0
    ca_bundle: str | None = None


@dataclass(frozen=True)
class PhabricatorConfig:
    """The Phabricator whose tasks get a comment (token: FAILOVER_PHABRICATOR_TOKEN or netrc)."""

    url: str
    timeout: float = 10.0
    ca_bundle: str | None = None


@dataclass(frozen=True)
class MetricsConfig:
    """Where the promotes' Prometheus metrics go: a node_exporter textfile (`*.prom`)."""

    textfile: Path


@dataclass(frozen=True)
class SafetyConfig:
    """`[safety]`: the gates about other operators (issue 24)."""

    flap_window: float = 3600.0
    """Seconds: a change of the name's records by someone else younger than this needs
    `--ack COMMIT` (0: no such gate)."""


@dataclass(frozen=True)
class Config:
    """The whole configuration as the tool reads it."""

    path: Path = field(metadata=NOT_READ)
    dns: DnsConfig
    gerrit: GerritConfig
    verify: VerifyConfig
    haproxy: HaproxyConfig
    regions: Mapping[str, Region] = field(default_factory=dict)
    audit_log: Path | None = field(default=None, metadata=read_from("audit"))
    """`[audit] log`."""
    sal: SalConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    phabricator: PhabricatorConfig | None = None
    services: Mapping[str, Service] = field(default_factory=dict,
                                            metadata=read_from("services", "groups"))
    """`[services.*]` and `[groups.*]`, one namespace with the regions."""
    metrics: MetricsConfig | None = None
    """`[metrics] textfile`: None when not configured."""
    safety: SafetyConfig = field(default_factory=SafetyConfig)

    def service(self, name: str) -> Service | None:
        """Return the service or group called `name`, None when it is not one."""
        return self.services.get(name)

    def region(self, name: str) -> Region:
        """Return the region called `name`, or raise UsageError naming every name there is.

        Callers ask `service(name)` first: a name that is neither is unknown as a NAME.
        """
        validate_name(name, "region, service or group")
        try:
            return self.regions[name]
        except KeyError:
            raise UsageError(f"unknown name {name!r} in {self.path}",
                             hint=self.names_hint()) from None

    def names_hint(self) -> str:
        """Return the names a command takes, by kind: `choose a region (eqiad1), ...`."""
        kinds = [(kind, names) for kind, names in (
            ("region", list(self.regions)),
            ("service", [n for n, s in self.services.items() if not s.group]),
            ("group", [n for n, s in self.services.items() if s.group])) if names]
        if not kinds:
            return "no region, service or group is configured"
        parts = [f"a {kind} ({', '.join(names)})" for kind, names in kinds]
        return "choose " + (f"{', '.join(parts[:-1])} or {parts[-1]}" if len(parts) > 1
                            else parts[0])


HEALTH_KEYS: Mapping[str, frozenset[str]] = {
    kind: toml_keys(Health, kind) - {"kind"} for kind in HEALTH_KINDS}
"""The keys each health kind takes (besides `kind`), from `Health`'s fields."""
