"""`failover verify` of a 26-record group at 16 authdns hosts, after convergence.

16 real gdnsd (one per loopback address 127.53.B.1-16, port 5353, as `[verify]
authdns_hosts`) serve a wmnet zone holding 26 DB-master CNAMEs (a datacenter switchover's
group, `[groups.db]`); `[verify] nameservers` is the first host again (a config needs one,
else the zone's NS would be looked up), so a round is 26 x 17 = 442 record queries plus 16
SOA queries, and each target's A and AAAA are asked once at the nameserver (52): 510.
Timed: the whole process, `failover verify db --expect new` (human output and
`--json`), ROUNDS runs each, the median; against one query's round trip, the bare
interpreter's start and the tool's own start (`failover --version`), measured in the same run.
The goal: at most 0.5 s of the tool's own time beyond one round trip, i.e. the whole process's
wall time less one round trip (all 510 queries are in flight together, so a round trip is what
the network costs). On a loaded machine the wall time also holds the time spent waiting for a
CPU: the CPU time (the process's own) is then the figure to read, and `verify - --version`
what the queries, their judging and the output cost beyond the start-up.

With FAILOVER_BASELINE=DIR (a checkout of other code, e.g. `git worktree add DIR main`), the
same forms are run with that code too (PYTHONPATH=DIR), in the same world and run.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query

from benchmarks.bench_whole import bytecode_env, failover_argv
from benchmarks.run import Figure
from sandbox.authdns import start_authdns_hosts

HOSTS = 16
"""Authdns hosts."""
RECORDS = 26
"""Records of the group (both datacenters' DB-master CNAMEs at a switchover)."""
ROUNDS = 7
"""Timed runs per form."""
GOAL = 0.5
"""Seconds of the tool's own time beyond one query's round trip."""


def zone_text() -> str:
    """Return the wmnet zone: SOA, NS, RECORDS CNAMEs pointing at the `new` side, and the
    addresses of those targets."""
    lines = ["$TTL 1H", "@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 7 12H 2H 2W 1H",
             "@ 1D IN NS ns0.wikimedia.org."]
    lines += [f"s{i}-master.eqiad 5M IN CNAME db2{i:03d}.codfw.wmnet." for i in range(RECORDS)]
    # the targets' own addresses: verify checks that the expected target resolves
    lines += [f"db2{i:03d}.codfw 1H IN A 10.192.0.{i + 1}" for i in range(RECORDS)]
    return "\n".join(lines) + "\n"


def config_text(hosts: list[str]) -> str:
    """Return the tool's config: the hosts, and [groups.db] of RECORDS records."""
    lines = ["[dns]", 'checkout = "/tmp"', 'zone_file = "templates/wmnet"', "",
             "[verify]", f'nameservers = ["{hosts[0]}:5353"]',
             "authdns_hosts = [" + ", ".join(f'"{h}"' for h in hosts) + "]",
             "query_timeout = 2", "timeout = 10", "",
             "[groups.db]", 'sides = ["old", "new"]', "[groups.db.members]"]
    lines += [f'"s{i}-master.eqiad.wmnet" = {{old = "db1{i:03d}.eqiad.wmnet.", '
              f'new = "db2{i:03d}.codfw.wmnet."}}' for i in range(RECORDS)]
    return "\n".join(lines) + "\n"


def _median_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Return the median wall time and CPU time (user + system) of ROUNDS runs of `argv`
    (one untimed warm-up first). The CPU time is what the process itself spent: on a busy
    machine the wall time also holds the time it waited for a CPU."""
    walls, cpus = [], []
    for n in range(ROUNDS + 1):
        elapsed, cpu, done = timed_run(argv, env)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
        if n:
            walls.append(elapsed)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def timed_run(argv: list[str], env: dict[str, str]
              ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run `argv` once (output captured); return its wall time, its CPU time (user + system)
    and what it did."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done


def _one_rtt(address: str) -> float:
    """Return the median round trip of one query to one host (in-process, dnspython)."""
    query = dns.message.make_query("s1-master.eqiad.wmnet", "A")
    times = []
    for _ in range(50):
        start = time.perf_counter()
        dns.query.udp(query, address, port=5353, timeout=2)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _baseline(tool: list[str], env: dict[str, str]) -> list[Figure]:
    """Return the figures of the verify (--json and human) and `--version` run with the code
    of FAILOVER_BASELINE, when set."""
    where = os.environ.get("FAILOVER_BASELINE")
    if not where:
        return []
    other = {**env, "PYTHONPATH": where}
    out = []
    argv = [*tool, "verify", "db", "--expect", "new"]
    for form, args in (("--json", [*argv, "--json"]), ("human", argv),
                       ("--version", [*tool, "--version"])):
        wall, cpu = _median_run(args, other)
        out.append(Figure(f"baseline ({where}) {form}",
                          f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"))
    return out


def run() -> list[Figure]:
    """Return the figures: whole-process verify times, the floor, the tool's own time."""
    root = Path(tempfile.mkdtemp(prefix="bench-authdns-", dir="/tmp"))
    with start_authdns_hosts({"wmnet": zone_text()}, root, HOSTS) as servers:
        hosts = [s.host for s in servers]
        config = root / "config.toml"
        config.write_text(config_text(hosts))
        env = bytecode_env({**os.environ, "FAILOVER_CONFIG": str(config),
                            "XDG_STATE_HOME": str(root / "state")})
        tool = failover_argv()
        human, human_cpu = _median_run([*tool, "verify", "db", "--expect", "new"], env)
        as_json, json_cpu = _median_run([*tool, "verify", "db", "--expect", "new", "--json"],
                                        env)
        floor, floor_cpu = _median_run([sys.executable, "-c", "pass"], env)
        start, start_cpu = _median_run([*tool, "--version"], env)
        baseline = _baseline(tool, env)
        rtt = _one_rtt(hosts[0])
    queries = RECORDS * (HOSTS + 1) + HOSTS + RECORDS * 2
    load = os.getloadavg()[0]
    return [*baseline,
        Figure(f"verify db --expect new --json, {RECORDS} records x {HOSTS} hosts "
               f"({queries} queries, whole process, median; load {load:.1f})",
               f"{as_json * 1000:.0f} ms wall, {json_cpu * 1000:.0f} ms CPU"),
        Figure("same, human output", f"{human * 1000:.0f} ms wall, {human_cpu * 1000:.0f} ms CPU"),
        Figure("one query's round trip (loopback)", f"{rtt * 1000:.2f} ms"),
        Figure("python -c pass (interpreter floor)",
               f"{floor * 1000:.0f} ms wall, {floor_cpu * 1000:.0f} ms CPU"),
        Figure("failover --version (the tool's start-up)",
               f"{start * 1000:.0f} ms wall, {start_cpu * 1000:.0f} ms CPU"),
        Figure("verify --json beyond the start-up (CPU)",
               f"{(json_cpu - start_cpu) * 1000:.0f} ms"),
        Figure("tool's own time beyond one round trip (--json, wall)",
               f"{(as_json - rtt) * 1000:.0f} ms", f"<= {GOAL * 1000:.0f} ms",
               as_json - rtt <= GOAL),
        Figure("tool's own time (--json, CPU)", f"{json_cpu * 1000:.0f} ms",
               f"<= {GOAL * 1000:.0f} ms", json_cpu <= GOAL),
        Figure("tool's own time (human, CPU)", f"{human_cpu * 1000:.0f} ms",
               f"<= {GOAL * 1000:.0f} ms", human_cpu <= GOAL),
    ]

if __name__ == "__main__":
    for fig in run():
        print(f"{fig.name}: {fig.value} {fig.target} {'' if fig.met is None else fig.met}")
