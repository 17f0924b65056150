"""What each command pays for in imports: `python -X importtime`, summed by top-level package.

Each command path runs as a fresh process (this interpreter, `failover.cli:main`) against a
sandbox world's config; the self time of every module it imports is summed by its top-level
package (git, dns, requests, rich, typer, ...). `--cprofile` also profiles one
`promote --yes --no-wait` run and prints where its time goes. Figures only.

    python3 -m benchmarks.profile_imports [--top N] [--cprofile]
"""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.bench_startup import FAILOVER
from benchmarks.world import CONTROLLERS, REGION, World, start_world

COMMANDS = (("--version",), ("status", REGION), ("health", REGION), ("check", REGION),
            ("verify", REGION, "--once"), ("promote", REGION, CONTROLLERS[1], "--dry-run"))
"""The command paths profiled, as typed after `failover`."""


def import_costs(argv: tuple[str, ...], env: dict[str, str]) -> tuple[Counter[str], float]:
    """Return {top-level package: self ms} for one fresh run of `failover ARGV`, and the total."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", FAILOVER, *argv], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    costs: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (p.strip() for p in line[len("import time:"):].split("|"))
        costs[name.split(".")[0]] += int(self_us) / 1000
    return costs, sum(costs.values())


def print_imports(world: World, top: int) -> None:
    """Print the top `top` packages by import self time for each command path."""
    for argv in COMMANDS:
        costs, total = import_costs(argv, world.env)
        head = ", ".join(f"{name} {ms:.0f}" for name, ms in costs.most_common(top))
        print(f"failover {' '.join(argv)}: imports {total:.0f} ms; top {top} (ms): {head}")


def print_promote_profile(world: World, top: int) -> None:
    """Profile one `promote --yes --no-wait` in a fresh process; print where its time goes."""
    with tempfile.TemporaryDirectory(prefix="fo-prof-") as work:
        script, out = Path(work) / "failover_main.py", Path(work) / "promote.prof"
        script.write_text(FAILOVER.replace("; ", "\n") + "\n")
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(script),
                        "promote", REGION, CONTROLLERS[1], "--yes", "--no-wait"],
                       env=world.env, capture_output=True, timeout=120, check=False)
        for c in world.dns.gerrit.changes():
            if c["status"] == "NEW":
                world.dns.gerrit.abandon(c["number"])
        stats = pstats.Stats(str(out))
        print(f"\npromote --yes --no-wait: top {top} by own time")
        stats.sort_stats("tottime").print_stats(top)
        print(f"promote --yes --no-wait: the tool's own functions, top {top * 2} by cumulative")
        stats.sort_stats("cumulative").print_stats(r"/failover/(?!.*__init__)", top * 2)
        print("promote --yes --no-wait: who waits on subprocesses")
        stats.print_callers(r"subprocess.py.*\(communicate\)")


def main(argv: list[str]) -> int:
    """Start one sandbox world and print the import costs (and the promote profile)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args(argv)
    with start_world(auto_merge_after=None) as world:
        print_imports(world, args.top)
        if args.cprofile:
            print_promote_profile(world, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
