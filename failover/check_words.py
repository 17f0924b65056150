"""The words of the check (`failover.check_judge`) for each kind of name.

`Words` is how a service's or group's check reads and speaks; `RegionWords` a region's, whose
status line, perfdata and long output are a contract (NRPE configs, dashboards, runbooks):
its one record read per server, its controllers' HAProxy per service. `words_for` picks them
by the name's kind; the judgement's steps are the same for both.

Examples:
    >>> words_for(name_of(cfg, "eqiad1")).late_health("cloudcontrol1005")  # doctest: +SKIP
    'HAProxy stats of cloudcontrol1005'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from failover.check_judge import (
    CRITICAL,
    OK,
    WARNING,
    Part,
    PerfDatum,
    Reading,
    RecordView,
    said_nothing,
    short_name,
)

if TYPE_CHECKING:
    from failover.dnscheck import ServerAnswer
    from failover.haproxy import ControllerHealth
    from failover.model import FailoverName, Record


class Words:
    """How a service's or group's check reads and speaks (`RegionWords`: a region's)."""

    alone_when_unanswered = False
    """True: when no nameserver answered, the result says only that (nothing else judged)."""

    def late_dns(self, record: str) -> str:
        """Return how a record's nameservers are named when they did not answer in time."""
        return f"the nameservers for {record}"

    def late_health(self, candidate: str) -> str:
        """Return how a candidate's health read is named when it did not answer in time."""
        return f"the health check of {candidate}"

    def says(self, a: ServerAnswer) -> str:
        """Return what an answer points to: a candidate, else the record, else the verdict."""
        return a.controller or a.answer or a.verdict

    def points_at(self, name: FailoverName, says: Counter[str]) -> str | None:
        """Return the candidate a record points at: what most servers say, if a candidate."""
        top = says.most_common(1)[0][0]
        return top if top in name.candidate_names else None

    def log_key(self, name: FailoverName, record: str) -> str:
        """Return the state file's key for a disagreement on `record`."""
        return f"{name.name} {record}"

    def server_line(self, record: str, a: ServerAnswer) -> str:
        """Return the long output's line for one server's answer on `record`."""
        return f"{record} at {answer_line(a)}"

    def health_line(self, reading: Reading, candidate: str) -> str:
        """Return the long output's line for one candidate's health."""
        h = reading.health[candidate]
        return (f"{candidate}: {'healthy' if h.healthy else 'UNHEALTHY'} ({h.checked}: "
                f"{h.detail}) in {h.ms:.1f} ms")

    def unanswered(self, view: RecordView) -> str:
        """Return the words for a record no nameserver answered."""
        return f"no nameserver answered for {view.record.fqdn}"

    def disagree(self, view: RecordView, age: float, grace: float) -> str:
        """Return the words for the nameservers disagreeing on a record for `age` seconds."""
        return (f"nameservers disagree on {view.record.fqdn} for {age:.0f}s (grace {grace:g}s): "
                + ", ".join(f"{n} say {w}" for w, n in view.says.items()))

    def some_silent(self, view: RecordView) -> str:
        """Return the words for some (not all) nameservers saying nothing of a record."""
        total = len(view.report.servers)
        return f"{len(view.silent)} of {total} nameservers did not answer for {view.record.fqdn}"

    def no_candidate(self, name: FailoverName, view: RecordView) -> str:
        """Return the words for a record pointing at no candidate of the name."""
        return (f"{view.record.fqdn} -> {view.says.most_common(1)[0][0]}: no known "
                f"{'side' if name.kind == 'group' else 'candidate'} "
                f"(known: {', '.join(name.candidate_names)})")

    def candidates(self, name: FailoverName, reading: Reading, views: Sequence[RecordView],
                   primary: str | None) -> tuple[list[Part], list[Part]]:
        """Return the parts that lead the status line (the primary's health, before the
        records' findings) and the others (each candidate's health, then its target's)."""
        lead: list[Part] = []
        parts: list[Part] = []
        for cand, h in reading.health.items():
            if cand == primary:
                lead.append((OK if h.healthy else CRITICAL, f"{name.name} -> {cand}, "
                             f"{'healthy' if h.healthy else 'UNHEALTHY'} ({h.detail})"))
            elif not h.healthy:
                parts.append((WARNING, f"standby {cand} UNHEALTHY ({h.detail})"))
            else:
                parts.append((OK, f"standby {cand} healthy"))
            if problems := reading.targets.get(cand):
                text = "; ".join(f"{fqdn}: {cand}'s target {name.record(fqdn).target(cand)} {p}"
                                 for fqdn, p in problems.items())
                parts.append((CRITICAL, text) if cand == primary
                             else (WARNING, f"standby {text}"))
        return lead, parts

    def perfdata(self, reading: Reading, views: Sequence[RecordView],
                 pointing: Counter[str]) -> list[PerfDatum]:
        """Return the perfdata before the disagreement's age: health, RTT, records."""
        perf = [PerfDatum(f"{n}_healthy", int(h.healthy), minimum=0, maximum=1)
                for n, h in reading.health.items()]
        perf.append(rtt_max(reading))
        perf.append(PerfDatum("records_pointing", sum(pointing.values()), minimum=0,
                              maximum=len(views)))
        return perf


class RegionWords(Words):
    """A region's check: its one record read per server, its controllers' HAProxy (a contract).

    The record points at the known controller most servers say (config order on ties), even
    when others say something else; a controller some server points at is serving; a tie
    names who says what. Nobody answering is the whole result (an outage, as `check_dig`).
    """

    alone_when_unanswered = True

    def late_dns(self, record: str) -> str:
        """Return "the nameservers" (a region has one record)."""
        return "the nameservers"

    def late_health(self, candidate: str) -> str:
        """Return "HAProxy stats of <controller>"."""
        return f"HAProxy stats of {candidate}"

    def says(self, a: ServerAnswer) -> str:
        """Return a controller name, else the record, else NXDOMAIN or "no record"."""
        if a.controller:
            return a.controller
        if a.records:
            return a.answer or "?"
        return "NXDOMAIN" if a.verdict == "nxdomain" else "no record"

    def points_at(self, name: FailoverName, says: Counter[str]) -> str | None:
        """Return the known controller most servers say (config order on ties), or None."""
        named = [c for c in name.candidate_names if c in says]
        return max(named, key=lambda c: says[c]) if named else None

    def log_key(self, name: FailoverName, record: str) -> str:
        """Return the region's name (the state file's key since the first check)."""
        return name.name

    def server_line(self, record: str, a: ServerAnswer) -> str:
        """Return `nameserver S: <answer> (<controller>) <verdict> <rtt>`."""
        return f"nameserver {answer_line(a)}"

    def health_line(self, reading: Reading, candidate: str) -> str:
        """Return `<controller>: N/M services healthy[; failing: ...], stats read in X ms`."""
        c = reading.haproxy[candidate]
        total = len(c.services)
        if not c.reachable:
            text = f"unreachable: {c.error}"
        else:
            failing = f"; failing: {', '.join(c.failing)}" if c.failing else ""
            text = f"{total - len(c.failing)}/{total} services healthy{failing}"
        return f"{c.name}: {text}, stats read in {c.fetch_ms:.1f} ms"

    def unanswered(self, view: RecordView) -> str:
        """Return the words for nobody answering, naming each server's verdict."""
        reasons = ", ".join(f"{a.server} {a.verdict}" for a in view.silent) or "none configured"
        return f"no nameserver answered for {view.record.fqdn} ({reasons})"

    def disagree(self, view: RecordView, age: float, grace: float) -> str:
        """Return the words for a disagreement, naming what each server says."""
        who = ", ".join(f"{a.server} -> {self.says(a)}" for a in view.answered)
        return f"nameservers disagree for {age:.0f}s (grace {grace:g}s): {who}"

    def some_silent(self, view: RecordView) -> str:
        """Return the words for some servers saying nothing, naming them."""
        return (f"{len(view.silent)} of {len(view.report.servers)} nameservers did not answer "
                f"({', '.join(str(a.server) for a in view.silent)})")

    def no_candidate(self, name: FailoverName, view: RecordView) -> str:
        """Return the words for no server pointing at a controller."""
        return (f"{short_name(view.record.fqdn)} -> {' / '.join(view.says)}: no known "
                f"controller (known: {', '.join(name.candidate_names)})")

    def candidates(self, name: FailoverName, reading: Reading, views: Sequence[RecordView],
                   primary: str | None) -> tuple[list[Part], list[Part]]:
        """Return no lead (the record's findings come first) and each controller's parts, the
        primary first; none when no server points at a known one (that part says it all)."""
        if primary is None:
            return [], []
        view = views[0]
        tied = [c for c in name.candidate_names if view.says[c] == view.says[primary]]
        said = ({c: [str(a.server) for a in view.answered if self.says(a) == c] for c in tied}
                if len(tied) > 1 else {})
        parts: list[Part] = []
        for cand in sorted(reading.haproxy, key=lambda n: n != primary):
            serving = cand in view.says
            parts.append(_controller_part(view.record, reading.haproxy[cand], primary,
                                          serving=serving, said_by=said.get(cand)))
            for problem in reading.targets.get(cand, {}).values():
                target = view.record.target(cand)
                parts.append((CRITICAL, f"{short_name(view.record.fqdn)} -> {target} which "
                                        f"{problem}") if serving else
                             (WARNING, f"standby {cand}'s target {target} {problem}"))
        return [], parts

    def perfdata(self, reading: Reading, views: Sequence[RecordView],
                 pointing: Counter[str]) -> list[PerfDatum]:
        """Return services up per controller, DNS RTT, servers answering, stats read times."""
        perf: list[PerfDatum] = []
        for name, c in reading.haproxy.items():
            total = len(c.services)
            perf.append(PerfDatum(f"{name}_services_up", total - len(c.failing) if c.reachable
                                  else None, minimum=0, maximum=total))
        perf.append(rtt_max(reading))
        servers = [a for v in views for a in v.report.servers]
        perf.append(PerfDatum("dns_servers_answering", sum(not said_nothing(a) for a in servers),
                              minimum=0, maximum=len(servers)))
        for name, c in reading.haproxy.items():
            perf.append(PerfDatum(f"{name}_stats_fetch", round(c.fetch_ms, 1) if c.reachable
                                  else None, "ms", minimum=0))
        return perf


def _controller_part(record: Record, c: ControllerHealth, primary: str, *, serving: bool,
                     said_by: list[str] | None) -> Part:
    """Return the state and words for one controller; `said_by`: a tie, who says it."""
    total = len(c.services)
    up = total - len(c.failing)
    if said_by:  # no majority: which server says what, not "the primary"
        head = f"{short_name(record.fqdn)} -> {c.name} per {', '.join(said_by)}, HAProxy"
        bad = CRITICAL
    elif c.name == primary:
        head = f"{short_name(record.fqdn)} -> {c.name}, HAProxy"
        bad = CRITICAL
    else:
        head = f"{'also serving' if serving else 'standby'} {c.name}"
        bad = CRITICAL if serving else WARNING
    if not c.reachable:
        return bad, f"{head} unreachable: {c.error}"
    if not c.healthy:
        return bad, f"{head} UNHEALTHY ({up}/{total} services; failing: {', '.join(c.failing)})"
    if c.name == primary or said_by:
        return OK, f"{head} healthy ({up}/{total} services)"
    return OK, f"{head} healthy"


def answer_line(a: ServerAnswer) -> str:
    """Return `S: <answer> (<candidate>) <verdict> <rtt>` for the long output."""
    rtt = f" {a.rtt_ms:.1f} ms" if a.rtt_ms is not None else ""
    who = f" ({a.controller})" if a.controller else ""
    return f"{a.server}: {a.answer or '-'}{who} {a.verdict}{rtt}"


def rtt_max(reading: Reading) -> PerfDatum:
    """Return the slowest nameserver answer of every record, in ms (U: none measured)."""
    rtts = [a.rtt_ms for r in reading.reports.values() for a in r.servers if a.rtt_ms is not None]
    return PerfDatum("dns_rtt_max", round(max(rtts), 1) if rtts else None, "ms", minimum=0)


def words_for(name: FailoverName) -> Words:
    """Return how the check speaks of `name`: a region's words, else a service's or group's."""
    return RegionWords() if name.kind == "region" else Words()
