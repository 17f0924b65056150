"""The names a command moves: `[regions.*]`, `[services.*]` and `[groups.*]`, and their health.

Every record belongs to one name; each candidate's health is one of `HEALTH_KINDS`, taking the
keys its `Health` fields say (`failover.config.keys`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from failover.config.keys import toml_keys
from failover.config.model import (
    DEFAULT_SERVICES,
    HEALTH_KEYS,
    HEALTH_KINDS,
    Candidate,
    Controller,
    Health,
    Region,
    Service,
)
from failover.config.parse_sets import set_settings, set_target
from failover.config.problems import (
    Problems,
    check_stats_url,
    http_url,
    inside_checkout,
    is_ip,
    sal_project_ok,
    table,
    topic_ok,
)
from failover.durations import HOUR
from failover.errors import shown
from failover.names import HOST_PLACEHOLDER, HOSTNAME_RE, NAME_RE, normalize_target, record_type_for


def regions_section(p: Problems, t: Mapping[str, Any], *,
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


def _parse_region(p: Problems, name: str, t: Mapping[str, Any]) -> Region | None:
    key = f"regions.{name}"
    p.unknown_keys(t, key, toml_keys(Region))
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
    ctable = table(p, t, "controllers") if "controllers" in t else {}
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


def _parse_controller(p: Problems, region_key: str, name: str,
                      t: Any) -> Controller | None:
    key = f"{region_key}.controllers.{name}"
    if not NAME_RE.match(name):
        p.add(key, "controller name must be one lower-case DNS label")
        return None
    if not isinstance(t, Mapping):
        p.add(key, "must be a table with target and stats")
        return None
    p.unknown_keys(t, key, toml_keys(Controller))
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
        check_stats_url(p, f"{key}.stats", stats)
    if target is None or stats is None:
        return None
    return Controller(name=name, target=target, stats=stats, ca_bundle=p.ca_bundle(
        t, f"{key}.ca_bundle"))


# -- [services.*] and [groups.*]: any failover target beside the regions ----------------------


def services_section(p: Problems, raw: Mapping[str, Any], regions: Mapping[str, Region],
                    default_zone: str, checkout: Path) -> dict[str, Service]:
    """Return `[services.*]` and `[groups.*]` (one namespace with the regions)."""
    out: dict[str, Service] = {}
    for section, parse in (("services", _parse_service), ("groups", _parse_group)):
        for name, body in table(p, raw, section).items():
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
                    inside_checkout(p, f"{key}.zone_file", svc.zone_file, checkout)
                out[name] = svc
    return out


def one_claim_per_record(p: Problems, regions: Mapping[str, Region],
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


def _zone_file(p: Problems, t: Mapping[str, Any], key: str) -> str | None:
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


def _name_settings(p: Problems, t: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return a service's or group's own `topic`, `sal_project` and `switch_ttl` (absent:
    the defaults of `Service`, never the regions')."""
    out: dict[str, Any] = {}
    topic = p.get(t, f"{key}.topic", str)
    if topic is not None and topic_ok(p, f"{key}.topic", topic):
        out["topic"] = topic
    project = p.get(t, f"{key}.sal_project", str)
    if project is not None and sal_project_ok(p, f"{key}.sal_project", project):
        out["sal_project"] = project
    ttl = p.get(t, f"{key}.switch_ttl", str)
    if ttl is not None:
        from failover.promote.ttlchain import ttl_problem

        if (why := ttl_problem(ttl)) is not None:
            p.add(f"{key}.switch_ttl", why)
        else:
            out["switch_ttl"] = ttl
    return out


def _record(p: Problems, key: str, value: Any) -> str | None:
    if isinstance(value, str) and is_ip(value.rstrip(".")):
        p.add(key, f"{value!r} is an IP address, not a record's name; the name the failover "
                   "moves, e.g. \"irc.wikimedia.org\"")
        return None
    if not isinstance(value, str) or not HOSTNAME_RE.match(value) or \
            "." not in value.rstrip("."):
        p.add(key, f"{shown(value)} is not a record's fully qualified name, e.g. "
                   "\"irc.wikimedia.org\"")
        return None
    return value.rstrip(".").lower()


def _target(p: Problems, key: str, value: Any, rtype: str | None = None) -> str | None:
    if rtype is not None:
        return set_target(p, key, value, rtype)
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


def _parse_service(p: Problems, key: str, name: str, t: Mapping[str, Any],
                   default_zone: str) -> Service | None:
    p.unknown_keys(t, key, toml_keys(Service, "services"))
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
    sets = set_settings(p, t, key)
    rtype = sets.get("record_type")
    ctable = table(p, t, "candidates") if "candidates" in t else {}
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
        p.unknown_keys(body, ckey, toml_keys(Candidate))
        target = _target(p, f"{ckey}.target", body.get("target"), rtype)
        health = _parse_health(p, f"{ckey}.health", body.get("health", {"kind": "none"}))
        if target is not None:
            candidates.append(Candidate(cname, {r: target for r in records}, health))
    _distinct_targets(p, key, records, candidates, sets.get("record_type"))
    if len(records) != len(raw_records):
        return None
    return Service(name=name, records=tuple(records), candidates=tuple(candidates),
                   zone_file=zone_file or None, **_name_settings(p, t, key), **sets)


def _parse_group(p: Problems, key: str, name: str, t: Mapping[str, Any],
                 default_zone: str) -> Service | None:
    p.unknown_keys(t, key, toml_keys(Service, "groups"))
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
    members = table(p, t, "members") if "members" in t else {}
    if not members:
        p.add(f"{key}.members", "missing; one entry per record, e.g. "
                                "\"s1-master.eqiad.wmnet\" = {eqiad = \"db1163.eqiad.wmnet.\", "
                                "codfw = \"db2203.codfw.wmnet.\"}")
    sets = set_settings(p, t, key)
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
            target = _target(p, f"{mkey}.{side}", body.get(side), sets.get("record_type"))
            if target is not None:
                targets[side][record] = target
    htable = table(p, t, "health") if "health" in t else {}
    p.unknown_keys(htable, f"{key}.health", set(sides))
    candidates = [Candidate(s, targets[s], _parse_health(
        p, f"{key}.health.{s}", htable.get(s, {"kind": "none"}))) for s in sides]
    if any(len(c.targets) != len(records) for c in candidates):
        return None
    _distinct_targets(p, key, records, candidates, sets.get("record_type"))
    return Service(name=name, records=tuple(records), candidates=tuple(candidates),
                   zone_file=zone_file, group=True, **_name_settings(p, t, key), **sets)


def _distinct_targets(p: Problems, key: str, records: list[str],
                      candidates: list[Candidate], set_type: str | None = None) -> None:
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
        if len(types) > 1 and set_type is None:  # a set's members are checked one by one
            p.add(key, f"{record}: mixes {' and '.join(sorted(types))} targets; the record "
                       "can only have one type")


def _parse_health(p: Problems, key: str, t: Any) -> Health:
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
        if host is None or not (HOSTNAME_RE.match(host) or is_ip(host)
                                or host == HOST_PLACEHOLDER):
            p.add(f"{key}.host", f"{'missing' if host is None else repr(host) + ' is not a host'}"
                                 "; the host to connect to, e.g. \"irc1001.wikimedia.org\"")
        if port is None or not 0 < port < 65536:
            p.add(f"{key}.port", f"must be a TCP port (1-65535), got {port}")
        return Health(kind, host=host, port=port, timeout=timeout)
    if kind == "http":
        url = http_url(p, t, f"{key}.url", "https://idp1004.wikimedia.org/")
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
            check_stats_url(p, f"{key}.stats", stats)
        services = p.strings(t, f"{key}.services")
        if not services:
            p.add(f"{key}.services", "missing; the HAProxy services to judge, e.g. "
                                     "services = [\"mysql\"]")
        return Health(kind, stats=stats, services=services,
                      ca_bundle=p.ca_bundle(t, f"{key}.ca_bundle"))
    return Health()
