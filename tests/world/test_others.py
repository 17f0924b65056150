"""Two operators, one name (issue 24): Gerrit as the shared lock, `--from`, the flip you did
not see, and two checkouts racing; against the Gerrit stand-in, gdnsd and HAProxy."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.dnsrepo import WIKIMEDIA_PATH, ZONE_PATH, clone_operator_checkout
from sandbox.haproxy import haproxy_available
from sandbox.world import World, start_world
from tests.conftest import RunCli
from tests.helpers import git

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

EQIAD = "openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org."
IRC = "irc              5M  IN CNAME    irc1001"
"""The irc service's record, in its own zone file (templates/wikimedia.org)."""
CODFW = "openstack  5M  IN CNAME  cloudcontrol2001-dev.wikimedia.org."
OTHER = ("Other Op", "other@example.org")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with start_world(auto_merge_after=None) as w:  # the tests merge when they mean to
        monkeypatch.setenv("XDG_STATE_HOME", str(w.workdir / "state"))
        yield w


def other_checkout(world: World, tmp_path: Path) -> Path:
    """Return a second operator's checkout (another host): its own clone, its own identity."""
    return clone_operator_checkout(world.dns.gerrit, tmp_path / "other", ident=OTHER)


def edit(checkout: Path, old: str, new: str, subject: str, *,
         ref: str = "HEAD:refs/for/master", env: dict[str, str] | None = None,
         zone_file: str = ZONE_PATH) -> str:
    """Commit `old` -> `new` in `zone_file` and push it to `ref`; return the commit."""
    git(checkout, "pull", "-q", "--ff-only")
    path = checkout / zone_file
    path.write_text(path.read_text().replace(old, new))
    subprocess.run(["git", "commit", "-qam", subject], cwd=checkout, check=True,
                   capture_output=True, timeout=30, env={**os.environ, **(env or {})})
    git(checkout, "push", "-q", "origin", ref)
    return git(checkout, "rev-parse", "HEAD").strip()


def open_changes(world: World) -> list[dict[str, Any]]:
    return [c for c in world.dns.gerrit.changes() if c["status"] == "NEW"]


def message_of(world: World, change: dict[str, Any]) -> str:
    """Return the change's commit message, its lines joined (the body is wrapped at 72)."""
    return " ".join(git(world.dns.gerrit.git_dir, "log", "-1", "--format=%B",
                        change["patch_sets"][-1]["revision"]).split())


def tip_zone(world: World) -> str:
    return git(world.dns.gerrit.git_dir, "show", f"master:{ZONE_PATH}")


def refused_then_acknowledged(run_cli: RunCli, world: World, tmp_path: Path, name: str,
                              target: str, line: str, zone_file: str) -> None:
    """Another owner's open change moves NAME's `line` (to `target`) in `zone_file`: the
    promote is refused (exit 3) naming its URL, owner and age, then passes with `--ack`, the
    acknowledgement in its commit message."""
    cfg = str(world.config_path)
    old_target = line.split()[-1].split(".")[0]
    edit(other_checkout(world, tmp_path), line, line.replace(old_target, target),
         f"{zone_file}: {name} to {target} by hand", zone_file=zone_file)
    [theirs] = open_changes(world)
    url = world.dns.gerrit.change_url(theirs["number"])
    refused = run_cli("promote", name, target, "--yes", "--config", cfg)
    assert refused.code == 3, refused.stderr
    said = " ".join(refused.stderr.split())
    assert url in said and "by Other Op" in said and "ago" in said, said
    assert f"--ack {theirs['number']}" in said
    assert len(open_changes(world)) == 1  # nothing pushed
    acked = run_cli("promote", name, target, "--yes", "--no-wait",
                    "--ack", str(theirs["number"]), "--config", cfg)
    assert acked.code == 0, acked.stderr
    mine = next(c for c in open_changes(world) if c["number"] != theirs["number"])
    assert f"Acknowledged open change {url} by Other Op (--ack)" in message_of(world, mine)


def test_an_open_change_of_another_owner_on_the_record(run_cli: RunCli, world: World,
                                                       tmp_path: Path) -> None:
    """A region's record, in [dns] zone_file."""
    refused_then_acknowledged(run_cli, world, tmp_path, "eqiad1", "cloudcontrol1004", EQIAD,
                              ZONE_PATH)


def test_an_open_change_of_a_services_record_in_its_own_zone_file(
        run_cli: RunCli, world: World, tmp_path: Path) -> None:
    """A service's lock is read in its own zone file (irc: templates/wikimedia.org, not
    [dns] zone_file)."""
    refused_then_acknowledged(run_cli, world, tmp_path, "irc", "irc1002", IRC, WIKIMEDIA_PATH)


def test_an_open_change_of_another_record_in_the_file_is_no_lock(
        run_cli: RunCli, world: World, tmp_path: Path) -> None:
    """Two names in one zone file: both land, the later merged beside the earlier (a merge
    commit, as Gerrit's submit rebases or merges), neither undoing the other."""
    cfg = str(world.config_path)
    edit(other_checkout(world, tmp_path), CODFW, CODFW.replace("2001", "2004"),
         "wikimediacloud.org: codfw1dev API to cloudcontrol2004-dev")
    [theirs] = open_changes(world)
    done = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--no-wait",
                   "--config", cfg)
    assert done.code == 0, done.stderr
    [mine] = [c for c in open_changes(world) if c["number"] != theirs["number"]]
    world.dns.gerrit.approve_and_merge(mine["number"])
    world.dns.gerrit.approve_and_merge(theirs["number"])  # based on the older tip
    zone = tip_zone(world)
    assert EQIAD.replace("1003", "1004") in zone and CODFW.replace("2001", "2004") in zone


def test_a_services_flip_by_another_author_in_its_own_zone_file(
        run_cli: RunCli, world: World, tmp_path: Path) -> None:
    """The flap guard reads the service's own zone file's history: refused (exit 3)."""
    cfg = str(world.config_path)
    flip = edit(other_checkout(world, tmp_path), IRC, IRC.replace("1001", "1002"),
                "wikimedia.org: irc to irc1002", ref="HEAD:master", zone_file=WIKIMEDIA_PATH)
    refused = run_cli("promote", "irc", "irc1001", "--yes", "--config", cfg)
    assert refused.code == 3, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "by Other Op" in said and flip[:12] in said, said


def test_two_checkouts_racing_for_the_same_name(run_cli: RunCli, world: World, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The other host pushes its change of the record between this run's look and its push:
    this run's change is the later, so it stops before the merge naming the other's."""
    import failover.repo

    cfg = str(world.config_path)
    other = other_checkout(world, tmp_path)
    real_push = failover.repo.push_for_review

    def racing_push(*args: Any, **kwargs: Any) -> Any:
        edit(other, EQIAD, EQIAD.replace("1003", "1004"),
             "wikimediacloud.org: eqiad1 API to cloudcontrol1004 (other host)")
        return real_push(*args, **kwargs)

    monkeypatch.setattr(failover.repo, "push_for_review", racing_push)
    raced = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--config", cfg)
    assert raced.code == 3, raced.stderr
    first, later = sorted(open_changes(world), key=lambda c: c["number"])
    said = " ".join(raced.stderr.split())
    assert world.dns.gerrit.change_url(first["number"]) in said and "came first" in said, said
    assert "(other host)" in message_of(world, first)
    assert "abandon this run's change" in said
    # the run stopped before the merge: its change waits, unmerged, for its owner to abandon
    world.dns.gerrit.approve_and_merge(first["number"])
    assert [c["number"] for c in open_changes(world)] == [later["number"]]
    merged = [c for c in world.dns.gerrit.changes() if c["status"] == "MERGED"]
    assert [c["number"] for c in merged] == [first["number"]]


def test_a_stale_from_is_refused(run_cli: RunCli, world: World) -> None:
    cfg = str(world.config_path)
    stale = run_cli("promote", "eqiad1", "cloudcontrol1004", "--from", "cloudcontrol1004",
                    "--dry-run", "--config", cfg)
    assert stale.code == 3, stale.stderr
    assert "--from cloudcontrol1004 is stale" in " ".join(stale.stderr.split())
    status = run_cli("status", "--config", cfg)
    assert status.code == 0, status.stderr
    command = "failover promote eqiad1 cloudcontrol1004 --from cloudcontrol1003"
    assert f"next: {command}" in status.stdout + status.stderr
    doc = run_cli("status", "--json", "--config", cfg)
    assert json.loads(doc.stdout)["regions"]["eqiad1"]["suggested"] == command
    right = run_cli(*command.split()[1:], "--dry-run", "--config", cfg)
    assert right.code == 0, right.stderr


def test_a_flip_by_another_author_ten_minutes_earlier(run_cli: RunCli, world: World,
                                                      tmp_path: Path) -> None:
    """Refused (exit 3) naming the commit, its author and age; then acknowledged: the commit
    message records which commit, by whom, how long ago."""
    cfg = str(world.config_path)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    flip = edit(other_checkout(world, tmp_path), EQIAD, EQIAD.replace("1003", "1004"),
                "wikimediacloud.org: eqiad1 API to cloudcontrol1004", ref="HEAD:master",
                env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
    refused = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--config", cfg)
    assert refused.code == 3, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "changed 10m" in said and "by Other Op" in said and flip[:12] in said, said
    acked = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--no-wait",
                    "--ack", flip[:10], "--config", cfg)
    assert acked.code == 0, acked.stderr
    [mine] = open_changes(world)
    assert f"Acknowledged: {flip[:12]} (wikimediacloud.org: eqiad1 API to cloudcontrol1004) " \
           "by Other Op 10m" in message_of(world, mine)
