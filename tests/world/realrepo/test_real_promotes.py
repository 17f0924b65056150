"""Service and group promotes on the real operations/dns templates, through the CLI.

One world for the module (sandbox.realrepo): the real files (tests/data/realrepo) behind the
Gerrit stand-in, an operator clone, two gdnsd serving the real wikimedia.org and wmnet with the
repository's own config. Each promote goes through the real `gdnsd checkconf` on the
configuration utils/deploy-check.py assembles, then deploy and verify at both nameservers.
The shapes are those of the real history: irc (relative target), idp and idm (absolute),
the url-downloader pair (one record each to its own host), m1-master, analytics-hive +
presto (one service, two records), the DB masters of a DC switchover (20+ records).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Iterator

import dns.message
import dns.query
import pytest

from sandbox.realrepo import RealWorld, start_real_world
from tests.conftest import RunCli
from tests.helpers import git

pytestmark = pytest.mark.skipif(shutil.which("gdnsd") is None, reason="gdnsd not installed")

WIKIMEDIA = "templates/wikimedia.org"
WMNET = "templates/wmnet"
CHECK_TCP = "/usr/lib/nagios/plugins/check_tcp"


@pytest.fixture(scope="module")
def world() -> Iterator[RealWorld]:
    with start_real_world() as w:
        yield w


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as s:
        yield s


@pytest.fixture(autouse=True)
def _state(world: RealWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(world.workdir / "state"))


def served(world: RealWorld, fqdn: str) -> list[str]:
    """Return the CNAME target each gdnsd of the world answers for `fqdn`."""
    out = []
    for g in world.gdnsd:
        reply = dns.query.udp(dns.message.make_query(fqdn, "CNAME"), "127.0.0.1", port=g.port,
                              timeout=2)
        out.append(str(reply.answer[0][0].target) if reply.answer else "none")
    return out


def service(name: str, zone_file: str, records: list[str],
            candidates: dict[str, str], health: str = '{kind = "none"}') -> list[str]:
    lines = [f"[services.{name}]", f'zone_file = "{zone_file}"',
             "records = [" + ", ".join(f'"{r}"' for r in records) + "]"]
    for cname, target in candidates.items():
        lines += [f"[services.{name}.candidates.{cname}]", f'target = "{target}"',
                  f"health = {health}"]
    return lines


def group(name: str, zone_file: str, members: dict[str, tuple[str, str]],
          sides: tuple[str, str] = ("old", "new")) -> list[str]:
    lines = [f"[groups.{name}]", f'zone_file = "{zone_file}"',
             f'sides = ["{sides[0]}", "{sides[1]}"]', f"[groups.{name}.members]"]
    lines += [f'"{r}" = {{{sides[0]} = "{a}", {sides[1]} = "{b}"}}'
              for r, (a, b) in members.items()]
    return lines


def promote(run_cli: RunCli, world: RealWorld, name: str, side: str, zone_file: str,
            expect: dict[str, str], *, dry_run: bool = False) -> tuple[dict[str, object], str]:
    """Dry-run, then promote `name` to `side`; check the one commit, the file, the answers."""
    cfg = str(world.config_path)
    before = git(world.dns.gerrit.git_dir, "rev-parse", "HEAD").strip()
    if dry_run:  # the preview runs the same check (one shape is enough: it costs seconds)
        dry = run_cli("promote", name, side, "--dry-run", "--json", "--config", cfg)
        assert dry.code == 0, dry.stderr + dry.stdout
        assert json.loads(dry.stdout)["checks"][-1].startswith("gdnsd checkconf with the ")
    real = run_cli("promote", name, side, "--yes", "--json", "--reason", "test", "--config", cfg)
    assert real.code == 0, real.stderr + real.stdout
    doc = json.loads(real.stdout)
    assert doc["outcome"] == "done"
    checks = "; ".join(doc["checks"])
    assert "with the repository's config, plugins, geo-maps" in checks, checks
    assert "netbox/ includes stood in for" in checks
    gitdir = world.dns.gerrit.git_dir
    assert git(gitdir, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert git(gitdir, "diff", "--name-only", before, "HEAD").split() == [zone_file]
    diff = git(gitdir, "diff", "-U0", before, "HEAD", "--", zone_file)
    assert len(re.findall(r"^\+[^+]", diff, re.M)) == len(expect), diff
    for fqdn, target in expect.items():
        assert served(world, fqdn) == [target] * len(world.gdnsd)
    return doc, git(gitdir, "log", "-1", "--format=%B")


def test_irc_relative_target_with_a_plugin_health(run_cli: RunCli, world: RealWorld,
                                                  listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    health = (f'{{kind = "command", argv = ["{CHECK_TCP}", "-H", "127.0.0.1", "-p", '
              f'"{port}"]}}' if shutil.which(CHECK_TCP) else '{kind = "none"}')
    world.write_config(service("irc", WIKIMEDIA, ["irc.wikimedia.org"],
                               {"irc2003": "irc2003.wikimedia.org.",
                                "irc1003": "irc1003.wikimedia.org."}, health),
                       zone_file=WIKIMEDIA)
    _, message = promote(run_cli, world, "irc", "irc1003", WIKIMEDIA,
                         {"irc.wikimedia.org": "irc1003.wikimedia.org."}, dry_run=True)
    text = git(world.dns.gerrit.git_dir, "show", f"HEAD:{WIKIMEDIA}")
    assert "\nirc             5M  IN CNAME    irc1003\n" in text  # written relative, as before
    if shutil.which(CHECK_TCP):
        assert "irc1003 (new): healthy, exit 0: TCP OK\n" in message, message
        assert "response time" not in message


@pytest.mark.parametrize(("name", "old", "new"), [("idp", "idp1004", "idp2004"),
                                                  ("idm", "idm1001", "idm2001")])
def test_idp_idm_absolute_targets(run_cli: RunCli, world: RealWorld, name: str, old: str,
                                  new: str) -> None:
    world.write_config(service(name, WIKIMEDIA, [f"{name}.wikimedia.org"],
                               {old: f"{old}.wikimedia.org.", new: f"{new}.wikimedia.org."}),
                       zone_file=WIKIMEDIA)
    promote(run_cli, world, name, new, WIKIMEDIA,
            {f"{name}.wikimedia.org": f"{new}.wikimedia.org."})
    text = git(world.dns.gerrit.git_dir, "show", f"HEAD:{WIKIMEDIA}")
    assert re.search(rf"^{name} +5M  IN CNAME {new}\.wikimedia\.org\.$", text, re.M)


def test_url_downloader_pair_each_to_its_own_host(run_cli: RunCli, world: RealWorld) -> None:
    members = {"url-downloader.eqiad.wikimedia.org": ("urldownloader1004.wikimedia.org.",
                                                      "urldownloader1005.wikimedia.org."),
               "url-downloader.codfw.wikimedia.org": ("urldownloader2004.wikimedia.org.",
                                                      "urldownloader2005.wikimedia.org.")}
    world.write_config(group("urld", WIKIMEDIA, members), zone_file=WIKIMEDIA)
    promote(run_cli, world, "urld", "new", WIKIMEDIA, {r: b for r, (_, b) in members.items()})


def test_m1_master_in_wmnet(run_cli: RunCli, world: RealWorld) -> None:
    world.write_config(service("m1", WMNET, ["m1-master.eqiad.wmnet"],
                               {"dbproxy1024": "dbproxy1024.eqiad.wmnet.",
                                "dbproxy1028": "dbproxy1028.eqiad.wmnet."}), zone_file=WMNET)
    promote(run_cli, world, "m1", "dbproxy1028", WMNET,
            {"m1-master.eqiad.wmnet": "dbproxy1028.eqiad.wmnet."})


def test_analytics_hive_and_presto_one_service_two_records(run_cli: RunCli,
                                                           world: RealWorld) -> None:
    records = ["analytics-hive.eqiad.wmnet", "analytics-presto.eqiad.wmnet"]
    world.write_config(service("hive", WMNET, records,
                               {"an-coord1003": "an-coord1003.eqiad.wmnet.",
                                "an-coord1004": "an-coord1004.eqiad.wmnet."}), zone_file=WMNET)
    promote(run_cli, world, "hive", "an-coord1004", WMNET,
            dict.fromkeys(records, "an-coord1004.eqiad.wmnet."))


def test_db_masters_of_a_dc_switchover(run_cli: RunCli, world: RealWorld) -> None:
    """Every `*-master` of both datacenters' sections, 20+ records in one change."""
    git(world.dns.checkout, "pull", "-q", "--ff-only")
    text = (world.dns.checkout / WMNET).read_text()
    members: dict[str, tuple[str, str]] = {}
    for origin in ("eqiad.wmnet.", "codfw.wmnet."):
        section = text.split(f"$ORIGIN {origin}\n", 1)[1].split("$ORIGIN ", 1)[0]
        for owner, target in re.findall(r"^([a-z0-9-]+-master)\s+\S+\s+IN CNAME\s+(\S+)",
                                        section, re.M):
            new = re.sub(r"([0-9]+)\.", lambda m: f"{int(m.group(1)) + 5000}.", target,
                         count=1)
            members[f"{owner}.{origin.rstrip('.')}"] = (target, new)
    assert len(members) >= 20
    world.write_config(group("dbmasters", WMNET, members, ("before", "after")),
                       zone_file=WMNET)
    promote(run_cli, world, "dbmasters", "after", WMNET, {r: b for r, (_, b) in members.items()})


def test_standby_none_edits_the_live_line_beside_a_commented_one(run_cli: RunCli,
                                                                 world: RealWorld) -> None:
    """`;doc ... doc1004` stands above the live `doc ... doc2003` (the real wmnet); with
    `standby = "none"` the promote changes the live line's target and leaves the commented
    line as it was, as "switch webserver-misc-sites from codfw to eqiad" was written."""
    lines = service("doc", WMNET, ["doc.discovery.wmnet"],
                    {"doc2003": "doc2003.codfw.wmnet.", "doc1004": "doc1004.eqiad.wmnet."})
    world.write_config([*lines[:3], 'standby = "none"', *lines[3:]], zone_file=WMNET)
    before = git(world.dns.gerrit.git_dir, "show", f"HEAD:{WMNET}")
    promote(run_cli, world, "doc", "doc1004", WMNET,
            {"doc.discovery.wmnet": "doc1004.eqiad.wmnet."})
    commented = ";doc                   300 IN CNAME doc1004.eqiad.wmnet.\n"
    old = commented + "doc                   300 IN CNAME doc2003.codfw.wmnet.\n"
    assert old in before
    assert git(world.dns.gerrit.git_dir, "show", f"HEAD:{WMNET}") == before.replace(
        old, commented + "doc                   300 IN CNAME doc1004.eqiad.wmnet.\n", 1)
