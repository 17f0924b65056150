"""`promote --yes --no-wait`: the steps by hand, an older tree of the tool and this one,
interleaved in one sandbox world (bench_whole's parts: the same hand steps, timing and
abandoning of the pushed change).

    git archive REV | tar -x -C /tmp/old      # the tree to compare against
    python3 -m benchmarks.ab_promote /tmp/old [ROUNDS]

Each round runs the three one after another (hand, old, this); one untimed warm-up of each
first. Both trees run as the installed `failover` script with PYTHONPATH set to the tree.
Figures only, never asserted: medians of the per-round ratios, wall and CPU (the child
processes each side ran), and the load average.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_whole import (
    TARGET,
    abandon_open,
    bytecode_env,
    failover_argv,
    promote_by_hand,
    timed,
)
from benchmarks.world import REGION, World, start_world

HERE = str(Path(__file__).resolve().parents[1])
"""This tree (the one the benchmark is run from)."""


def contestants(world: World, old: str) -> dict[str, Callable[[], float]]:
    """Return hand, old and this tree's promote, each returning its wall seconds."""
    env = bytecode_env(world.env)
    argv = [*failover_argv(), "promote", REGION, TARGET, "--yes", "--no-wait"]

    def hand() -> float:
        seconds = promote_by_hand(world, env)
        abandon_open(world)
        return seconds

    def tree(path: str) -> Callable[[], float]:
        def run() -> float:
            # both trees write the same commit (date to the second): two promotes within one
            # second would push the same object twice, which Gerrit refuses; not timed
            time.sleep(1.0 - time.time() % 1.0)
            seconds = timed(argv, env={**env, "PYTHONPATH": path})
            abandon_open(world)
            return seconds
        return run

    return {"hand": hand, "old": tree(old), "this": tree(HERE)}


def measure(old: str, rounds: int) -> list[str]:
    """Return the report's lines: per side the median wall and CPU, then the ratios."""
    with start_world(auto_merge_after=None) as world:
        runs = contestants(world, old)
        for run in runs.values():
            run()  # warm-up: writes the bytecode caches
        wall: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        loads = []
        for _ in range(rounds):
            for key, run in runs.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                wall[key].append(run())
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[key].append(after.ru_utime - before.ru_utime
                                + after.ru_stime - before.ru_stime)
            loads.append(os.getloadavg()[0])
    med = statistics.median
    lines = [f"{rounds} rounds, nproc {os.cpu_count()}, load {min(loads):.1f}-{max(loads):.1f}"]
    lines += [f"{k:5s} wall {med(wall[k]) * 1000:.0f} ms, CPU {med(cpu[k]) * 1000:.0f} ms"
              for k in runs]
    for a, b in (("old", "hand"), ("this", "hand"), ("this", "old")):
        w = [x / y for x, y in zip(wall[a], wall[b], strict=True)]
        c = [x / y for x, y in zip(cpu[a], cpu[b], strict=True)]
        lines.append(f"{a} / {b}: wall {med(w):.2f}x ({min(w):.2f}-{max(w):.2f}), "
                     f"CPU {med(c):.2f}x ({min(c):.2f}-{max(c):.2f})")
    return lines


if __name__ == "__main__":
    if len(sys.argv) < 2 or not Path(sys.argv[1], "failover").is_dir():
        sys.exit("usage: python3 -m benchmarks.ab_promote OLD_TREE [ROUNDS] (OLD_TREE: a "
                 "checkout or `git archive` of the tool, with its failover/ folder)")
    print("\n".join(measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7)))
