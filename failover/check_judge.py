"""The monitoring check's one judgement: what was read of a name, judged as one plugin result.

Pure: `judge` takes a `Reading` of a `FailoverName` (every record's DNS report, every
candidate's health and target problems; `failover.check.read_name` reads it) and returns a
CheckResult (state, status line, perfdata, details). One walk for every name:

1. each record: the servers that said nothing (WARNING; none answered: CRITICAL), whether
   the others disagree and since when (WARNING within the grace, CRITICAL after), which
   candidate it points at (none known: CRITICAL);
2. the primary: the candidate most records point at (records split: CRITICAL);
3. each candidate: the primary unhealthy is CRITICAL, a standby WARNING; a target that does
   not resolve likewise.

The words are the kind's (`failover.check_words.words_for`): a region keeps its HAProxy
wording, perfdata and long output, which NRPE configs, dashboards and the runbooks read (a
contract); a service or group its own. Where a region's judgement reads its one record more
finely (which known controller most servers say, "also serving", a tie between servers),
its words say so.

States (Icinga/NRPE plugin convention): OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from failover.check_words import Words
    from failover.dnscheck import DnsReport, ServerAnswer
    from failover.haproxy import ControllerHealth
    from failover.health import HealthResult
    from failover.model import FailoverName, Record

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
"""Plugin state names, indexed by exit code."""

NO_ANSWER = ("timeout", "servfail", "refused")
"""Verdicts (besides `error: ...`) of a server that said nothing about the name."""

Part = tuple[int, str]
"""One finding of the status line: its state and its words."""


@dataclass(frozen=True)
class PerfDatum:
    """One performance value: 'label'=value[UOM];warn;crit;min;max in the plugin output."""

    label: str
    value: float | None
    """None when it could not be measured: rendered `U` (plugin guidelines)."""
    uom: str = ""
    warn: float | None = None
    crit: float | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class CheckResult:
    """The check's outcome: plugin state, one-line message, perfdata, the long output."""

    state: int
    message: str
    perfdata: tuple[PerfDatum, ...] = ()
    details: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Return the state's name: OK, WARNING, CRITICAL or UNKNOWN."""
        return STATE_NAMES[self.state]


def unknown(message: str, details: Sequence[str] = ()) -> CheckResult:
    """Return an UNKNOWN result saying `message`."""
    return CheckResult(UNKNOWN, message, details=tuple(details))


def said_nothing(answer: ServerAnswer) -> bool:
    """Return True if the server gave no answer about the name (timeout, error, refused)."""
    return answer.verdict in NO_ANSWER or answer.verdict.startswith("error")


def short_name(fqdn: str) -> str:
    """Return the name without its zone for the status line: openstack.eqiad1."""
    labels = fqdn.rstrip(".").split(".")
    return ".".join(labels[:-2]) if len(labels) > 3 else fqdn


class Log(Protocol):
    """Where a disagreement's first sighting is kept (`failover.check.DisagreementLog`)."""

    def since(self, key: str, now: float) -> float:
        """Return when `key`'s disagreement was first seen, recording `now` if new."""
        ...

    def clear(self, key: str) -> None:
        """Forget `key`'s disagreement."""
        ...


@dataclass(frozen=True)
class Reading:
    """What was read of a name for the check."""

    reports: Mapping[str, DnsReport]
    """Per record (owner): what every nameserver said."""
    health: Mapping[str, HealthResult]
    """Per candidate, in config order: its health verdict."""
    targets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per candidate: {record: what is wrong with its target there} (late ones left out)."""
    haproxy: Mapping[str, ControllerHealth] = field(default_factory=dict)
    """A region's controllers' HAProxy reads (its words show them per service)."""
    late: tuple[str, ...] = ()
    """What did not answer within the check's bound (then nothing is judged)."""


@dataclass(frozen=True)
class RecordView:
    """One record's answers, judged: who answered, what they say, the candidate it points at."""

    record: Record
    report: DnsReport
    answered: tuple[ServerAnswer, ...]
    silent: tuple[ServerAnswer, ...]
    says: Counter[str]
    """How many answering servers say each thing (a candidate, else the record or rcode)."""
    candidate: str | None
    """The candidate the record points at; None: nobody answered, or no known one."""

def view_of(name: FailoverName, words: Words, record: Record, report: DnsReport) -> RecordView:
    """Return one record's answers, judged (`Words.points_at`: the candidate it points at)."""
    answered = tuple(a for a in report.servers if not said_nothing(a))
    silent = tuple(a for a in report.servers if said_nothing(a))
    says = Counter(words.says(a) for a in answered)
    return RecordView(record, report, answered, silent, says,
                      words.points_at(name, says) if says else None)


def judge(name: FailoverName, reading: Reading, words: Words, *, grace: float, log: Log,
          now: float) -> CheckResult:
    """Return the check's result for what was read of `name` (see the module's steps), in
    `words` (`failover.check_words.words_for(name)`).

    `log` keeps when a disagreement was first seen: WARNING within `grace` seconds,
    CRITICAL after; cleared once the servers agree again.
    """
    views = [view_of(name, words, name.record(fqdn), rep) for fqdn, rep in reading.reports.items()]
    details = [words.server_line(v.record.fqdn, a) for v in views for a in v.report.servers]
    details += [words.health_line(reading, c) for c in reading.health]
    parts: list[Part] = []
    age = 0.0
    pointing: Counter[str] = Counter()
    for view in views:
        if not view.answered:
            if words.alone_when_unanswered:
                return CheckResult(CRITICAL if view.silent else UNKNOWN, words.unanswered(view),
                                   tuple(words.perfdata(reading, views, pointing)),
                                   tuple(details))
            parts.append((CRITICAL, words.unanswered(view)))
            continue
        key = words.log_key(name, view.record.fqdn)
        if len(view.says) > 1:
            first = max(0.0, now - log.since(key, now))
            age = max(age, first)
            parts.append((WARNING if first < grace else CRITICAL,
                          words.disagree(view, first, grace)))
        else:
            log.clear(key)
        if view.silent:
            parts.append((WARNING, words.some_silent(view)))
        if view.candidate is None:
            parts.append((CRITICAL, words.no_candidate(name, view)))
        else:
            pointing[view.candidate] += 1
    primary = pointing.most_common(1)[0][0] if pointing else None
    if len(pointing) > 1:
        parts.append((CRITICAL, "records split: " + ", ".join(
            f"{n} record(s) -> {c}" for c, n in pointing.items())))
    lead, rest = words.candidates(name, reading, views, primary)
    parts = [*lead, *parts, *rest]
    perf = words.perfdata(reading, views, pointing)
    perf.append(PerfDatum("dns_disagree_age", round(age), "s", crit=grace, minimum=0))
    if not parts:
        return CheckResult(UNKNOWN, f"{name.name}: nothing to check", tuple(perf))
    parts.sort(key=lambda p: -p[0])  # the worst first; stable: in the order found among equals
    return CheckResult(max(p[0] for p in parts), "; ".join(p[1] for p in parts), tuple(perf),
                       tuple(details))
