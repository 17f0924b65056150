"""The outside systems of a promote, one module each behind one interface, registered in `SYSTEMS`.

Each is off unless configured (`[sal]`, `[alertmanager]` with `--silence`, `[phabricator]`
with `--bug`, `[metrics]`) and none can fail or hold up the failover: a system that is down,
slow or answering errors costs at most its timeout and becomes a warning and an audit line
(`base.OutsideRun.warn`). The promote owns them (`promote/outside.py`): it hands them
an `OutsideRun` and calls them (`configured`) at three moments: `describe` before the preview
(what would be sent: shown on a dry-run, where nothing is sent), `start` once before the
first step that acts (the silence, then SAL `START`), and `end` when the run ends (an
unneeded silence expired, SAL `END (PASS)` / `END (FAIL)`, the task comments, the metrics).
A line said beside the steps (`SELF-MERGED <url>`) goes to every system's `say` (SAL logs it).
They never import from the promote, not even its types.

Adding a system is one module here with `make(cfg, run)` returning an `OutsideSystem` (None
when off), plus its line in `SYSTEMS`; the order of `SYSTEMS` is the order of their calls.

Examples:
    >>> systems = configured(cfg, run)                                    # doctest: +SKIP
    >>> systems.describe(); systems.start(); systems.end()
    >>> run.sal
    ['!log alice@cumin1002 admin START - failover promote eqiad1 cloudcontrol1004 (T12345)', ...]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from failover.config import Config
    from failover.outside_systems.base import Make, OutsideRun, OutsideSystem

SYSTEMS: tuple[str, ...] = (
    "failover.outside_systems.silence",   # Alertmanager: the old primary's silence
    "failover.outside_systems.sal",       # the Server Admin Log (wmflib's relay client)
    "failover.outside_systems.tasks",     # Phabricator: a comment on each --bug task
    "failover.outside_systems.metrics",   # Prometheus: node_exporter's textfile
)
"""Every outside system's module, in the order they are called: the one place a system is
registered (imported when a promote starts)."""


def module(name: str) -> Make:
    """Return the registered system module `name`."""
    return cast("Make", importlib.import_module(name))


def configured(cfg: Config, run: OutsideRun) -> OutsideSystems:
    """Return every registered system that is on for `run`, with the operator filled in.

    Raises:
        UsageError: a system asked for but not configured (`--silence`, no Alertmanager).
    """
    from failover.outside import operator

    run.user, run.host = operator()
    made = (module(name).make(cfg, run) for name in SYSTEMS)
    return OutsideSystems(run, [s for s in made if s is not None])


class OutsideSystems:
    """The outside systems a run has on, called in order, never failing the run."""

    def __init__(self, run: OutsideRun, systems: list[OutsideSystem]) -> None:
        self.run = run
        self.systems = systems

    def describe(self) -> None:
        """Fill in what the run will send (SAL lines, the silence with id None)."""
        for system in self.systems:
            system.describe(self.run)

    def start(self) -> None:
        """Start every system, once per run (never on a dry-run); a signal stops the run."""
        run = self.run
        if run.started or run.dry_run:
            return
        run.started = True
        self.describe()
        try:
            for system in self.systems:
                system.start(run)
        except KeyboardInterrupt:  # the run stops: nothing was pushed
            run.interrupted()
            raise

    def say(self, text: str) -> None:
        """Tell every system a line said beside the steps (`SELF-MERGED <url>`)."""
        for system in self.systems:
            system.say(self.run, text)

    def end(self) -> None:
        """End every system. A signal during an outside call is recorded and ends the calls
        out (the systems after it that call out are skipped; a local file is still written);
        the run's outcome stays the run's. A bug in one system is raised after the others."""
        stopped, bug = False, None
        for system in self.systems:
            if stopped and system.calls_out:
                continue
            try:
                system.end(self.run)
            except KeyboardInterrupt:
                stopped = True
                self.run.interrupted()
            except Exception as exc:  # a bug: the other systems and the run's record go on
                bug = bug or exc
        if bug is not None:
            raise bug
