"""The operators' habits around a real promote: SAL lines, the Alertmanager silence, the task.

The sandbox world runs with its outside systems (`start_world(outside=True)`): the SAL relay
stand-in, the Conduit stand-in and the real Alertmanager. Each message's exact text; nothing
sent on --dry-run; a silence expired when nothing was pushed and reused on resume; systems
down, slow or erroring never fail the failover and are reported; no token anywhere.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.alertmanager import available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import (
    Mark,
    current_and_other,
    promote,
    reset_world,
    tool_traceback,
)

pytestmark = pytest.mark.skipif(not available(), reason="prometheus-alertmanager not installed")
USER, HOST = "alice", socket.gethostname()
REASON = "cloudcontrol1003 maintenance"


WORLD = {"outside": True}


@pytest.fixture(autouse=True)
def clean(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    reset_world(world)
    out = world.outside
    assert out is not None and out.alertmanager is not None
    out.sal.lines.clear()
    assert out.conduit.settle(30), "a Conduit request of an earlier test still being answered"
    out.conduit.comments.clear()
    out.conduit.requests.clear()
    out.conduit.mode = "ok"
    for s in silences(world):
        if s["status"]["state"] == "active":
            requests.delete(f"{out.alertmanager.url}/api/v2/silence/{s['id']}", timeout=5)
    monkeypatch.setenv("SUDO_USER", USER)
    monkeypatch.setenv("FAILOVER_PHABRICATOR_TOKEN", out.conduit.token)
    yield


def silences(world: World, state: str | None = None) -> list[dict[str, Any]]:
    assert world.outside is not None and world.outside.alertmanager is not None
    found = requests.get(f"{world.outside.alertmanager.url}/api/v2/silences", timeout=5).json()
    return [s for s in found if state is None or s["status"]["state"] == state]


def line(phase: str, target: str, tail: str = "") -> str:
    return (f"!log {USER}@{HOST} admin {phase} - failover promote eqiad1 {target} ({REASON})"
            f"{tail} (T12345)")


def test_dry_run_shows_the_lines_and_the_silence_and_sends_nothing(
        world: World, run_cli: RunCli) -> None:
    old, new = current_and_other(world)
    result = run_cli("promote", "eqiad1", new, "--dry-run", "--bug", "T12345", "--reason",
                     REASON, "--silence", "2h", "--config", str(world.config_path))
    assert result.code == 0, result.stdout + result.stderr
    assert f"sal:    {line('START', new)}" in result.stdout
    assert f"sal:    {line('END (PASS)', new)}" in result.stdout
    assert f'silence: instance=~"{old}(:[0-9]+)?" until ' in result.stdout
    assert world.outside is not None
    assert world.outside.sal.wait_for(1, timeout=0.5) == []
    assert silences(world, "active") == []
    assert world.outside.conduit.requests == []


def test_promote_logs_silences_and_comments(world: World, run_cli: RunCli) -> None:
    old, new = current_and_other(world)
    mark = Mark(world)
    result = promote(run_cli, world, new, "--bug", "T12345", "--reason", REASON,
                     "--silence", "2h", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert world.outside is not None
    start, end = world.outside.sal.wait_for(2)
    assert start == line("START", new)
    # END: the durations this run measured, push -> merge first
    durations = re.search(r" \(push_to_merge=\d+\.\ds(?: merge_to_\w+=\d+\.\ds)*\)", end)
    assert durations is not None, end
    assert end == line("END (PASS)", new, durations.group(0))
    assert doc["sal"] == [line("START", new), end]
    [active] = silences(world, "active")
    assert active["matchers"] == [{"name": "instance", "value": f"{old}(:[0-9]+)?",
                                   "isRegex": True, "isEqual": True}]
    assert active["createdBy"] == USER
    assert active["comment"] == f"{REASON} - {USER}@{HOST} - T12345"
    assert doc["silence"]["id"] == active["id"]
    assert doc["silence"]["url"].endswith(f"/#/silences/{active['id']}")
    assert doc["silence"]["ends_at"] == active["endsAt"]
    assert f"silence created: {active['id']}" in result.stderr
    [(task, text)] = world.outside.conduit.comments
    assert task == "T12345"
    run_id = mark.records()[0]["run"]
    assert text.splitlines()[:5] == [
        f"{USER}@{HOST} ran `failover promote eqiad1 {new}` ({REASON}):",
        f"- openstack.eqiad1.wikimediacloud.org: {old} -> {new} (planned)",
        f"- change: {doc['change']['url']}", "- outcome: done",
        f"- audit run: {run_id} (in {world.audit_path} on {HOST})"]
    assert doc["task_comments"] == [{"task": "T12345", "sent": True, "error": None}]
    steps = [(r["step"], r["result"]) for r in mark.records()]
    assert ("silence", "created") in steps and ("task", "commented") in steps
    assert steps.count(("sal", "sent")) == 2 and steps[-1][0] == "record"
    # START went out before the push, END after the verify
    order = [r["step"] for r in mark.records()]
    assert order.index("sal") < order.index("push")
    assert len(order) - 1 - order[::-1].index("sal") > order.index("verify")


def test_failure_before_the_push_expires_the_silence_and_logs_fail(
        world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    world.dns.gerrit.set_prohibited("uploads to operations/dns")
    result = promote(run_cli, world, new, "--bug", "T12345", "--reason", REASON,
                     "--silence", "2h")
    assert result.code == 4, result.stderr
    assert world.outside is not None
    assert world.outside.sal.wait_for(2) == [line("START", new),
                                             line("END (FAIL)", new, " (exit_code=4)")]
    assert silences(world, "active") == []
    assert len(silences(world, "expired")) >= 1
    assert "expired: nothing was pushed" in result.stdout
    [(_task, text)] = world.outside.conduit.comments
    assert "- outcome: failed (exit 4): " in text and "- change: none" in text


def test_a_resumed_run_reuses_its_silence(world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    first = promote(run_cli, world, new, "--reason", REASON, "--silence", "2h", "--no-wait")
    assert first.code == 0, first.stderr
    [created] = silences(world, "active")
    world.dns.gerrit.auto_merge_after = 0.3
    world.dns.gerrit.approve_and_merge(world.dns.gerrit.changes()[-1]["number"])
    second = promote(run_cli, world, new, "--reason", REASON, "--silence", "2h", "--json")
    assert second.code == 0, second.stderr
    assert [s["id"] for s in silences(world, "active")] == [created["id"]]
    doc = json.loads(second.stdout)
    assert doc["silence"]["id"] == created["id"] and doc["silence"]["reused"] is True


def test_no_sal_sends_no_line(world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    result = promote(run_cli, world, new, "--no-sal")
    assert result.code == 0, result.stderr
    assert world.outside is not None and world.outside.sal.wait_for(1, timeout=0.5) == []


@pytest.mark.parametrize("fault", ["down", "conduit error", "conduit garbage", "conduit slow",
                                   "bad token"])
def test_outside_systems_failing_never_fail_the_failover(
        world: World, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    _old, new = current_and_other(world)
    out = world.outside
    assert out is not None and out.alertmanager is not None
    bad_token = "api-" + "x" * 28
    if fault == "down":  # nothing listens where the relay, Alertmanager and Phabricator were
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        text = world.config_path.read_text()
        for url in (out.alertmanager.url, out.conduit.url):
            text = text.replace(url, f"http://127.0.0.1:{port}")
        world.config_path.write_text(text.replace(f"port = {out.sal.port}", f"port = {port}"))
    elif fault == "bad token":
        monkeypatch.setenv("FAILOVER_PHABRICATOR_TOKEN", bad_token)
    else:
        out.conduit.mode, out.conduit.delay = fault.split()[1], 4.0
    mark = Mark(world)
    result = promote(run_cli, world, new, "--bug", "T12345", "--silence", "2h", "--json", "-v")
    assert result.code == 0, result.stderr
    assert not tool_traceback(result.stderr)
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "done"
    [comment] = doc["task_comments"]
    assert comment["sent"] is False and comment["error"]
    failed = [r for r in mark.records() if r["result"] == "failed"]
    assert "task" in {r["step"] for r in failed}
    if fault == "down":
        assert {r["step"] for r in failed} == {"silence", "sal", "task"}
        assert doc["sal"] == [] and doc["silence"] is None
    everything = result.stdout + result.stderr + world.audit_path.read_text()
    for token in (out.conduit.token, bad_token):
        assert token not in everything
    assert "warning:" in result.stderr


def test_silence_without_alertmanager_or_bad_duration_is_a_usage_error(
        world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    bad = promote(run_cli, world, new, "--silence", "2 hours")
    assert bad.code == 2 and "bad --silence duration '2 hours'" in bad.stderr
    text = world.config_path.read_text()
    world.config_path.write_text(text.split("[alertmanager]")[0])
    none = promote(run_cli, world, new, "--silence", "2h")
    assert none.code == 2 and "--silence needs an Alertmanager" in none.stderr
    assert world.outside is not None and world.outside.sal.lines == []


def test_every_task_is_logged_and_commented(world: World, run_cli: RunCli) -> None:
    old, new = current_and_other(world)
    assert world.outside is not None
    world.outside.conduit.tasks.add("T67890")
    try:
        result = promote(run_cli, world, new, "--bug", "T12345", "--bug", "T67890",
                         "--reason", REASON, "--silence", "2h", "--json")
    finally:
        world.outside.conduit.tasks.discard("T67890")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    both = line("START", new).replace("(T12345)", "(T12345, T67890)")
    assert world.outside.sal.wait_for(2)[0] == both
    assert doc["sal"][1].endswith(" (T12345, T67890)")
    assert [task for task, _text in world.outside.conduit.comments] == ["T12345", "T67890"]
    assert [c["task"] for c in doc["task_comments"]] == ["T12345", "T67890"]
    [active] = silences(world, "active")
    assert active["comment"] == f"{REASON} - {USER}@{HOST} - T12345, T67890"
    assert old != new
