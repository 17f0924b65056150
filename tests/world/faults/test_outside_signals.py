"""Issue 20, section 3: a signal during an outside call after the merge ends it at once.

A real promote (sandbox world) with `--bug`: Phabricator is a server of our own that trickles
its answer (a byte every half second, within any per-read timeout, under a 30 s timeout). The
task comment is sent when the run has ended, in the shielded part where other signals wait;
SIGTERM, SIGINT or SIGHUP there ends the call at once, and the run still records its outcome.
"""

from __future__ import annotations

import signal
import time

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.helpers import (
    Mark,
    TrickleServer,
    current_and_other,
    finish,
    reset_world,
    run_promote_process,
    tool_env,
    wait_until,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.fixture(autouse=True)
def _clean(world: World) -> None:
    reset_world(world)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_ends_a_hung_task_comment_and_the_run_is_recorded(
        world: World, signum: signal.Signals) -> None:
    _old, new = current_and_other(world)
    with TrickleServer(b"{}", gap=0.5) as phab:
        with world.config_path.open("a", encoding="utf-8") as f:
            f.write(f'\n[phabricator]\nurl = "http://127.0.0.1:{phab.port}"\ntimeout = 30\n')
        mark = Mark(world)
        proc = run_promote_process(world, new, "--bug", "T12345", env=tool_env(
            world, FAILOVER_PHABRICATOR_TOKEN="api-" + "x" * 28))
        wait_until(lambda: phab.accepted > 0 or proc.poll() is not None, 90,
                   "the task comment's call")
        assert proc.poll() is None, finish(proc)
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signum)
        code, output = finish(proc, timeout=20)
        took = time.monotonic() - sent
    assert took < 5, f"the run waited {took:.1f}s on the outside call after the signal"
    assert "Traceback" not in output
    records = mark.records()
    task = [r for r in records if r["step"] == "task"]
    assert task and task[-1]["result"] == "interrupted", task
    [record] = [r for r in records if r["step"] == "record"]
    assert record["result"] == "done" and code == 0, output
