"""Render `failover status` for every name: where its records point, then a line per candidate.

    eqiad1  openstack.eqiad1.wikimediacloud.org -> cloudcontrol1003 (3/3 nameservers agree; zone file agrees)
      primary  cloudcontrol1003  healthy  8/8 services UP
      standby  cloudcontrol1004  healthy  8/8 services UP
    irc  irc.wikimedia.org -> irc1001 (3/3 nameservers agree; zone file agrees)
      primary  irc1001  healthy  tcp irc1001.wikimedia.org:6667: connected to ...

One NameStatus (`failover.status`) for every kind; the JSON keeps each kind's document: the
regions under "regions" (their controllers' HAProxy), the services and groups under
"services" (each record, each candidate's verdict).
"""  # noqa: E501

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from failover.check_judge import said_nothing
from failover.durations import ago
from failover.render import human_console, print_json
from failover.render.health import verdict_markup
from failover.status import NameStatus, RecordStatus

if TYPE_CHECKING:
    from failover.health import HealthResult


def dns_phrase(status: RecordStatus) -> str:
    """Return what the nameservers say: `3/3 nameservers agree`, who disagrees, or the error."""
    if status.dns is None:
        return f"DNS: {status.dns_error}"
    servers = status.dns.servers
    answered = [a for a in servers if not said_nothing(a)]
    silent = len(servers) - len(answered)
    if not answered:
        return "no nameserver answered" if servers else "no nameserver configured"
    if status.candidate is not None:
        return f"{len(servers)}/{len(servers)} nameservers agree"
    says = Counter(a.controller or a.answer or a.verdict.upper() for a in answered)
    text = ", ".join(f"{n} {'says' if n == 1 else 'say'} {who}" for who, n in says.items())
    if silent:
        text += f", {silent} did not answer"
    if len(says) == 1:
        return f"{len(answered)}/{len(servers)} nameservers answer: {text}"
    return f"nameservers disagree: {text}"


def zone_phrase(status: RecordStatus, owner: str) -> str:
    """Return what the checkout's zone file says, compared with the nameservers (`owner`:
    what a target that is no candidate's is said to be no controller of)."""
    zone = status.zone
    if zone.error is not None:
        return f"zone: {zone.error}"
    where = f"zone at {zone.source}" if zone.source and zone.source != "working tree" \
        else "zone file"
    if zone.source not in (None, "working tree") and not zone.source.startswith("Gerrit "):
        where += f" ({fetched_phrase(zone.age_seconds)})"  # as last fetched: say how old
    if zone.controller is None:
        return f"{where} says {zone.target} (no controller of {owner})"
    if zone.controller == status.candidate:
        return f"{where} agrees"
    return f"{where} says {zone.controller}"


def fetched_phrase(age: float | None) -> str:
    """Return how old a remote-tracking branch is: `fetched 5m30s ago`, `fetch time unknown`
    (the age as every age the tool says, `failover.durations.ago`)."""
    return "fetch time unknown" if age is None else f"fetched {ago(age)}"


def header(status: NameStatus) -> str:
    """Return a region's first line: name, fqdn, where it points, DNS and zone agreement."""
    points = status.primary or "?"
    rec = status.records[0]
    return (f"{status.name.name}  {rec.record.fqdn} -> {points} "
            f"({dns_phrase(rec)}; {zone_phrase(rec, status.name.name)})")


def record_phrase(rec: RecordStatus) -> str:
    """Return a service's `FQDN -> CANDIDATE (nameservers; zone)` for one record."""
    return (f"{rec.record.fqdn} -> {rec.candidate or '?'} "
            f"({dns_phrase(rec)}; {zone_phrase(rec, rec.record.fqdn)})")


def region_entry(status: NameStatus) -> dict[str, Any]:
    """Return one region's `failover status --json` entry."""
    rec = status.records[0]
    controllers = status.haproxy.controllers if status.haproxy else {}
    return {
        "fqdn": rec.record.fqdn,
        "primary": status.primary,
        "dns": rec.dns_dict(),
        "zone": rec.zone.to_dict(),
        "suggested": suggested(status),
        "controllers": {
            name: {"reachable": c.reachable, "healthy": c.healthy, "error": c.error,
                   "services_healthy": len(c.services) - len(c.failing),
                   "services_total": len(c.services)}
            for name, c in controllers.items()
        },
    }


def service_entry(status: NameStatus) -> dict[str, Any]:
    """Return a service's or group's entry (under "services") of `failover status --json`."""
    svc = status.name.service
    return {"group": status.name.kind == "group", "zone_file": svc.zone_file if svc else None,
            "primary": status.primary,
            "records": [{"record": r.record.fqdn, "candidate": r.candidate, "dns": r.dns_dict(),
                         "zone": r.zone.to_dict()} for r in status.records],
            "candidates": {n: h.to_dict() for n, h in status.health.items()},
            "suggested": suggested(status)}


def suggested(status: NameStatus) -> str | None:
    """Return the promote to the first healthy standby with `--from` filled in, or None."""
    from failover.promote.others import suggested_promote

    return suggested_promote(status.name.name, **_seen(status))


def _seen(status: NameStatus) -> dict[str, Any]:
    """Return the state the suggestion is made from: served, zone, each candidate's health."""
    return {"served": status.primary, "zone": status.records[0].zone.controller,
            "healthy": {n: h.healthy for n, h in status.health.items()}}


def _print_next(console: Any, status: NameStatus) -> None:
    """Print `next: COMMAND` (the state seen, for promote --from), or that none is healthy."""
    from failover.promote.others import next_step

    if text := next_step(status.name.name, **_seen(status)):
        console.print(f"  next: {escape(text)}", highlight=False, soft_wrap=True)


def status_document(statuses: Mapping[str, NameStatus], *,
                    services: bool = False) -> dict[str, Any]:
    """Return the `failover status --json` document: {"regions": {name: entry}}, and
    "services" ({name: entry}) when `services` (a service asked for, or configured)."""
    doc: dict[str, Any] = {"regions": {n: region_entry(s) for n, s in statuses.items()
                                       if s.name.kind == "region"}}
    if services:
        doc["services"] = {n: service_entry(s) for n, s in statuses.items()
                           if s.name.kind != "region"}
    return doc


def show_status(statuses: Mapping[str, NameStatus], *, as_json: bool,
                services: bool = False) -> None:
    """Print each name's header and its candidates' verdicts (or the JSON document)."""
    if as_json:
        print_json(status_document(statuses, services=services))
        return
    console = human_console(as_json)
    for status in statuses.values():
        if status.name.kind == "region":
            _show_region(console, status)
        else:
            _show_service(console, status)


def _role(status: NameStatus, name: str) -> str:
    if status.primary is None:
        return ""
    return "primary  " if name == status.primary else "standby  "


def _show_region(console: Any, status: NameStatus) -> None:
    name, _, rest = header(status).partition("  ")
    console.print(f"[bold]{escape(name)}[/]  {escape(rest)}", highlight=False, soft_wrap=True)
    for controller in (status.haproxy.controllers.values() if status.haproxy else ()):
        console.print(f"  {_role(status, controller.name)}{verdict_markup(controller)}",
                      highlight=False, soft_wrap=True)
    _print_next(console, status)


def _show_service(console: Any, status: NameStatus) -> None:
    name = status.name
    if len(status.records) == 1:
        console.print(f"[bold]{escape(name.name)}[/]  {escape(record_phrase(status.records[0]))}",
                      highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold]{escape(name.name)}[/]  {name.kind} of {len(status.records)} "
                      f"records -> {escape(status.primary or '?')}", highlight=False,
                      soft_wrap=True)
        for rec in status.records:
            console.print(f"  {escape(record_phrase(rec))}", highlight=False, soft_wrap=True)
    for h in status.health.values():
        console.print(f"  {_role(status, h.name)}{health_line(h)}", highlight=False,
                      soft_wrap=True)
    _print_next(console, status)


def health_line(h: HealthResult) -> str:
    """Return `NAME  healthy  CHECKED: DETAIL` with Rich markup."""
    colour, word = ("green", "healthy") if h.healthy else ("bold red", "UNHEALTHY")
    return f"[bold]{escape(h.name)}[/]  [{colour}]{word}[/]  {escape(h.checked)}: " \
           f"{escape(h.detail)}"

