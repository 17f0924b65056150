"""The steps of `test_process.SECOND_MODULE`, interrupted exactly as tests/world/faults/
test_process.py interrupts the others, in a world of this module's own: two modules, so
`--dist loadfile` runs the two halves on two workers at once."""

from __future__ import annotations

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.world.faults import test_process as first
from tests.world.faults.test_process import _clean

__all__ = ["_clean"]  # its autouse fixture: the module's world cleaned before each test

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.mark.parametrize("step", first.SECOND_MODULE)
def test_sigint_and_sigterm_at_every_step_then_resume(run_cli: RunCli, world: World,
                                                      step: str) -> None:
    first.test_sigint_and_sigterm_at_every_step_then_resume(run_cli, world, step)


def test_the_two_modules_interrupt_every_step_once() -> None:
    assert set(first.SECOND_MODULE) < set(first.BEFORE)
