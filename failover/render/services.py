"""Render `status`, `health` and `verify` of a `[services.*]`/`[groups.*]` name.

    irc  irc.wikimedia.org -> irc1001 (2/2 nameservers agree; zone at Gerrit master agrees)
      primary  irc1001  healthy  tcp 127.0.0.1:6667: connected to 127.0.0.1:6667
      standby  irc1002  healthy  tcp 127.0.0.1:6668: connected to 127.0.0.1:6668

A group has one line per record after its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from failover.config import Service
from failover.dnscheck import DnsReport
from failover.health import HealthResult
from failover.render import human_console, print_json
from failover.service_status import RecordStatus, ServiceStatus


def record_phrase(rec: RecordStatus) -> str:
    """Return `FQDN -> CANDIDATE (nameservers; zone)` for one record."""
    from failover.config import Region
    from failover.haproxy import RegionHealth
    from failover.render.status import dns_phrase, zone_phrase
    from failover.status import RegionStatus

    as_region = RegionStatus(Region(name=rec.record, fqdn=rec.record, services=(),
                                    controllers=()), RegionHealth(rec.record, {}),
                             rec.dns, rec.dns_error, rec.zone)
    return (f"{rec.record} -> {rec.candidate or '?'} "
            f"({dns_phrase(as_region)}; {zone_phrase(as_region)})")


def health_line(h: HealthResult) -> str:
    """Return `NAME  healthy  CHECKED: DETAIL` with Rich markup."""
    colour, word = ("green", "healthy") if h.healthy else ("bold red", "UNHEALTHY")
    return f"[bold]{escape(h.name)}[/]  [{colour}]{word}[/]  {escape(h.checked)}: " \
           f"{escape(h.detail)}"


def show_service_status(statuses: Sequence[ServiceStatus]) -> None:
    """Print each service: its record line(s), then a verdict per candidate."""
    console = human_console(False)
    for st in statuses:
        if len(st.records) == 1:
            console.print(f"[bold]{escape(st.service.name)}[/]  "
                          f"{escape(record_phrase(st.records[0]))}", highlight=False,
                          soft_wrap=True)
        else:
            kind = "group" if st.service.group else "service"
            console.print(f"[bold]{escape(st.service.name)}[/]  {kind} of "
                          f"{len(st.records)} records -> {escape(st.primary or '?')}",
                          highlight=False, soft_wrap=True)
            for rec in st.records:
                console.print(f"  {escape(record_phrase(rec))}", highlight=False,
                              soft_wrap=True)
        for h in st.health.values():
            role = "" if st.primary is None else (
                "primary  " if h.name == st.primary else "standby  ")
            console.print(f"  {role}{health_line(h)}", highlight=False, soft_wrap=True)


def services_document(statuses: Sequence[ServiceStatus]) -> dict[str, Any]:
    """Return the "services" part of `failover status --json`: {name: entry}."""
    return {st.service.name: st.to_dict() for st in statuses}


def health_document(svc: Service, health: Mapping[str, HealthResult]) -> dict[str, Any]:
    """Return `failover health NAME --json`: {"service", "group", "healthy", "candidates"}."""
    return {"service": svc.name, "group": svc.group,
            "healthy": all(h.healthy for h in health.values()),
            "candidates": {n: h.to_dict() for n, h in health.items()}}


def show_service_health(svc: Service, health: Mapping[str, HealthResult], *,
                        as_json: bool) -> None:
    """Print the candidates' health: the JSON document, or one line per candidate."""
    if as_json:
        print_json(health_document(svc, health))
        return
    console = human_console(False)
    table = Table(title=f"health: {svc.name}", title_justify="left")
    for col in ("candidate" if not svc.group else "side", "verdict", "checked", "detail", "ms"):
        table.add_column(col, overflow="fold")
    for h in health.values():
        table.add_row(escape(h.name), "[green]healthy[/]" if h.healthy else
                      "[bold red]UNHEALTHY[/]", escape(h.checked), escape(h.detail),
                      f"{h.ms:.1f}")
    console.print(table)


def verify_document(svc: Service, expect: str | None, reports: Sequence[DnsReport],
                    problems: Sequence[str] = ()) -> dict[str, Any]:
    """Return `failover verify NAME --json`: {"service", "expected", "agree", "records",
    "target_problems"} (what is wrong with the answered candidates' targets)."""
    return {"service": svc.name, "expected": expect,
            "agree": all(r.agree and (expect is None or r.controller == expect)
                         for r in reports),
            "records": [{"record": r.fqdn, **r.to_dict()} for r in reports],
            "target_problems": list(problems)}


def show_verify(svc: Service, expect: str | None, reports: Sequence[DnsReport], *,
                as_json: bool, problems: Sequence[str] = ()) -> None:
    """Print every record's nameserver table and summary (or the JSON document), then what
    is wrong with a target."""
    from failover.render.dns import print_report

    if as_json:
        print_json(verify_document(svc, expect, reports, problems))
    console = human_console(as_json)
    if len(reports) > PER_RECORD_TABLES:
        show_servers(console, reports)
    else:
        for report in reports:
            print_report(console, report)
    for problem in problems:
        console.print(f"[bold red]{escape(problem)}[/]", highlight=False)


PER_RECORD_TABLES = 3
"""Up to this many records, one table per record; more (a switchover's group), one row per
server over every record (26 tables of 17 rows would bury the one that matters)."""


def show_servers(console: Any, reports: Sequence[DnsReport]) -> None:
    """Print one row per server over every record (records matching, serial, slowest rtt,
    the first record it does not match), then a line per record that does not agree."""
    from rich.text import Text

    from failover.render.dns import hosts_line, summary, verdict_text

    table = Table(title=f"{len(reports)} records", title_justify="left")
    for column in ("server", "records matching", "serial", "rtt (max)", "verdict"):
        table.add_column(column, justify="right" if column.startswith("rtt") else "left")
    for index, first in enumerate(reports[0].servers):
        answers = [r.servers[index] for r in reports]
        bad = next(((r.fqdn, a) for r, a in zip(reports, answers, strict=True) if not a.ok),
                   None)
        rtts = [a.rtt_ms for a in answers if a.rtt_ms is not None]
        role = " [dim](authdns host)[/]" if first.server.role == "authdns host" else ""
        table.add_row(escape(str(first.server)) + role,
                      f"{sum(a.ok for a in answers)}/{len(answers)}",
                      "-" if first.serial is None else str(first.serial),
                      f"{max(rtts):.1f} ms" if rtts else "-",
                      verdict_text(first) if bad is None else Text.assemble(
                          verdict_text(bad[1]), f" ({bad[0]}: {bad[1].detail})"))
    console.print(table)
    for report in reports:
        style = "green" if report.agree else "bold red"
        if not report.agree:
            console.print(f"[{style}]{escape(summary(report))}[/]", highlight=False)
    agree = all(r.agree for r in reports)
    style = "green" if agree else "bold red"
    if agree:
        console.print(f"[green]all {len(reports[0].servers)} nameservers agree on every one "
                      f"of the {len(reports)} records[/]", highlight=False)
    if (line := hosts_line(reports[0])) is not None:
        console.print(f"[{style}]{escape(line)}[/]", highlight=False)
