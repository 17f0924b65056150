"""Time from commit to the change URL against the Gerrit stand-in (figures, never asserted)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.run import Figure
from failover import repo
from sandbox.dnsrepo import ZONE_PATH, dns_sandbox

ROUNDS = 10
"""Changes pushed per figure."""


def run() -> list[Figure]:
    """Return the median and worst commit-to-URL time, and the whole change cycle's median."""
    workdir = Path(tempfile.mkdtemp(prefix="fo-bench-", dir="/tmp"))
    push_times: list[float] = []
    cycle_times: list[float] = []
    try:
        with dns_sandbox(workdir) as sb:
            for i in range(ROUNDS):
                start = time.perf_counter()
                checkout = repo.open_checkout(sb.checkout)
                repo.fetch(checkout)
                with repo.change_worktree(checkout) as wt:
                    zone = wt.path / ZONE_PATH
                    zone.write_text(zone.read_text().replace(
                        "cloudcontrol1003.wikimedia.org.", f"cloudcontrol{2000 + i}.example."))
                    committed = time.perf_counter()
                    repo.commit_change(wt, subject=f"wikimediacloud: bench {i}", body="bench")
                    repo.push_for_review(wt, checkout.review, topic="bench")
                    push_times.append(time.perf_counter() - committed)
                cycle_times.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ms = 1000.0
    return [
        Figure("gerrit: commit to change URL (median)",
               f"{statistics.median(push_times) * ms:.0f} ms", "report"),
        Figure("gerrit: commit to change URL (worst of 10)", f"{max(push_times) * ms:.0f} ms",
               "report"),
        Figure("gerrit: fetch + worktree + commit + push + cleanup (median)",
               f"{statistics.median(cycle_times) * ms:.0f} ms", "report"),
    ]
