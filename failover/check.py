"""The monitoring check's core: does the region's name point to a controller that can serve?

`run_check` asks every nameserver and reads every controller's HAProxy at the same time, all
within one time budget, and returns a CheckResult (plugin state, status message, performance
data, and the reports it was judged on). Rendering it in the plugin format is
`failover.render.check`'s job; `failover check` never lets an error escape as a traceback.

States (Icinga/NRPE plugin convention):

- OK (0): the name points to one controller, its HAProxy is healthy, the standby too.
- WARNING (1): a standby is unhealthy or unreachable; the nameservers disagree for less than
  the grace period; some (not all) nameservers did not answer.
- CRITICAL (2): the primary's HAProxy is unhealthy or unreachable; the name points to no
  known controller; the nameservers disagree for longer than the grace period; no
  nameserver answered (nobody can resolve the name: an outage, as `check_dig` says).
- UNKNOWN (3): configuration error, the check ran out of time.

How long the nameservers have disagreed is kept in a small JSON state file (first seen, per
region), removed from it once they agree again. Checks of several regions may share the file
(examples/nrpe.cfg): each read-modify-write holds an exclusive lock on `<file>.lock`.

Examples:
    >>> result = run_check(cfg, cfg.region("eqiad1"), grace=900, timeout=10,
    ...                    state_file=default_state_file())              # doctest: +SKIP
    >>> result.name, result.message                                       # doctest: +SKIP
    ('OK', 'openstack.eqiad1 -> cloudcontrol1004, HAProxy healthy (8/8 services); standby ...')
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from failover.config import Config, Region
from failover.dnscheck import DnsReport, ServerAnswer, check_region, find_target_problem
from failover.errors import ConfigError, FailoverError, UsageError
from failover.haproxy import (
    ControllerHealth,
    RegionHealth,
    read_controller_health,
)
from failover.lock import flock_within

T = TypeVar("T")

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
"""Plugin state names, indexed by exit code."""

HAPROXY_SHARE = (0.3, 0.5)
"""Shares of the budget a stats read may take: connecting, then answering (at most 80%)."""
DNS_SHARE = 0.4
"""Share of the budget one nameserver query may take (a TCP retry fits in the same time)."""

LOCK_WAIT = 2.0
"""Seconds a check waits for another check's lock on the state file before giving up."""

NO_ANSWER = ("timeout", "servfail", "refused")
"""Verdicts (besides `error: ...`) of a server that said nothing about the name."""


class StateFileError(UsageError):
    """The state file (when disagreement was first seen) cannot be read or written."""


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
    """The check's outcome: plugin state, one-line message, perfdata, what it was judged on."""

    state: int
    message: str
    perfdata: tuple[PerfDatum, ...] = ()
    details: tuple[str, ...] = ()
    dns: DnsReport | None = None
    health: RegionHealth | None = None

    @property
    def name(self) -> str:
        """Return the state's name: OK, WARNING, CRITICAL or UNKNOWN."""
        return STATE_NAMES[self.state]


def unknown(message: str, details: Sequence[str] = ()) -> CheckResult:
    """Return an UNKNOWN result saying `message`."""
    return CheckResult(UNKNOWN, message, details=tuple(details))


def default_state_file() -> Path:
    """Return $XDG_STATE_HOME/failover/check-state.json (default ~/.local/state/...)."""
    from failover.paths import state_dir

    return state_dir() / "check-state.json"


class DisagreementLog:
    """The state file: per region, when the nameservers were first seen to disagree."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a torn or foreign file: start again rather than fail every check
        except OSError as exc:
            raise StateFileError(f"cannot read state file {self.path}: {exc.strerror}",
                                 hint="pass --state-file PATH in a writable place") from None
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".check-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StateFileError(f"cannot write state file {self.path}: {exc.strerror}",
                                 hint="pass --state-file PATH in a writable place") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on `<file>.lock` (never followed through a symlink)."""
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateFileError(f"cannot write state file {self.path}: its lock {lock}: "
                                 f"{exc.strerror}",
                                 hint="pass --state-file PATH in a writable place") from None
        try:
            try:
                flock_within(fd, LOCK_WAIT)
            except OSError as exc:
                raise StateFileError(
                    f"cannot lock {lock}: {exc.strerror} (another check holds it)",
                    hint="see whether a check is stuck; or pass --state-file PATH") from None
            yield
        finally:
            os.close(fd)

    def since(self, region: str, now: float) -> float:
        """Return when the region's disagreement was first seen, recording `now` if new."""
        with self._locked():
            data = self._read()
            entry = data.get(region)
            if isinstance(entry, dict) and isinstance(entry.get("since"), int | float):
                return float(entry["since"])
            data[region] = {"since": now}
            self._write(data)
            return now

    def clear(self, region: str) -> None:
        """Forget the region's disagreement (they agree again); writes only if there was one."""
        if not self.path.exists():
            return  # nothing to forget: no lock needed
        with self._locked():
            data = self._read()
            if data.pop(region, None) is not None:
                self._write(data)


def bounded_config(cfg: Config, timeout: float) -> Config:
    """Return `cfg` with every per-call timeout cut to fit in a `timeout`-second check."""
    connect_share, answer_share = HAPROXY_SHARE
    haproxy = replace(cfg.haproxy,
                      connect_timeout=min(cfg.haproxy.connect_timeout, connect_share * timeout),
                      timeout=min(cfg.haproxy.timeout, answer_share * timeout))
    verify = replace(cfg.verify, recursors=(),
                     query_timeout=min(cfg.verify.query_timeout, DNS_SHARE * timeout))
    return replace(cfg, haproxy=haproxy, verify=verify)


def run_check(cfg: Config, region: Region, *, grace: float, timeout: float, state_file: Path,
              clock: Callable[[], float] = time.time,
              deadline: float | None = None) -> CheckResult:
    """Return the check's result for `region`, within `timeout` seconds (or by `deadline`).

    `deadline` (time.monotonic) is where the bound ends when it began earlier (at the
    process start, so start-up and the config load count too).

    Raises:
        FailoverError: no nameserver can be found, or the state file cannot be used
            (the command turns it into UNKNOWN).
    """
    if deadline is None:
        deadline = time.monotonic() + timeout
    bounded = bounded_config(cfg, round(max(0.01, deadline - time.monotonic()), 2))
    reads = {c.name: in_background(read_controller_health, bounded, region, c)
             for c in region.controllers}
    dns_future = in_background(check_region, bounded, region)
    # each host-name target's A/AAAA at the same servers (issue 15); late ones are not judged
    targets = {c.name: in_background(find_target_problem, bounded, region, c)
               for c in region.controllers}
    pending: list[Future[Any]] = [dns_future, *reads.values(), *targets.values()]
    wait(pending, timeout=max(0.0, deadline - time.monotonic()))
    late = [f"HAProxy stats of {name}" for name, f in reads.items() if not f.done()]
    if not dns_future.done():
        late.insert(0, "the nameservers")
    if late:
        return unknown(f"check timed out after {timeout:g}s: no answer from {', '.join(late)}")
    report = dns_future.result()
    health = RegionHealth(region.name, {n: f.result() for n, f in reads.items()})
    problems = {n: p for n, f in targets.items()
                if f.done() and f.exception() is None and (p := f.result()) is not None}
    return judge(region, report, health, grace=grace, log=DisagreementLog(state_file),
                 now=clock(), targets=problems)


def in_background(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Return a Future for `fn(*args)` run in a daemon thread.

    A call stuck past the check's bound (e.g. a name resolution that hangs) must not keep the
    plugin's process alive after it has answered, as a pool's worker thread would at exit.
    """
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="check", daemon=True).start()
    return future


def said_nothing(answer: ServerAnswer) -> bool:
    """Return True if the server gave no answer about the name (timeout, error, refused)."""
    return answer.verdict in NO_ANSWER or answer.verdict.startswith("error")


def short_name(fqdn: str) -> str:
    """Return the name without its zone for the status line: openstack.eqiad1."""
    labels = fqdn.rstrip(".").split(".")
    return ".".join(labels[:-2]) if len(labels) > 3 else fqdn


def judge(region: Region, report: DnsReport, health: RegionHealth, *, grace: float,
          log: DisagreementLog, now: float,
          targets: Mapping[str, str] | None = None) -> CheckResult:
    """Return the result for what the nameservers said and how each HAProxy is.

    `targets`: {controller: what is wrong with its target} (`dnscheck.target_problem`): a
    serving controller's is CRITICAL, a standby's WARNING.
    """
    answered = [a for a in report.servers if not said_nothing(a)]
    silent = [a for a in report.servers if said_nothing(a)]
    perf = _perfdata(region, report, health)
    if not answered:
        reasons = ", ".join(f"{a.server} {a.verdict}" for a in silent) or "none configured"
        # nobody can resolve the name: an outage (check_dig says CRITICAL for the same)
        state = CRITICAL if silent else UNKNOWN
        return CheckResult(state, f"no nameserver answered for {region.fqdn} ({reasons})",
                           tuple(perf), dns=report, health=health)
    pointing = Counter(_pointing(a) for a in answered)
    named = [c for c in region.controller_names if c in pointing]
    parts: list[tuple[int, str]] = []
    age = 0.0
    if len(pointing) > 1:
        age = max(0.0, now - log.since(region.name, now))
        state = WARNING if age < grace else CRITICAL
        who = ", ".join(f"{a.server} -> {_pointing(a)}" for a in answered)
        parts.append((state, f"nameservers disagree for {age:.0f}s (grace {grace:g}s): {who}"))
    else:
        log.clear(region.name)
    perf.append(PerfDatum("dns_disagree_age", round(age), "s", crit=grace, minimum=0))
    if silent:
        parts.append((WARNING, f"{len(silent)} of {len(report.servers)} nameservers did not "
                               f"answer ({', '.join(str(a.server) for a in silent)})"))
    if not named:
        what = " / ".join(pointing)
        known = ", ".join(region.controller_names)
        parts.append((CRITICAL, f"{short_name(region.fqdn)} -> {what}: no known controller "
                                f"(known: {known})"))
    else:
        primary = max(named, key=lambda c: pointing[c])  # most servers; config order on ties
        tied = [c for c in named if pointing[c] == pointing[primary]]
        said = ({c: [str(a.server) for a in answered if _pointing(a) == c] for c in tied}
                if len(tied) > 1 else {})
        # the primary first: the status line reads "<name> -> <primary> ...; standby ..."
        for name in sorted(health.controllers, key=lambda n: n != primary):
            parts.append(_controller_part(region, health.controllers[name], primary,
                                          serving=name in named, said_by=said.get(name)))
            if problem := (targets or {}).get(name):
                parts.append(_target_part(region, name, problem, serving=name in named))
    parts.sort(key=lambda p: -p[0])
    state = max(p[0] for p in parts)
    return CheckResult(state, "; ".join(p[1] for p in parts), tuple(perf), dns=report,
                       health=health)


def _pointing(answer: ServerAnswer) -> str:
    """Return what a server's answer points to: a controller name, else the record or rcode."""
    if answer.controller:
        return answer.controller
    if answer.records:
        return answer.answer or "?"
    return "NXDOMAIN" if answer.verdict == "nxdomain" else "no record"


def _controller_part(region: Region, c: ControllerHealth, primary: str,
                     serving: bool, said_by: list[str] | None = None) -> tuple[int, str]:
    """Return the state and text for one controller; `said_by`: a split, who says it."""
    total = len(c.services)
    up = total - len(c.failing)
    if said_by:  # no majority: which server says what, not "the primary"
        head = f"{short_name(region.fqdn)} -> {c.name} per {', '.join(said_by)}, HAProxy"
        bad = CRITICAL
    elif c.name == primary:
        head = f"{short_name(region.fqdn)} -> {c.name}, HAProxy"
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


def _target_part(region: Region, name: str, problem: str, *,
                 serving: bool) -> tuple[int, str]:
    """Return the state and text for a controller whose target dangles (issue 15)."""
    target = region.controller(name).target
    if serving:
        return CRITICAL, f"{short_name(region.fqdn)} -> {target} which {problem}"
    return WARNING, f"standby {name}'s target {target} {problem}"


def _perfdata(region: Region, report: DnsReport, health: RegionHealth) -> list[PerfDatum]:
    perf: list[PerfDatum] = []
    for name, c in health.controllers.items():
        total = len(c.services)
        perf.append(PerfDatum(f"{name}_services_up", total - len(c.failing) if c.reachable
                              else None, minimum=0, maximum=total))
    rtts = [a.rtt_ms for a in report.servers if a.rtt_ms is not None]
    perf.append(PerfDatum("dns_rtt_max", round(max(rtts), 1) if rtts else None, "ms",
                          minimum=0))
    answering = sum(not said_nothing(a) for a in report.servers)
    perf.append(PerfDatum("dns_servers_answering", answering, minimum=0,
                          maximum=len(report.servers)))
    for name, c in health.controllers.items():
        perf.append(PerfDatum(f"{name}_stats_fetch", round(c.fetch_ms, 1) if c.reachable
                              else None, "ms", minimum=0))
    return perf


def error_result(exc: BaseException) -> CheckResult:
    """Return the UNKNOWN result for an error raised while checking (never a traceback)."""
    if isinstance(exc, ConfigError):
        prefix = "" if exc.message.startswith("configuration") else "configuration error: "
        return unknown(f"{prefix}{exc.message}", exc.problems)
    if isinstance(exc, FailoverError):
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        return unknown(f"{exc.message}{hint}")
    return unknown(f"unexpected error: {type(exc).__name__}: {exc}")
