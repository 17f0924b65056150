"""The failover commit's subject and body, and reading a failover subject back.

Pure text: the run passes in what it read (the plan, the zone's name, the operator, the time).

Examples:
    >>> subject("dns", zone="wikimediacloud.org", region="eqiad1",
    ...         fqdn="openstack.eqiad1.wikimediacloud.org", to="cloudcontrol1006")
    'dns: move eqiad1 API to cloudcontrol1006'
    >>> subject_target("dns: move eqiad1 API to cloudcontrol1006", region="eqiad1",
    ...                short="openstack.eqiad1")
    'cloudcontrol1006'
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from failover import __version__

if TYPE_CHECKING:
    from failover.promote.plan import Plan

SUBJECT_MAX = 50
"""The subject length the repository's `.gitmessage` asks for."""
SUBJECT_SHAPES = ("fail over {short} to {to}", "move {region} API to {to}",
                  "{region} API to {to}")
"""The subject after `topic: `, by preference; the first that fits SUBJECT_MAX is used."""
SERVICE_SHAPES = ("fail over {short} to {to}", "move {short} to {to}", "{short} to {to}")
"""The same for a service or group: no "API" there (issue 20)."""
SUBJECT_HARD_MAX = 80
"""The longest subject commit-message-validator accepts (rule S1)."""
SUBJECT_PARSE_RE = re.compile(r"(?:[^\s:]+: )?(?:fail over |move )?(?P<what>\S+?)"
                              r"(?: API)? to (?P<to>[A-Za-z0-9-]+)")
"""Any of SUBJECT_SHAPES (and earlier versions' subjects): what moved, and where to."""


def short_name(fqdn: str, zone: str) -> str:
    """Return the name without its zone: `openstack.eqiad1` of `openstack.eqiad1.<zone>`."""
    return fqdn.removesuffix("." + zone)


def subject(topic: str | None, *, zone: str, region: str, fqdn: str, to: str,
            service: bool = False) -> str:
    """Return `topic: ...`, the first shape of SUBJECT_SHAPES (SERVICE_SHAPES for a service
    or group) that fits 50 characters.

    The topic is `[dns] subject_topic`, else the one the zone file's history uses most,
    else (None) the zone's name. When no shape fits, the shortest is used; when that is
    longer than the validator's 80, it goes without the topic, and is cut at 80 at last.
    """
    names = {"short": short_name(fqdn, zone), "region": region, "to": to}
    shapes = [f"{topic or zone}: " + shape.format(**names)
              for shape in (SERVICE_SHAPES if service else SUBJECT_SHAPES)]
    best = next((s for s in shapes if len(s) <= SUBJECT_MAX), min(shapes, key=len))
    if len(best) > SUBJECT_HARD_MAX:
        best = best.split(": ", 1)[1]
    return best if len(best) <= SUBJECT_HARD_MAX else best[:SUBJECT_HARD_MAX - 3] + "..."


def subject_target(text: str, *, region: str, short: str) -> str | None:
    """Return the controller a failover subject of this region names (any shape, any
    topic, also the `fail over SHORT to X` of earlier versions), else None."""
    m = SUBJECT_PARSE_RE.fullmatch(text)
    if m is None or m.group("what") not in (region, short):
        return None
    return m.group("to")


def body(plan: Plan, *, leaning: list[str], user: str, now: float | None = None) -> str:
    """Return the commit body: planned or emergency, reason, HAProxy health, --force, origin.

    `leaning` names the services the target serves only through the old primary (see
    `failover.promote.decide.leaning`); `now` is the time of the health reading.
    """
    r = plan.request
    was = plan.current or plan.zone_target or "?"
    if plan.emergency:
        first = (f"Emergency failover of {plan.region.fqdn} from {was} to {plan.target.name}:"
                 f" {was}'s HAProxy is not healthy.")
    else:
        first = f"Planned failover of {plan.region.fqdn} from {was} to {plan.target.name}."
    parts = [first]
    if r.reason:
        parts.append(f"Reason: {r.reason}")
    if plan.name.kind != "region":  # a service's or group's records and health checks
        from failover.promote.records import body_lines

        what = "records" if len(plan.name.records) > 1 else "record"
        parts[0] = first.replace(plan.region.fqdn, f"{plan.name.name} ({what})").replace(
            "'s HAProxy is not healthy", "'s health check failed")
        parts += body_lines(plan)
        health = plan.candidate_health.get(plan.target.name)
        if r.force and health is not None and not health.healthy:
            parts.append(f"Forced with --force by {user}: the target was not "
                         "healthy when promoted.")
        if acks := getattr(plan, "acknowledged", None):
            parts.append("\n".join(acks))
        parts.append(f"Made with failover {__version__}: failover promote {r.region} {r.target}")
        return "\n\n".join(parts)
    stamp = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(now))
    lines = [f"HAProxy health at {stamp}:"]
    for name, ctl in (plan.health.controllers.items() if plan.health else ()):
        role = " (new primary)" if name == plan.target.name else (
            " (current primary)" if name == plan.current else "")
        up = sum(1 for s in ctl.services.values() if s.healthy)
        state = (f"healthy, {up}/{len(ctl.services)} services up" if ctl.healthy else
                 f"UNHEALTHY ({ctl.error or 'failing: ' + ', '.join(ctl.failing)})")
        lines.append(f"- {name}{role}: {state}")
    parts.append("\n".join(lines))
    if r.force and plan.health and not plan.health.controllers[plan.target.name].healthy:
        parts.append(f"Forced with --force by {user}: the target was not "
                     "healthy when promoted.")
    elif r.force and not plan.emergency and leaning:
        parts.append(f"Forced with --force by {user}: without {plan.current}'s "
                     f"own servers, the target had no usable server for: "
                     f"{', '.join(leaning)}.")
    if acks := getattr(plan, "acknowledged", None):
        parts.append("\n".join(acks))
    parts.append(f"Made with failover {__version__}: failover promote {r.region} {r.target}")
    return "\n\n".join(parts)
