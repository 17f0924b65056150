"""`failover verify --once` when an authdns host loses a datagram, or never answers.

The bench_authdns world shrunk to 4 real gdnsd (127.53.B.1-4, port 5353) serving the 26-record
`[groups.db]`, `query_timeout = 2`, and, as a fifth authdns host, one of:

- none (every host answers at once: what the resend bookkeeping costs when nothing is lost);
- a lossy host: a forwarder in front of the first gdnsd that loses the first datagram of
  each question (`sandbox.udp_answerer.LossyForwarder`);
- a silent host: a bound UDP port that never answers (no ICMP either).

Timed: the whole process, `failover verify db --expect new --once --json`, ROUNDS runs each,
the median wall and CPU time, its exit code and the hosts it names as not answering; the
tool's start-up (`failover --version`) is the anchor, measured in the same run. With
FAILOVER_BASELINE=DIR (other code, e.g. `git archive main failover | tar -x -C DIR`), every
form is run with that code too (PYTHONPATH=DIR), interleaved, in the same world.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.bench_authdns import config_text, timed_run, zone_text
from benchmarks.bench_whole import bytecode_env, failover_argv
from benchmarks.run import Figure
from sandbox.authdns import start_authdns_hosts
from sandbox.udp_answerer import LossyForwarder

HOSTS = 4
"""Real gdnsd authdns hosts."""
ROUNDS = 5
"""Timed runs per form and code (after one untimed warm-up)."""
QUERY_TIMEOUT = 2.0
"""`[verify] query_timeout` of the config (bench_authdns's)."""


@contextmanager
def _fifth(kind: str, first: tuple[str, int]) -> Iterator[list[str]]:
    """Yield the fifth authdns host of `kind` ("none", "lossy", "silent") as a list of
    "address:port" (empty for none), running until the block ends."""
    if kind == "none":
        yield []
    elif kind == "lossy":
        lossy = LossyForwarder(first, lost=1)
        lossy.thread.start()
        try:
            yield [f"{lossy.address}:{lossy.port}"]
        finally:
            lossy.close()
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            yield [f"127.0.0.1:{silent.getsockname()[1]}"]


def _runs(argv: list[str], envs: dict[str, dict[str, str]]) -> dict[str, tuple[float, float,
                                                                              str]]:
    """Return, per code, the median wall and CPU time of ROUNDS runs of `argv` (the codes
    interleaved, one warm-up each) and what the last run said: exit code, not answering."""
    walls: dict[str, list[float]] = {code: [] for code in envs}
    cpus: dict[str, list[float]] = {code: [] for code in envs}
    said: dict[str, str] = {}
    for n in range(ROUNDS + 1):
        for code, env in envs.items():
            wall, cpu, done = timed_run(argv, env)
            if n:
                walls[code].append(wall)
                cpus[code].append(cpu)
            said[code] = f"exit {done.returncode}, not answering {_not_answering(done.stdout)}"
    return {code: (statistics.median(walls[code]), statistics.median(cpus[code]), said[code])
            for code in envs}


def _not_answering(stdout: str) -> list[str] | str:
    """Return the hosts the --json document names as not answering, for any record (or
    what the output is, when no JSON)."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return f"no JSON: {stdout[:80]!r}"
    found: set[str] = set()
    todo: list[object] = [doc]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            found.update(node.get("not_answering") or [])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return sorted(found)


def run() -> list[Figure]:
    """Return the figures: per fifth host and code, wall, CPU, exit and not answering."""
    root = Path(tempfile.mkdtemp(prefix="bench-resend-", dir="/tmp"))
    figures = []
    with start_authdns_hosts({"wmnet": zone_text()}, root, HOSTS) as servers:
        hosts = [s.host for s in servers]
        base = bytecode_env({**os.environ, "XDG_STATE_HOME": str(root / "state")})
        envs = {"this code": base}
        if where := os.environ.get("FAILOVER_BASELINE"):
            envs[f"baseline {where}"] = {**base, "PYTHONPATH": where}
        tool = failover_argv()
        for kind in ("none", "lossy", "silent"):
            with _fifth(kind, (servers[0].host, servers[0].port)) as fifth:
                config = root / f"{kind}.toml"
                config.write_text(config_text([*hosts, *fifth]).replace(
                    "query_timeout = 2", f"query_timeout = {QUERY_TIMEOUT:g}"))
                argv = [*tool, "verify", "db", "--expect", "new", "--once", "--json",
                        "--config", str(config)]
                for code, (wall, cpu, said) in _runs(argv, envs).items():
                    figures.append(Figure(f"{kind} fifth host, {code}: {said}",
                                          f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"))
        for code, (wall, cpu, _) in _runs([*tool, "--version"], envs).items():
            figures.append(Figure(f"failover --version (anchor), {code}",
                                  f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"))
    load = os.getloadavg()[0]
    return [*figures, Figure("load average (1 min) at the end", f"{load:.1f}")]


if __name__ == "__main__":
    for fig in run():
        print(f"{fig.name}: {fig.value}")
