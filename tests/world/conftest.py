"""Fixtures shared by the check and status tests: a sandbox HAProxy region and two gdnsd.

Used through `pytest_plugins = ["tests.check_fixtures"]`; module-scoped fixtures start once
per test module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.gdnsd import Gdnsd, start_gdnsd, wikimediacloud_zone
from sandbox.haproxy import SandboxRegion, start_region

C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
SERVICES = ("keystone_public", "nova_api", "glance_api")
ZONE = "wikimediacloud.org"


def point(ns: Gdnsd, controller: str) -> None:
    """Make `ns` answer `controller` for openstack.eqiad1 (served at once)."""
    ns.set_zone(ZONE, wikimediacloud_zone({"eqiad1": f"{controller}.wikimedia.org."}))
    ns.reload()


@pytest.fixture(scope="module")
def running() -> Iterator[SandboxRegion]:
    """Yield the module's sandbox region: both controllers' HAProxy, every server UP."""
    with start_region(SERVICES) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def nameservers() -> Iterator[tuple[Gdnsd, Gdnsd]]:
    """Yield two gdnsd serving the production-shaped zone (eqiad1 -> cloudcontrol1003)."""
    zones = {ZONE: wikimediacloud_zone()}
    with start_gdnsd(zones) as first, start_gdnsd(zones) as second:
        yield first, second


@pytest.fixture
def point_to() -> Callable[[Gdnsd, str], None]:
    """Return `point`, for tests that move a nameserver's answer."""
    return point


@pytest.fixture
def sandbox(running: SandboxRegion, nameservers: tuple[Gdnsd, Gdnsd]) -> Iterator[SandboxRegion]:
    """Yield the sandbox; afterwards bring it back to healthy, both servers answering 1003."""
    yield running
    running.reset()
    for ns in nameservers:
        point(ns, C3)
