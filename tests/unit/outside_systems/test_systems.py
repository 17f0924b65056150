"""The outside systems' calls (`failover.outside_systems.OutsideSystems`): pure logic, with
systems that only note what they are asked (the real ones: tests/world/test_habits.py)."""

from __future__ import annotations

from typing import Any

import pytest

from failover.model import FailoverName
from failover.outside_systems import OutsideSystems
from failover.outside_systems.base import OutsideRun, OutsideSystem


class Heard:
    """An observer and an audit log in one: what was warned and recorded."""

    run_id, path = "r1", None

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.lines: list[tuple[str, str]] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def note(self, text: str) -> None:
        pass

    def record(self, step: str, result: str, **details: Any) -> None:
        self.lines.append((step, result))


class Noting(OutsideSystem):
    """A system noting its calls in `calls`; `fails` maps a phase to what it raises."""

    def __init__(self, key: str, calls: list[str], *, local: bool = False,
                 fails: dict[str, BaseException] | None = None) -> None:
        self.key, self.calls, self.fails = key, calls, fails or {}
        self.calls_out = not local

    def _do(self, run: OutsideRun, phase: str) -> None:
        self.calls.append(f"{self.key} {phase}")
        if phase in self.fails:
            with run.call(self.key):
                raise self.fails[phase]

    def describe(self, run: OutsideRun) -> None:
        self._do(run, "describe")

    def start(self, run: OutsideRun) -> None:
        self._do(run, "start")

    def end(self, run: OutsideRun) -> None:
        self._do(run, "end")


def systems(*made: OutsideSystem, dry_run: bool = False) -> tuple[OutsideSystems, Heard]:
    heard = Heard()
    name = FailoverName("eqiad1", "region", (), (), "", "", "")
    run = OutsideRun(region="eqiad1", target="cloudcontrol1004", name=name, audit=heard,
                     observer=heard, dry_run=dry_run)  # type: ignore[arg-type]
    return OutsideSystems(run, list(made)), heard


def test_start_runs_once_in_order_after_describe_and_never_on_a_dry_run() -> None:
    calls: list[str] = []
    outside, _ = systems(Noting("silence", calls), Noting("sal", calls))
    outside.start()
    outside.start()  # a second acting step: nothing more
    assert calls == ["silence describe", "sal describe", "silence start", "sal start"]
    assert outside.run.started
    calls.clear()
    dry, _ = systems(Noting("sal", calls), dry_run=True)
    dry.start()
    assert calls == [] and not dry.run.started


def test_a_signal_while_starting_is_said_and_stops_the_run() -> None:
    calls: list[str] = []
    outside, heard = systems(Noting("silence", calls, fails={"start": KeyboardInterrupt()}),
                             Noting("sal", calls))
    with pytest.raises(KeyboardInterrupt):
        outside.start()
    assert "sal start" not in calls
    assert heard.lines == [("silence", "interrupted")]
    assert heard.warnings[0].startswith("stopped by a signal while waiting on silence")


def test_a_signal_while_ending_skips_the_calls_out_but_not_a_local_file() -> None:
    calls: list[str] = []
    outside, heard = systems(Noting("sal", calls, fails={"end": KeyboardInterrupt()}),
                             Noting("task", calls), Noting("metrics", calls, local=True))
    outside.end()  # the run's outcome stays the run's: nothing raised
    assert calls == ["sal end", "metrics end"]
    assert heard.lines == [("sal", "interrupted")]


def test_a_bug_in_one_system_is_raised_after_the_others_ended() -> None:
    calls: list[str] = []
    outside, _ = systems(Noting("silence", calls, fails={"end": RuntimeError("bug")}),
                         Noting("metrics", calls, local=True))
    with pytest.raises(RuntimeError, match="bug"):
        outside.end()
    assert calls == ["silence end", "metrics end"]
