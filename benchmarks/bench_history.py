"""`failover history` over the whole real history of operations/dns (whole processes).

    OPDNS=/tmp/operations-dns python3 -m benchmarks.bench_history

OPDNS is a clone of operations/dns (e.g. of the 2025-06 bundle: `git clone BUNDLE DIR`); without
it the figures are skipped. The benchmark reads a local clone of it (hard links, made under
/tmp), so the clone given is never written. Each name is run RUNS times through the installed
`failover` script (bytecode cache on, as an installed tool runs), start-up, config load, git
and parse included; the median wall and CPU time (the process and its children) are printed,
beside the anchors measured in the same run: `git log -p -U0` of the same file alone (what
git itself costs) and `failover --version` (the start-up).

`history` keeps git's text in the checkout's git dir (`failover.repo.history_cache`), so each
name is measured three ways: cold (the cache removed before every run: the first read of a
checkout, two gits side by side), warm (the cache at the tip: every later read until the next
fetch) and after a fetch (the cache BEHIND commits below the tip: git reads only those).
Then all again after `git commit-graph write --reachable --changed-paths` in the clone (git's
own index of which commit changed which path, one command an operator may run once in the
checkout). Target: at most 1 s per name.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_whole import bytecode_env, failover_argv
from benchmarks.run import Figure

RUNS = 5
"""Runs of each command; the median is reported."""
TARGET = 1.0
"""Seconds a name's whole history may take."""
BEHIND = 20
"""Commits the cache is behind the tip in the `after a fetch` figure (a week or two of
operations/dns)."""
REF = "refs/remotes/origin/master"
"""The remote-tracking branch `history` reads in the clone."""

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


def median_wall(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None,
                prepare: Callable[[], None] | None = None) -> tuple[float, str, float]:
    """Return the median wall time of RUNS runs of `argv` (one warm-up first), its output,
    and the median CPU seconds (user + system, the process and its children: what a shared,
    loaded machine does not inflate as much as the wall time). `prepare` runs before each
    run, untimed."""
    if prepare:
        prepare()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True, cwd=cwd,
                         env=env)
    times, cpus = [], []
    for _ in range(RUNS):
        if prepare:
            prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, timeout=120, check=True, cwd=cwd, env=env)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), out.stdout, statistics.median(cpus)


def ms(wall: float, cpu: float) -> str:
    """Return `W ms (cpu C ms)`."""
    return f"{wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms)"


def measure(clone: Path, config: Path, env: dict[str, str], label: str) -> list[Figure]:
    """Return the figures of every name (cold, warm, after a fetch), and of --limit 1, on
    `clone` as it is now."""
    tool, figures = failover_argv(), []
    cache = clone / ".git" / "failover"
    behind = clone.parent / "cache-behind"

    def cold() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def after_fetch() -> None:
        cold()
        shutil.copytree(behind, cache)

    for name, zone in NAMES.items():
        argv = [*tool, "history", name, "--json", "--config", str(config)]
        wall, out, cpu = median_wall(argv, env=env, prepare=cold)
        count = len(json.loads(out)["changes"])
        warm, warm_out, warm_cpu = median_wall(argv, env=env)
        shutil.rmtree(behind, ignore_errors=True)
        _read_behind(clone, argv, env, cache, behind)
        fetched, fetched_out, fetched_cpu = median_wall(argv, env=env, prepare=after_fetch)
        git_s, _, git_cpu = median_wall(["git", "log", "-p", "-U0", "--format=%H", "--",
                                         zone], cwd=str(clone), env=env)
        same = "" if out == warm_out == fetched_out else "  OUTPUTS DIFFER"
        figures += [
            Figure(f"failover history {name}, cold ({count} changes in {zone}{label})",
                   ms(wall, cpu), f"<= {TARGET:g} s", wall <= TARGET),
            Figure(f"  warm: the cache at the tip{label}", ms(warm, warm_cpu) + same,
                   f"<= {TARGET:g} s", warm <= TARGET),
            Figure(f"  after a fetch: the cache {BEHIND} commits below the tip{label}",
                   ms(fetched, fetched_cpu), f"<= {TARGET:g} s", fetched <= TARGET),
            Figure(f"  git log -p -U0 of {zone} alone{label}", ms(git_s, git_cpu)),
        ]
    wall, _, cpu = median_wall([*tool, "history", "irc", "--limit", "1", "--config",
                                str(config)], env=env, prepare=cold)
    figures.append(Figure(f"failover history irc --limit 1, cold{label}", ms(wall, cpu)))
    return figures


def _read_behind(clone: Path, argv: list[str], env: dict[str, str], cache: Path,
                 behind: Path) -> None:
    """Keep in `behind` the cache of a read made when the tip was BEHIND commits lower."""
    tip = subprocess.run(["git", "rev-parse", REF], cwd=clone, capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip()
    shutil.rmtree(cache, ignore_errors=True)
    try:
        subprocess.run(["git", "update-ref", REF, f"{tip}~{BEHIND}"], cwd=clone, check=True,
                       timeout=30)
        subprocess.run(argv, capture_output=True, timeout=120, check=True, env=env)
    finally:
        subprocess.run(["git", "update-ref", REF, tip], cwd=clone, check=True, timeout=30)
    shutil.copytree(cache, behind)


def run() -> list[Figure]:
    """Return, per name, the whole-process median and the changes found; skipped without OPDNS."""
    given = os.environ.get("OPDNS")
    if not given or not (Path(given) / "templates").is_dir():
        return [Figure("failover history (whole real history)",
                       "skipped: set OPDNS to a clone of operations/dns")]
    with tempfile.TemporaryDirectory(prefix="fo-bench-history-", dir="/tmp") as work:
        clone, config = Path(work) / "dns", Path(work) / "config.toml"
        subprocess.run(["git", "clone", "-q", "--local", str(Path(given).resolve()), str(clone)],
                       check=True, timeout=300)
        config.write_text(CONFIG.format(checkout=clone))
        env = bytecode_env(dict(os.environ))
        wall, _, cpu = median_wall([*failover_argv(), "--version"], env=env)
        figures = [Figure(f"failover --version (start-up; median of {RUNS}, load "
                          f"{os.getloadavg()[0]:.1f})", ms(wall, cpu))]
        figures += measure(clone, config, env, "")
        subprocess.run(["git", "commit-graph", "write", "--reachable", "--changed-paths"],
                       cwd=clone, check=True, timeout=300, capture_output=True)
        figures += measure(clone, config, env, ", with a commit-graph")
    return figures


if __name__ == "__main__":
    for fig in run():
        print(f"{fig.name}: {fig.value} {fig.target} {'' if fig.met is None else fig.met}")
