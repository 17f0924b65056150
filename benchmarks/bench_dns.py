"""DNS verification figures: fan-out to 1 vs 16 nameservers, and detection after a reload.

One real gdnsd listens on 16 loopback ports, so "16 nameservers" are 16 sockets to ask. On
loopback a query takes ~0.1 ms, so the fan-out ratio there measures only the CPU cost per
query; it is measured a second time through a small UDP relay that holds each reply for
RELAY_RTT, as a production RTT from a bastion to the authdns sites would.
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any, cast

from benchmarks.run import Figure
from failover.config import Config, parse_config
from failover.dnscheck import DnsReport, check_region, wait_for_agreement
from sandbox.gdnsd import start_gdnsd, wikimediacloud_zone

ROUNDS = 40
"""How many `verify --once` rounds are timed per fan-out size."""
DETECTIONS = 8
"""How many reloads are timed for the detection figure."""
INTERVAL_CAP = 0.5
"""The [verify] interval used for detection: the pause between rounds grows to this."""
RELAY_RTT = 0.030
"""Seconds the relay holds each reply (about eqiad to codfw)."""
ZONE = "wikimediacloud.org"
OLD = "cloudcontrol1003.wikimedia.org."
NEW = "cloudcontrol1004.wikimedia.org."


def _config(addresses: list[str]) -> Config:
    raw: dict[str, Any] = {
        "dns": {"checkout": "/tmp"},
        "verify": {"nameservers": addresses, "query_timeout": 2.0, "interval": INTERVAL_CAP},
        "regions": {"eqiad1": {"fqdn": "openstack.eqiad1.wikimediacloud.org", "controllers": {
            "cloudcontrol1003": {"target": OLD, "stats": "unix:///run/haproxy/a.sock"},
            "cloudcontrol1004": {"target": NEW, "stats": "unix:///run/haproxy/b.sock"}}}},
    }
    return parse_config(raw, Path("/tmp/bench-dns.toml"))


def _time_once(cfg: Config) -> float:
    region = cfg.region("eqiad1")
    start = time.perf_counter()
    report = check_region(cfg, region)
    elapsed = time.perf_counter() - start
    if not report.agree:
        raise RuntimeError(f"benchmark servers disagree: {report.to_dict()}")
    return elapsed


class DelayRelay:
    """UDP relays on free loopback ports: each forwards to one gdnsd port, replies delayed."""

    def __init__(self, upstream_ports: tuple[int, ...], delay: float) -> None:
        self.delay = delay
        self.upstream_ports = upstream_ports
        self.ports: list[int] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> DelayRelay:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._open(), self.loop)
        self.ports = future.result(timeout=5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    async def _open(self) -> list[int]:
        ports = []
        for upstream in self.upstream_ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda up=upstream: _RelayProtocol(self.loop, up, self.delay), sock=sock)
            ports.append(transport.get_extra_info("sockname")[1])
        return ports


class _RelayProtocol(asyncio.DatagramProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, upstream: int, delay: float) -> None:
        self.loop, self.upstream, self.delay = loop, upstream, delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.loop.create_task(self._forward(data, addr))

    async def _forward(self, data: bytes, client: tuple[str | Any, int]) -> None:
        def ask() -> bytes:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(2)
                up.sendto(data, ("127.0.0.1", self.upstream))
                return up.recv(65535)

        reply = await self.loop.run_in_executor(None, ask)
        await asyncio.sleep(self.delay)
        if self.transport is not None:
            self.transport.sendto(reply, client)


def _fan_out(addresses: tuple[str, ...], label: str = "") -> list[Figure]:
    one, sixteen = _config(list(addresses[:1])), _config(list(addresses))
    for cfg in (one, sixteen):  # warm up threads, imports and gdnsd
        _time_once(cfg)
    t1: list[float] = []
    t16: list[float] = []
    for _ in range(ROUNDS):  # interleaved so both sizes see the same machine load
        t1.append(_time_once(one))
        t16.append(_time_once(sixteen))
    m1, m16 = statistics.median(t1), statistics.median(t16)
    ratio = m16 / m1
    return [
        Figure(f"verify --once, 1 nameserver{label} (median)", f"{m1 * 1000:.2f} ms"),
        Figure(f"verify --once, 16 nameservers{label} (median)", f"{m16 * 1000:.2f} ms"),
        Figure(f"fan-out 16 vs 1{label}", f"{ratio:.2f}x", "< 1.5x", ratio < 1.5),
    ]


def _detection(server: Any, addresses: tuple[str, ...]) -> list[Figure]:
    cfg = _config(list(addresses[:3]))
    region = cfg.region("eqiad1")
    rng = random.Random(4)
    latencies: list[float] = []
    rates: list[float] = []
    for i in range(DETECTIONS):
        target = NEW if i % 2 == 0 else OLD
        server.set_zone(ZONE, wikimediacloud_zone({"eqiad1": target}))
        visible: list[float] = []

        def reload(visible: list[float] = visible) -> None:
            server.reload()
            visible.append(time.perf_counter())

        timer = threading.Timer(rng.uniform(0.3, 2.0), reload)
        rounds: list[float] = []
        start = time.perf_counter()
        timer.start()
        report: DnsReport = wait_for_agreement(
            cfg, region, region.controller_for_target(target) or region.controllers[0],
            timeout=10, interval=0.1, on_round=lambda r, n, p, rounds=rounds: rounds.append(p))
        done = time.perf_counter()
        timer.join()
        if not report.agree or not visible:
            raise RuntimeError("detection round did not converge")
        latencies.append(max(0.0, done - visible[0]))
        rates.append(len(rounds) / (done - start))
    median = statistics.median(latencies)
    worst_rate = max(rates)
    return [
        Figure(f"detection after reload (median of {DETECTIONS}, interval cap "
               f"{INTERVAL_CAP:g}s)", f"{median * 1000:.0f} ms", "< 500 ms", median < 0.5),
        Figure("detection, slowest", f"{max(latencies) * 1000:.0f} ms"),
        Figure("queries per second per server while polling (highest)", f"{worst_rate:.1f}",
               "<= 10", worst_rate <= 10),
    ]


def run() -> list[Figure]:
    """Return the fan-out and detection figures, measured against a real gdnsd."""
    with start_gdnsd({ZONE: wikimediacloud_zone()}, listeners=16) as server:
        figures = _fan_out(server.addresses, " (loopback)")
        with DelayRelay(server.ports, RELAY_RTT) as relay:
            relayed = tuple(f"127.0.0.1:{p}" for p in relay.ports)
            figures += _fan_out(relayed, f" ({RELAY_RTT * 1000:.0f} ms RTT relay)")
        figures += _detection(server, server.addresses)
    return figures


if __name__ == "__main__":
    for fig in run():
        print(f"{fig.name}: {fig.value} (target {fig.target or '-'}, met {fig.met})")
