"""Validate a parsed TOML document into the frozen Config, every problem reported at once.

Each problem names the file and the key (`[regions.eqiad1.controllers.x.stats]`) and says what
is wrong; `parse_config` raises one ConfigError listing them all.

Examples:
    >>> parse_config({"regions": {}}, Path("c.toml"))                   # doctest: +SKIP
    ConfigError: c.toml: 1 problem(s) in the configuration
      - c.toml: [regions] no region configured; add a [regions.<name>] table

Over 400 lines: one validator per section, each key with its own message; splitting it by
section would scatter the one `_Problems` list every validator appends to.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from failover.config.model import (
    AUTHDNS_PORT,
    DEFAULT_SERVICES,
    DEPLOY_PLACEHOLDER,
    HEALTH_KINDS,
    STATS_SCHEMES,
    WIPE_PLACEHOLDERS,
    AlertmanagerConfig,
    Candidate,
    Config,
    Controller,
    DnsConfig,
    GerritConfig,
    HaproxyConfig,
    Health,
    MetricsConfig,
    Nameserver,
    PhabricatorConfig,
    Recursor,
    Region,
    SafetyConfig,
    SalConfig,
    Service,
    VerifyConfig,
)
from failover.durations import DAY, HOUR, WEEK, seconds_problem
from failover.errors import ConfigError, UsageError, shown
from failover.names import (
    HOSTNAME_RE,
    NAME_RE,
    SUBJECT_TOPIC_RE,
    TOPIC_RE,
    normalize_target,
    record_type_for,
)


def parse_config(raw: Mapping[str, Any], path: Path) -> Config:
    """Return the Config built from parsed TOML `raw`; every problem is raised at once."""
    p = _Problems(path)
    p.unknown_keys(raw, "", {"dns", "gerrit", "verify", "haproxy", "regions", "audit",
                             "sal", "alertmanager", "phabricator", "services", "groups",
                             "metrics", "safety"})
    haproxy = _parse_haproxy(p, _table(p, raw, "haproxy"))
    dns = _parse_dns(p, _table(p, raw, "dns"), path)
    gerrit = _parse_gerrit(p, _table(p, raw, "gerrit"))
    verify = _parse_verify(p, _table(p, raw, "verify"))
    has_services = bool(raw.get("services") or raw.get("groups"))
    regions = _parse_regions(p, _table(p, raw, "regions"), required=not has_services)
    services = _parse_services(p, raw, regions, dns.zone_file, dns.checkout)
    _zone_files_are_files(p, dns, services)
    _one_claim_per_record(p, regions, services)
    audit = _table(p, raw, "audit")
    p.unknown_keys(audit, "audit", {"log"})
    audit_log = p.get(audit, "audit.log", str)
    habits = _parse_habits(p, raw)
    metrics = _parse_metrics(p, _table(p, raw, "metrics"), path) if "metrics" in raw else None
    safety = _table(p, raw, "safety")
    p.unknown_keys(safety, "safety", {"flap_window"})
    flap = p.get(safety, "safety.flap_window", float, 3600.0)
    if (problem := seconds_problem(flap, most=WEEK, zero=True)) is not None:
        p.add("safety.flap_window", problem)
    if p.problems:
        raise ConfigError(
            f"{path}: {len(p.problems)} problem(s) in the configuration", p.problems,
            hint="fix each key named above; `failover config validate` re-checks",
        )
    return Config(
        path=path, dns=dns, gerrit=gerrit, verify=verify, haproxy=haproxy, regions=regions,
        audit_log=Path(audit_log).expanduser() if audit_log else None, **habits,
        services=services, metrics=metrics, safety=SafetyConfig(flap_window=float(flap)),
    )


class _Problems:
    """Collects configuration problems, each prefixed with the file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}: [{key}] {message}" if key else message)

    def unknown_keys(self, table: Mapping[str, Any], where: str, known: set[str]) -> None:
        for key in table:
            if key not in known:
                full = f"{where}.{key}" if where else key
                self.add(full, f"unknown key (known here: {', '.join(sorted(known))})")

    def get(self, table: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
        name = key.rsplit(".", 1)[-1]
        if name not in table:
            return default
        value = table[name]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            self.add(key, f"must be a {kind.__name__}, got {type(value).__name__}")
            return default
        if isinstance(value, str) and "\x00" in value:  # no path or URL can hold one
            self.add(key, "must not contain a NUL character")
            return default
        return value

    def ca_bundle(self, table: Mapping[str, Any], key: str) -> str | None:
        """Return the CA file (or directory) at `key`, `~` expanded; a missing one is a problem
        here, not a failure after the failover merged (issue 20)."""
        value: str | None = self.get(table, key, str)
        if value is None:
            return None
        expanded = os.path.expanduser(value)
        if not os.path.exists(expanded):
            self.add(key, f"{shown(value)}: no such file; the CA certificates (PEM) to trust, "
                          "e.g. \"/etc/ssl/certs/ca-certificates.crt\"")
            return None
        return expanded

    def positive(self, table: Mapping[str, Any], key: str, default: float, *,
                 most: float = DAY) -> float:
        value = self.get(table, key, float, default)
        if (problem := seconds_problem(value, most=most)) is not None:  # NaN, inf, 1e9: every
            self.add(key, problem)  # wait must end
            return default
        return float(value)

    def strings(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = self.get(table, key, list, [])
        if not all(isinstance(v, str) and v and "\x00" not in v for v in value):
            self.add(key, "must be a list of non-empty strings (without NUL characters)")
            return ()
        return tuple(value)


def _table(p: _Problems, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        p.add(key, f"must be a table, got {type(value).__name__}")
        return {}
    return value


def _parse_haproxy(p: _Problems, t: Mapping[str, Any]) -> HaproxyConfig:
    p.unknown_keys(t, "haproxy", {"connect_timeout", "timeout", "max_bytes", "frontend_pattern",
                                  "backend_pattern", "ssh_command", "ssh_config",
                                  "server_pattern"})
    d = HaproxyConfig()
    patterns = {}
    for key in ("frontend_pattern", "backend_pattern"):
        value = p.get(t, f"haproxy.{key}", str, getattr(d, key))
        if "{service}" not in value:
            p.add(f"haproxy.{key}", f"must contain '{{service}}', got {value!r}")
            value = getattr(d, key)
        patterns[key] = value
    ssh_command = p.strings(t, "haproxy.ssh_command") or d.ssh_command
    server_pattern = p.get(t, "haproxy.server_pattern", str, d.server_pattern)
    if not _fills(server_pattern, "controller"):
        p.add("haproxy.server_pattern", "must contain '{controller}' (and no other {...}), "
                                        f"got {server_pattern!r}")
        server_pattern = d.server_pattern
    max_bytes = p.get(t, "haproxy.max_bytes", int, d.max_bytes)
    if max_bytes < 1024:
        p.add("haproxy.max_bytes", "must be at least 1024")
        max_bytes = d.max_bytes
    return HaproxyConfig(
        connect_timeout=p.positive(t, "haproxy.connect_timeout", d.connect_timeout),
        timeout=p.positive(t, "haproxy.timeout", d.timeout),
        max_bytes=max_bytes, ssh_command=ssh_command, **patterns,
        ssh_config=p.get(t, "haproxy.ssh_config", str), server_pattern=server_pattern,
    )


def _fills(pattern: str, name: str) -> bool:
    """Return True if `pattern` holds `{name}` and formats with it alone."""
    try:
        pattern.format(**{name: "x"})
    except (KeyError, IndexError, ValueError):
        return False
    return "{" + name + "}" in pattern


def _only_placeholders(text: str, names: Sequence[str]) -> bool:
    """Return True if every `{...}` of `text` is one of `names` and the braces pair up."""
    import string

    try:
        return all(field in names and not spec and not conv
                   for _, field, spec, conv in string.Formatter().parse(text)
                   if field is not None)
    except ValueError:
        return False


def _reachable(p: _Problems, checkout: Path) -> bool:
    """Return True when `checkout` exists; a path this user cannot enter is a config problem."""
    try:
        return checkout.exists()
    except OSError as exc:  # PermissionError: a parent directory without search permission
        p.add("dns.checkout", f"cannot reach {checkout}: {exc.strerror or exc} (a directory "
                              "on the way is not open to this user; fix its permissions or "
                              "point [dns] checkout at your own clone)")
        return False


def _inside_checkout(p: _Problems, key: str, zone_file: str, checkout: Path) -> None:
    """Add a problem when `zone_file` (relative, no '..') leaves `checkout` through a symlink.

    The one check of every zone file of every name: `[dns] zone_file` and each service's and
    group's `zone_file`.
    """
    if _reachable(p, checkout) \
            and not (checkout / zone_file).resolve().is_relative_to(checkout.resolve()):
        p.add(key, f"{zone_file!r} leads outside the checkout {checkout} (through a symlink)")


def _parse_dns(p: _Problems, t: Mapping[str, Any], path: Path) -> DnsConfig:
    p.unknown_keys(t, "dns", {"checkout", "zone_file", "topic", "reviewers", "hashtags",
                              "deploy", "deploy_timeout", "subject_topic", "deploy_probe",
                              "netbox_snippets"})
    checkout_raw = p.get(t, "dns.checkout", str, "~/src/operations/dns")
    checkout = Path(os.path.expandvars(checkout_raw)).expanduser()
    if not checkout.is_absolute():
        checkout = (path.parent / checkout).resolve()
    zone_file = p.get(t, "dns.zone_file", str, DnsConfig.zone_file)
    zp = Path(zone_file)
    if zp.is_absolute() or ".." in zp.parts or not zone_file.strip():
        p.add("dns.zone_file", f"{zone_file!r} must be a relative path inside the checkout "
                               "(no '..', not absolute)")
        zone_file = DnsConfig.zone_file
    else:
        _inside_checkout(p, "dns.zone_file", zone_file, checkout)
    topic = p.get(t, "dns.topic", str, DnsConfig.topic)
    if not _topic_ok(p, "dns.topic", topic):
        topic = DnsConfig.topic
    subject_topic = p.get(t, "dns.subject_topic", str)
    if subject_topic is not None and not SUBJECT_TOPIC_RE.fullmatch(subject_topic):
        p.add("dns.subject_topic", f"{subject_topic!r} is not a subject topic (one word of "
                                   "letters, digits, ._/-, up to 40, e.g. 'wikimediacloud.org')")
        subject_topic = None
    reviewers = p.strings(t, "dns.reviewers")
    hashtags = p.strings(t, "dns.hashtags")
    for key, values in (("dns.reviewers", reviewers), ("dns.hashtags", hashtags)):
        for v in values:
            if not re.fullmatch(r"[A-Za-z0-9._@+-]{1,100}", v):
                p.add(key, f"{v!r} contains characters a push option cannot carry "
                           "(',', '%', spaces)")
    return DnsConfig(
        checkout=checkout, zone_file=zone_file, topic=topic, reviewers=reviewers,
        subject_topic=subject_topic, netbox_snippets=_netbox_snippets(p, t, path),
        hashtags=hashtags, deploy=_deploy(p, t),
        deploy_timeout=p.positive(t, "dns.deploy_timeout", DnsConfig.deploy_timeout),
        deploy_probe=p.strings(t, "dns.deploy_probe"),
    )


def _deploy(p: _Problems, t: Mapping[str, Any]) -> tuple[str, ...]:
    """Return `[dns] deploy`; a `{word}` in it other than `{zone_file}` is a problem (a typo
    would reach the deploy command as it is written)."""
    argv = p.strings(t, "dns.deploy")
    for arg in argv:
        for word in re.findall(r"\{([^{}]*)\}", arg):
            if "{" + word + "}" != DEPLOY_PLACEHOLDER:
                p.add("dns.deploy", f"{arg!r}: unknown placeholder {{{word}}}; the one there "
                                    f"is {DEPLOY_PLACEHOLDER} (the zone file of the name moved)")
    return argv


def _netbox_snippets(p: _Problems, t: Mapping[str, Any], path: Path) -> Path | None:
    """Return `[dns] netbox_snippets` (a directory of Netbox's generated zone snippets)."""
    raw = p.get(t, "dns.netbox_snippets", str)
    if raw is None:
        return None
    snippets = Path(os.path.expandvars(raw)).expanduser()
    if not snippets.is_absolute():
        snippets = (path.parent / snippets).resolve()
    try:
        ok = snippets.is_dir()
    except OSError:
        ok = False
    if not ok:
        p.add("dns.netbox_snippets", f"{snippets} is not a directory this user can read (point "
                                     "it at a checkout of Netbox's generated DNS snippets, as "
                                     "authdns hosts have it, or remove the key to check with "
                                     "stand-ins)")
        return None
    return snippets


def _parse_gerrit(p: _Problems, t: Mapping[str, Any]) -> GerritConfig:
    p.unknown_keys(t, "gerrit", {"url", "timeout", "review_timeout", "poll_interval", "ca_bundle"})
    d = GerritConfig()
    url = p.get(t, "gerrit.url", str, d.url).rstrip("/")
    parts = _urlsplit(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        p.add("gerrit.url", f"{url!r} must be an http(s) URL such as "
                            "https://gerrit.wikimedia.org/r")
    elif parts.username or parts.password:
        p.add("gerrit.url", "must not carry credentials; use FAILOVER_GERRIT_USER / "
                            "FAILOVER_GERRIT_PASSWORD or ~/.netrc")
    return GerritConfig(
        url=url,
        timeout=p.positive(t, "gerrit.timeout", d.timeout),
        review_timeout=p.positive(t, "gerrit.review_timeout", d.review_timeout, most=WEEK),
        poll_interval=p.positive(t, "gerrit.poll_interval", d.poll_interval),
        ca_bundle=p.ca_bundle(t, "gerrit.ca_bundle"),
    )


def parse_nameserver(entry: str, default_port: int = 53) -> Nameserver:
    """Return the Nameserver for "host", "host:port", "[v6]:port" or a bare IPv6 address.

    Raises:
        UsageError: the entry is not a host name or address with an optional port.
    """
    host, port = entry.strip(), default_port
    m = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$", host)
    if m:
        host, port = m.group(1), int(m.group(2) or default_port)
    elif host.count(":") == 1:
        host, _, port_s = host.partition(":")
        if not port_s.isdigit():
            raise UsageError(f"nameserver {entry!r}: port {port_s!r} is not a number")
        port = int(port_s)
    if not 0 < port < 65536:
        raise UsageError(f"nameserver {entry!r}: port {port} out of range")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOSTNAME_RE.match(host):
            raise UsageError(
                f"nameserver {entry!r} is not a host name or address",
                hint='write "host", "host:port" or "[v6addr]:port"',
            ) from None
    return Nameserver(host=host, port=port)


def _parse_verify(p: _Problems, t: Mapping[str, Any]) -> VerifyConfig:
    p.unknown_keys(t, "verify", {"nameservers", "recursors", "timeout", "query_timeout",
                                 "interval", "authdns_hosts", "wipe_timeout"})
    d = VerifyConfig()
    lists: dict[str, tuple[Nameserver, ...]] = {}
    for key, port in (("nameservers", 53), ("authdns_hosts", AUTHDNS_PORT)):
        lists[key] = _nameservers(p, f"verify.{key}", p.strings(t, f"verify.{key}"), port)
    recursors, wipes = _parse_recursors(p, t.get("recursors", []))
    return VerifyConfig(
        nameservers=lists["nameservers"], recursors=recursors,
        timeout=p.positive(t, "verify.timeout", d.timeout),
        query_timeout=p.positive(t, "verify.query_timeout", d.query_timeout),
        interval=p.positive(t, "verify.interval", d.interval),
        authdns_hosts=lists["authdns_hosts"], recursor_wipes=wipes,
        wipe_timeout=p.positive(t, "verify.wipe_timeout", d.wipe_timeout),
    )


def _nameservers(p: _Problems, key: str, entries: Sequence[str],
                 port: int = 53) -> tuple[Nameserver, ...]:
    """Return each entry as a Nameserver (`port` unless it names one); problems to `p`."""
    out = []
    for entry in entries:
        try:
            out.append(parse_nameserver(entry, port))
        except UsageError as exc:
            p.add(key, exc.message)
    if port == AUTHDNS_PORT and len(set(out)) < len(out):
        p.add(key, "lists a host twice")
    return tuple(out)


def _parse_recursors(p: _Problems, value: Any) -> tuple[tuple[Nameserver, ...],
                                                        tuple[Recursor, ...]]:
    """Return [verify] recursors: every address, and those given as tables with a `wipe`.

    An entry is "host[:port]" (asked only) or {address = "host[:port]", wipe = [argv]}.
    """
    key = "verify.recursors"
    if not isinstance(value, list):
        p.add(key, f"must be a list, got {type(value).__name__}")
        return (), ()
    servers: list[Nameserver] = []
    wipes: list[Recursor] = []
    for i, entry in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(entry, str):
            servers += _nameservers(p, key, p.strings({"recursors": [entry]}, key))
            continue
        if not isinstance(entry, Mapping):
            p.add(where, 'must be "host[:port]" or a table {address = ..., wipe = [...]}')
            continue
        p.unknown_keys(entry, where, {"address", "wipe"})
        address = p.get(entry, f"{where}.address", str)
        if not address:
            p.add(f"{where}.address", 'missing; e.g. address = "208.80.154.254"')
            continue
        found = _nameservers(p, f"{where}.address", (address,))
        wipe = p.strings(entry, f"{where}.wipe")
        bad = [a for a in wipe if not _only_placeholders(a, WIPE_PLACEHOLDERS)]
        if bad:
            p.add(f"{where}.wipe", f"{bad[0]!r}: the only placeholder is {{name}} (write "
                                   "{{ and }} for braces)")
        elif wipe and not any("{name}" in a for a in wipe):
            p.add(f"{where}.wipe", "must contain {name} (the record to wipe), e.g. "
                                   '["ssh", "HOST", "sudo", "rec_control", "wipe-cache", '
                                   '"{name}$"]')
        elif found:
            servers += found
            wipes.append(Recursor(found[0], tuple(wipe)))
    return tuple(servers), tuple(wipes)


def _parse_regions(p: _Problems, t: Mapping[str, Any], *,
                   required: bool = True) -> dict[str, Region]:
    regions: dict[str, Region] = {}
    if not t and required:
        p.add("regions", "no region configured; add a [regions.<name>] table")
    for name, body in t.items():
        key = f"regions.{name}"
        if not NAME_RE.match(name):
            p.add(key, "region name must be one lower-case DNS label")
            continue
        if not isinstance(body, Mapping):
            p.add(key, "must be a table")
            continue
        region = _parse_region(p, name, body)
        if region:
            regions[name] = region
    return regions


def _parse_region(p: _Problems, name: str, t: Mapping[str, Any]) -> Region | None:
    key = f"regions.{name}"
    p.unknown_keys(t, key, {"fqdn", "services", "controllers"})
    fqdn = p.get(t, f"{key}.fqdn", str)
    if fqdn is None:
        p.add(f"{key}.fqdn", f"missing; e.g. fqdn = \"openstack.{name}.wikimediacloud.org\"")
    elif not HOSTNAME_RE.match(fqdn) or "." not in fqdn.rstrip("."):
        p.add(f"{key}.fqdn", f"{fqdn!r} is not a fully qualified domain name")
    services = p.strings(t, f"{key}.services") or DEFAULT_SERVICES
    for s in services:
        if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", s):
            p.add(f"{key}.services", f"{s!r} is not an HAProxy proxy name part")
    if len(set(services)) != len(services):
        p.add(f"{key}.services", "lists a service twice")
    ctable = _table(p, t, "controllers") if "controllers" in t else {}
    controllers = [c for c in (_parse_controller(p, key, n, b) for n, b in ctable.items()) if c]
    if len(ctable) < 2:
        p.add(f"{key}.controllers", f"needs at least two controllers, found {len(ctable)}")
    seen: dict[str, str] = {}
    for cname, body in ctable.items():
        target = body.get("target") if isinstance(body, Mapping) else None
        if not isinstance(target, str):
            continue
        norm = normalize_target(target)
        if norm in seen:
            p.add(f"{key}.controllers.{cname}.target",
                  f"{target!r} is also the target of {seen[norm]}: targets must differ")
        seen[norm] = cname
    types = {c.record_type for c in controllers}
    if "CNAME" in types and len(types) > 1:
        p.add(f"{key}.controllers", "mixes host-name (CNAME) and address (A/AAAA) targets; "
                                    "the record can only have one type")
    elif len(types) > 1:
        p.add(f"{key}.controllers", "mixes IPv4 (A) and IPv6 (AAAA) targets; the record "
                                    "can only have one type: give every controller an address "
                                    "of the same family")
    if fqdn is None:
        return None
    return Region(name=name, fqdn=fqdn.rstrip(".").lower(), services=tuple(services),
                  controllers=tuple(controllers))


# -- [services.*] and [groups.*]: any failover target beside the regions ----------------------

def _parse_services(p: _Problems, raw: Mapping[str, Any], regions: Mapping[str, Region],
                    default_zone: str, checkout: Path) -> dict[str, Service]:
    """Return `[services.*]` and `[groups.*]` (one namespace with the regions)."""
    out: dict[str, Service] = {}
    for section, parse in (("services", _parse_service), ("groups", _parse_group)):
        for name, body in _table(p, raw, section).items():
            key = f"{section}.{name}"
            if not NAME_RE.match(name):
                p.add(key, "name must be one lower-case DNS label (letters, digits, '-')")
                continue
            if name in regions or name in out:
                p.add(key, f"{name!r} is also a {'region' if name in regions else 'service'}"
                           ": names of regions, services and groups must differ")
                continue
            if not isinstance(body, Mapping):
                p.add(key, "must be a table")
                continue
            svc = parse(p, key, name, body, default_zone)
            if svc is not None:
                if svc.zone_file:
                    _inside_checkout(p, f"{key}.zone_file", svc.zone_file, checkout)
                out[name] = svc
    return out


def _one_claim_per_record(p: _Problems, regions: Mapping[str, Region],
                          services: Mapping[str, Service]) -> None:
    """Add a problem for every record claimed by a second name (region, service, group).

    Two names on one record would each open their own change on it, and one promote would
    say "nothing to do" while the other's open change moves the record.
    """
    owner: dict[str, str] = {}
    claims = [(r.fqdn, f"region {r.name}", f"regions.{r.name}.fqdn") for r in regions.values()]
    for svc in services.values():
        kind, section = ("group", "groups") if svc.group else ("service", "services")
        claims += [(rec, f"{kind} {svc.name}", f"{section}.{svc.name}") for rec in svc.records]
    for record, who, key in claims:
        if record in owner and owner[record] != who:
            p.add(key, f"record {record} is also claimed by {owner[record]}: a record belongs "
                       f"to one name (remove it from {who} or from {owner[record]})")
            continue
        owner.setdefault(record, who)


def _zone_file(p: _Problems, t: Mapping[str, Any], key: str) -> str | None:
    zone_file: str | None = p.get(t, f"{key}.zone_file", str)
    if zone_file is None:
        return None
    zp = Path(zone_file)
    if zp.is_absolute() or ".." in zp.parts or not zone_file.strip():
        p.add(f"{key}.zone_file", f"{zone_file!r} must be a relative path inside the "
                                  "checkout (no '..', not absolute), e.g. "
                                  "\"templates/wikimedia.org\"")
        return None
    return zone_file


NAME_SETTINGS = ("topic", "sal_project")
"""The keys a service or group may set for itself (the regions' are [dns] topic, [sal] project)."""


def _name_settings(p: _Problems, t: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return a service's or group's own `topic` and `sal_project` (absent: the defaults of
    `Service`, never the regions')."""
    out: dict[str, Any] = {}
    topic = p.get(t, f"{key}.topic", str)
    if topic is not None and _topic_ok(p, f"{key}.topic", topic):
        out["topic"] = topic
    project = p.get(t, f"{key}.sal_project", str)
    if project is not None and _sal_project_ok(p, f"{key}.sal_project", project):
        out["sal_project"] = project
    return out


def _topic_ok(p: _Problems, key: str, topic: str) -> bool:
    """Return True if `topic` is a Gerrit topic this tool pushes; else add a problem."""
    if TOPIC_RE.match(topic):
        return True
    p.add(key, f"{topic!r} is not a usable Gerrit topic (letters, digits, ._/-)")
    return False


def _sal_project_ok(p: _Problems, key: str, project: str) -> bool:
    """Return True if `project` is a Cloud VPS project name or "" (none); else add a problem."""
    if project and not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", project):
        p.add(key, f"{project!r} is not a Cloud VPS project name (or \"\" for none)")
        return False
    return True


def _zone_files_are_files(p: _Problems, dns: DnsConfig, services: Mapping[str, Service]) -> None:
    """Add a problem for each zone file that is a directory in the checkout (issue 20: it was
    exit 4 "fetch first" at run time)."""
    keys = {"dns.zone_file": dns.zone_file}
    for svc in services.values():
        if svc.zone_file:
            keys[f"{'groups' if svc.group else 'services'}.{svc.name}.zone_file"] = svc.zone_file
    for key, zone_file in keys.items():
        try:
            directory = (dns.checkout / zone_file).is_dir()
        except OSError:  # unreachable: [dns] checkout says why
            continue
        if directory:
            p.add(key, f"{zone_file!r} is a directory in {dns.checkout}; name the zone "
                       "template file, e.g. \"templates/wikimedia.org\"")


def _record(p: _Problems, key: str, value: Any) -> str | None:
    if isinstance(value, str) and _is_ip(value.rstrip(".")):
        p.add(key, f"{value!r} is an IP address, not a record's name; the name the failover "
                   "moves, e.g. \"irc.wikimedia.org\"")
        return None
    if not isinstance(value, str) or not HOSTNAME_RE.match(value) or \
            "." not in value.rstrip("."):
        p.add(key, f"{shown(value)} is not a record's fully qualified name, e.g. "
                   "\"irc.wikimedia.org\"")
        return None
    return value.rstrip(".").lower()


def _target(p: _Problems, key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        p.add(key, "missing or not a string; the record's target as a FQDN with a trailing "
                   "dot (\"irc1001.wikimedia.org.\") or an IP address")
        return None
    if record_type_for(value) == "CNAME" and (
            not value.endswith(".") or not HOSTNAME_RE.match(value)):
        p.add(key, f"{value!r} must be an IP address or a fully qualified name with a "
                   "trailing dot (a relative form in the zone is kept as the zone writes it)")
        return None
    return value


def _parse_service(p: _Problems, key: str, name: str, t: Mapping[str, Any],
                   default_zone: str) -> Service | None:
    p.unknown_keys(t, key, {"zone_file", "fqdn", "records", "candidates", *NAME_SETTINGS})
    zone_file = _zone_file(p, t, key)
    if "fqdn" in t and "records" in t:
        p.add(f"{key}.records", "give fqdn (one record) or records (several), not both")
    raw_records = [t["fqdn"]] if "fqdn" in t else t.get("records")
    if raw_records is None:
        p.add(f"{key}.records", "missing; e.g. records = [\"irc.wikimedia.org\"] "
                                "(or fqdn = \"irc.wikimedia.org\")")
        return None
    rkey = f"{key}.fqdn" if "fqdn" in t else f"{key}.records"
    if not isinstance(raw_records, list) or not raw_records:
        p.add(rkey, "must be a non-empty list of record names")
        return None
    records = [r for r in (_record(p, rkey, v) for v in raw_records) if r]
    if len(set(records)) != len(records):
        p.add(rkey, "lists a record twice")
    ctable = _table(p, t, "candidates") if "candidates" in t else {}
    if len(ctable) < 2:
        p.add(f"{key}.candidates", f"needs at least two candidates, found {len(ctable)}")
    candidates = []
    for cname, body in ctable.items():
        ckey = f"{key}.candidates.{cname}"
        if not NAME_RE.match(cname):
            p.add(ckey, "candidate name must be one lower-case DNS label")
            continue
        if not isinstance(body, Mapping):
            p.add(ckey, "must be a table with target and health")
            continue
        p.unknown_keys(body, ckey, {"target", "health"})
        target = _target(p, f"{ckey}.target", body.get("target"))
        health = _parse_health(p, f"{ckey}.health", body.get("health", {"kind": "none"}))
        if target is not None:
            candidates.append(Candidate(cname, {r: target for r in records}, health))
    _distinct_targets(p, key, records, candidates)
    if len(records) != len(raw_records):
        return None
    return Service(name=name, records=tuple(records), candidates=tuple(candidates),
                   zone_file=zone_file or None, **_name_settings(p, t, key))


def _parse_group(p: _Problems, key: str, name: str, t: Mapping[str, Any],
                 default_zone: str) -> Service | None:
    p.unknown_keys(t, key, {"zone_file", "sides", "members", "health", *NAME_SETTINGS})
    zone_file = _zone_file(p, t, key)
    sides = list(p.strings(t, f"{key}.sides"))
    if twice := sorted({s for s in sides if sides.count(s) > 1}):
        p.add(f"{key}.sides", f"lists {', '.join(twice)} twice; each side once")
        sides = list(dict.fromkeys(sides))
    if len(sides) < 2:
        p.add(f"{key}.sides", "needs at least two sides, e.g. sides = [\"eqiad\", \"codfw\"]")
    for side in sides:
        if not NAME_RE.match(side):
            p.add(f"{key}.sides", f"{side!r} is not one lower-case DNS label")
    members = _table(p, t, "members") if "members" in t else {}
    if not members:
        p.add(f"{key}.members", "missing; one entry per record, e.g. "
                                "\"s1-master.eqiad.wmnet\" = {eqiad = \"db1163.eqiad.wmnet.\", "
                                "codfw = \"db2203.codfw.wmnet.\"}")
    targets: dict[str, dict[str, str]] = {s: {} for s in sides}
    records = []
    for rname, body in members.items():
        mkey = f"{key}.members.{rname}"
        record = _record(p, mkey, rname)
        if record is None:
            continue
        if not isinstance(body, Mapping):
            p.add(mkey, "must be a table of side = target")
            continue
        p.unknown_keys(body, mkey, set(sides))
        records.append(record)
        for side in sides:
            target = _target(p, f"{mkey}.{side}", body.get(side))
            if target is not None:
                targets[side][record] = target
    htable = _table(p, t, "health") if "health" in t else {}
    p.unknown_keys(htable, f"{key}.health", set(sides))
    candidates = [Candidate(s, targets[s], _parse_health(
        p, f"{key}.health.{s}", htable.get(s, {"kind": "none"}))) for s in sides]
    if any(len(c.targets) != len(records) for c in candidates):
        return None
    _distinct_targets(p, key, records, candidates)
    return Service(name=name, records=tuple(records), candidates=tuple(candidates),
                   zone_file=zone_file, group=True, **_name_settings(p, t, key))


def _distinct_targets(p: _Problems, key: str, records: list[str],
                      candidates: list[Candidate]) -> None:
    for record in records:
        seen: dict[str, str] = {}
        types = set()
        for c in candidates:
            if record not in c.targets:
                continue
            norm = normalize_target(c.targets[record])
            types.add(record_type_for(c.targets[record]))
            if norm in seen:
                p.add(key, f"{record}: {c.name} and {seen[norm]} have the same target "
                           f"{c.targets[record]!r}: targets must differ")
            seen[norm] = c.name
        if len(types) > 1:
            p.add(key, f"{record}: mixes {' and '.join(sorted(types))} targets; the record "
                       "can only have one type")


HEALTH_KEYS = {"tcp": {"host", "port", "timeout"},
               "http": {"url", "status", "contains", "ca_bundle", "timeout"},
               "command": {"argv", "timeout"},
               "haproxy": {"stats", "services", "ca_bundle"},
               "none": set()}
"""The keys each health kind takes (besides `kind`)."""


def _parse_health(p: _Problems, key: str, t: Any) -> Health:
    if not isinstance(t, Mapping):
        p.add(key, "must be a table, e.g. health = {kind = \"tcp\", host = \"irc1001\", "
                   "port = 6667}")
        return Health()
    kind = t.get("kind")
    if kind not in HEALTH_KINDS:
        p.add(f"{key}.kind", f"{'missing' if kind is None else repr(kind) + ' is unknown'}; "
                             f"one of: {', '.join(HEALTH_KINDS)}")
        return Health()
    p.unknown_keys(t, key, {"kind"} | HEALTH_KEYS[kind])
    timeout = p.positive(t, f"{key}.timeout", Health.timeout, most=HOUR)
    if kind == "tcp":
        host = p.get(t, f"{key}.host", str)
        port = p.get(t, f"{key}.port", int)
        if host is None or not (HOSTNAME_RE.match(host) or _is_ip(host)):
            p.add(f"{key}.host", f"{'missing' if host is None else repr(host) + ' is not a host'}"
                                 "; the host to connect to, e.g. \"irc1001.wikimedia.org\"")
        if port is None or not 0 < port < 65536:
            p.add(f"{key}.port", f"must be a TCP port (1-65535), got {port}")
        return Health(kind, host=host, port=port, timeout=timeout)
    if kind == "http":
        url = _http_url(p, t, f"{key}.url", "https://idp1004.wikimedia.org/")
        status = p.get(t, f"{key}.status", int, 200)
        if not 100 <= status <= 599:
            p.add(f"{key}.status", f"must be an HTTP status (100-599), got {status}")
        return Health(kind, url=url, status=status, contains=p.get(t, f"{key}.contains", str),
                      ca_bundle=p.ca_bundle(t, f"{key}.ca_bundle"), timeout=timeout)
    if kind == "command":
        argv = p.strings(t, f"{key}.argv")
        if not argv:
            p.add(f"{key}.argv", "missing; the command as a list, e.g. argv = "
                                 "[\"/usr/lib/nagios/plugins/check_tcp\", \"-H\", \"irc1001\", "
                                 "\"-p\", \"6667\"] (exit 0 is healthy)")
        return Health(kind, argv=argv, timeout=timeout)
    if kind == "haproxy":
        stats = p.get(t, f"{key}.stats", str)
        if stats is None:
            p.add(f"{key}.stats", "missing; e.g. \"http://HOST:9900/stats;csv\" or "
                                  "\"unix:///run/haproxy/haproxy.sock\"")
        else:
            _check_stats_url(p, f"{key}.stats", stats)
        services = p.strings(t, f"{key}.services")
        if not services:
            p.add(f"{key}.services", "missing; the HAProxy services to judge, e.g. "
                                     "services = [\"mysql\"]")
        return Health(kind, stats=stats, services=services,
                      ca_bundle=p.ca_bundle(t, f"{key}.ca_bundle"))
    return Health()


def _parse_controller(p: _Problems, region_key: str, name: str,
                      t: Any) -> Controller | None:
    key = f"{region_key}.controllers.{name}"
    if not NAME_RE.match(name):
        p.add(key, "controller name must be one lower-case DNS label")
        return None
    if not isinstance(t, Mapping):
        p.add(key, "must be a table with target and stats")
        return None
    p.unknown_keys(t, key, {"target", "stats", "ca_bundle"})
    target = p.get(t, f"{key}.target", str)
    stats = p.get(t, f"{key}.stats", str)
    if target is None:
        p.add(f"{key}.target", "missing; the record's target, e.g. "
                               f"\"{name}.wikimedia.org.\" or an IP address")
    elif record_type_for(target) == "CNAME" and (
            not target.endswith(".") or not HOSTNAME_RE.match(target)):
        p.add(f"{key}.target", f"{target!r} must be an IP address or a fully qualified name "
                               "with a trailing dot")
    if stats is None:
        p.add(f"{key}.stats", "missing; e.g. \"http://HOST:9900/stats;csv\", "
                              "\"unix:///run/haproxy/haproxy.sock\" or "
                              "\"ssh://HOST/run/haproxy/haproxy.sock\"")
    else:
        _check_stats_url(p, f"{key}.stats", stats)
    if target is None or stats is None:
        return None
    return Controller(name=name, target=target, stats=stats, ca_bundle=p.ca_bundle(
        t, f"{key}.ca_bundle"))


def _urlsplit(url: str) -> SplitResult | None:
    """Return the parts of `url`, or None when it cannot be split (e.g. `http://[::1`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError:
        return None
    return parts


def _check_stats_url(p: _Problems, key: str, url: str) -> None:
    parts = _urlsplit(url)
    if parts is None:
        p.add(key, f"{url!r} is not a URL (bad IPv6 brackets or port)")
    elif parts.scheme not in STATS_SCHEMES:
        p.add(key, f"{url!r}: scheme {parts.scheme or '(none)'!r} is not one of "
                   f"{', '.join(STATS_SCHEMES)}")
    elif parts.scheme in ("http", "https", "ssh") and not parts.hostname:
        p.add(key, f"{url!r} names no host")
    elif parts.scheme == "unix" and not parts.path.startswith("/"):
        p.add(key, f"{url!r}: a unix socket URL is unix:///absolute/path")
    elif parts.scheme == "ssh" and (parts.path in ("", "/")) == (
            not parts.query.startswith("url=http")):
        p.add(key, f"{url!r}: write ssh://[user@]host[:port]/path/to/haproxy.sock, or "
                   "ssh://[user@]host?url=http://127.0.0.1:9900/stats;csv (read by remote curl)")


# -- the operators' habits: [sal], [alertmanager], [phabricator] (each optional) --------------

def _parse_habits(p: _Problems, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return the optional outside systems' sections (None where not configured)."""
    out: dict[str, Any] = {"sal": None, "alertmanager": None, "phabricator": None}
    if "sal" in raw:
        out["sal"] = _parse_sal(p, _table(p, raw, "sal"))
    if "alertmanager" in raw:
        out["alertmanager"] = _parse_alertmanager(p, _table(p, raw, "alertmanager"))
    if "phabricator" in raw:
        out["phabricator"] = _parse_phabricator(p, _table(p, raw, "phabricator"))
    return out


def _parse_sal(p: _Problems, t: Mapping[str, Any]) -> SalConfig | None:
    p.unknown_keys(t, "sal", {"host", "port", "project"})
    host = p.get(t, "sal.host", str)
    port = p.get(t, "sal.port", int, SalConfig.port)
    project = p.get(t, "sal.project", str, SalConfig.project)
    if host is None or not (HOSTNAME_RE.match(host) or _is_ip(host)):
        p.add("sal.host", f"{'missing' if host is None else repr(host) + ' is not a host'}; "
                          "the tcpircbot relay, e.g. host = \"logmsgbot.example.org\"")
        host = None
    if not 0 < port < 65536:
        p.add("sal.port", f"must be a TCP port (1-65535), got {port}")
    _sal_project_ok(p, "sal.project", project)
    return SalConfig(host=host, port=port, project=project) if host else None


def _parse_alertmanager(p: _Problems, t: Mapping[str, Any]) -> AlertmanagerConfig | None:
    from failover.alertmanager import parse_matcher

    p.unknown_keys(t, "alertmanager", {"url", "matchers", "timeout", "ca_bundle"})
    url = _http_url(p, t, "alertmanager.url", "https://alertmanager.example.org")
    matchers = p.strings(t, "alertmanager.matchers") or AlertmanagerConfig.matchers
    for m in matchers:
        try:
            parse_matcher(m, controller="cloudcontrol1003")
        except UsageError as exc:
            p.add("alertmanager.matchers", exc.message)
    timeout = p.positive(t, "alertmanager.timeout", AlertmanagerConfig.timeout)
    ca_bundle = p.ca_bundle(t, "alertmanager.ca_bundle")
    return AlertmanagerConfig(url=url, matchers=tuple(matchers), timeout=timeout,
                              ca_bundle=ca_bundle) if url else None


def _parse_phabricator(p: _Problems, t: Mapping[str, Any]) -> PhabricatorConfig | None:
    p.unknown_keys(t, "phabricator", {"url", "timeout", "ca_bundle"})
    url = _http_url(p, t, "phabricator.url", "https://phabricator.wikimedia.org")
    timeout = p.positive(t, "phabricator.timeout", PhabricatorConfig.timeout)
    ca_bundle = p.ca_bundle(t, "phabricator.ca_bundle")
    return PhabricatorConfig(url=url, timeout=timeout, ca_bundle=ca_bundle) if url else None


def _parse_metrics(p: _Problems, t: Mapping[str, Any], path: Path) -> MetricsConfig | None:
    """Return `[metrics]`: the node_exporter textfile (a `*.prom` file; relative to the config)."""
    p.unknown_keys(t, "metrics", {"textfile"})
    textfile = p.get(t, "metrics.textfile", str)
    if textfile is None:
        p.add("metrics.textfile", "missing; e.g. textfile = "
                                  "\"/var/lib/prometheus/node.d/failover.prom\"")
        return None
    where = Path(os.path.expandvars(textfile)).expanduser()
    if not where.is_absolute():
        where = path.parent / where
    if where.suffix != ".prom" or not where.stem or where.name.startswith("."):
        p.add("metrics.textfile", f"{textfile!r} must be a file name ending in .prom "
                                  "(node_exporter's textfile collector reads only *.prom)")
        return None
    if where.parent.exists() and not where.parent.is_dir():
        p.add("metrics.textfile", f"{where.parent} is not a directory")
        return None
    return MetricsConfig(textfile=where)


def _http_url(p: _Problems, t: Mapping[str, Any], key: str, example: str) -> str | None:
    """Return the http(s) URL at `key` without a trailing slash, or None (problem added)."""
    url: str | None = p.get(t, key, str)
    parts = _urlsplit(url) if url else None
    if url is None:
        p.add(key, f"missing; e.g. url = \"{example}\"")
    elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        p.add(key, f"{shown(url)} must be an http(s) URL such as {example}")
    elif parts.username or parts.password or parts.query or parts.fragment:
        p.add(key, "must be a plain URL (no credentials, query or fragment)" + (
            "; the Phabricator token comes from FAILOVER_PHABRICATOR_TOKEN or ~/.netrc"
            if key.startswith("phabricator.") else ""))
    else:
        return url.rstrip("/")
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
