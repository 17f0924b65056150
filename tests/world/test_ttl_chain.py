"""The TTL chain end to end against real gdnsd: `promote irc irc1002 --switch-ttl 5s` lowers
irc's TTL (8 s in this world, so the test stays fast; 5 s is gdnsd's least), waits out the
old TTL, switches, and restores it; three changes pushed in one push as a Gerrit relation
chain, one SAL START/END around the whole. A rerun after `--no-wait` goes on from the first
unmerged change."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.dnsrepo import WIKIMEDIA_PATH, push_upstream_edit, wikimedia_template
from sandbox.haproxy import haproxy_available
from sandbox.world import IRC_FQDN, World, start_world
from tests.conftest import RunCli
from tests.helpers import git
from tests.unit.promote.test_message_rules import run_validator

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

OLD = "8"
"""irc's TTL in this module's zone (seconds): short, so waiting it out takes 8 s."""
NEW = "5"
"""The switch TTL: gdnsd's min_ttl (it serves no lower TTL)."""


@pytest.fixture(scope="module")
def chain_world() -> Iterator[World]:
    """A world with its SAL relay, the stand-in merging a ready change 0.3 s after."""
    with start_world(auto_merge_after=0.3, outside=True) as w:
        yield w


@pytest.fixture
def world(chain_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The module's world with irc's TTL written and served as 8 s (reset after the test)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(chain_world.workdir / "state"))
    monkeypatch.setenv("FAILOVER_GERRIT_USER", chain_world.dns.gerrit.user)
    monkeypatch.setenv("FAILOVER_GERRIT_PASSWORD", chain_world.dns.gerrit.password)
    text = wikimedia_template().replace("irc              5M  IN", f"irc              {OLD}   IN")
    push_upstream_edit(chain_world.dns.gerrit, WIKIMEDIA_PATH, text,
                       message="wikimedia.org: irc TTL 8 for the test")
    subprocess.run(chain_world.deploy_argv(zone=WIKIMEDIA_PATH), check=True,
                   capture_output=True, timeout=60)
    assert answers(chain_world) == [("irc1001.wikimedia.org.", int(OLD))] * 2
    yield chain_world
    chain_world.reset()


def answers(world: World) -> list[tuple[str, int]]:
    """Return each gdnsd's (target, TTL) for irc.wikimedia.org."""
    import dns.message
    import dns.query

    out = []
    for g in world.gdnsd:
        reply = dns.query.udp(dns.message.make_query(IRC_FQDN, "CNAME"), "127.0.0.1",
                              port=g.port, timeout=2)
        rrset = reply.answer[0]
        out.append((str(rrset[0].target), rrset.ttl))
    return out


class Sampler:
    """Asks both gdnsd every 50 ms while the promote runs; keeps (time, answers) changes."""

    def __init__(self, world: World) -> None:
        self.world, self.seen = world, [(time.monotonic(), answers(world))]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            now = answers(self.world)
            if now != self.seen[-1][1]:
                self.seen.append((time.monotonic(), now))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def states(self) -> list[tuple[str, int]]:
        """Return the answers both servers agreed on, in order, each once in a row."""
        out: list[tuple[str, int]] = []
        for _, both in self.seen:
            if len(set(both)) == 1 and (not out or out[-1] != both[0]):
                out.append(both[0])
        return out

    def first(self, state: tuple[str, int]) -> float:
        """Return when both servers first answered `state`."""
        return next(t for t, both in self.seen if set(both) == {state})


def chain_changes(world: World) -> list[dict[str, Any]]:
    """Return the stand-in's changes, oldest first."""
    return sorted(world.dns.gerrit.changes(), key=lambda c: c["number"])


def test_chain_end_to_end(run_cli: RunCli, world: World, tmp_path: Any) -> None:
    """The answers' TTL falls to 5, the old 8 s pass, the target switches, the TTL is 8
    again; one push made three chained changes, each commit message validator-clean."""
    assert world.outside is not None
    relay = world.outside.sal
    relay.lines.clear()
    with Sampler(world) as sampler:
        result = run_cli("promote", "irc", "irc1002", "--switch-ttl", f"{NEW}s", "--yes", "--json",
                         "--reason", "irc1001 reboot", "--config", str(world.config_path))
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "done"
    was, now = "irc1001.wikimedia.org.", "irc1002.wikimedia.org."
    assert sampler.states() == [(was, int(OLD)), (was, int(NEW)), (now, int(NEW)),
                                (now, int(OLD))]
    lowered, switched = sampler.first((was, int(NEW))), sampler.first((now, int(NEW)))
    assert switched - lowered >= int(OLD) - 0.2  # the old TTL waited out (sampling slack)
    # the relation chain: three changes, each the parent of the next, one push
    changes = chain_changes(world)
    assert len(changes) == 3 and all(c["status"] == "MERGED" for c in changes)
    revisions = [c["patch_sets"][-1]["revision"] for c in changes]
    assert [c["parent"] for c in changes[1:]] == revisions[:2]
    assert all(len(c["patch_sets"]) == 1 for c in changes)  # pushed once
    subjects = [c["subject"] for c in changes]
    assert subjects == [f"wikimedia.org: lower TTL of irc to {NEW} (1/3)",
                        "wikimedia.org: fail over irc to irc1002 (2/3)",
                        f"wikimedia.org: restore TTL {OLD} of irc (3/3)"], subjects
    gerrit = world.dns.gerrit.git_dir
    for i, rev in enumerate(revisions, 1):
        message = git(gerrit, "log", "-1", "--format=%B", rev)
        assert f"Step {i}/3 of a TTL chain" in message
        assert run_validator(message, tmp_path) == ""
    # the JSON: the chain's changes, the steps
    chain = doc["ttl_chain"]
    assert (chain["old_ttl"], chain["switch_ttl"]) == (OLD, NEW)
    assert [c["status"] for c in chain["changes"]] == ["MERGED"] * 3
    assert [c["number"] for c in chain["changes"]] == [c["number"] for c in changes]
    assert doc["change"]["number"] == changes[1]["number"]
    steps = {s["key"]: s["status"] for s in doc["steps"]}
    assert steps["lower-ttl"] == steps["restore-ttl"] == steps["verify"] == "done"
    # one SAL START/END around the whole chain
    lines = relay.wait_for(2)
    assert len(lines) == 2 and " START - " in lines[0] and " END (PASS) - " in lines[1], lines
    assert doc["sal"] == lines
    assert answers(world) == [("irc1002.wikimedia.org.", int(OLD))] * 2


def test_chain_resumes_after_no_wait(run_cli: RunCli, world: World) -> None:
    """--no-wait stops after the chain's push; the same command then goes on from the
    lowering change (found by topic and subject) to the restore; no second push."""
    cfg = str(world.config_path)
    world.write_config(irc={"switch_ttl": NEW})  # the name's setting, no --switch-ttl
    first = run_cli("promote", "irc", "irc1002", "--yes", "--json", "--no-wait",
                    "--config", cfg)
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout)["outcome"] == "stopped"
    pushed = chain_changes(world)
    assert [c["status"] for c in pushed] == ["NEW"] * 3 and all(c["wip"] for c in pushed)
    time.sleep(0.6)  # the stand-in merges nothing work in progress
    assert [c["status"] for c in chain_changes(world)] == ["NEW"] * 3
    again = run_cli("promote", "irc", "irc1002", "--yes", "--json", "--config", cfg)
    assert again.code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["outcome"] == "done" and doc["kind"].startswith("resume review")
    assert [c["status"] for c in chain_changes(world)] == ["MERGED"] * 3
    assert len(chain_changes(world)) == 3 and all(
        len(c["patch_sets"]) == 1 for c in chain_changes(world))
    assert answers(world) == [("irc1002.wikimedia.org.", int(OLD))] * 2


def test_dry_run_shows_the_three_changes(run_cli: RunCli, world: World,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The dry-run builds the three commits, shows them in the JSON and the text, and pushes
    nothing; a real run without Gerrit credentials is refused before any push (exit 2)."""
    result = run_cli("promote", "irc", "irc1002", "--switch-ttl", NEW, "--dry-run", "--json",
                     "--config", str(world.config_path))
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    chain = doc["ttl_chain"]
    assert [c["step"] for c in chain["changes"]] == [1, 2, 3]
    assert f"-irc              {OLD}   IN CNAME    irc1001" in chain["changes"][0]["diff"]
    assert f"+irc              {NEW}   IN CNAME    irc1001" in chain["changes"][0]["diff"]
    assert f"+irc              {NEW}   IN CNAME    irc1002" in chain["changes"][1]["diff"]
    assert f"+irc              {OLD}   IN CNAME    irc1002" in chain["changes"][2]["diff"]
    assert all(c["change_id"] and c["number"] is None for c in chain["changes"])
    steps = {s["key"]: s for s in doc["steps"]}
    assert steps["lower-ttl"]["status"] == steps["restore-ttl"]["status"] == "would run"
    assert f"wait until every nameserver serves TTL {NEW}" in steps["lower-ttl"]["summary"]
    assert "wip" in doc["push"]["options"]
    assert chain_changes(world) == []
    assert answers(world) == [("irc1001.wikimedia.org.", int(OLD))] * 2
    text = run_cli("promote", "irc", "irc1002", "--switch-ttl", NEW, "--dry-run",
                   "--config", str(world.config_path))
    assert text.code == 0, text.stderr
    for subject in (c["subject"] for c in chain["changes"]):
        assert subject in " ".join(text.stdout.split()), subject
    assert "change 1/3" in text.stdout and "change 3/3" in text.stdout
    monkeypatch.delenv("FAILOVER_GERRIT_USER")
    monkeypatch.delenv("FAILOVER_GERRIT_PASSWORD")
    refused = run_cli("promote", "irc", "irc1002", "--switch-ttl", NEW, "--yes",
                      "--config", str(world.config_path))
    assert refused.code == 2 and "needs your Gerrit HTTP credentials" in refused.stderr
    assert chain_changes(world) == []


def test_chain_resumes_after_the_switch_merged(run_cli: RunCli, world: World) -> None:
    """The lowering change and the switch merged (and deployed) by someone else: the rerun
    skips the wait, verifies the switch, then lands the restore."""
    cfg = str(world.config_path)
    first = run_cli("promote", "irc", "irc1002", "--switch-ttl", NEW, "--yes", "--no-wait",
                    "--config", cfg)
    assert first.code == 0, first.stderr
    lower, switch, restore = chain_changes(world)
    world.dns.gerrit.approve_and_merge(lower["number"])
    world.dns.gerrit.approve_and_merge(switch["number"])
    subprocess.run(world.deploy_argv(zone=WIKIMEDIA_PATH), check=True, capture_output=True,
                   timeout=60)
    assert answers(world) == [("irc1002.wikimedia.org.", int(NEW))] * 2
    again = run_cli("promote", "irc", "irc1002", "--switch-ttl", NEW, "--yes", "--json",
                    "--config", cfg)
    assert again.code == 0, again.stderr
    doc = json.loads(again.stdout)
    steps = {s["key"]: s for s in doc["steps"]}
    assert steps["lower-ttl"]["status"] == "skipped"
    assert steps["restore-ttl"]["status"] == "done"
    assert [c["status"] for c in doc["ttl_chain"]["changes"]] == ["MERGED"] * 3
    assert world.dns.gerrit.change(restore["number"])["status"] == "MERGED"
    assert answers(world) == [("irc1002.wikimedia.org.", int(OLD))] * 2


def _error(stderr: str) -> str:
    """Return the error and its hint (what `failover:` says), without the step lines."""
    lines = stderr.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("failover: "))
    return "\n".join(ln for ln in lines[start:] if ln.strip())


@pytest.mark.parametrize("case", ["below min_ttl", "no TTL of its own"])
def test_switch_ttl_refusals_name_the_fix_and_the_dry_run_says_the_same(
        run_cli: RunCli, world: World, case: str) -> None:
    """A switch TTL below gdnsd's min_ttl, a record whose line has no TTL (the zone's $TTL
    applies): exit 2 with the problem and its fix, the same in the dry-run as in the real run,
    nothing pushed."""
    cfg = str(world.config_path)
    ttl = "3s" if case == "below min_ttl" else "5s"
    if case == "no TTL of its own":
        text = wikimedia_template().replace("irc              5M  IN", "irc                  IN")
        push_upstream_edit(world.dns.gerrit, WIKIMEDIA_PATH, text, message="irc without TTL")
    said = []
    for mode in ("--dry-run", "--yes"):
        result = run_cli("promote", "irc", "irc1002", "--switch-ttl", ttl, mode, "--config", cfg)
        assert result.code == 2, result.stderr
        said.append(_error(result.stderr))
    assert said[0] == said[1], said
    assert world.dns.gerrit.changes() == []
    if case == "below min_ttl":
        assert said[0] == (
            "failover: --switch-ttl: '3s' is below gdnsd's min_ttl (5s by default), which it "
            "would serve instead\n  hint: give at least 5s (10s is usual), e.g. --switch-ttl "
            "10s; or leave --switch-ttl out to switch in one change"), said[0]
    else:
        words = " ".join(said[0].split())
        assert "irc.wikimedia.org has no TTL of its own (the zone's $TTL applies)" in words
        assert "hint: write the TTL on the line first, in a change of its own (e.g. `irc 1H IN " \
               "CNAME irc1001`), or promote without --switch-ttl" in words, words
