"""The runbooks of `test_runbooks.SECOND_MODULE`, run exactly as tests/world/test_runbooks.py runs
the others, in a world of this module's own: two modules, so `--dist loadfile` runs the two
halves on two workers at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.haproxy import haproxy_available
from tests.world import test_runbooks as first
from tests.world.test_runbooks import Sandbox, sandbox

__all__ = ["sandbox"]  # the module-scoped world fixture: one world for this module


@pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", first.module_paths(second=True), ids=lambda p: p.name)
def test_runbook_commands_give_what_the_runbook_shows(path: Path, sandbox: Sandbox) -> None:
    first.test_runbook_commands_give_what_the_runbook_shows(path, sandbox)


def test_the_two_modules_run_every_runbook_once() -> None:
    halves = first.module_paths(second=False), first.module_paths(second=True)
    assert sorted(halves[0] + halves[1]) == first.runbook_paths()
    assert all(halves) and {p.name for p in halves[1]} == first.SECOND_MODULE
