"""Validate a parsed TOML document into the frozen Config, every problem reported at once.

Each problem names the file and the key (`[regions.eqiad1.controllers.x.stats]`) and says what
is wrong; `parse_config` raises one ConfigError listing them all. The keys each section takes
are the fields of its dataclass (`failover.config.keys`); this module and its siblings
(`parse_verify`, `parse_names`, `parse_habits`) hold the domain checks and their messages.

Examples:
    >>> parse_config({"regions": {}}, Path("c.toml"))                   # doctest: +SKIP
    ConfigError: c.toml: 1 problem(s) in the configuration
      - c.toml: [regions] no region configured; add a [regions.<name>] table
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from failover.config.keys import toml_keys
from failover.config.model import (
    AUDIT_KEYS,
    DEPLOY_PLACEHOLDER,
    Config,
    DnsConfig,
    GerritConfig,
    HaproxyConfig,
    SafetyConfig,
    Service,
)
from failover.config.parse_habits import habits_sections, metrics_section
from failover.config.parse_names import one_claim_per_record, regions_section, services_section
from failover.config.parse_verify import parse_nameserver, verify_section
from failover.config.problems import (
    Problems,
    fills,
    inside_checkout,
    split_url,
    table,
    topic_ok,
)
from failover.durations import WEEK, seconds_problem
from failover.errors import ConfigError
from failover.names import SUBJECT_TOPIC_RE

__all__ = ["parse_config", "parse_nameserver"]


def parse_config(raw: Mapping[str, Any], path: Path) -> Config:
    """Return the Config built from parsed TOML `raw`; every problem is raised at once."""
    p = Problems(path)
    p.unknown_keys(raw, "", toml_keys(Config))
    haproxy = _parse_haproxy(p, table(p, raw, "haproxy"))
    dns = _parse_dns(p, table(p, raw, "dns"), path)
    gerrit = _parse_gerrit(p, table(p, raw, "gerrit"))
    verify = verify_section(p, table(p, raw, "verify"))
    has_services = bool(raw.get("services") or raw.get("groups"))
    regions = regions_section(p, table(p, raw, "regions"), required=not has_services)
    services = services_section(p, raw, regions, dns.zone_file, dns.checkout)
    _zone_files_are_files(p, dns, services)
    one_claim_per_record(p, regions, services)
    audit = table(p, raw, "audit")
    p.unknown_keys(audit, "audit", AUDIT_KEYS)
    audit_log = p.get(audit, "audit.log", str)
    habits = habits_sections(p, raw)
    metrics = metrics_section(p, table(p, raw, "metrics"), path) if "metrics" in raw else None
    safety = table(p, raw, "safety")
    p.unknown_keys(safety, "safety", toml_keys(SafetyConfig))
    flap = p.get(safety, "safety.flap_window", float, SafetyConfig.flap_window)
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


def _parse_haproxy(p: Problems, t: Mapping[str, Any]) -> HaproxyConfig:
    p.unknown_keys(t, "haproxy", toml_keys(HaproxyConfig))
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
    if not fills(server_pattern, "controller"):
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


def _parse_dns(p: Problems, t: Mapping[str, Any], path: Path) -> DnsConfig:
    p.unknown_keys(t, "dns", toml_keys(DnsConfig))
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
        inside_checkout(p, "dns.zone_file", zone_file, checkout)
    topic = p.get(t, "dns.topic", str, DnsConfig.topic)
    if not topic_ok(p, "dns.topic", topic):
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


def _deploy(p: Problems, t: Mapping[str, Any]) -> tuple[str, ...]:
    """Return `[dns] deploy`; a `{word}` in it other than `{zone_file}` is a problem (a typo
    would reach the deploy command as it is written)."""
    argv = p.strings(t, "dns.deploy")
    for arg in argv:
        for word in re.findall(r"\{([^{}]*)\}", arg):
            if "{" + word + "}" != DEPLOY_PLACEHOLDER:
                p.add("dns.deploy", f"{arg!r}: unknown placeholder {{{word}}}; the one there "
                                    f"is {DEPLOY_PLACEHOLDER} (the zone file of the name moved)")
    return argv


def _netbox_snippets(p: Problems, t: Mapping[str, Any], path: Path) -> Path | None:
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


def _parse_gerrit(p: Problems, t: Mapping[str, Any]) -> GerritConfig:
    p.unknown_keys(t, "gerrit", toml_keys(GerritConfig))
    d = GerritConfig()
    url = p.get(t, "gerrit.url", str, d.url).rstrip("/")
    parts = split_url(url)
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
        self_merge=bool(p.get(t, "gerrit.self_merge", bool, False)),
    )


def _zone_files_are_files(p: Problems, dns: DnsConfig, services: Mapping[str, Service]) -> None:
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
