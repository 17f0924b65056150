"""The sandbox's second service: irc.wikimedia.org in templates/wikimedia.org, its target
written relative to the $ORIGIN, each candidate's health a TCP listener. Promote end to end:
the merged file keeps the relative form, both gdnsd answer the new target."""

from __future__ import annotations

import getpass
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.authdns_update import merged_template
from sandbox.dnsrepo import WIKIMEDIA_PATH, ZONE_PATH
from sandbox.haproxy import haproxy_available
from sandbox.world import IRC_FQDN, World, start_world
from tests.conftest import RunCli
from tests.helpers import git

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.fixture
def world(started_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The module's one world, as started (`World.reset` after each test)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(started_world.workdir / "state"))
    yield started_world
    started_world.reset()


def answers(world: World) -> list[str]:
    import dns.message
    import dns.query

    out = []
    for g in world.gdnsd:
        reply = dns.query.udp(dns.message.make_query(IRC_FQDN, "CNAME"), "127.0.0.1",
                              port=g.port, timeout=2)
        out.append(str(reply.answer[0][0].target) if reply.answer else "none")
    return out


def test_relative_target_promote_end_to_end(run_cli: RunCli, world: World) -> None:
    cfg = str(world.config_path)
    assert answers(world) == ["irc1001.wikimedia.org."] * 2
    status = json.loads(run_cli("status", "irc", "--json", "--config", cfg).stdout)
    assert status["services"]["irc"]["primary"] == "irc1001"
    result = run_cli("promote", "irc", "irc1002", "--yes", "--json", "--reason", "reboot",
                     "--config", cfg)
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "done" and doc["service"]["zone_file"] == WIKIMEDIA_PATH
    assert "-irc              5M  IN CNAME    irc1001\n" in doc["zone"]["diff"]
    assert "+irc              5M  IN CNAME    irc1002\n" in doc["zone"]["diff"]
    merged = merged_template(world.dns.gerrit.git_url, "master", WIKIMEDIA_PATH)
    assert "\nirc              5M  IN CNAME    irc1002\n" in merged  # relative, as written
    changed = git(world.dns.gerrit.git_dir, "show", "--format=", "--name-only", "HEAD").split()
    assert changed == [WIKIMEDIA_PATH]
    assert answers(world) == ["irc1002.wikimedia.org."] * 2
    check = run_cli("check", "irc", "--state-file", str(world.workdir / "c.json"),
                    "--config", cfg)
    assert check.code == 0 and check.stdout.startswith("OK - irc -> irc1002, healthy")


def test_a_closed_listener_is_refused(run_cli: RunCli, world: World) -> None:
    world.irc["irc1002"].close()
    result = run_cli("promote", "irc", "irc1002", "--yes", "--config", str(world.config_path))
    assert result.code == 3 and "health check failed" in result.stderr, result.stderr
    assert answers(world) == ["irc1001.wikimedia.org."] * 2


@pytest.fixture
def outside_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The world with its SAL relay (and Conduit, Alertmanager) configured in [sal]."""
    with start_world(auto_merge_after=0.3, outside=True) as w:
        monkeypatch.setenv("XDG_STATE_HOME", str(w.workdir / "state"))
        yield w


def promoted(run_cli: RunCli, world: World, name: str, target: str) -> dict[str, Any]:
    """Return the JSON of a real promote (outcome done), the SAL relay emptied first."""
    assert world.outside is not None
    world.outside.sal.lines.clear()
    result = run_cli("promote", name, target, "--yes", "--json", "--reason", "reboot",
                     "--config", str(world.config_path))
    assert result.code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["outcome"] == "done"
    return doc


def test_a_service_uses_its_own_topic_sal_project_and_deploy_zone(
        run_cli: RunCli, outside_world: World) -> None:
    """irc's change carries its own topic, its SAL lines its own project (none by default,
    never the regions' `admin`), and its deploy names its own zone file; the region keeps
    [dns] topic, [sal] project and [dns] zone_file."""
    w = outside_world
    assert w.outside is not None
    relay, user, host = w.outside.sal, getpass.getuser(), socket.gethostname()

    def sal(project: str, target: str) -> list[str]:
        return [f"!log {user}@{host} {project}{phase} - failover promote irc {target} (reboot)"
                for phase in ("START", "END (PASS)")]

    def without_durations(lines: list[str]) -> list[str]:
        """The SAL lines without END's durations (`(push_to_merge=0.6s ...)`), which vary."""
        return [re.sub(r" \(push_to_merge=[^)]*\)$", "", line) for line in lines]

    doc = promoted(run_cli, w, "irc", "irc1002")  # no topic, no sal_project: the defaults
    assert w.dns.gerrit.changes()[-1]["topic"] == "irc-failover"
    assert "topic=irc-failover" in doc["push"]["options"]
    # [dns] deploy holds `--zone {zone_file}`: the service's template, not [dns] zone_file
    assert doc["deploy"]["command"] == w.deploy_argv(zone=WIKIMEDIA_PATH)
    assert without_durations(relay.wait_for(2)) == without_durations(doc["sal"]) \
        == sal("", "irc1002")
    assert answers(w) == ["irc1002.wikimedia.org."] * 2

    w.write_config(irc={"topic": "irc-maintenance", "sal_project": "tools"})
    doc = promoted(run_cli, w, "irc", "irc1001")
    assert w.dns.gerrit.changes()[-1]["topic"] == "irc-maintenance"
    assert without_durations(relay.wait_for(2)) == without_durations(doc["sal"]) == sal("tools ",
                                                                                 "irc1001")
    assert doc["deploy"]["command"] == w.deploy_argv(zone=WIKIMEDIA_PATH)
    assert answers(w) == ["irc1001.wikimedia.org."] * 2

    region = json.loads(run_cli("promote", "eqiad1", "cloudcontrol1004", "--dry-run", "--json",
                                "--config", str(w.config_path)).stdout)
    assert "topic=openstack-failover" in region["push"]["options"]
    assert region["deploy"]["command"] == w.deploy_argv(zone=ZONE_PATH)
    assert region["sal_planned"][0].startswith(f"!log {user}@{host} admin START - ")
