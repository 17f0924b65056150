"""The one poller: pauses, bounds and the attempt's view, on a fake clock (no waiting)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from failover.retry import Poller


@dataclass
class FakeClock:
    """A clock for tests: `sleep` moves it forward, nothing waits."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Move the clock `seconds` forward."""
        self.sleeps.append(seconds)
        self.now += seconds


def walk(poller: Poller, work: float = 0.0,
         clock: FakeClock | None = None) -> list[tuple[int, float, bool]]:
    """Return (number, pause, last) of every attempt, each attempt's work taking `work` s."""
    seen = []
    for attempt in poller:
        if clock is not None:
            clock.now += work
        seen.append((attempt.number, attempt.pause, attempt.last))
    return seen


def test_tries_bound_the_attempts_and_pauses_grow() -> None:
    clock = FakeClock()
    poller = Poller(delay=1.0, factor=2.0, tries=4, clock=clock, sleep=clock.sleep)
    assert walk(poller) == [(1, 1.0, False), (2, 2.0, False), (3, 4.0, False), (4, 0.0, True)]
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_the_cap_bounds_the_pause() -> None:
    clock = FakeClock()
    poller = Poller(delay=1.0, factor=3.0, cap=2.0, tries=4, clock=clock, sleep=clock.sleep)
    walk(poller)
    assert clock.sleeps == [1.0, 2.0, 2.0]


def test_the_deadline_shortens_the_last_pause_and_ends_the_walk() -> None:
    clock = FakeClock()
    poller = Poller(delay=4.0, factor=1.0, timeout=10.0, clock=clock, sleep=clock.sleep)
    seen = walk(poller, work=1.0, clock=clock)
    # work 1 s, pause 4 s; work ends at 1, 6, 11: the third is past the deadline
    assert seen == [(1, 4.0, False), (2, 4.0, False), (3, 0.0, True)]
    assert clock.sleeps == [4.0, 4.0]


def test_a_pause_never_runs_past_the_deadline() -> None:
    clock = FakeClock()
    poller = Poller(delay=4.0, factor=1.0, timeout=7.0, clock=clock, sleep=clock.sleep)
    walk(poller, work=1.0, clock=clock)
    assert clock.sleeps == [4.0, 1.0]  # second work ends at 6: 1 s left


def test_the_attempt_measures_once() -> None:
    clock = FakeClock()
    poller = Poller(delay=1.0, timeout=5.0, clock=clock, sleep=clock.sleep)
    attempt = next(iter(poller))
    clock.now = 4.0
    assert attempt.elapsed == 4.0 and not attempt.last
    clock.now = 9.0  # later reads keep what the caller saw
    assert attempt.elapsed == 4.0 and attempt.pause == 1.0


def test_a_poller_needs_a_bound() -> None:
    with pytest.raises(ValueError, match="tries or a timeout"):
        Poller(delay=1.0)


def test_planned_rounds() -> None:
    assert Poller(delay=0.1, factor=1.5, cap=1.0, timeout=0.05).planned() == 1
    assert Poller(delay=0.1, factor=1.5, cap=0.1, timeout=1.0).planned() == 11
    assert Poller(delay=1.0, factor=1.5, cap=2.0, timeout=10.0).planned() == 6  # 1, 1.5, 2, 2, 2
