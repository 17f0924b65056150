"""[services.*] and [groups.*]: parsed as the examples write them; each bad key named (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failover.config import load_config
from failover.model import of_service
from tests.conftest import ConfigFile, RunCli, region_toml

IRC = """
[services.irc]
zone_file = "templates/wikimedia.org"
fqdn = "irc.wikimedia.org"
[services.irc.candidates.irc1003]
target = "irc1003.wikimedia.org."
health = {kind = "tcp", host = "127.0.0.1", port = 6667}
[services.irc.candidates.irc2003]
target = "irc2003.wikimedia.org."
health = {kind = "none"}
"""

GROUP = """
[groups.db-masters]
zone_file = "templates/wmnet"
sides = ["eqiad", "codfw"]
[groups.db-masters.members]
"s1-master.eqiad.wmnet" = {eqiad = "db1163.eqiad.wmnet.", codfw = "db2203.codfw.wmnet."}
"s2-master.eqiad.wmnet" = {eqiad = "db1222.eqiad.wmnet.", codfw = "db2204.codfw.wmnet."}
[groups.db-masters.health]
codfw = {kind = "command", argv = ["true"]}
"""


def test_a_service_and_a_group_parse(config_file: ConfigFile) -> None:
    cfg = load_config(config_file(IRC, GROUP))
    assert not cfg.regions
    irc = cfg.services["irc"]
    assert irc.records == ("irc.wikimedia.org",) and not irc.group
    assert irc.candidate("irc1003").health.port == 6667
    assert irc.candidate("irc2003").health.kind == "none"
    db = cfg.services["db-masters"]
    assert db.group and db.candidate_names == ("eqiad", "codfw")
    assert db.candidate("codfw").targets["s2-master.eqiad.wmnet"] == "db2204.codfw.wmnet."
    assert db.candidate("codfw").health.argv == ("true",)
    assert db.candidate("eqiad").health.kind == "none"
    record = of_service(cfg, db).record("s1-master.eqiad.wmnet")
    found = record.controller_for_target("DB2203.codfw.wmnet")
    assert found is not None and found.name == "codfw"


def test_regions_keep_working_beside_services(config_file: ConfigFile) -> None:
    cfg = load_config(config_file(region_toml("eqiad1", {"a": "unix:///a", "b": "unix:///b"}),
                                  IRC))
    assert cfg.region("eqiad1").controller_names == ("a", "b")
    assert set(cfg.services) == {"irc"}


BAD = [
    ('[services.Irc]\nfqdn = "irc.wikimedia.org"', "[services.Irc]"),
    ('[services.irc]\nfqdn = "irc"', "[services.irc.fqdn]"),
    ('[services.irc]\nrecords = []', "[services.irc.records]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\nrecords = ["irc.wikimedia.org"]',
     "[services.irc.records]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\nzone_file = "../x"',
     "[services.irc.zone_file]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\ncolour = 1', "[services.irc.colour]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"', "[services.irc.candidates]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org"\n[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.target]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "b.wikimedia.org."\n[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "same target"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "ping"}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.kind]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "tcp", host = "a"}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.port]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "tcp", host = "a b", port = 1}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.host]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "http", url = "ftp://a"}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.url]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "http", url = "https://a", status = 99}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.status]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "http", url = "https://a", port = 1}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.port]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "command", argv = []}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.argv]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "command", argv = ["x"], timeout = 0}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.timeout]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "haproxy", stats = "gopher://x"}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.stats]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = {kind = "haproxy", stats = "unix:///s"}\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health.services]"),
    ('[services.irc]\nfqdn = "irc.wikimedia.org"\n[services.irc.candidates.a]\n'
     'target = "a.wikimedia.org."\nhealth = "tcp"\n'
     '[services.irc.candidates.b]\ntarget = "b.wikimedia.org."',
     "[services.irc.candidates.a.health]"),
    ('[groups.g]\nsides = ["eqiad"]\n[groups.g.members]\n"a.wmnet" = {eqiad = "x.wmnet."}',
     "[groups.g.sides]"),
    ('[groups.g]\nsides = ["eqiad", "codfw"]', "[groups.g.members]"),
    ('[groups.g]\nsides = ["eqiad", "codfw"]\n[groups.g.members]\n'
     '"a.wmnet" = {eqiad = "x.wmnet."}', "[groups.g.members.a.wmnet.codfw]"),
    ('[groups.g]\nsides = ["eqiad", "codfw"]\n[groups.g.members]\n'
     '"a.wmnet" = {eqiad = "x.wmnet.", codfw = "y.wmnet.", esams = "z.wmnet."}',
     "[groups.g.members.a.wmnet.esams]"),
    ('[groups.g]\nsides = ["eqiad", "codfw"]\n[groups.g.members]\n'
     '"a.wmnet" = {eqiad = "x.wmnet.", codfw = "y.wmnet."}\n[groups.g.health]\n'
     'esams = {kind = "none"}', "[groups.g.health.esams]"),
    ('[groups.g]\nsides = ["eqiad", "codfw"]\nzone_file = "/etc/x"\n[groups.g.members]\n'
     '"a.wmnet" = {eqiad = "x.wmnet.", codfw = "y.wmnet."}', "[groups.g.zone_file]"),
    ('[groups.irc]\nsides = ["eqiad", "codfw"]\n[groups.irc.members]\n'
     '"a.wmnet" = {eqiad = "x.wmnet.", codfw = "y.wmnet."}\n' + IRC, "[groups.irc]"),
    (IRC.replace('fqdn = ', 'topic = "irc failover"\nfqdn = '), "[services.irc.topic]"),
    (IRC.replace('fqdn = ', 'sal_project = "Tools!"\nfqdn = '), "[services.irc.sal_project]"),
    (GROUP.replace('sides = ', 'topic = 3\nsides = '), "[groups.db-masters.topic]"),
    (GROUP.replace('sides = ', 'sal_project = "x y"\nsides = '),
     "[groups.db-masters.sal_project]"),
    ('[dns]\ndeploy = ["authdns-update", "--zone", "{zone}"]\n' + IRC,
     "[dns.deploy] '{zone}': unknown placeholder {zone}; the one there is {zone_file}"),
]


@pytest.mark.parametrize(("text", "key"), BAD, ids=[k for _, k in BAD])
def test_bad_service_key_is_named_exit_2(config_file: ConfigFile, run_cli: RunCli,
                                         text: str, key: str) -> None:
    path: Path = config_file(text)
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2, result.stderr
    assert key in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_service_and_a_group_have_their_own_settings(config_file: ConfigFile) -> None:
    """topic and sal_project: the name's own, else `<name>-failover` and none; never the
    regions' [dns] topic and [sal] project; the deploy's `{zone_file}` is the name's."""
    cfg = load_config(config_file(
        '[dns]\nzone_file = "templates/wikimediacloud.org"\ntopic = "openstack-failover"\n'
        'deploy = ["authdns-update", "--zone", "{zone_file}", "x{zone_file}y"]\n'
        '[sal]\nhost = "127.0.0.1"\nproject = "admin"\n',
        region_toml("eqiad1", {"a": "unix:///a", "b": "unix:///b"}),
        IRC.replace('fqdn = ', 'topic = "irc-maintenance"\nsal_project = "tools"\nfqdn = '),
        GROUP))
    irc, db = cfg.services["irc"], cfg.services["db-masters"]
    assert (irc.push_topic, irc.sal_project) == ("irc-maintenance", "tools")
    assert (db.topic, db.push_topic, db.sal_project) == (None, "db-masters-failover", "")
    assert cfg.dns.deploy == ("authdns-update", "--zone", "{zone_file}", "x{zone_file}y")
    assert cfg.dns.deploy_argv == ("authdns-update", "--zone", "templates/wikimediacloud.org",
                                   "xtemplates/wikimediacloud.orgy")
    own = of_service(cfg, db)  # the name's own settings live in the model, not the config
    assert (own.topic, own.zone_file) == ("db-masters-failover", "templates/wmnet")
    assert own.sal_project == ""
    assert own.deploy_argv(cfg)[2] == "templates/wmnet"
    own = of_service(cfg, irc)
    assert (own.sal_project, own.topic) == ("tools", "irc-maintenance")
    assert (cfg.dns.topic, cfg.sal and cfg.sal.project) == ("openstack-failover", "admin")


def test_config_show_has_each_name_s_own_settings(config_file: ConfigFile,
                                                   run_cli: RunCli) -> None:
    path = config_file(IRC.replace('fqdn = ', 'sal_project = "tools"\nfqdn = '), GROUP)
    doc = json.loads(run_cli("config", "show", "--json", "--config", str(path)).stdout)
    assert {k: doc["services"]["irc"][k] for k in ("topic", "sal_project")} == {
        "topic": "irc-failover", "sal_project": "tools"}
    assert doc["services"]["db-masters"]["topic"] == "db-masters-failover"
    human = run_cli("config", "show", "--config", str(path)).stdout
    assert "[services.irc] templates/wikimedia.org, topic irc-failover, SAL project tools" in human
    assert "[groups.db-masters] templates/wmnet, topic db-masters-failover" in human


# -- issue 20, section 2: a record belongs to one name; every zone file stays in the checkout --

IRC_TOO = IRC.replace("services.irc", "services.chat")
SERVICE_ON_REGION = IRC.replace("irc.wikimedia.org\"", "openstack.eqiad1.wikimediacloud.org\"")
MEMBER_TOO = GROUP.replace("s2-master.eqiad.wmnet", "irc.wikimedia.org")
CLAIMS = [
    ([region_toml("eqiad1", {"a": "unix:///a", "b": "unix:///b"}), SERVICE_ON_REGION],
     "[services.irc] record openstack.eqiad1.wikimediacloud.org is also claimed by region "
     "eqiad1"),
    ([IRC, IRC_TOO], "[services.chat] record irc.wikimedia.org is also claimed by service irc"),
    ([IRC, MEMBER_TOO],
     "[groups.db-masters] record irc.wikimedia.org is also claimed by service irc"),
]


@pytest.mark.parametrize(("parts", "said"), CLAIMS, ids=["service=region", "two services",
                                                        "member=service"])
def test_a_record_claimed_by_two_names_is_refused(config_file: ConfigFile, run_cli: RunCli,
                                                  parts: list[str], said: str) -> None:
    result = run_cli("config", "validate", "--config", str(config_file(*parts)))
    assert result.code == 2, result.stderr
    assert said in " ".join(result.stderr.split()), result.stderr


def test_a_service_zone_file_through_a_symlink_out_of_the_checkout_is_refused(
        config_file: ConfigFile, run_cli: RunCli, tmp_path: Path) -> None:
    checkout = tmp_path / "dns"
    (checkout / "templates").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "wikimedia.org").write_text("; not the checkout's\n")
    (checkout / "templates" / "wikimedia.org").symlink_to(outside / "wikimedia.org")
    path = config_file("[dns]", f'checkout = "{checkout}"', 'zone_file = "templates/wmcs"', IRC)
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2, result.stderr
    assert "[services.irc.zone_file] 'templates/wikimedia.org' leads outside the checkout" \
        in " ".join(result.stderr.split()), result.stderr
