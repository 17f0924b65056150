"""Fixtures of the tests that need real servers, each defined once (module-scoped ones start
once per test module).

- `world`: the whole sandbox (HAProxy region, gdnsd, Gerrit stand-in, checkout, config) with
  the in-process tool's state dir in it and no credentials in the environment; a module sets
  `WORLD = {...}` for other `start_world` arguments (default auto_merge_after=0.3).
- `running`, `nameservers`, `point_to`, `sandbox`: a HAProxy region and two gdnsd, for the
  check and status tests; `region_sandbox`: the HAProxy region alone (a module sets
  `REGION_SERVICES = (...)` for its services).
- `started_world`: the module's world (`start_world(**WORLD)`) for a module whose per-test
  `world` fixture hands it over as started (`World.reset` after each test).
- `repo_sandbox`: the Gerrit stand-in with operations/dns and an operator checkout, per test;
  a module sets `REPO_SANDBOX = {...}` for other `dns_sandbox` options (`{"ssh": True}`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from sandbox.dnsrepo import DnsSandbox, dns_sandbox
from sandbox.gdnsd import Gdnsd, start_gdnsd, wikimediacloud_zone
from sandbox.haproxy import SandboxRegion, haproxy_available, start_region
from sandbox.world import World, start_world
from tests.helpers import shared_world_env

C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
SERVICES = ("keystone_public", "nova_api", "glance_api")
ZONE = "wikimediacloud.org"


def point(ns: Gdnsd, controller: str) -> None:
    """Make `ns` answer `controller` for openstack.eqiad1 (served at once)."""
    ns.set_zone(ZONE, wikimediacloud_zone({"eqiad1": f"{controller}.wikimedia.org."}))
    ns.reload()


@pytest.fixture(scope="module")
def running(request: pytest.FixtureRequest) -> Iterator[SandboxRegion]:
    """Yield the module's sandbox region: both controllers' HAProxy, every server UP.

    Its services are the module's `REGION_SERVICES` (default: SERVICES).
    """
    if not haproxy_available():
        pytest.skip("haproxy not installed")
    with start_region(getattr(request.module, "REGION_SERVICES", SERVICES)) as sandbox:
        yield sandbox


@pytest.fixture
def region_sandbox(running: SandboxRegion) -> Iterator[SandboxRegion]:
    """Yield the module's sandbox region, brought back to all healthy after each test."""
    yield running
    running.reset()


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
def sandbox(region_sandbox: SandboxRegion,
            nameservers: tuple[Gdnsd, Gdnsd]) -> Iterator[SandboxRegion]:
    """Yield the sandbox; afterwards bring it back to healthy, both servers answering 1003."""
    yield region_sandbox
    for ns in nameservers:
        point(ns, C3)


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Yield the module's world: `start_world(**WORLD)` of the module, in its shared env."""
    options = {"auto_merge_after": 0.3, **getattr(request.module, "WORLD", {})}
    with start_world(**options) as w, shared_world_env(w):
        yield w


@pytest.fixture(scope="module")
def started_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Yield the module's world, `start_world(**WORLD)`, to be reset after each of its tests."""
    options = {"auto_merge_after": 0.3, **getattr(request.module, "WORLD", {})}
    with start_world(**options) as w:
        yield w


class RepoSandboxes:
    """A module's stand-ins: the current one, and the stack that stops them all at its end."""

    def __init__(self, stack: ExitStack, options: dict[str, object]) -> None:
        self.stack, self.options = stack, options
        self.current: DnsSandbox | None = None

    def get(self) -> DnsSandbox:
        """Return the current stand-in, a new one first if none or a test stopped it."""
        if self.current is None or self.current.gerrit.stopping.is_set():
            self.current = self.stack.enter_context(dns_sandbox(**self.options))
        return self.current


@pytest.fixture(scope="module")
def repo_sandboxes(request: pytest.FixtureRequest) -> Iterator[RepoSandboxes]:
    """Yield the module's stand-ins (`repo_sandbox`), all stopped at its end."""
    with ExitStack() as stack:
        yield RepoSandboxes(stack, getattr(request.module, "REPO_SANDBOX", {}))


@pytest.fixture
def repo_sandbox(repo_sandboxes: RepoSandboxes) -> Iterator[DnsSandbox]:
    """Yield a seeded Gerrit stand-in and operator checkout, `dns_sandbox(**REPO_SANDBOX)`:
    the module's one, as seeded (`DnsSandbox.reset` after each test; a new one after a test
    that stopped it)."""
    sb = repo_sandboxes.get()
    yield sb
    if not sb.gerrit.stopping.is_set():
        sb.reset()
