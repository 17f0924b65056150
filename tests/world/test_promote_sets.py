"""SRV sets and commented standbys through the whole CLI, against the sandbox's Gerrit and
gdnsd: a group of SRV records (several lines each) moved between two datacenters' hosts in
one change; one member taken out (`failover depool`) and back (`failover pool`, Gerrit's
Revert of the depool), the gate refusing when min_members would be broken or a member left
is unhealthy; a commented standby swapped live. The zone lines are production's
(templates/wmnet, operations/dns 2025-06), the answers read back from every gdnsd."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.dnscheck.servers import Server
from failover.dnscheck.srvset import agreed, ask_sets
from failover.zone import render_template
from failover.zone.sets import Member
from sandbox.authdns_update import merged_template
from sandbox.dnsrepo import TEMPLATE_HEAD, WMNET_PATH, push_upstream_edit
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import git

CONFTOOL = ("_etcd._tcp.conftool.eqiad.wmnet", "_etcd._tcp.conftool.codfw.wmnet")
EQIAD = [Member(f"conf100{i}.eqiad.wmnet.", 0, 1, 4001) for i in (7, 8, 9)]
CODFW = [Member(f"conf200{i}.codfw.wmnet.", 0, 1, 4001) for i in (4, 5, 6)]
PUPPET = "_x-puppet._tcp.codfw.wmnet"
PUPPETS = [Member(f"puppetserver200{i}.codfw.wmnet.", 0, 5, 8140) for i in (1, 2, 3, 4)]
DOC = "doc.discovery.wmnet"


def wmnet(conftool: list[Member]) -> str:
    """Return a templates/wmnet with production's lines: the conftool SRV set under eqiad's
    and codfw's $ORIGIN (at `conftool`'s hosts), codfw's puppetservers, doc's standby."""
    srv = [f"_etcd._tcp.conftool 5M  IN SRV      0 1 4001 {m.target}" for m in conftool]
    lines = [*TEMPLATE_HEAD, "@           1D  IN NS   ns0.wikimedia.org.",
             "@           1D  IN NS   ns1.wikimedia.org.", ""]
    for dc, hosts in (("eqiad", EQIAD), ("codfw", CODFW)):
        lines += [f"$ORIGIN {dc}.wmnet.", ""]
        lines += [f"{m.target.split('.')[0]:<20} 1H  IN A     127.0.0.1" for m in hosts]
        lines.append(f"{'doc1003' if dc == 'eqiad' else 'doc2002':<20} 1H  IN A     127.0.0.1")
        if dc == "codfw":
            lines += [f"{m.target.split('.')[0]:<20} 1H  IN A     127.0.0.1" for m in PUPPETS]
            lines += ["", "; puppet SRV records"]
            lines += [f"_x-puppet._tcp     5M  IN SRV  0  5 8140 {m.target}" for m in PUPPETS]
        lines += ["", "; Conftool (RW)", *srv, ""]
    lines += ["$ORIGIN discovery.wmnet.",
              ";doc                   300 IN CNAME doc1003.eqiad.wmnet.",
              "doc                   300 IN CNAME doc2002.codfw.wmnet.", ""]
    return "\n".join(lines)


@pytest.fixture
def world(started_world: World, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, Path]]:
    """The world with templates/wmnet (conftool on codfw) merged and served, and the names
    conftool (an SRV group), puppet (an SRV service, min_members 3) and doc (a commented
    standby) configured; each host healthy while a file named after it is in `up`."""
    w = started_world
    monkeypatch.setenv("XDG_STATE_HOME", str(w.workdir / "state"))
    up = tmp_path / "up"
    up.mkdir()
    for m in [*EQIAD, *CODFW, *PUPPETS]:
        (up / m.target.rstrip(".")).touch()
    health = f'{{kind = "command", argv = ["test", "-e", "{up}/{{host}}"], timeout = 5}}'
    text = wmnet(CODFW)
    push_upstream_edit(w.dns.gerrit, WMNET_PATH, text,
                       message="wmnet: conftool on codfw (sandbox)")
    _serve(w, text)
    subprocess.run(["git", "pull", "--quiet", "--ff-only"], cwd=w.dns.checkout, check=True,
                   timeout=30, capture_output=True)
    eq = ", ".join(f'"0 1 4001 {m.target}"' for m in EQIAD)
    cd = ", ".join(f'"{m.target}"' for m in CODFW)  # fields kept from the lines
    lines = ["[safety]", "flap_window = 0", "",
             "[groups.conftool]", f'zone_file = "{WMNET_PATH}"', 'type = "SRV"',
             'sides = ["eqiad", "codfw"]', "", "[groups.conftool.members]"]
    lines += [f'"{r}" = {{eqiad = [{eq}], codfw = [{cd}]}}' for r in CONFTOOL]
    lines += ["", "[groups.conftool.health]", f"eqiad = {health}", f"codfw = {health}", "",
              "[services.puppet]", f'zone_file = "{WMNET_PATH}"', f'fqdn = "{PUPPET}"',
              'type = "SRV"', "min_members = 3", "",
              "[services.puppet.candidates.all]",
              "target = [" + ", ".join(f'"{m.target}"' for m in PUPPETS) + "]",
              f"health = {health}", "",
              "[services.puppet.candidates.spare]",
              'target = ["puppetserver2001.codfw.wmnet."]', f"health = {health}", "",
              "[services.doc]", f'zone_file = "{WMNET_PATH}"', f'fqdn = "{DOC}"',
              'standby = "commented"', "",
              "[services.doc.candidates.doc1003]", 'target = "doc1003.eqiad.wmnet."', "",
              "[services.doc.candidates.doc2002]", 'target = "doc2002.codfw.wmnet."', ""]
    w.write_config(extra_config=lines)
    yield w, up
    w.write_config(extra_config=[])
    w.reset()


def _serve(w: World, text: str) -> None:
    rendered = render_template(text, serial=int(time.time()))
    for g in w.gdnsd:
        g.set_zone("wmnet", rendered)
        g.reload()


def _servers(w: World) -> list[Server]:
    return [Server(f"ns{i}", g.host, g.port) for i, g in enumerate(w.gdnsd)]


def _merged(w: World) -> str:
    return merged_template(w.dns.gerrit.git_url, "master", WMNET_PATH)


def test_srv_group_moves_between_datacenters(run_cli: RunCli,
                                             world: tuple[World, Path]) -> None:
    w, up = world
    cfg = str(w.config_path)
    status = run_cli("status", "conftool", "--json", "--config", cfg)
    assert status.code == 0, status.stderr
    dry = run_cli("promote", "conftool", "eqiad", "--dry-run", "--json", "--config", cfg)
    assert dry.code == 0, dry.stderr + dry.stdout
    diff = json.loads(dry.stdout)["zone"]["diff"]
    assert diff.count("\n-_etcd._tcp.conftool") == 6 == diff.count("\n+_etcd._tcp.conftool")
    (up / "conf1008.eqiad.wmnet").unlink()  # the gate checks every host of the set
    sick = run_cli("promote", "conftool", "eqiad", "--yes", "--config", cfg)
    assert sick.code == 3 and "conf1008.eqiad.wmnet" in sick.stderr, sick.stderr
    (up / "conf1008.eqiad.wmnet").touch()
    done = run_cli("promote", "conftool", "eqiad", "--yes", "--json", "--config", cfg)
    assert done.code == 0, done.stderr + done.stdout
    assert json.loads(done.stdout)["outcome"] == "done"
    assert _merged(w) == wmnet(EQIAD)  # byte for byte: only the target tokens changed
    for record in CONFTOOL:
        answers = ask_sets(_servers(w), record, "SRV", {"eqiad": EQIAD, "codfw": CODFW})
        assert agreed(answers) == "eqiad"
    verify = run_cli("verify", "conftool", "--expect", "eqiad", "--json", "--config", cfg)
    assert verify.code == 0, verify.stderr + verify.stdout
    for rec in json.loads(verify.stdout)["records"]:
        assert rec["controller"] == "eqiad" and rec["agree"]
        assert rec["servers"][0]["records"] == [f"0 1 4001 {m.target}" for m in EQIAD]
    check = run_cli("check", "conftool", "--config", cfg)
    assert check.code == 0 and check.stdout.startswith("OK"), check.stdout
    again = run_cli("promote", "conftool", "eqiad", "--yes", "--json", "--config", cfg)
    assert again.code == 0 and json.loads(again.stdout)["kind"] == "nothing to do"


def test_member_out_and_back(run_cli: RunCli, world: tuple[World, Path]) -> None:
    w, up = world
    cfg = str(w.config_path)
    member = "puppetserver2003.codfw.wmnet"
    (up / "puppetserver2001.codfw.wmnet").unlink()
    sick = run_cli("depool", "puppet", member, "--yes", "--config", cfg)
    assert sick.code == 3 and "puppetserver2001" in sick.stderr, sick.stderr
    (up / "puppetserver2001.codfw.wmnet").touch()
    before = _merged(w)
    dry = run_cli("depool", "puppet", member, "--dry-run", "--json", "--config", cfg)
    assert dry.code == 0, dry.stderr + dry.stdout
    preview = json.loads(dry.stdout)
    assert preview["member"]["left"] == [f"0 5 8140 {m.target}" for m in PUPPETS
                                         if m.target != member + "."]
    assert preview["zone"]["diff"].count("\n-_x-puppet") == 1 and _merged(w) == before
    out = run_cli("depool", "puppet", member, "--yes", "--json", "--config", cfg)
    assert out.code == 0, out.stderr + out.stdout
    assert json.loads(out.stdout)["outcome"] == "done"
    after = _merged(w)
    assert [ln for ln in before.splitlines() if ln not in after.splitlines()] == [
        f"_x-puppet._tcp     5M  IN SRV  0  5 8140 {member}."]
    left = [m for m in PUPPETS if m.target != member + "."]
    answers = ask_sets(_servers(w), PUPPET, "SRV", {"left": left, "all": PUPPETS})
    assert agreed(answers) == "left"
    depool_subject = git(w.dns.gerrit.git_dir, "log", "-1", "--format=%s").strip()
    refused = run_cli("depool", "puppet", "puppetserver2004.codfw.wmnet", "--yes",
                      "--config", cfg)  # 2 would be left, fewer than min_members = 3
    assert refused.code == 3 and "min_members = 3" in refused.stderr, refused.stderr
    assert _merged(w) == after  # nothing pushed
    back = run_cli("pool", "puppet", member, "--yes", "--json", "--config", cfg)
    assert back.code == 0, back.stderr + back.stdout
    assert _merged(w) == before
    message = git(w.dns.gerrit.git_dir, "log", "-1", "--format=%B").strip().splitlines()
    assert message[0] == f'Revert "{depool_subject}"'
    assert message[2].startswith("This reverts commit ")
    answers = ask_sets(_servers(w), PUPPET, "SRV", {"left": left, "all": PUPPETS})
    assert agreed(answers) == "all"


def test_commented_standby_swapped(run_cli: RunCli, world: tuple[World, Path]) -> None:
    w, _ = world
    cfg = str(w.config_path)
    done = run_cli("promote", "doc", "doc1003", "--yes", "--json", "--config", cfg)
    assert done.code == 0, done.stderr + done.stdout
    text = _merged(w)
    assert "\ndoc                   300 IN CNAME doc1003.eqiad.wmnet.\n" in text
    assert "\n;doc                   300 IN CNAME doc2002.codfw.wmnet.\n" in text
    answers = ask_sets(_servers(w), DOC, "CNAME", {
        "doc1003": [Member("doc1003.eqiad.wmnet.")], "doc2002": [Member("doc2002.codfw.wmnet.")]})
    assert agreed(answers) == "doc1003"


def test_history_of_an_srv_group(run_cli: RunCli, world: tuple[World, Path]) -> None:
    """`failover history` reads the SRV sets' lines: the commit that wrote conftool's set
    on codfw's hosts, each record's members as targets."""
    w, _ = world
    result = run_cli("history", "conftool", "--json", "--config", str(w.config_path))
    assert result.code == 0, result.stderr
    [change] = json.loads(result.stdout)["changes"]
    assert change["subject"] == "wmnet: conftool on codfw (sandbox)"
    got = {r["record"]: r["to"] for r in change["records"] if r["type"] == "SRV"}
    assert got == {r: [f"0 1 4001 {m.target}" for m in CODFW] for r in CONFTOOL}
    assert change["to"] == "; ".join(f"{r} SRV codfw" for r in CONFTOOL)  # the side's name


def test_an_open_change_moving_the_set_is_a_lock(run_cli: RunCli, world: tuple[World, Path],
                                                 tmp_path: Path) -> None:
    """Another operator's open change moving one member of conftool's set: the promote is
    refused (exit 3) naming it, nothing pushed."""
    from sandbox.dnsrepo import clone_operator_checkout

    w, _ = world
    w.dns.gerrit.auto_merge_after = None  # theirs stays open (reset restores it)
    other = clone_operator_checkout(w.dns.gerrit, tmp_path / "other",
                                    ident=("Other Op", "other@example.org"))
    path = other / WMNET_PATH
    path.write_text(path.read_text().replace("4001 conf2006", "4001 conf2005", 1))
    git(other, "commit", "-qam", "wmnet: conftool without conf2006 by hand")
    git(other, "push", "-q", "origin", "HEAD:refs/for/master")
    [theirs] = [c for c in w.dns.gerrit.changes() if c["status"] == "NEW"]
    refused = run_cli("promote", "conftool", "eqiad", "--yes", "--config", str(w.config_path))
    assert refused.code == 3, refused.stderr
    said = " ".join(refused.stderr.split())
    assert w.dns.gerrit.change_url(theirs["number"]) in said and "by Other Op" in said, said
    assert [c["number"] for c in w.dns.gerrit.changes() if c["status"] == "NEW"] == \
        [theirs["number"]]
