"""End-to-end tests of failover.promote through `failover promote`, in the sandbox world.

Every test runs against real HAProxy, a real git repository behind the Gerrit stand-in, and
real gdnsd servers, all on 127.0.0.1 (sandbox.world).
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World, start_world
from tests.conftest import CliResult, RunCli
from tests.helpers import (
    Mark,
    audit,
    checkout_snapshot,
    git,
    run_promote_process,
    served_targets,
    wait_for_step,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

FQDN = "openstack.eqiad1.wikimediacloud.org"


@pytest.fixture
def world(started_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The module's one world, as started (`World.reset` after each test)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(started_world.workdir / "state"))
    monkeypatch.delenv("FAILOVER_GERRIT_USER", raising=False)
    monkeypatch.delenv("FAILOVER_GERRIT_PASSWORD", raising=False)
    yield started_world
    started_world.reset()


def promote(run_cli: RunCli, world: World, *args: str) -> CliResult:
    return run_cli("promote", "eqiad1", *args, "--config", str(world.config_path))



def test_planned_failover_end_to_end(run_cli: RunCli, world: World) -> None:
    before = checkout_snapshot(world.dns.checkout)
    result = promote(run_cli, world, "cloudcontrol1004", "--yes", "--bug", "T12345",
                     "--reason", "switch maintenance")
    assert result.code == 0, result.stderr + result.stdout
    assert "done" in result.stdout
    assert served_targets(world) == ["cloudcontrol1004.wikimedia.org."] * 2
    changes = world.dns.gerrit.changes()
    assert len(changes) == 1 and changes[0]["status"] == "MERGED"
    message = git(Path(world.dns.gerrit.git_url), "log", "-1", "--format=%B", "master")
    assert message.startswith("wikimediacloud.org: eqiad1 API to cloudcontrol1004\n")
    assert "Planned failover" in message and "Reason: switch maintenance" in message
    footer = message.rstrip().splitlines()[-2:]
    assert footer[0] == "Bug: T12345" and footer[1].startswith("Change-Id: I")
    assert message.count("Change-Id:") == 1
    assert checkout_snapshot(world.dns.checkout) == before
    records = audit(world)
    assert [r["step"] for r in records][-1] == "record"
    assert records[-1]["result"] == "done"
    assert {r["step"] for r in records} >= {"lock", "health", "push", "review", "deploy",
                                            "verify"}
    assert all(r["region"] == "eqiad1" and r["to"] == "cloudcontrol1004" for r in records)
    assert records[-1]["change_url"].startswith(world.dns.gerrit.rest_url)


def test_dry_run_changes_nothing(run_cli: RunCli, world: World) -> None:
    before = checkout_snapshot(world.dns.checkout)
    zones = [(g.workdir / "zones" / "wikimediacloud.org").read_bytes() for g in world.gdnsd]
    bare_refs = git(Path(world.dns.gerrit.git_url), "for-each-ref")
    result = promote(run_cli, world, "cloudcontrol1004", "--dry-run", "--bug", "T1")
    assert result.code == 0, result.stderr
    out = result.stdout
    for expected in ("-openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org.",
                     "+openstack  5M  IN CNAME  cloudcontrol1004.wikimedia.org.",
                     "wikimediacloud.org: eqiad1 API to cloudcontrol1004",
                     "Change-Id: I", "HEAD:refs/for/master", "-o topic=openstack-failover",
                     "authdns_update", world.gdnsd[0].address, "would run", "dry-run"):
        assert expected in out, expected
    assert checkout_snapshot(world.dns.checkout) == before
    assert git(Path(world.dns.gerrit.git_url), "for-each-ref") == bare_refs
    assert world.dns.gerrit.changes() == []
    assert [(g.workdir / "zones" / "wikimediacloud.org").read_bytes()
            for g in world.gdnsd] == zones
    assert not (world.dns.checkout / ".git" / "failover.lock").exists()
    assert served_targets(world) == ["cloudcontrol1003.wikimedia.org."] * 2


def test_dry_run_json_is_the_plan(run_cli: RunCli, world: World) -> None:
    result = promote(run_cli, world, "cloudcontrol1004", "--dry-run", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["from"] == "cloudcontrol1003" and doc["to"] == "cloudcontrol1004"
    assert doc["kind"] == "planned" and doc["dry_run"] is True
    steps = {s["key"]: s["status"] for s in doc["steps"]}
    assert steps["prepare"] == "done"
    assert steps["push"] == steps["review"] == steps["deploy"] == steps["verify"] == "would run"
    assert doc["zone"]["diff"].count("\n+openstack") == 1
    assert doc["push"]["ref"] == "HEAD:refs/for/master"


def test_nothing_to_do(run_cli: RunCli, world: World) -> None:
    result = promote(run_cli, world, "cloudcontrol1003", "--yes")
    assert result.code == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert world.dns.gerrit.changes() == []


def test_refused_unhealthy_target_then_force(run_cli: RunCli, world: World) -> None:
    world.haproxy.stop_haproxy("cloudcontrol1004")
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 3
    assert "refusing to promote cloudcontrol1004" in result.stderr
    assert world.dns.gerrit.changes() == []
    world.haproxy.start_haproxy("cloudcontrol1004")
    world.haproxy.wait_checked()
    world.haproxy.stop_backend("nova_api", "cloudcontrol1004")
    world.haproxy.stop_backend("nova_api", "cloudcontrol1003")
    world.haproxy.wait_server_status("cloudcontrol1004", "nova_api", "cloudcontrol1004", "DOWN")
    world.haproxy.wait_server_status("cloudcontrol1004", "nova_api", "cloudcontrol1003", "DOWN")
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 3 and "nova_api" in result.stderr
    result = promote(run_cli, world, "cloudcontrol1004", "--yes", "--force")
    assert result.code == 0, result.stderr
    message = git(Path(world.dns.gerrit.git_url), "log", "-1", "--format=%B", "master")
    assert "Forced with --force" in message
    assert any(r.get("forced") for r in audit(world))


def test_emergency_failover_when_primary_is_down(run_cli: RunCli, world: World) -> None:
    world.haproxy.stop_haproxy("cloudcontrol1003")
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 0, result.stderr
    message = git(Path(world.dns.gerrit.git_url), "log", "-1", "--format=%B", "master")
    assert "Emergency failover" in message
    assert served_targets(world) == ["cloudcontrol1004.wikimedia.org."] * 2


def test_no_wait_then_resume_without_duplicate(run_cli: RunCli, world: World) -> None:
    world.dns.gerrit.auto_merge_after = None
    result = promote(run_cli, world, "cloudcontrol1004", "--yes", "--no-wait")
    assert result.code == 0, result.stderr
    assert "--no-wait" in result.stdout + result.stderr
    changes = world.dns.gerrit.changes()
    assert len(changes) == 1 and changes[0]["status"] == "NEW"
    threading.Timer(1.0, world.dns.gerrit.approve_and_merge, [changes[0]["number"]]).start()
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 0, result.stderr
    changes = world.dns.gerrit.changes()
    assert len(changes) == 1 and changes[0]["status"] == "MERGED"
    assert len(changes[0]["patch_sets"]) == 1


def test_abandoned_change_exits_4(run_cli: RunCli, world: World) -> None:
    world.dns.gerrit.auto_merge_after = None

    def abandon_when_pushed() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not world.dns.gerrit.changes():
            time.sleep(0.05)
        world.dns.gerrit.abandon(world.dns.gerrit.changes()[0]["number"])

    threading.Thread(target=abandon_when_pushed, daemon=True).start()
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 4
    assert "abandoned" in result.stderr


def test_push_rejected_exits_4_and_leaves_nothing(run_cli: RunCli, world: World) -> None:
    before = checkout_snapshot(world.dns.checkout)
    world.dns.gerrit.set_prohibited("you are not allowed to upload")
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 4
    assert "prohibited" in result.stderr
    assert checkout_snapshot(world.dns.checkout) == before
    assert audit(world)[-1]["result"] == "failed"


def test_deploy_failing_exits_5(run_cli: RunCli, world: World) -> None:
    world.write_config(deploy=["false"])
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 5
    assert "deploy command failed" in result.stderr


def test_verification_times_out_exits_5(run_cli: RunCli, world: World) -> None:
    world.write_config(deploy=world.deploy_argv(world.gdnsd[:1]), verify_timeout=1.5)
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 5
    assert "not every nameserver answers" in result.stderr
    assert world.gdnsd[1].address in result.stderr


def test_resume_deploy_when_merged_but_not_served(run_cli: RunCli, world: World) -> None:
    world.write_config(deploy=["true"], verify_timeout=1)
    assert promote(run_cli, world, "cloudcontrol1004", "--yes").code == 5
    world.write_config(deploy=world.deploy_argv())
    result = promote(run_cli, world, "cloudcontrol1004", "--yes", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kind"] == "resume deploy"
    assert len(world.dns.gerrit.changes()) == 1


def test_bad_input(run_cli: RunCli, world: World) -> None:
    assert promote(run_cli, world, "cloudcontrol1005", "--dry-run").code == 2
    result = promote(run_cli, world, "cloudcontrol1004", "--dry-run", "--bug", "12345")
    assert result.code == 2 and "T12345" in result.stderr
    result = run_cli("promote", "../x", "cloudcontrol1004", "--config", str(world.config_path))
    assert result.code == 2 and "Traceback" not in result.stderr


def test_second_promote_refused_by_lock(run_cli: RunCli, world: World) -> None:
    world.dns.gerrit.auto_merge_after = None
    mark = Mark(world)
    first = run_promote_process(world, "cloudcontrol1004")
    try:
        wait_for_step(mark, "push", proc=first)
        result = promote(run_cli, world, "cloudcontrol1004", "--yes")
        assert result.code == 3
        assert f"pid {first.pid}" in result.stderr
        world.dns.gerrit.approve_and_merge(world.dns.gerrit.changes()[0]["number"])
        _, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_review_then_resume(run_cli: RunCli, world: World,
                                              signum: int) -> None:
    world.dns.gerrit.auto_merge_after = None
    before = checkout_snapshot(world.dns.checkout)
    mark = Mark(world)
    first = run_promote_process(world, "cloudcontrol1004")
    try:
        wait_for_step(mark, "push", proc=first)
        time.sleep(0.3)
        os.kill(first.pid, signum)
        _, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 130, err
    assert "interrupted" in err and "Run the same command again" in err
    assert "Traceback" not in err
    assert checkout_snapshot(world.dns.checkout) == before
    assert audit(world)[-1]["result"] == "interrupted"
    number = world.dns.gerrit.changes()[0]["number"]
    world.dns.gerrit.approve_and_merge(number)
    result = promote(run_cli, world, "cloudcontrol1004", "--yes")
    assert result.code == 0, result.stderr
    assert len(world.dns.gerrit.changes()) == 1


def test_nothing_to_do_warns_of_an_open_change_elsewhere(run_cli: RunCli, world: World) -> None:
    world.dns.gerrit.auto_merge_after = None
    assert promote(run_cli, world, "cloudcontrol1004", "--yes", "--no-wait").code == 0
    url = world.dns.gerrit.change_url(world.dns.gerrit.changes()[0]["number"])
    result = promote(run_cli, world, "cloudcontrol1003", "--dry-run")
    assert result.code == 0
    assert "nothing to do" in result.stdout
    assert f"an open failover change points elsewhere: {url}" in result.stdout


def test_promote_leaves_the_remote_tracking_branch_at_the_merge(run_cli: RunCli,
                                                                 world: World) -> None:
    assert promote(run_cli, world, "cloudcontrol1004", "--yes").code == 0
    tip = git(Path(world.dns.gerrit.git_url), "rev-parse", "master")
    assert git(world.dns.checkout, "rev-parse", "origin/master") == tip


class TypedAnswers(io.StringIO):
    """Standard input that looks like a terminal, holding the operator's answers."""

    def isatty(self) -> bool:
        return True


def test_abort_at_the_push_prompt_pushes_nothing(run_cli: RunCli, world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", TypedAnswers("abort\n"))
    result = promote(run_cli, world, "cloudcontrol1004")
    assert result.code == 3
    assert "aborted at the prompt" in result.stderr and "nothing was pushed" in result.stderr
    assert world.dns.gerrit.changes() == []


def test_abort_at_the_deploy_prompt_says_the_change_is_merged(
        run_cli: RunCli, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", TypedAnswers("go\nabort\n"))
    result = promote(run_cli, world, "cloudcontrol1004")
    assert result.code == 3
    url = world.dns.gerrit.change_url(world.dns.gerrit.changes()[0]["number"])
    assert f"the change {url} is merged but not deployed" in result.stderr
    assert "nothing was pushed" not in result.stderr
    monkeypatch.setattr(sys, "stdin", TypedAnswers("go\n"))
    result = promote(run_cli, world, "cloudcontrol1004")
    assert result.code == 0, result.stderr
    assert len(world.dns.gerrit.changes()) == 1


def test_no_deploy_configured_asks_no_deploy_question(run_cli: RunCli, world: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    world.write_config(deploy=[], verify_timeout=1)
    monkeypatch.setattr(sys, "stdin", TypedAnswers("go\n"))   # one answer: the push only
    result = promote(run_cli, world, "cloudcontrol1004")
    assert result.code == 5, result.stderr
    assert "no [dns] deploy command configured" in result.stdout
    assert "run authdns-update by hand" in result.stdout


def test_a_record_region_fails_over_between_addresses(run_cli: RunCli,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The later production form: `openstack 5M IN A <virtual IP>` instead of a CNAME."""
    import dns.message
    import dns.query

    vips = {"cloudcontrol1003": "185.15.57.24", "cloudcontrol1004": "185.15.57.25"}
    with start_world(auto_merge_after=0.3, targets=vips) as w:
        monkeypatch.setenv("XDG_STATE_HOME", str(w.workdir / "state"))
        result = promote(run_cli, w, "cloudcontrol1004", "--yes", "--json")
        assert result.code == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["zone"]["diff"].count("\n+openstack  5M  IN A  185.15.57.25") == 1
        for g in w.gdnsd:
            reply = dns.query.udp(dns.message.make_query(FQDN, "A"), "127.0.0.1", port=g.port,
                                  timeout=2)
            assert [r.address for r in reply.answer[0]] == ["185.15.57.25"]
        result = promote(run_cli, w, "cloudcontrol1004", "--yes")
        assert result.code == 0 and "nothing to do" in result.stdout
