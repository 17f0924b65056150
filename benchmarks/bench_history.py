"""`failover history` over the whole real history of operations/dns (whole processes).

    OPDNS=/tmp/operations-dns python3 -m benchmarks.bench_history

OPDNS is a clone of operations/dns (e.g. of the 2025-06 bundle: `git clone BUNDLE DIR`); without
it the figures are skipped. Each name is run RUNS times through the `failover` script,
start-up, config load, git and parse included; the median is printed, beside `git log -p` of
the same file alone (what git itself costs). Target: at most 1 s per name (issue 25).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import Figure

RUNS = 5
"""Runs of each command; the median is reported."""
TARGET = 1.0
"""Seconds a name's whole history may take (issue 25)."""
FAILOVER = "import sys; from failover.cli import main; sys.argv[0] = 'failover'; main()"
"""What the `failover` console script runs."""

CONFIG = """
[dns]
checkout = "{checkout}"
zone_file = "templates/wikimedia.org"

[services.irc]
fqdn = "irc.wikimedia.org"
[services.irc.candidates.irc1003]
target = "irc1003.wikimedia.org."
[services.irc.candidates.irc2003]
target = "irc2003.wikimedia.org."

[services.openstack-eqiad1]
zone_file = "templates/wikimediacloud.org"
fqdn = "openstack.eqiad1.wikimediacloud.org"
[services.openstack-eqiad1.candidates.cloudcontrol1003]
target = "cloudcontrol1003.wikimedia.org."
[services.openstack-eqiad1.candidates.cloudcontrol1004]
target = "cloudcontrol1004.wikimedia.org."
"""
"""A config reading the clone (no network: `history` only reads git)."""

NAMES = {"irc": "templates/wikimedia.org", "openstack-eqiad1": "templates/wikimediacloud.org"}
"""Names measured, and their zone file (wikimedia.org: ~2,200 commits of 7,850)."""


def median_wall(argv: list[str], cwd: str | None = None) -> tuple[float, str, float]:
    """Return the median wall time of RUNS runs of `argv` (one warm-up first), its output,
    and the median CPU seconds (user + system, the process and its children: what a shared,
    loaded machine does not inflate as much as the wall time)."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True, cwd=cwd)
    times, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, timeout=120, check=True, cwd=cwd)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), out.stdout, statistics.median(cpus)


def run() -> list[Figure]:
    """Return, per name, the whole-process median and the changes found; skipped without OPDNS."""
    clone = os.environ.get("OPDNS")
    if not clone or not (Path(clone) / "templates").is_dir():
        return [Figure("failover history (whole real history)",
                       "skipped: set OPDNS to a clone of operations/dns")]
    figures = []
    with tempfile.TemporaryDirectory(prefix="fo-bench-history-") as work:
        config = Path(work) / "config.toml"
        config.write_text(CONFIG.format(checkout=Path(clone).resolve()))
        for name, zone in NAMES.items():
            wall, out, cpu = median_wall([sys.executable, "-c", FAILOVER, "history", name,
                                          "--json", "--config", str(config)])
            count = len(json.loads(out)["changes"])
            git_s, _, git_cpu = median_wall(["git", "log", "-p", "-U0", "--format=%H", "--",
                                             zone], cwd=clone)
            figures += [
                Figure(f"failover history {name} ({count} changes in {zone}, median of {RUNS})",
                       f"{wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms)", f"<= {TARGET:g} s",
                       wall <= TARGET),
                Figure(f"  git log -p -U0 of {zone} alone",
                       f"{git_s * 1000:.0f} ms (cpu {git_cpu * 1000:.0f} ms)"),
            ]
        wall, _, cpu = median_wall([sys.executable, "-c", FAILOVER, "history", "irc",
                                    "--limit", "1", "--config", str(config)])
        figures.append(Figure("failover history irc --limit 1",
                              f"{wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms)"))
    return figures


if __name__ == "__main__":
    for fig in run():
        print(fig)
