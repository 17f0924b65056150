"""The one rule for a duration in seconds, from an option or a config key.

A duration must be a finite positive number no longer than its ceiling: NaN never compares
(a wait `while elapsed < nan` ends at once, `sleep(nan)` fails), inf or 1e9 waits for ever.
The config (`failover.config.parse`) and every duration option (`verify --timeout`,
`check --timeout/--grace`) apply it.

Examples:
    >>> seconds_problem(float("nan"))
    'must be a positive number of seconds (finite), got nan'
    >>> seconds_problem(1e9, most=DAY)
    'must be at most 86400 seconds (1 day), got 1e+09'
    >>> seconds_problem(30.0) is None
    True
    >>> short_duration(90)
    '1m30s'
    >>> ago(330)
    '5m30s ago'
"""

from __future__ import annotations

import math

DAY = 86400.0
"""The ceiling of a duration unless its key says otherwise: no wait of the tool is longer."""
WEEK = 7 * DAY
HOUR = 3600.0

_NAMES = {HOUR: "1 hour", DAY: "1 day", WEEK: "7 days"}


def seconds_problem(value: float, *, most: float = DAY, zero: bool = False) -> str | None:
    """Return what is wrong with `value` as a duration, or None.

    `zero`: 0 is allowed (a grace period); else the value must be above 0.
    """
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        what = "a non-negative" if zero else "a positive"
        return f"must be {what} number of seconds (finite), got {value:g}"
    if value > most:
        named = f" ({_NAMES[most]})" if most in _NAMES else ""
        return f"must be at most {most:g} seconds{named}, got {value:g}"
    return None


def require_seconds(option: str, value: float, *, most: float = DAY,
                    zero: bool = False) -> float:
    """Return `value`; raise UsageError (exit 2) naming `option` when it is no duration."""
    if (problem := seconds_problem(value, most=most, zero=zero)) is not None:
        from failover.errors import UsageError

        raise UsageError(f"{option} {problem}",
                         hint=f"give {option} as seconds, e.g. {option} 60")
    return value


def short_duration(seconds: float) -> str:
    """Return an age or a delay in its two largest units: `45s`, `10m0s`, `2h5m`, `3d4h`
    (how long ago another's change was opened, how long a change waited to merge)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"


def ago(seconds: float) -> str:
    """Return an age as every `... ago` of the tool's output says it: `5m30s ago`
    (`short_duration`; status's `fetched ... ago`, the promote's `opened ... ago`)."""
    return f"{short_duration(seconds)} ago"
