"""Whole processes, side by side: the tool against the same steps typed by hand.

Everything runs in ONE sandbox world, interleaved A B A B (PAIRS pairs, one untimed warm-up
of each first), timed with `time.perf_counter` around `subprocess.run`, start-up included:

- promote, stopping after the push (`--yes --no-wait`), against curl of both controllers'
  stats, git clone, sed of the record, git commit, git push to refs/for/master and dig of
  both nameservers. After each run of either, the pushed change is abandoned, so every run
  starts from the same world (record on the first controller, no open change).
- `status`, `health`, `check`, `verify --once` against curl x2 + dig x2, and against a bare
  Typer app's `--help` (the framework's floor, same interpreter).
- `--version` against the bare Typer app's `--version`.

The tool is run as an operator runs it: the installed `failover` console script (looked up
first next to this interpreter, then on PATH, so a version manager's shim is not timed), else
this interpreter running `failover.cli:main`. Figures only, never asserted.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_startup import BARE_APP, FAILOVER
from benchmarks.run import Figure
from benchmarks.world import CONTROLLERS, REGION, ZONE_PATH, World, start_world

PAIRS = 5
"""Timed A B pairs per row."""
TARGET = CONTROLLERS[1]
"""Every promote goes to the second controller, from the same starting world."""
READS = ("status", "health", "check", "verify --once")
"""The read-only commands, each run as `failover CMD REGION [options]`."""


def failover_argv() -> list[str]:
    """Return the command that runs the installed tool: its console script, or this Python."""
    scripts = sysconfig.get_path("scripts")
    found = shutil.which("failover", path=os.pathsep.join([scripts, os.environ.get("PATH", "")]))
    if found:
        return [found]
    return [sys.executable, "-c", FAILOVER]


@dataclass
class Row:
    """One row: the anchor's and the tool's wall times, pair by pair."""

    what: str
    anchor: str
    goal: float | None
    anchor_s: list[float]
    tool_s: list[float]
    anchor_cpu: list[float]
    tool_cpu: list[float]
    """CPU seconds (user + system of the processes each side ran), pair by pair: on a loaded
    machine the wall time also holds the wait for a CPU, the CPU time much less."""

    @property
    def ratios(self) -> list[float]:
        """Return the tool / anchor ratio of each pair."""
        return [t / a for a, t in zip(self.anchor_s, self.tool_s, strict=True)]

    @property
    def cpu_ratios(self) -> list[float]:
        """Return the tool / anchor ratio of each pair's CPU seconds."""
        return [t / a for a, t in zip(self.anchor_cpu, self.tool_cpu, strict=True)]

    @property
    def ratio(self) -> float:
        """Return the median of the per-pair ratios."""
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool | None:
        """Return whether the median ratio meets the goal (None: no goal)."""
        return None if self.goal is None else self.ratio <= self.goal


def timed(argv: Sequence[str], *, env: dict[str, str], cwd: str | None = None,
          ok: tuple[int, ...] = (0,)) -> float:
    """Return the wall time of one whole process; raise when its exit code is not in `ok`."""
    started = time.perf_counter()
    done = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, timeout=120,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}\n"
                           f"{done.stdout.decode(errors='replace')[-2000:]}"
                           f"{done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def reads_by_hand(world: World, env: dict[str, str]) -> float:
    """Return the wall time of what a person types to see the state: curl x2, dig x2."""
    started = time.perf_counter()
    for c in world.haproxy.controllers.values():
        timed(["curl", "-sf", "--max-time", "5", c.stats_url], env=env)
    for g in world.gdnsd:
        timed(["dig", "+norec", "+short", "+time=1", "+tries=1", "-p", str(g.port),
               "@127.0.0.1", f"openstack.{REGION}.wikimediacloud.org", "CNAME"], env=env)
    return time.perf_counter() - started


def promote_by_hand(world: World, env: dict[str, str]) -> float:
    """Return the wall time of a promote typed by hand, up to and including the push."""
    gerrit = world.dns.gerrit
    env = {**env, "GIT_SSH_COMMAND": gerrit.ssh_command}
    with tempfile.TemporaryDirectory(prefix="fo-hand-", dir="/tmp") as tmp:
        dns = f"{tmp}/dns"
        started = time.perf_counter()
        for c in world.haproxy.controllers.values():
            timed(["curl", "-sf", "--max-time", "5", c.stats_url], env=env)
        timed(["git", "clone", "-q", gerrit.ssh_url, dns], env=env)
        zone = Path(dns) / ZONE_PATH
        timed(["sed", "-i", f"s/IN CNAME  {CONTROLLERS[0]}.wikimedia.org./IN CNAME  {TARGET}."
               "wikimedia.org./", str(zone)], env=env)
        timed(["git", "-c", "user.name=Ops", "-c", "user.email=ops@example.org", "commit",
               "-qam", f"wikimediacloud: fail over openstack.{REGION} to {TARGET}\n\n"
               "Change-Id: I" + os.urandom(20).hex()], env=env, cwd=dns)
        timed(["git", "push", "-q", "origin", "HEAD:refs/for/master"], env=env, cwd=dns)
        for g in world.gdnsd:
            timed(["dig", "+norec", "+short", "+time=1", "+tries=1", "-p", str(g.port),
                   "@127.0.0.1", f"openstack.{REGION}.wikimediacloud.org", "CNAME"], env=env)
        return time.perf_counter() - started


def abandon_open(world: World) -> None:
    """Abandon every open change, so the next promote starts from the same world."""
    for c in world.dns.gerrit.changes():
        if c["status"] == "NEW":
            world.dns.gerrit.abandon(c["number"])


def bytecode_env(env: dict[str, str]) -> dict[str, str]:
    """Return `env` with Python's bytecode cache on, kept under a temp directory.

    An installed tool runs from its .pyc files (pip writes them); a shell with
    PYTHONDONTWRITEBYTECODE=1 would make every run of a source checkout compile the tool's
    modules again while the anchors' libraries load from their cache. The warm-up run of each
    row writes the cache; the checkout gets no __pycache__.
    """
    cache = tempfile.mkdtemp(prefix="fo-pyc-")
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**out, "PYTHONPYCACHEPREFIX": cache}


def pairs(a: Callable[[], float], b: Callable[[], float]
          ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Run one untimed warm-up of each, then PAIRS interleaved pairs; return both wall-time
    lists and both CPU-time lists (the child processes each side ran)."""
    a()
    b()
    a_s, b_s, a_cpu, b_cpu = [], [], [], []
    for _ in range(PAIRS):
        for run, wall, cpu in ((a, a_s, a_cpu), (b, b_s, b_cpu)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall.append(run())
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return a_s, b_s, a_cpu, b_cpu


def measure(world: World) -> tuple[list[Row], dict[str, float]]:
    """Return every row, and the per-step seconds of one extra `promote --json` run."""
    tool, env = failover_argv(), bytecode_env(world.env)
    world.dns.gerrit.auto_merge_after = None        # a pushed change stays open until abandoned
    promote = [*tool, "promote", REGION, TARGET, "--yes", "--no-wait"]

    def hand_promote() -> float:
        seconds = promote_by_hand(world, env)
        abandon_open(world)
        return seconds

    def tool_promote() -> float:
        seconds = timed(promote, env=env)
        abandon_open(world)
        return seconds

    rows = [Row("promote --yes --no-wait", "curl x2, clone, sed, commit, push, dig x2", 1.5,
                *pairs(hand_promote, tool_promote))]
    with tempfile.TemporaryDirectory(prefix="fo-bare-") as work:
        bare = Path(work) / "bare.py"
        bare.write_text(BARE_APP)
        bare_help = [sys.executable, str(bare), "--help"]
        for cmd in READS:
            name, *opts = cmd.split()
            argv = [*tool, name, REGION, *opts]
            ok = (0, 1, 2) if name == "check" else (0,)   # a Nagios state is an exit code
            run_tool = lambda argv=argv, ok=ok: timed(argv, env=env, ok=ok)  # noqa: E731
            rows.append(Row(cmd, "curl x2 + dig x2", None,
                            *pairs(lambda: reads_by_hand(world, env), run_tool)))
            rows.append(Row(cmd, "bare Typer app --help", 2.0,
                            *pairs(lambda: timed(bare_help, env=env), run_tool)))
        rows.append(Row("--version", "bare Typer app --version", 1.5,
                        *pairs(lambda: timed([sys.executable, str(bare), "--version"], env=env),
                               lambda: timed([*tool, "--version"], env=env))))
    done = subprocess.run([*promote, "--json"], env=env, capture_output=True, timeout=120,
                          check=False)
    abandon_open(world)
    return rows, step_seconds(done.stdout.decode(errors="replace"))


def step_seconds(text: str) -> dict[str, float]:
    """Return {step: seconds} from a promote's --json output ({} when it is not JSON)."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    steps = data.get("steps", []) if isinstance(data, dict) else []
    return {s["key"]: s["seconds"] for s in steps
            if isinstance(s, dict) and isinstance(s.get("seconds"), (int, float))}


def span(values: list[float], unit: float = 1000.0, fmt: str = "{:.0f}") -> str:
    """Return `median (min-max)` of `values`, scaled by `unit`."""
    med, lo, hi = (fmt.format(v * unit) for v in
                   (statistics.median(values), min(values), max(values)))
    return f"{med} ({lo}-{hi})"


def figures(rows: list[Row], steps: dict[str, float]) -> list[Figure]:
    """Return one figure per row, and one per step of the extra promote run."""
    out = []
    for r in rows:
        value = (f"anchor {span(r.anchor_s)} ms; failover {span(r.tool_s)} ms; "
                 f"{span(r.ratios, 1.0, '{:.1f}')}x; CPU {span(r.cpu_ratios, 1.0, '{:.1f}')}x")
        goal = f"<= {r.goal}x" if r.goal is not None else "report"
        out.append(Figure(f"whole: {r.what} vs {r.anchor}", value, goal, r.met))
    out += [Figure(f"  promote --no-wait step {key}", f"{s * 1000:.0f} ms", "report")
            for key, s in steps.items()]
    return out


def run() -> list[Figure]:
    """Start one world, measure every row in it, and return the figures."""
    rows, steps = measure_in_world()
    return figures(rows, steps)


def measure_in_world() -> tuple[list[Row], dict[str, float]]:
    """Return the rows and step seconds, measured in one fresh sandbox world."""
    with start_world(auto_merge_after=None) as world:
        return measure(world)


def print_table(rows: list[Row], steps: dict[str, float]) -> None:
    """Print the rows as a table, then the steps of the extra promote run."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"whole processes, {PAIRS} interleaved pairs, nproc {os.cpu_count()}, "
                        f"Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    for col in ("what", "by hand / anchor", "anchor ms", "failover ms", "ratio", "CPU ratio",
                "goal", "met"):
        table.add_column(col)
    for r in rows:
        met = {True: "yes", False: "no", None: "-"}[r.met]
        table.add_row(r.what, r.anchor, span(r.anchor_s), span(r.tool_s),
                      span(r.ratios, 1.0, "{:.2f}") + "x",
                      span(r.cpu_ratios, 1.0, "{:.2f}") + "x",
                      f"<= {r.goal}x" if r.goal is not None else "-", met)
    console = Console(width=160)
    console.print(table)
    console.print(f"tool run as: {' '.join(failover_argv())}")
    if steps:
        console.print("promote --yes --no-wait --json, step seconds: " +
                      ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in steps.items()))


if __name__ == "__main__":
    print_table(*measure_in_world())
