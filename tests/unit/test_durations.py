"""The one short form of an age or a delay (`failover.durations.short_duration`)."""

from __future__ import annotations

import pytest

from failover.durations import short_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (-3, "0s"), (0, "0s"), (45.9, "45s"), (60, "1m0s"), (90, "1m30s"), (600, "10m0s"),
    (3600, "1h0m"), (7500, "2h5m"), (86400, "1d0h"), (3 * 86400 + 4 * 3600 + 59, "3d4h")])
def test_two_largest_units(seconds: float, text: str) -> None:
    assert short_duration(seconds) == text
