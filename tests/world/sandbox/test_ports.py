"""Free ports for the sandbox's servers: each pytest-xdist worker picks from its own block."""

from __future__ import annotations

import pytest

from sandbox.backends import free_ports, worker_ports


def test_each_worker_has_its_own_block_below_the_ephemeral_range() -> None:
    blocks = [worker_ports(f"gw{n}") for n in range(25)]
    ports = [p for block in blocks if block is not None for p in block]
    assert len(ports) == len(set(ports)) == 25 * 400
    assert min(ports) >= 20000 and max(ports) < 32768
    assert worker_ports("master") is None and worker_ports("") is None


def test_a_worker_picks_distinct_free_ports_from_its_block(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    block = worker_ports()
    assert block is not None
    tcp, both = free_ports(5), free_ports(3, udp=True)
    assert all(p in block for p in tcp + both)
    assert len(set(tcp + both)) == 8


def test_outside_xdist_the_kernel_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    ports = free_ports(4)
    assert len(set(ports)) == 4 and all(p > 0 for p in ports)
