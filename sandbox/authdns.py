"""The sandbox's authdns hosts: many real gdnsd, each on its own loopback address, port 5353.

Production's ns0/ns1/ns2 are served by about 16 authdns hosts, each answering directly on
port 5353 (`[verify] authdns_hosts`). The sandbox starts `count` gdnsd on 127.53.B.1,
127.53.B.2, ... : the block B is this world's alone, held by an flock on
/tmp/failover-authdns-blocks/B.lock for as long as the hosts run, so parallel test workers
(and benchmarks) never collide. The gdnsd processes are started side by side and then
waited for, so 8 hosts start in about the time of one.

Examples:
    >>> with start_authdns_hosts(zones, Path("/tmp/w"), count=8) as hosts:  # doctest: +SKIP
    ...     [h.address for h in hosts][:2]
    ['127.53.3.1:5353', '127.53.3.2:5353']
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

from failover.config import AUTHDNS_PORT
from sandbox.gdnsd import Gdnsd, GdnsdError

LOCK_DIR = Path("/tmp/failover-authdns-blocks")
"""Where each world's address block is held (one lock file per block)."""
BLOCKS = range(1, 255)
"""The third octet of 127.53.B.I a world may hold."""


@contextlib.contextmanager
def address_block(count: int) -> Iterator[list[str]]:
    """Yield `count` loopback addresses (127.53.B.1..count) no other world uses meanwhile.

    Raises:
        GdnsdError: every block is held, or port 5353 is taken on all of them.
    """
    LOCK_DIR.mkdir(mode=0o1777, exist_ok=True)
    for block in BLOCKS:
        fd = os.open(LOCK_DIR / f"{block}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            addresses = [f"127.53.{block}.{i}" for i in range(1, count + 1)]
            if all(_port_free(a, AUTHDNS_PORT) for a in addresses):
                yield addresses
                return
        finally:
            os.close(fd)  # closing the descriptor releases the lock
    raise GdnsdError(f"no free block of {count} loopback addresses for the authdns hosts")


def _port_free(address: str, port: int) -> bool:
    """Return True when `address`:`port` can be bound over UDP and TCP right now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


@contextlib.contextmanager
def start_authdns_hosts(zones: Mapping[str, str], root: Path,
                        count: int = 8) -> Iterator[list[Gdnsd]]:
    """Yield `count` running gdnsd serving `zones`, one per address of a block, port 5353;
    each in `root`/host<I>; all stopped on exit."""
    with address_block(count) as addresses:
        hosts = [Gdnsd(workdir=root / f"host{i + 1}", ports=(AUTHDNS_PORT,), zones=dict(zones),
                       host=address) for i, address in enumerate(addresses)]
        try:
            for host in hosts:  # side by side: each starts while the others load their zones
                host.launch()
            for host in hosts:
                host.wait_ready()
            yield hosts
        finally:
            for host in hosts:
                host.stop()
