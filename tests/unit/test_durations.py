"""The one short form of an age or a delay (`failover.durations.short_duration`, `ago`)."""

from __future__ import annotations

import pytest

from failover.durations import short_duration
from failover.render.status import fetched_phrase


@pytest.mark.parametrize(("seconds", "text"), [
    (-3, "0s"), (0, "0s"), (45.9, "45s"), (60, "1m0s"), (90, "1m30s"), (600, "10m0s"),
    (3600, "1h0m"), (7500, "2h5m"), (86400, "1d0h"), (3 * 86400 + 4 * 3600 + 59, "3d4h")])
def test_two_largest_units(seconds: float, text: str) -> None:
    assert short_duration(seconds) == text


@pytest.mark.parametrize(("age", "text"), [
    (None, "fetch time unknown"), (12, "fetched 12s ago"), (330, "fetched 5m30s ago"),
    (7500, "fetched 2h5m ago")])
def test_status_says_the_checkouts_age_in_the_same_form(age: float | None, text: str) -> None:
    """`status`'s `fetched ... ago` is the form of the promote's `opened ... ago` (others)."""
    assert fetched_phrase(age) == text
