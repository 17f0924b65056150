"""Render `failover status`: per region where the name points, then one line per controller.

    eqiad1  openstack.eqiad1.wikimediacloud.org -> cloudcontrol1003 (3/3 nameservers agree; zone file agrees)
      primary  cloudcontrol1003  healthy  8/8 services UP
      standby  cloudcontrol1004  healthy  8/8 services UP
"""  # noqa: E501

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from rich.markup import escape

from failover.check import said_nothing
from failover.render import human_console, print_json
from failover.render.health import verdict_markup
from failover.status import RegionStatus


def dns_phrase(status: RegionStatus) -> str:
    """Return what the nameservers say: `3/3 nameservers agree`, who disagrees, or the error."""
    if status.dns is None:
        return f"DNS: {status.dns_error}"
    servers = status.dns.servers
    answered = [a for a in servers if not said_nothing(a)]
    silent = len(servers) - len(answered)
    if not answered:
        return "no nameserver answered" if servers else "no nameserver configured"
    if status.primary is not None:
        return f"{len(servers)}/{len(servers)} nameservers agree"
    says = Counter(a.controller or a.answer or a.verdict.upper() for a in answered)
    text = ", ".join(f"{n} {'says' if n == 1 else 'say'} {who}" for who, n in says.items())
    if silent:
        text += f", {silent} did not answer"
    if len(says) == 1:
        return f"{len(answered)}/{len(servers)} nameservers answer: {text}"
    return f"nameservers disagree: {text}"


def zone_phrase(status: RegionStatus) -> str:
    """Return what the checkout's zone file says, compared with the nameservers."""
    zone = status.zone
    if zone.error is not None:
        return f"zone: {zone.error}"
    where = f"zone at {zone.source}" if zone.source and zone.source != "working tree" \
        else "zone file"
    if zone.source not in (None, "working tree") and not zone.source.startswith("Gerrit "):
        where += f" ({fetched_phrase(zone.age_seconds)})"  # as last fetched: say how old
    if zone.controller is None:
        return f"{where} says {zone.target} (no controller of {status.region.name})"
    if zone.controller == status.primary:
        return f"{where} agrees"
    return f"{where} says {zone.controller}"


def fetched_phrase(age: float | None) -> str:
    """Return how old a remote-tracking branch is: `fetched 5m ago`, `fetch time unknown`."""
    if age is None:
        return "fetch time unknown"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if age >= size:
            return f"fetched {int(age // size)}{unit} ago"
    return f"fetched {int(age)}s ago"


def header(status: RegionStatus) -> str:
    """Return the region's first line: name, fqdn, where it points, DNS and zone agreement."""
    points = status.primary or "?"
    return (f"{status.region.name}  {status.region.fqdn} -> {points} "
            f"({dns_phrase(status)}; {zone_phrase(status)})")


def region_entry(status: RegionStatus) -> dict[str, Any]:
    """Return one region's `failover status --json` entry."""
    dns: dict[str, Any] = {"controller": None, "agree": False, "servers": [],
                           "error": status.dns_error}
    if status.dns is not None:
        doc = status.dns.to_dict()
        dns.update(controller=doc["controller"], agree=doc["agree"], servers=doc["servers"])
    return {
        "fqdn": status.region.fqdn,
        "primary": status.primary,
        "dns": dns,
        "zone": status.zone.to_dict(),
        "suggested": suggested(status),
        "controllers": {
            name: {"reachable": c.reachable, "healthy": c.healthy, "error": c.error,
                   "services_healthy": len(c.services) - len(c.failing),
                   "services_total": len(c.services)}
            for name, c in status.health.controllers.items()
        },
    }


def suggested(status: RegionStatus) -> str | None:
    """Return the promote to the standby with `--from` filled in (healthy standbys first)."""
    from failover.promote.others import suggested_promote

    ctls = status.health.controllers
    others = sorted(ctls, key=lambda n: not ctls[n].healthy)
    return suggested_promote(status.region.name, served=status.primary,
                             zone=status.zone.controller, others=others)


def status_document(statuses: Mapping[str, RegionStatus]) -> dict[str, Any]:
    """Return the `failover status --json` document: {"regions": {name: entry}}."""
    return {"regions": {name: region_entry(s) for name, s in statuses.items()}}


def show_status(statuses: Mapping[str, RegionStatus], *, as_json: bool) -> None:
    """Print each region's header and its controllers' verdicts (or the JSON document)."""
    if as_json:
        print_json(status_document(statuses))
        return
    console = human_console(as_json)
    for status in statuses.values():
        name, _, rest = header(status).partition("  ")
        console.print(f"[bold]{escape(name)}[/]  {escape(rest)}", highlight=False,
                      soft_wrap=True)
        for controller in status.health.controllers.values():
            if status.primary is None:
                role = ""
            else:
                role = "primary  " if controller.name == status.primary else "standby  "
            console.print(f"  {role}{verdict_markup(controller)}", highlight=False,
                          soft_wrap=True)
        if command := suggested(status):  # the state seen, for promote --from (issue 24)
            console.print(f"  next: {escape(command)}", highlight=False, soft_wrap=True)
