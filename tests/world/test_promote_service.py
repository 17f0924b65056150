"""`failover promote NAME SIDE` for a group: several records in one change, through the same
steps as a region, every record verified at both sandbox gdnsd."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import git, without_regions
from tests.helpers import served_targets as served

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

RECORDS = {"openstack.eqiad1.wikimediacloud.org": ("cloudcontrol1003", "cloudcontrol1004"),
           "openstack.codfw1dev.wikimediacloud.org": ("cloudcontrol2001-dev",
                                                      "cloudcontrol2004-dev")}


@pytest.fixture
def world(started_world: World,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, int]]:
    """The module's one world, as started (`World.reset` after each test), with `api`."""
    w = started_world
    with socket.create_server(("127.0.0.1", 0)) as listener:
        monkeypatch.setenv("XDG_STATE_HOME", str(w.workdir / "state"))
        port = listener.getsockname()[1]
        lines = ["[groups.api]", 'sides = ["old", "new"]', "[groups.api.members]"]
        lines += [f'"{r}" = {{old = "{a}.wikimedia.org.", new = "{b}.wikimedia.org."}}'
                  for r, (a, b) in RECORDS.items()]
        lines += ["[groups.api.health]",
                  f'new = {{kind = "tcp", host = "127.0.0.1", port = {port}, timeout = 2}}']
        original = w.config_path.read_text(encoding="utf-8")
        (w.workdir / "region-only.toml").write_text(original, encoding="utf-8")
        text = without_regions(original)  # a record belongs
        w.config_path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        yield w, port  # to one name (issue 20): not to the region too
    w.reset()



def test_group_promote_moves_every_record_in_one_change(run_cli: RunCli,
                                                        world: tuple[World, int]) -> None:
    w, _ = world
    cfg = str(w.config_path)
    dry = run_cli("promote", "api", "new", "--dry-run", "--json", "--config", cfg)
    assert dry.code == 0, dry.stderr
    preview = json.loads(dry.stdout)
    assert [r["record"] for r in preview["service"]["records"]] == list(RECORDS)
    assert preview["zone"]["diff"].count("\n+openstack") == 2
    before = git(w.dns.gerrit.git_dir, "rev-list", "--count", "HEAD")
    result = run_cli("promote", "api", "new", "--yes", "--json", "--reason", "test",
                     "--config", cfg)
    assert result.code == 0, result.stderr + result.stdout
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "done"
    assert [s["key"] for s in doc["steps"]] == [s["key"] for s in preview["steps"]]
    assert int(git(w.dns.gerrit.git_dir, "rev-list", "--count", "HEAD")) == int(before) + 1
    message = git(w.dns.gerrit.git_dir, "log", "-1", "--format=%B")
    assert message.startswith("wikimediacloud.org: fail over api to new")
    for record, (_, new) in RECORDS.items():
        assert served(w, record) == [f"{new}.wikimedia.org."] * 2
        assert f"- {record}" in message and f"{new}.wikimedia.org." in message
    for rec in doc["service"]["records"]:
        assert rec["dns"]["agree"] and rec["dns"]["controller"] == "new"
    again = run_cli("promote", "api", "new", "--yes", "--json", "--config", cfg)
    assert again.code == 0 and json.loads(again.stdout)["kind"] == "nothing to do"
    first = git(w.dns.gerrit.git_dir, "rev-parse", "HEAD").strip()
    back = run_cli("promote", "api", "old", "--yes", "--config", cfg)
    assert back.code == 0, back.stderr
    reverted = git(w.dns.gerrit.git_dir, "log", "-1", "--format=%B").strip().splitlines()
    assert reverted[:3] == [f'Revert "{message.splitlines()[0]}"', "",
                            f"This reverts commit {first}."]
    for record, (old, _) in RECORDS.items():
        assert served(w, record) == [f"{old}.wikimedia.org."] * 2


def test_group_promote_refuses_unhealthy_side(run_cli: RunCli, world: tuple[World, int]) -> None:
    w, _ = world
    text = w.config_path.read_text().replace("[groups.api.health]",
                                             '[groups.api.health]\nold = {kind = "command", '
                                             'argv = ["false"]}')
    w.config_path.write_text(text)
    result = run_cli("promote", "api", "new", "--yes", "--config", str(w.config_path))
    assert result.code == 0, result.stderr
    back = run_cli("promote", "api", "old", "--yes", "--config", str(w.config_path))
    assert back.code == 3 and "health check failed" in back.stderr, back.stderr


def test_group_prepare_summary_lists_only_the_members_it_changes(
        run_cli: RunCli, world: tuple[World, int]) -> None:
    """Issue 20: a member already on the side was listed as `x -> x`."""
    w, _ = world
    cfg = str(w.config_path)
    region = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--config",
                     str(w.workdir / "region-only.toml"))  # the region's own config
    assert region.code == 0, region.stderr
    result = run_cli("promote", "api", "new", "--yes", "--json", "--config", cfg)
    assert result.code == 0, result.stderr
    [prepare] = [s for s in json.loads(result.stdout)["steps"] if s["key"] == "prepare"]
    assert "cloudcontrol1004.wikimedia.org. -> cloudcontrol1004" not in prepare["summary"]
    assert "-> cloudcontrol2004-dev.wikimedia.org." in prepare["summary"], prepare["summary"]
    message = git(w.dns.gerrit.git_dir, "log", "-1", "--format=%B")
    assert message.startswith("wikimediacloud.org: fail over api to new\n")
