"""Rich views of a DnsReport: the per-server table, a summary line, live polling progress,
and `failover verify` for every name."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from failover.dnscheck import DnsReport, ServerAnswer
    from failover.model import FailoverName
    from failover.verify import Verified

VERDICT_STYLES = {"matches": "green", "stale": "yellow", "differs": "yellow"}
"""Colour per verdict; every other verdict (wrong, timeout, refused, ...) is red."""


def verdict_text(answer: ServerAnswer) -> Text:
    """Return the verdict coloured: green matches, yellow stale/differs, red anything else."""
    return Text(answer.verdict, style=VERDICT_STYLES.get(answer.verdict, "bold red"))


def report_table(report: DnsReport, *, title: str | None = None) -> Table:
    """Return the table: server, answer, controller, TTL, AA, rtt, verdict (and recursors)."""
    expected = f", expected {report.expected}" if report.expected else ""
    table = Table(title=title or f"{report.fqdn}{expected}", title_justify="left")
    serials = bool(report.hosts)
    columns = ("server", "answer", "controller", "TTL", "AA", "rtt", *(
        ("serial",) if serials else ()), "verdict")
    for column in columns:
        table.add_column(column, justify="right" if column in ("TTL", "rtt") else "left",
                         overflow="fold")
    rows = [*report.servers, *report.recursors]
    for index, answer in enumerate(rows):
        recursor = index >= len(report.servers)
        role = "recursor" if recursor else (
            "authdns host" if answer.server.role == "authdns host" else "")
        serial = ("-" if answer.serial is None else str(answer.serial),) if serials else ()
        table.add_row(
            escape(str(answer.server)) + (f" [dim]({role})[/]" if role else ""),
            escape(_answer_cell(answer)),
            escape(answer.controller or "-"),
            "-" if answer.ttl is None else f"{answer.ttl}s",
            {True: "yes", False: "[red]no[/]", None: "-"}[answer.aa] if not recursor else "-",
            "-" if answer.rtt_ms is None else f"{answer.rtt_ms:.1f} ms"
            + (" [dim](tcp)[/]" if answer.tcp else ""),
            *serial,
            Text.assemble(verdict_text(answer), _detail(answer)),
        )
    return table


def _answer_cell(answer: ServerAnswer) -> str:
    if not answer.records:
        return "-"
    if len(answer.records) > 3:
        return f"{', '.join(answer.records[:2])}, ... ({len(answer.records)} addresses)"
    return answer.answer or "-"


def _detail(answer: ServerAnswer) -> str:
    parts = []
    if answer.detail and answer.verdict not in ("matches",):
        parts.append(answer.detail)
    if answer.fresh_by is not None:
        parts.append(f"new answer by {answer.fresh_by:%H:%M:%S} UTC at the latest")
    return f" ({'; '.join(parts)})" if parts else ""


def summary(report: DnsReport) -> str:
    """Return one line: whether the servers agree, and on which controller."""
    total = len(report.servers)
    if report.agree:
        return f"all {total} nameservers agree: {report.fqdn} points at {report.controller}"
    most = next((a.controller for a in report.servers if a.ok), None)
    want = report.expected or most or "one controller"
    return f"{report.matching} of {total} nameservers answer {want}; they do not all agree"


def hosts_line(report: DnsReport) -> str | None:
    """Return the authdns hosts in one line (how many match, serials, who does not answer),
    or None when none is configured."""
    doc = report.hosts_summary()
    if not doc["asked"]:
        return None
    want = report.expected or report.controller or "one answer"
    serials = ", ".join(str(s) for s in doc["serials"]) or "-"
    line = f"{doc['matching']}/{doc['asked']} authdns hosts answer {want} (serial {serials})"
    if doc["not_answering"]:
        line += f"; not answering: {', '.join(doc['not_answering'])}"
    return line


def print_report(console: Console, report: DnsReport) -> None:
    """Print the table, the summary line and the authdns hosts' line to `console`."""
    console.print(report_table(report))
    style = "green" if report.agree else "bold red"
    console.print(f"[{style}]{escape(summary(report))}[/]", highlight=False)
    if (line := hosts_line(report)) is not None:
        console.print(f"[{style}]{escape(line)}[/]", highlight=False)


def round_line(report: DnsReport, number: int, next_pause: float) -> str:
    """Return the one-line form of a polling round, for a stream that is not a terminal."""
    states = ", ".join(f"{a.server}={a.verdict}" for a in report.servers)
    tail = f"retrying in {next_pause:.1f}s" if next_pause > 0 else "done"
    return (f"[round {number}] {report.matching}/{len(report.servers)} answer "
            f"{report.expected}: {states}; {tail}")


class RoundProgress:
    """Shows polling rounds: a live table on a terminal, else one line per round.

    Use as a context manager and pass `update` as `on_round` to wait_for_agreement.
    """

    def __init__(self, console: Console, fqdn: str, timeout: float) -> None:
        self.console = console
        self.fqdn = fqdn
        self.timeout = timeout
        self.live: Live | None = None

    def __enter__(self) -> RoundProgress:
        if self.console.is_terminal:
            self.live = Live(Text(f"asking the nameservers for {self.fqdn} ..."),
                             console=self.console, transient=True, refresh_per_second=8)
            self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.live is not None:
            self.live.__exit__(kind, exc, tb)
            self.live = None

    def update(self, report: DnsReport, number: int, next_pause: float) -> None:
        """Show round `number`'s report (the on_round callback)."""
        if self.live is None:
            self.console.print(escape(round_line(report, number, next_pause)), highlight=False,
                               soft_wrap=True)
            return
        tail = (f"retrying in {next_pause:.1f}s (giving up after {self.timeout:g}s)"
                if next_pause > 0 else "done")
        status = f"round {number}: {report.matching}/{len(report.servers)} match; {tail}"
        self.live.update(Group(report_table(report), Text(status, style="dim")))


def show_verify(name: FailoverName, expect: str | None, done: Verified, *,
                as_json: bool) -> list[str]:
    """Print `failover verify NAME`: a region's report (its JSON: the report and
    `target_problem`), a service's or group's records (`verify_document`); then what is
    wrong with a judged target. Return those problems, one line each."""
    from failover.render import human_console, print_json

    console = human_console(as_json)
    problems = [f"{cand}'s target {name.records[0].target(cand)} {p}"
                if name.region is not None else
                f"{fqdn}: {cand}'s target {name.record(fqdn).target(cand)} {p}"
                for cand, found in done.problems.items() for fqdn, p in found.items()]
    if name.region is not None:
        report = done.reports[0]
        if as_json:
            print_json({**report.to_dict(), "target_problem": problems[0] if problems else None})
        print_report(console, report)
    else:
        if as_json:
            print_json(verify_document(name, expect, done.reports, problems))
        if len(done.reports) > PER_RECORD_TABLES:
            show_servers(console, done.reports)
        else:
            for report in done.reports:
                print_report(console, report)
    for problem in problems:
        console.print(f"[bold red]{escape(problem)}[/]", highlight=False)
    return problems


def verify_document(name: FailoverName, expect: str | None, reports: Sequence[DnsReport],
                    problems: Sequence[str] = ()) -> dict[str, Any]:
    """Return `failover verify NAME --json` of a service or group: {"service", "expected",
    "agree", "records", "target_problems"} (what is wrong with the judged targets)."""
    return {"service": name.name, "expected": expect,
            "agree": all(r.agree and (expect is None or r.controller == expect)
                         for r in reports),
            "records": [{"record": r.fqdn, **r.to_dict()} for r in reports],
            "target_problems": list(problems)}


PER_RECORD_TABLES = 3
"""Up to this many records, one table per record; more (a switchover's group), one row per
server over every record (26 tables of 17 rows would bury the one that matters)."""


def show_servers(console: Any, reports: Sequence[DnsReport]) -> None:
    """Print one row per server over every record (records matching, serial, slowest rtt,
    the first record it does not match), then a line per record that does not agree."""
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
