"""One way to wait and retry: a poller whose pauses grow, bounded by tries and/or a deadline.

Gerrit's REST retries, the wait for a review, the wait for the nameservers and the lookup of
a change just pushed all walk a `Poller`. The clock and the sleep are passed in (defaults:
`time.monotonic`, `time.sleep`), so a test drives it with a fake clock and no waiting
(tests/unit/test_retry.py's `FakeClock`).

Each attempt tells the caller, as measured once after its work: whether it is the `last`
(tries used up or the deadline passed) and the `pause` before the next one (the current
wait, never past the deadline; 0.0 after the last).

Examples:
    >>> for attempt in Poller(delay=1.0, factor=2.0, tries=3):     # doctest: +SKIP
    ...     print(attempt.number, attempt.pause, attempt.last)
    1 1.0 False
    2 2.0 False
    3 0.0 True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property


@dataclass
class Attempt:
    """One attempt of a Poller: its number and, measured once, elapsed, last and pause."""

    number: int
    wait: float
    poller: Poller
    start: float

    @cached_property
    def elapsed(self) -> float:
        """Return seconds since the first attempt started (measured at first use)."""
        return self.poller.clock() - self.start

    @cached_property
    def remaining(self) -> float:
        """Return seconds left before the deadline (infinite without one)."""
        timeout = self.poller.timeout
        return math.inf if timeout is None else timeout - self.elapsed

    @cached_property
    def last(self) -> bool:
        """Return True when no attempt follows this one (tries used up, deadline passed)."""
        tries = self.poller.tries
        return (tries is not None and self.number >= tries) or self.remaining <= 0

    @cached_property
    def pause(self) -> float:
        """Return the seconds slept before the next attempt (0.0 after the last)."""
        return 0.0 if self.last else max(0.0, min(self.wait, self.remaining))


@dataclass
class Poller:
    """Attempts with pauses from `delay`, times `factor` each round, at most `cap`.

    Bounded by `tries` attempts and/or `timeout` seconds (at least one of them).
    """

    delay: float
    factor: float = 2.0
    cap: float = math.inf
    tries: int | None = None
    timeout: float | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.tries is None and self.timeout is None:
            raise ValueError("a Poller needs tries or a timeout")

    def __iter__(self) -> Iterator[Attempt]:
        start, wait, number = self.clock(), min(self.delay, self.cap), 0
        while True:
            number += 1
            attempt = Attempt(number=number, wait=wait, poller=self, start=start)
            yield attempt
            if attempt.last:
                return
            self.sleep(attempt.pause)
            wait = min(wait * self.factor, self.cap)

    def planned(self) -> int:
        """Return how many attempts fit (pauses only, the work taking no time)."""
        rounds, spent, wait = 1, 0.0, min(self.delay, self.cap)
        limit = self.timeout if self.timeout is not None else math.inf
        while spent + wait <= limit and rounds < (self.tries or 100_000):
            spent += wait
            rounds += 1
            wait = min(wait * self.factor, self.cap)
        return rounds
