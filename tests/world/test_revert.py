"""A failback back to where the last merged failover came from is written as Gerrit's Revert:
promote, then promote back, and read the merged commit (checked by commit-message-validator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import git
from tests.unit.promote.test_message_rules import run_validator

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

ZONE = "templates/wikimediacloud.org"


@pytest.fixture
def world(started_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The module's one world, as started (`World.reset` after each test)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(started_world.workdir / "state"))
    yield started_world
    started_world.reset()


def test_failback_is_the_revert_of_the_failover(run_cli: RunCli, world: World,
                                                tmp_path: Path) -> None:
    cfg = str(world.config_path)
    gerrit = world.dns.gerrit.git_dir
    there = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--json",
                    "--reason", "maintenance", "--config", cfg)
    assert there.code == 0, there.stderr
    assert json.loads(there.stdout)["revert"] is None
    first = git(gerrit, "rev-parse", "HEAD").strip()
    subject = git(gerrit, "log", "-1", "--format=%s").strip()
    dry = run_cli("promote", "eqiad1", "cloudcontrol1003", "--dry-run", "--json",
                  "--config", cfg)
    assert json.loads(dry.stdout)["revert"] == {"commit": first, "subject": subject}
    back = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--json",
                   "--reason", "maintenance done", "--bug", "T12345", "--config", cfg)
    assert back.code == 0, back.stderr
    message = git(gerrit, "log", "-1", "--format=%B")
    lines = message.strip().splitlines()
    assert lines[0] == f'Revert "{subject}"'
    assert lines[1:5] == ["", f"This reverts commit {first}.", "",
                          "Reason for revert: maintenance done"]
    assert lines[-2:-1] == ["Bug: T12345"] and lines[-1].startswith("Change-Id: I"), message
    assert run_validator(message, tmp_path) == ""
    # the revert's diff is the failover's, inverted
    assert git(gerrit, "diff", f"{first}~1", "HEAD", "--", ZONE) == ""
    # promoting there again reverts the revert, as Gerrit's button would
    again = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--json", "--config", cfg)
    assert again.code == 0, again.stderr
    assert git(gerrit, "log", "-1", "--format=%s").strip() == f'Revert "Revert "{subject}""'


def test_not_a_revert_when_the_record_changed_since(run_cli: RunCli, world: World) -> None:
    cfg = str(world.config_path)
    gerrit = world.dns.gerrit.git_dir
    assert run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--config", cfg).code == 0
    checkout = world.dns.checkout
    git(checkout, "pull", "-q", "--ff-only")
    path = checkout / ZONE
    text = path.read_text()
    assert "openstack  5M  IN CNAME  cloudcontrol1004" in text
    path.write_text(text.replace("openstack  5M  IN CNAME  cloudcontrol1004",
                                 "openstack  1H  IN CNAME  cloudcontrol1004"))
    git(checkout, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam",
        "wikimediacloud.org: openstack TTL 1H")
    git(checkout, "push", "-q", "origin", "HEAD:refs/heads/master")
    ttl = git(checkout, "rev-parse", "HEAD").strip()  # t's change, seconds ago: acknowledged
    back = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--json", "--config", cfg,
                   "--ack", ttl)
    assert back.code == 0, back.stderr
    assert json.loads(back.stdout)["revert"] is None
    assert not git(gerrit, "log", "-1", "--format=%s").startswith("Revert")


def test_failback_after_lines_added_above_the_record_is_the_revert(run_cli: RunCli,
                                                                   world: World) -> None:
    """The last change of the record is found by its content: an unrelated commit that only
    adds lines above it moves it (new line number) without changing it."""
    from sandbox.dnsrepo import push_upstream_edit

    cfg = str(world.config_path)
    gerrit = world.dns.gerrit.git_dir
    assert run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--config", cfg).code == 0
    first = git(gerrit, "rev-parse", "HEAD").strip()
    subject = git(gerrit, "log", "-1", "--format=%s").strip()
    text = git(gerrit, "show", f"HEAD:{ZONE}")
    record = "openstack  5M  IN CNAME  cloudcontrol1004"
    head, sep, tail = text.partition(record)
    assert sep
    cut = head.rfind("\n", 0, len(head) - 1) + 1  # above the record's block
    moved = head[:cut] + "unrelated1  5M  IN A  192.0.2.51\nunrelated2  5M  IN A  " \
        "192.0.2.52\n" + head[cut:] + sep + tail
    push_upstream_edit(world.dns.gerrit, ZONE, moved, message="wikimediacloud.org: add hosts")
    back = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--json", "--config", cfg)
    assert back.code == 0, back.stderr
    assert json.loads(back.stdout)["revert"] == {"commit": first, "subject": subject}
    assert git(gerrit, "log", "-1", "--format=%s").strip() == f'Revert "{subject}"'
    assert "unrelated2  5M  IN A  192.0.2.52" in git(gerrit, "show", f"HEAD:{ZONE}")
