"""Issue 23 end to end, in the sandbox world (pushes over SSH, REST with basic auth):
a bot-made change adopted; one that also changes another line refused; a prepared change
nobody can submit before the window, promoted after the tip moved; the maintenance pair out
and back with no second review; a self-merge that lands, and one refused for lack of rights."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from failover import repo
from sandbox.dnsrepo import ZONE_PATH, push_upstream_edit
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import audit, promote, reset_world, served_targets

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

WORLD = {"outside": True, "auto_merge_after": None}
C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
T3, T4 = f"{C3}.wikimedia.org.", f"{C4}.wikimedia.org."
START = [0]
"""The number of changes before the running test (the world is shared by the module)."""


def mine(world: World) -> list[dict[str, Any]]:
    """Return the changes the running test made, oldest first."""
    return sorted((c for c in world.dns.gerrit.changes() if c["number"] > START[0]),
                  key=lambda c: c["number"])


@pytest.fixture
def w(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The shared world, clean, with the operator's REST credentials (votes need them)."""
    reset_world(world)
    # the bot's and the reviewer's changes of the record follow each other within minutes
    # here: the flap window (tests/world/test_others.py) is not what these tests are about
    world.write_config(extra_config=["[safety]", "flap_window = 0"])
    gerrit = world.dns.gerrit
    gerrit.auto_merge_after = None
    gerrit.set_ci(None)
    gerrit.set_account("failover", approve=True, submit=True)
    START[0] = len(gerrit.changes())
    monkeypatch.setenv("FAILOVER_GERRIT_USER", "failover")
    monkeypatch.setenv("FAILOVER_GERRIT_PASSWORD", "secret")
    assert world.outside is not None
    monkeypatch.setenv("FAILOVER_PHABRICATOR_TOKEN", world.outside.conduit.token)
    world.outside.sal.lines.clear()
    world.outside.conduit.comments.clear()
    yield world
    gerrit.auto_merge_after = None  # reset_world turns it on before it abandons what is open
    for change in gerrit.changes():
        if change["status"] == "NEW":
            gerrit.abandon(change["number"])


def bot_change(world: World, *, also: tuple[str, str] | None = None) -> int:
    """Push, as the bot account, a change moving openstack.eqiad1 to 1004 (and `also`)."""
    gerrit = world.dns.gerrit
    with tempfile.TemporaryDirectory(prefix="fo-bot-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        subprocess.run(["git", "clone", "-q", gerrit.git_url, str(work)], check=True,
                       timeout=60)
        zone = work / ZONE_PATH
        text = zone.read_text().replace(f"CNAME  {T3}", f"CNAME  {T4}", 1)
        if also:
            text = text.replace(*also)
        zone.write_text(text)
        message = ("wmcs: Update openstack.eqiad1 alias\n\nWritten by a bot.\n\n"
                   "Change-Id: I" + os.urandom(20).hex() + "\n")
        env = {**os.environ, "GERRIT_STANDIN_USER": "dns-bot"}
        subprocess.run(["git", "-c", "user.name=bot", "-c", "user.email=bot@x", "commit",
                        "-q", "--no-verify", "-am", message], cwd=work, check=True, timeout=30)
        subprocess.run(["git", "push", "-q", "origin", "HEAD:refs/for/master%topic=db"],
                       cwd=work, check=True, timeout=60, env=env, capture_output=True)
    return max(c["number"] for c in gerrit.changes())


def merge_in_background(world: World, number: int) -> None:
    """Approve and merge `number` as the reviewer, a moment later (a colleague's review)."""
    import threading
    import time

    def later() -> None:
        time.sleep(1.0)
        world.dns.gerrit.approve_and_merge(number)

    threading.Thread(target=later, daemon=True).start()


def test_a_bot_made_change_adopted_to_the_end(run_cli: RunCli, w: World) -> None:
    number = bot_change(w)
    assert w.dns.gerrit.change(number)["owner"] == "dns-bot"
    dry = promote(run_cli, w, C4, "--change", str(number), "--dry-run")
    assert dry.code == 0, dry.stderr + dry.stdout
    assert f"+openstack  5M  IN CNAME  {T4}" in dry.stdout and "would run" in dry.stdout
    assert "adopting" in dry.stdout + dry.stderr
    assert w.dns.gerrit.change(number)["status"] == "NEW"
    merge_in_background(w, number)
    url = w.dns.gerrit.change_url(number)
    result = promote(run_cli, w, C4, "--change", url, "--bug", "T23")
    assert result.code == 0, result.stderr + result.stdout
    assert served_targets(w) == [T4, T4]
    assert len(mine(w)) == 1  # nothing of our own pushed
    records = audit(w)
    assert records[-1]["result"] == "done" and records[-1]["change_url"] == url
    assert w.outside is not None and any("START" in ln for ln in w.outside.sal.lines)
    # a re-run (the change merged and deployed) has nothing to do
    again = promote(run_cli, w, C4, "--change", str(number))
    assert again.code == 0 and "nothing to do" in again.stdout
    # back to 1003 for the next tests
    w.dns.gerrit.auto_merge_after = 0.3
    assert promote(run_cli, w, C3).code == 0


def test_an_adopted_change_that_changes_another_line_is_refused(run_cli: RunCli,
                                                                w: World) -> None:
    number = bot_change(w, also=("ns0.wikimedia.org.", "ns9.wikimedia.org."))
    result = promote(run_cli, w, C4, "--change", str(number))
    assert result.code == 3, result.stderr + result.stdout
    assert "does not only move openstack.eqiad1.wikimediacloud.org to cloudcontrol1004" \
        in result.stderr
    assert "ns9.wikimedia.org." in result.stderr and "ns0.wikimedia.org." in result.stderr
    assert w.dns.gerrit.change(number)["status"] == "NEW"
    assert served_targets(w) == [T3, T3]


def test_prepared_change_waits_then_lands_at_the_window_after_the_tip_moved(
        run_cli: RunCli, w: World) -> None:
    gerrit = w.dns.gerrit
    gerrit.auto_merge_after = 0.3  # a reviewer merges whatever is ready, at once
    result = promote(run_cli, w, C4, "--prepare", "--reason", "window at 14:00")
    assert result.code == 0, result.stderr + result.stdout
    assert "work in progress" in result.stdout + result.stderr
    [change] = mine(w)
    assert change["wip"] is True and change["status"] == "NEW"
    gerrit.review(change["number"], "reviewer", {"Code-Review": 2})
    gerrit.review(change["number"], "jenkins-bot", {"Verified": 1})
    shown = run_cli("status", "eqiad1", "--config", str(w.config_path))
    assert f"prepared: eqiad1 -> {C4}: prepared {gerrit.change_url(change['number'])}" \
        in shown.stdout
    status, body = gerrit.submit(change["number"], "reviewer")  # an early +2 cannot land it
    assert status == 409 and "is work in progress" in body
    assert gerrit.change(change["number"])["status"] == "NEW"
    # the tip moves (a colleague's unrelated change) before the window
    push_upstream_edit(gerrit, "doc/unrelated-note.txt", "x\n")
    result = promote(run_cli, w, C4, "--reason", "window at 14:00")
    assert result.code == 0, result.stderr + result.stdout
    assert "prepared:" not in run_cli("status", "eqiad1", "--config",
                                      str(w.config_path)).stdout
    after = gerrit.change(change["number"])
    assert after["status"] == "MERGED" and len(after["patch_sets"]) == 2  # rebased
    assert len(mine(w)) == 1
    assert served_targets(w) == [T4, T4]
    assert promote(run_cli, w, C3).code == 0


def test_prepared_change_refused_when_the_record_itself_changed(run_cli: RunCli,
                                                                w: World) -> None:
    gerrit = w.dns.gerrit
    assert promote(run_cli, w, C4, "--prepare").code == 0
    zone = repo.read_remote_file(repo.open_checkout(w.dns.checkout), ZONE_PATH)
    push_upstream_edit(gerrit, ZONE_PATH, zone.replace(f"CNAME  {T3}",
                                                       "CNAME  cloudcontrol1005.wikimedia.org."))
    result = promote(run_cli, w, C4)
    assert result.code == 3, result.stderr + result.stdout
    assert "the record itself changed" in result.stderr
    push_upstream_edit(gerrit, ZONE_PATH, zone)


def test_maintenance_pair_out_and_back_without_a_second_review(run_cli: RunCli,
                                                               w: World) -> None:
    gerrit = w.dns.gerrit
    gerrit.set_ci(0.0)
    result = promote(run_cli, w, C4, "--prepare-failback", "--no-wait")
    assert result.code == 0, result.stderr + result.stdout
    failover, failback = mine(w)
    assert failback["wip"] is True and not failover["wip"]
    assert failback["parent"] == failover["patch_sets"][-1]["revision"]
    assert failback["subject"].startswith('Revert "')
    for c in (failover, failback):  # the reviewer approves both in one sitting
        assert gerrit.review(c["number"], "reviewer", {"Code-Review": 2})[0] == 200
    gerrit.approve_and_merge(failover["number"])
    result = promote(run_cli, w, C4)
    assert result.code == 0, result.stderr + result.stdout
    assert served_targets(w) == [T4, T4]
    # the end of the window: failing back finds the prepared revert, no second review
    result = promote(run_cli, w, C3, "--json")
    assert result.code == 0, result.stderr + result.stdout
    doc = json.loads(result.stdout)
    assert doc["gerrit_flow"]["failback"]["number"] == failback["number"]
    back = gerrit.change(failback["number"])
    assert back["status"] == "MERGED" and back["submitter"] == "failover"
    assert back["votes"]["Code-Review"] == {"reviewer": 2}  # the one review, no other
    assert len(mine(w)) == 2
    assert served_targets(w) == [T3, T3]


def test_self_merge_lands_in_seconds_in_an_emergency(run_cli: RunCli, w: World) -> None:
    gerrit = w.dns.gerrit
    gerrit.set_ci(0.5)  # CI votes Verified half a second after the push
    w.haproxy.stop_haproxy(C3)
    try:
        result = promote(run_cli, w, C4, "--self-merge", "--bug", "T12345")
    finally:
        w.haproxy.reset()
    assert result.code == 0, result.stderr + result.stdout
    [change] = mine(w)
    assert change["status"] == "MERGED" and change["submitter"] == "failover"
    assert change["votes"]["Code-Review"] == {"failover": 2}
    assert served_targets(w) == [T4, T4]
    assert w.outside is not None
    assert any("SELF-MERGED" in ln for ln in w.outside.sal.lines)
    assert any("self-merged" in text for _task, text in w.outside.conduit.comments), \
        (w.outside.conduit.comments, result.stdout[-3000:], result.stderr)
    assert any("self-merged" in str(r.get("summary", "")).lower() for r in audit(w))
    w.dns.gerrit.auto_merge_after = 0.3
    assert promote(run_cli, w, C3).code == 0


def test_self_merge_refused_for_lack_of_rights_leaves_the_change_open(
        run_cli: RunCli, w: World) -> None:
    gerrit = w.dns.gerrit
    gerrit.set_account("failover", approve=False, submit=False)
    w.haproxy.stop_haproxy(C3)
    try:
        result = promote(run_cli, w, C4, "--self-merge")
    finally:
        w.haproxy.reset()
    assert result.code == 4, result.stderr + result.stdout
    assert 'Applying label "Code-Review": 2 is restricted' in result.stderr
    assert "stays open for review" in result.stderr
    [change] = mine(w)
    assert change["status"] == "NEW"
    assert served_targets(w) == [T3, T3]


def test_self_merge_outside_an_emergency_is_refused(run_cli: RunCli, w: World) -> None:
    result = promote(run_cli, w, C4, "--self-merge")
    assert result.code == 3, result.stderr + result.stdout
    assert "not an emergency" in result.stderr
    assert mine(w) == []
