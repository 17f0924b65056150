"""What every outside system shares: the run as they see it (`OutsideRun`), their interface
(`OutsideSystem`) and the one way they call out and report (never failing the run).

The promote owns its outside systems and hands them an `OutsideRun`: plain facts (the name,
the target, the operator, the tasks, the outcome, the durations, ...), refreshed by the
promote before each call, and the fields they fill (`sal`, `sal_planned`, `silence`,
`task_comments`), copied back into the Plan. Nothing here imports from the promote.

Every call to an outside system is made within `run.call(what)`: a signal (Ctrl-C, SIGTERM,
SIGHUP) ends it at once, also in the end of a run where other signals wait; a failure in
`OUTSIDE_FAILURES` becomes `run.warn(...)`: a warning and an audit line.

Examples:
    >>> with run.call("sal"):                                          # doctest: +SKIP
    ...     result = send_sal(cfg.sal, message, user=run.user)
    >>> run.warn("sal", "failed", "SAL relay 127.0.0.1:9201: Connection refused; ...")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from failover.errors import FailoverError, OutsideError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from failover.alertmanager import Silence
    from failover.config import Config
    from failover.model import FailoverName

OUTSIDE_FAILURES = (OutsideError, UsageError, OSError)
"""What an outside call can fail with: its own error, a token/netrc problem, or the OS (a
`ca_bundle` gone since the config was read): each a warning and an audit line (issue 20)."""


class Says(Protocol):
    """How an outside system tells the operator (the promote's Observer does)."""

    def warn(self, text: str) -> None:
        """Something the operator should know that does not stop the run."""

    def note(self, text: str) -> None:
        """Something done beside the steps (a silence created, ...)."""


class Records(Protocol):
    """Where an outside system's audit lines go (`failover.audit.AuditLog`)."""

    run_id: str
    path: Path

    def record(self, step: str, result: str, **details: Any) -> Any:
        """Append one audit line."""


@dataclass
class OutsideRun:
    """One promote as its outside systems see it: facts in, what they sent out."""

    region: str
    """The NAME moved (the JSON `region`)."""
    target: str
    """The candidate it moves to."""
    name: FailoverName
    """Its records and candidates (the hosts a silence covers)."""
    audit: Records
    observer: Says
    reason: str | None = None
    tasks: list[str] = field(default_factory=list)
    """Every --bug task, in order, each once."""
    dry_run: bool = False
    action: str | None = None
    """`depool` or `pool` (a member of a set), None for a promote."""
    member: str = ""
    """The member a depool or pool moves."""
    no_sal: bool = False
    silence_for: str | None = None
    """--silence DURATION (e.g. 2h), if given."""
    project: str = ""
    """The project the SAL lines name first: the name's own (`failover.model`)."""
    user: str = ""
    host: str = ""
    """The operator and the host the run is on (`failover.outside.operator`)."""
    # -- what the run found and did (the promote refreshes these before each call) ----------
    current: str | None = None
    """The candidate the name points at now, if known."""
    zone_target: str | None = None
    fqdn: str = ""
    """The name's first record (its owner name)."""
    label: str = ""
    """The run's kind as the JSON names it (`planned`, `resume review (planned)`, ...)."""
    resuming: bool = False
    """The run resumes an earlier one's change (review or deploy)."""
    change_url: str | None = None
    self_merged: bool = False
    outcome: str = "pending"
    exit_code: int | None = None
    error: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    # -- what the systems sent (the Plan's JSON fields of the same names) --------------------
    sal: list[str] = field(default_factory=list)
    sal_planned: list[str] = field(default_factory=list)
    silence: Silence | None = None
    task_comments: list[dict[str, Any]] = field(default_factory=list)
    # -- the calls' own state ---------------------------------------------------------------
    started: bool = False
    """The run has started its outside systems (it acted; never on a dry-run)."""
    doing: str = ""
    """The outside system of the call under way (or the last one)."""

    @property
    def old_primary(self) -> str | None:
        """Return the candidate the name leaves, None when unknown or the same as the target."""
        return self.current if self.current and self.current != self.target else None

    @contextmanager
    def call(self, what: str) -> Iterator[None]:
        """Within the block, one call to the outside system `what`, which a signal ends."""
        from failover.signals import outside_call

        self.doing = what
        with outside_call():
            yield

    def interrupted(self) -> None:
        """Say that a signal ended the call under way: nothing more is sent."""
        self.warn(self.doing, "interrupted",
                  f"stopped by a signal while waiting on {self.doing}; nothing more is sent "
                  "to the outside systems (SAL, Alertmanager, Phabricator) by this run")

    def warn(self, what: str, result: str, text: str) -> None:
        """Warn the operator and record it (`what` `result`, the text as its summary)."""
        self.observer.warn(text)
        self.log(what, result, summary=text)

    def note(self, text: str) -> None:
        """Tell the operator of something done beside the steps."""
        self.observer.note(text)

    def log(self, what: str, result: str, **details: Any) -> None:
        """Append an audit line; a log that cannot be written is the run's to report (it
        warns once), never a reason to stop here."""
        try:
            self.audit.record(what, result, **details)
        except (OSError, FailoverError) as exc:
            self.observer.warn(f"no audit line for {what} {result}: {why(exc)}")


class OutsideSystem:
    """One outside system of a promote: what it would send, its start and its end.

    `describe` fills in the run what would be sent (shown before the push, and on a dry-run,
    where nothing is sent); `start` runs once before the first step that acts; `end` when
    the run ends, whatever happened (`run.started` says whether it started; `run.outcome`
    how it ended); `say` is told a line said beside the steps (`SELF-MERGED <url>`).
    None may raise an outside failure: each becomes `run.warn(...)`. A KeyboardInterrupt
    (a signal during `run.call`) is the caller's to handle.
    """

    calls_out = True
    """Its end calls an outside system (False: a local file, written even after a signal)."""

    def describe(self, run: OutsideRun) -> None:
        """Fill in what the run would send (nothing is sent)."""

    def start(self, run: OutsideRun) -> None:
        """Act before the first step that acts (never on a dry-run)."""

    def end(self, run: OutsideRun) -> None:
        """Act when the run ends."""

    def say(self, run: OutsideRun, text: str) -> None:
        """Tell the system a line said beside the steps (most ignore it)."""


class Make(Protocol):
    """What each system's module provides: `make(cfg, run)`, None when the system is off."""

    def make(self, cfg: Config, run: OutsideRun) -> OutsideSystem | None:
        """Return the system for this run, None when not configured or not asked for.

        Raises:
            UsageError: asked for but not configured (`--silence` without `[alertmanager]`).
        """
        ...


def why(exc: BaseException) -> str:
    """Return an outside failure's reason (an OSError's own text: a missing CA file, ...)."""
    if isinstance(exc, FailoverError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
