"""`World.reset`: a world a test changed is, afterwards, as `start_world` made it (what lets a
module share one world between its tests)."""

from __future__ import annotations

import subprocess

import pytest

from sandbox.dnsrepo import ZONE_PATH, push_upstream_edit
from sandbox.haproxy import haproxy_available
from sandbox.world import start_world
from tests.helpers import checkout_snapshot, git, served_targets

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


def test_reset_undoes_what_a_test_changed() -> None:
    with start_world(auto_merge_after=0.3) as world:
        gerrit, checkout = world.dns.gerrit, world.dns.checkout
        before = checkout_snapshot(checkout)
        refs, served = gerrit.refs(), served_targets(world)
        push_upstream_edit(gerrit, "templates/other.org", "x\n")
        git(checkout, "checkout", "-q", "-b", "local-work")
        (checkout / ZONE_PATH).write_text("edited\n")
        gerrit.faults.errors_500 = -1
        gerrit.auto_merge_after = None
        gerrit.set_prohibited("create change")
        world.haproxy.stop_haproxy("cloudcontrol1004")
        world.gdnsd[1].stop()
        (world.workdir / "state" / "leftover").write_text("x")
        world.audit_path.write_text("{}\n")
        world.write_config(verify_timeout=1)

        world.reset()

        after = checkout_snapshot(checkout)
        # the index holds the copies' own inodes and times, refreshed: the tool's first
        # `git status` does not rewrite it under a test's snapshot
        assert {**after, "index": None} == {**before, "index": None}
        git(checkout, "status", "--porcelain")
        assert (checkout / ".git" / "index").read_bytes() == after["index"]
        assert gerrit.refs() == refs and gerrit.changes() == []
        assert gerrit.faults.errors_500 == 0 and gerrit.auto_merge_after == 0.3
        assert sorted(world.haproxy.running_controllers()) == sorted(world.haproxy.controllers)
        assert served_targets(world) == served
        assert list((world.workdir / "state").iterdir()) == [] and not world.audit_path.exists()
        assert "timeout = 20" in world.config_path.read_text()
        subprocess.run(["git", "-C", str(checkout), "fetch", "-q", "origin"], check=True,
                       timeout=60)  # the checkout still reaches the stand-in (over its sshd)
