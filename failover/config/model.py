"""The configuration: frozen dataclasses, the rules for names and targets, and loading the file.

`load_config` reads the TOML with tomllib and hands it to `failover.configparse`, which
validates it and reports every problem at once, each naming its key and the file.

Examples:
    >>> cfg = load_config(Path("examples/sandbox.toml"))      # doctest: +SKIP
    >>> cfg.region("eqiad1").controller("cloudcontrol1004").target
    'cloudcontrol1004.wikimedia.org.'
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from failover.errors import ConfigError, UsageError
from failover.redact import redact_text

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
"""Region and controller names: one lower-case DNS label."""

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\.?\Z)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?\Z"
)
"""A host name or fully qualified domain name (trailing dot optional)."""

TOPIC_RE = re.compile(r"^[A-Za-z0-9._/-]{1,100}\Z")
"""A Gerrit topic or hashtag as this tool will push it."""

SUBJECT_TOPIC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
"""A commit subject's `topic` (before `: `), as `[dns] subject_topic` may set it (fullmatch)."""

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

    name: str
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

    name: str
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
    deploy_timeout: float = 600.0

    @property
    def zone_path(self) -> Path:
        """Return the zone template's path inside the checkout."""
        return self.checkout / self.zone_file


@dataclass(frozen=True)
class GerritConfig:
    """The Gerrit REST root and how long to follow a change."""

    url: str = "https://gerrit.wikimedia.org/r"
    timeout: float = 10.0
    review_timeout: float = 4 * 3600.0
    poll_interval: float = 10.0
    ca_bundle: str | None = None


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


@dataclass(frozen=True)
class VerifyConfig:
    """Which nameservers to ask and how long to wait for them to agree."""

    nameservers: tuple[Nameserver, ...] = ()
    recursors: tuple[Nameserver, ...] = ()
    timeout: float = 900.0
    query_timeout: float = 2.0
    interval: float = 2.0


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
class Config:
    """The whole configuration as the tool reads it."""

    path: Path
    dns: DnsConfig
    gerrit: GerritConfig
    verify: VerifyConfig
    haproxy: HaproxyConfig
    regions: Mapping[str, Region] = field(default_factory=dict)
    audit_log: Path | None = None
    sal: SalConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    phabricator: PhabricatorConfig | None = None

    def region(self, name: str) -> Region:
        """Return the region called `name`, or raise UsageError naming the choices."""
        validate_name(name, "region")
        try:
            return self.regions[name]
        except KeyError:
            raise UsageError(
                f"unknown region {name!r} in {self.path}",
                hint=f"choose one of: {', '.join(self.regions) or '(none configured)'}",
            ) from None


def validate_name(value: str, what: str) -> str:
    """Return `value` if it is a valid region or controller name, else raise UsageError."""
    if not NAME_RE.match(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise UsageError(
            f"invalid {what} name {shown!r}",
            hint=f"a {what} name is one lower-case DNS label: letters, digits and '-'",
        )
    return value


def normalize_target(target: str) -> str:
    """Return a record target in comparable form: lower-case absolute name, or canonical IP."""
    try:
        return str(ipaddress.ip_address(target))
    except ValueError:
        return target.lower().rstrip(".") + "."


def record_type_for(target: str) -> str:
    """Return CNAME, A or AAAA: the record type that can point at `target`."""
    try:
        return "A" if ipaddress.ip_address(target).version == 4 else "AAAA"
    except ValueError:
        return "CNAME"


def redact_url(url: str) -> str:
    """Return `url` with any password replaced by `***`, for output and logs (any text too)."""
    return redact_text(url)


def default_config_path() -> tuple[Path, list[str]]:
    """Return the config path to use and the places looked at, in order."""
    looked: list[str] = []
    env = os.environ.get("FAILOVER_CONFIG")
    if env:
        return Path(env).expanduser(), ["$FAILOVER_CONFIG"]
    looked.append("$FAILOVER_CONFIG (unset)")
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    path = Path(xdg) / "failover" / "config.toml"
    looked.append(str(path))
    return path, looked


MAX_CONFIG_BYTES = 1024 * 1024
"""The largest configuration file read (a real one is a few kilobytes)."""


def read_config_text(path: Path) -> str:
    """Return the text of the configuration file `path`: a regular file of at most 1 MiB.

    Checked before it is read (a FIFO with no writer would block for ever, /dev/zero never
    ends, a directory cannot be read) and opened non-blocking, never waiting on a writer.

    Raises:
        FileNotFoundError: `path` does not exist.
        ConfigError: `path` is not a regular file, is too large, or cannot be read.
    """
    import stat

    if not stat.S_ISREG(path.stat().st_mode):
        raise ConfigError(f"configuration file {path} is not a regular file "
                          f"({_file_kind(path.stat().st_mode)})",
                          hint="pass --config PATH of a TOML file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the stat and the open
            raise ConfigError(f"configuration file {path} is not a regular file")
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"configuration file {path} is larger than "
                          f"{MAX_CONFIG_BYTES // 1024} KiB; it cannot be a failover config",
                          hint="pass --config PATH of the TOML file")
    return data.decode("utf-8")


def _file_kind(mode: int) -> str:
    import stat

    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a file")


def load_config(path: Path | None = None) -> Config:
    """Return the validated configuration read from `path` (or the default places).

    Raises:
        ConfigError: the file is missing or unreadable, or any key is wrong (all listed).
    """
    looked: list[str] = []
    if path is None:
        path, looked = default_config_path()
    path = path.expanduser()
    try:
        raw = tomllib.loads(read_config_text(path))
    except FileNotFoundError:
        where = f" (looked at: {', '.join(looked)})" if looked else ""
        raise ConfigError(
            f"configuration file not found: {path}{where}",
            hint="pass --config PATH, set FAILOVER_CONFIG, or copy examples/eqiad1.toml there",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(f"{path}: not a usable configuration: arrays or tables nested too "
                          "deeply", hint="a failover config nests at most a few levels") from None
    from failover.configparse import parse_config

    return parse_config(raw, path)
