"""The monitoring check's core: does the name point to a candidate that can serve?

`run_check` reads a name (`failover.model`: a region, service or group) within one time
budget, `read_name`: every record asked of every nameserver, every candidate's health (a
region's controller: its HAProxy) and targets, all at the same time; then judges it with the
one judgement, `failover.check_judge.judge`, into a CheckResult (plugin state, status line,
performance data, long output). Rendering it in the plugin format is
`failover.render.check`'s job; `failover check` never lets an error escape as a traceback.

States (Icinga/NRPE plugin convention):

- OK (0): every record points to one candidate, it is healthy, the standbys too.
- WARNING (1): a standby is unhealthy or unreachable; the nameservers disagree for less than
  the grace period; some (not all) nameservers did not answer.
- CRITICAL (2): the primary is unhealthy or unreachable; a record points to no known
  candidate; the nameservers disagree for longer than the grace period; no nameserver
  answered (nobody can resolve the name: an outage, as `check_dig` says).
- UNKNOWN (3): configuration error, the check ran out of time.

How long the nameservers have disagreed is kept in a small JSON state file (first seen, per
region, or per service and record), removed from it once they agree again. Checks of
several names may share the file (examples/nrpe.cfg): each read-modify-write holds an
exclusive lock on `<file>.lock`.

Examples:
    >>> result = run_check(cfg, name_of(cfg, "eqiad1"), grace=900, timeout=10,
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
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from failover.check_judge import (
    CheckResult,
    Reading,
    judge,
    unknown,
)
from failover.check_words import words_for
from failover.config import Candidate, Config
from failover.dnscheck import check_region, target_problems
from failover.errors import ConfigError, FailoverError, UsageError
from failover.haproxy import ControllerHealth, read_controller_health
from failover.health import HealthResult
from failover.health.haproxy import as_result
from failover.lock import flock_within
from failover.model import FailoverName
from failover.status import candidate_health

T = TypeVar("T")

HAPROXY_SHARE = (0.3, 0.5)
"""Shares of the budget a stats read may take: connecting, then answering (at most 80%)."""
DNS_SHARE = 0.4
"""Share of the budget one nameserver query may take (a TCP retry fits in the same time)."""

LOCK_WAIT = 2.0
"""Seconds a check waits for another check's lock on the state file before giving up."""

class StateFileError(UsageError):
    """The state file (when disagreement was first seen) cannot be read or written."""


def default_state_file() -> Path:
    """Return $XDG_STATE_HOME/failover/check-state.json (default ~/.local/state/...)."""
    from failover.paths import state_dir

    return state_dir() / "check-state.json"


class DisagreementLog:
    """The state file: per key (a region; a service's record), when the nameservers were
    first seen to disagree."""

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

    def since(self, key: str, now: float) -> float:
        """Return when `key`'s disagreement was first seen, recording `now` if new."""
        with self._locked():
            data = self._read()
            entry = data.get(key)
            if isinstance(entry, dict) and isinstance(entry.get("since"), int | float):
                return float(entry["since"])
            data[key] = {"since": now}
            self._write(data)
            return now

    def clear(self, key: str) -> None:
        """Forget `key`'s disagreement (they agree again); writes only if there was one."""
        if not self.path.exists():
            return  # nothing to forget: no lock needed
        with self._locked():
            data = self._read()
            if data.pop(key, None) is not None:
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


def run_check(cfg: Config, name: FailoverName, *, grace: float, timeout: float,
              state_file: Path, clock: Callable[[], float] = time.time,
              deadline: float | None = None) -> CheckResult:
    """Return the check's result for `name` (a region, service or group), within `timeout`
    seconds (or by `deadline`): `read_name`, then `failover.check_judge.judge`.

    `deadline` (time.monotonic) is where the bound ends when it began earlier (at the
    process start, so start-up and the config load count too).

    Raises:
        FailoverError: no nameserver can be found, or the state file cannot be used
            (the command turns it into UNKNOWN).
    """
    if deadline is None:
        deadline = time.monotonic() + timeout
    reading = read_name(cfg, name, deadline)
    if reading.late:
        return unknown(f"check timed out after {timeout:g}s: no answer from "
                       f"{', '.join(reading.late)}")
    return judge(name, reading, words_for(name), grace=grace, log=DisagreementLog(state_file),
                 now=clock())


def read_name(cfg: Config, name: FailoverName, deadline: float) -> Reading:
    """Return what the check judges of `name`, read at the same time by `deadline`: every
    record's answers, every candidate's health (a region's controller: its HAProxy, judged
    against its peers) and targets (issue 15; late ones are not judged).

    `Reading.late` names what did not answer in time (nothing is judged then).
    """
    words = words_for(name)
    bounded = bounded_config(cfg, round(max(0.01, deadline - time.monotonic()), 2))
    answers = {r.fqdn: in_background(check_region, bounded, r) for r in name.records}
    reads = {c.name: in_background(_read_health, bounded, name, c) for c in name.candidates}
    targets = {c.name: in_background(target_problems, bounded, name.records, c.name)
               for c in name.candidates}
    pending: list[Future[Any]] = [*answers.values(), *reads.values(), *targets.values()]
    wait(pending, timeout=max(0.0, deadline - time.monotonic()))
    late = [words.late_dns(r) for r, f in answers.items() if not f.done()]
    late += [words.late_health(n) for n, f in reads.items() if not f.done()]
    if late:
        return Reading({}, {}, late=tuple(late))
    health = {n: f.result() for n, f in reads.items()}
    return Reading({r: f.result() for r, f in answers.items()},
                   {n: h for n, (h, _) in health.items()},
                   {n: p for n, f in targets.items()
                    if f.done() and f.exception() is None and (p := f.result())},
                   {n: ctl for n, (_, ctl) in health.items() if ctl is not None})


def _read_health(cfg: Config, name: FailoverName, candidate: Candidate,
                 ) -> tuple[HealthResult, ControllerHealth | None]:
    """Return a candidate's health; a region's controller's HAProxy read too (its words)."""
    if name.region is None:  # by its kind; a set's: every target host of its sets
        return candidate_health(cfg, name, candidate), None
    ctl = read_controller_health(cfg, name.region, name.region.controller(candidate.name))
    return as_result(candidate.name, candidate.health.describe(), ctl), ctl


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


def error_result(exc: BaseException) -> CheckResult:
    """Return the UNKNOWN result for an error raised while checking (never a traceback)."""
    if isinstance(exc, ConfigError):
        prefix = "" if exc.message.startswith("configuration") else "configuration error: "
        return unknown(f"{prefix}{exc.message}", exc.problems)
    if isinstance(exc, FailoverError):
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        return unknown(f"{exc.message}{hint}")
    return unknown(f"unexpected error: {type(exc).__name__}: {exc}")
