"""Edit the region's record in zone templates of 250k, 500k and 1M lines (target: 1M < 2 s).

The zone is shaped like a large operations/dns template: $ORIGIN sections of host records
(A, AAAA, CNAME, TXT, blank-owner lines, comments, Jinja lines, an `openstack` record in every
section under another origin), with the region's record in the very last section, so the whole
file is read. Figures: edit_record alone (scan + new text + diff) and the whole edit of a file
on disk (read_zone + edit_record + write_atomic), best of three; validate_zone once on 100k
lines (information only); then the time per line at each size, which stays flat when the work
grows linearly.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.run import Figure
from failover.zone import edit_record, find_record, read_zone, validate_zone, write_atomic

PATH = "templates/wikimediacloud.org"
FQDN = "openstack.eqiad1.wikimediacloud.org"
SIZES = (250_000, 500_000, 1_000_000)
TARGET_SECONDS = 2.0
VALIDATE_SIZE = 100_000
"""Validation (Jinja render, lint, gdnsd) is timed once at this size, for information."""

_SECTION = """
$ORIGIN s{n}.wikimediacloud.org.
; section {n}
openstack  5M  IN CNAME  cloudcontrol{n}.wikimedia.org.
{{# generated hosts #}}
host{n}a   1H  IN A     10.{a}.{b}.1
host{n}a   1H  IN AAAA  2620:0:861:{a}::1
host{n}b   1H  IN A     10.{a}.{b}.2 ; a comment
host{n}c       IN CNAME host{n}a
txt{n}     5M  IN TXT   "v=spf1 -all; ( not a paren )"
"""
_HEAD = """; {{ serial_comment }}
@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. {{ serial_num }} 12H 2H 2W 1H
@ 1D IN NS ns0.wikimedia.org.
@ 1D IN NS ns1.wikimedia.org.
"""
_TAIL = """
$ORIGIN eqiad1.wikimediacloud.org.
openstack  5M  IN CNAME  cloudcontrol1004.wikimedia.org.
"""


def make_zone(lines: int) -> str:
    """Return a template of about `lines` lines with the region's record at the end."""
    per = _SECTION.count("\n")
    parts = [_HEAD]
    for n in range(max(1, (lines - 6) // per)):
        parts.append(_SECTION.format(n=n, a=n % 250, b=(n // 250) % 250))
    parts.append(_TAIL)
    return "".join(parts)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """Return the fastest of `runs` timings of fn(), in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def file_round_trip(text: str) -> float:
    """Return the best time to read a zone file, edit its record and write it atomically."""
    tmp = Path(tempfile.mkdtemp(prefix="fo-bench-zone-", dir="/tmp"))
    try:
        src = tmp / "wikimediacloud.org"
        src.write_text(text)
        targets = ["cloudcontrol1004.wikimedia.org.", "cloudcontrol1003.wikimedia.org."]

        def once() -> None:
            # Alternate the target so that every run really changes the file.
            targets.reverse()
            edit = edit_record(read_zone(src), FQDN, targets[0], path=PATH)
            assert edit.changed
            write_atomic(src, edit.new_text)

        return best_of(3, once)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run() -> list[Figure]:
    """Return the figures: edit time per size, file round trip at 1M, time per line."""
    figures: list[Figure] = []
    per_line: dict[int, float] = {}
    for size in SIZES:
        text = make_zone(size)
        count = text.count("\n")
        assert find_record(text, FQDN, path=PATH).target == "cloudcontrol1004.wikimedia.org."
        secs = best_of(3, functools.partial(edit_record, text, FQDN,
                                            "cloudcontrol1003.wikimedia.org.", path=PATH))
        per_line[size] = secs / count * 1e9
        last = size == SIZES[-1]
        figures.append(Figure(f"edit_record, {count:,} lines", f"{secs:.3f} s",
                              f"< {TARGET_SECONDS:g} s" if last else "",
                              secs < TARGET_SECONDS if last else None))
        if last:
            secs = file_round_trip(text)
            figures.append(Figure(f"read + edit + write_atomic, {count:,} lines",
                                  f"{secs:.3f} s", f"< {TARGET_SECONDS:g} s",
                                  secs < TARGET_SECONDS))
    text = make_zone(VALIDATE_SIZE)
    secs = best_of(1, lambda: validate_zone(text, path=PATH, zone="wikimediacloud.org"))
    figures.append(Figure(f"validate_zone (render, lint, gdnsd checkconf), "
                          f"{text.count(chr(10)):,} lines", f"{secs:.2f} s"))
    base = per_line[SIZES[0]]
    for size in SIZES:
        figures.append(Figure(f"time per line at {size:,}",
                              f"{per_line[size]:.0f} ns ({per_line[size] / base:.2f}x of 250k)",
                              "flat (linear)", None))
    return figures


if __name__ == "__main__":
    for fig in run():
        print(f"{fig.name}: {fig.value} {fig.target} {fig.met}")
