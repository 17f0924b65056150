"""`failover status` of every name of examples/wikimedia-services.toml against one name.

The example's services and groups (irc, idp, url-downloader, m1-master, analytics-hive,
db-masters: 14 records in templates/wikimedia.org and templates/wmnet) are pointed at the
sandbox: the real templates (tests/data/realrepo) behind the Gerrit stand-in, served by two
real gdnsd on 127.0.0.1, the world's own [dns], [gerrit] and [verify]; every health check's
address is replaced by one on 127.0.0.1 (a TCP listener, an HTTP server answering
"Wikimedia"; the m1-master dbproxies' HAProxy-over-SSH checks become TCP checks of the
listener). No production address is ever asked: the rewritten config is checked for one
before anything runs.

Timed, interleaved A B (PAIRS pairs after one warm-up of each), whole processes as an
operator runs them: `failover status --json` (every name) against `failover status irc
--json` (one). Goal: every name at most 1.5x one name.
"""

from __future__ import annotations

import http.server
import os
import re
import resource
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.bench_whole import bytecode_env, failover_argv
from benchmarks.run import Figure
from sandbox.realrepo import start_real_world

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "wikimedia-services.toml"
PAIRS = 5
"""Timed A B pairs."""
GOAL = 1.5
"""Every name's status at most this many times one name's."""
ONE = "irc"
"""The one name."""


def sandbox_sections(example: str, tcp_port: int, http_port: int) -> str:
    """Return the example's [services.*]/[groups.*] tables, every health address on loopback.

    Raises:
        ValueError: a production address is left (nothing may ever ask one).
    """
    text = example[example.index("\n[services."):]
    text = re.sub(r'health = \{kind = "haproxy"[^}]*\}',
                  f'health = {{kind = "tcp", host = "127.0.0.1", port = {tcp_port}}}', text)
    text = re.sub(r'host = "[^"]+"', 'host = "127.0.0.1"', text)
    text = re.sub(r"port = \d+", f"port = {tcp_port}", text)
    text = re.sub(r'url = "https://[^/"]+/', f'url = "http://127.0.0.1:{http_port}/', text)
    text = re.sub(r'"-H", "[^"]+", "-p", "\d+"', f'"-H", "127.0.0.1", "-p", "{tcp_port}"',
                  text)
    for line in text.splitlines():
        if re.search(r"(host|url|stats|argv) = ", line) and \
                re.search(r"wikimedia\.org|wmnet|ssh://|https://", line.split("#")[0]):
            raise ValueError(f"a production address is left: {line}")
    return text


class _Page(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 and a page saying Wikimedia (the idp health check's)."""

    def do_GET(self) -> None:
        body = b"<html>Wikimedia login</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Say nothing."""


@contextmanager
def health_endpoints() -> Iterator[tuple[int, int]]:
    """Yield (TCP listener's port, HTTP server's port), both on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0), backlog=128) as listener:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1], server.server_address[1]
        finally:
            server.shutdown()
            server.server_close()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Return the wall and CPU seconds (the process and its children) of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}\n"
                           f"{done.stderr.decode(errors='replace')[-2000:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def measure() -> dict[str, list[tuple[float, float]]]:
    """Return {'one': [(wall, cpu)...], 'all': [...]}, measured in one sandbox world."""
    with start_real_world(auto_merge_after=None) as world, health_endpoints() as (tcp, web):
        sections = sandbox_sections(EXAMPLE.read_text(encoding="utf-8"), tcp, web)
        world.write_config([sections], zone_file="templates/wikimedia.org")
        env = bytecode_env(world.env)
        tool = failover_argv()
        one, every = [*tool, "status", ONE, "--json"], [*tool, "status", "--json"]
        timed(one, env)
        timed(every, env)
        out: dict[str, list[tuple[float, float]]] = {"one": [], "all": []}
        for _ in range(PAIRS):
            out["one"].append(timed(one, env))
            out["all"].append(timed(every, env))
        return out


def run() -> list[Figure]:
    """Return the medians of both and the ratio of each pair's times, wall and CPU."""
    runs = measure()
    load = os.getloadavg()[0]
    walls = [a[0] / o[0] for o, a in zip(runs["one"], runs["all"], strict=True)]
    cpus = [a[1] / o[1] for o, a in zip(runs["one"], runs["all"], strict=True)]

    def med(key: str, i: int) -> str:
        return f"{statistics.median(r[i] for r in runs[key]) * 1000:.0f} ms"

    return [
        Figure(f"failover status {ONE} --json (one name; {PAIRS} pairs, load {load:.1f})",
               f"{med('one', 0)} wall, {med('one', 1)} CPU"),
        Figure("failover status --json (every name of wikimedia-services.toml)",
               f"{med('all', 0)} wall, {med('all', 1)} CPU"),
        Figure("every name / one name, wall (median of pairs)",
               f"{statistics.median(walls):.2f}x ({min(walls):.2f}-{max(walls):.2f})",
               f"<= {GOAL}x", statistics.median(walls) <= GOAL),
        Figure("every name / one name, CPU (median of pairs)",
               f"{statistics.median(cpus):.2f}x ({min(cpus):.2f}-{max(cpus):.2f})",
               f"<= {GOAL}x", statistics.median(cpus) <= GOAL),
    ]


if __name__ == "__main__":
    for fig in run():
        print(f"{fig.name}: {fig.value} {fig.target} {'' if fig.met is None else fig.met}")
