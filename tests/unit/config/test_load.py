"""Tests for failover.config: loading, defaults, and every problem reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failover.config import load_config, normalize_target, parse_nameserver, record_type_for
from failover.errors import ConfigError, UsageError
from tests.conftest import RunCli

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

GOOD = """
[dns]
checkout = "dns"
[verify]
nameservers = ["127.0.0.1:5353", "[::1]:5354", "ns0.wikimedia.org"]
[regions.eqiad1]
fqdn = "openstack.eqiad1.wikimediacloud.org."
[regions.eqiad1.controllers.cloudcontrol1003]
target = "cloudcontrol1003.wikimedia.org."
stats = "http://user:s3cret@127.0.0.1:9900/stats;csv"
[regions.eqiad1.controllers.cloudcontrol1004]
target = "cloudcontrol1004.wikimedia.org."
stats = "unix:///run/haproxy/haproxy.sock"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["eqiad1.toml", "codfw1dev.toml", "sandbox.toml",
                                  "wikimedia-services.toml"])
def test_examples_are_valid(name: str) -> None:
    cfg = load_config(EXAMPLES / name)
    assert len(cfg.regions) == 1 or (not cfg.regions and len(cfg.services) == 6)


def test_defaults_and_relative_checkout(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.dns.checkout == (tmp_path / "dns").resolve()
    assert cfg.dns.zone_file == "templates/wikimediacloud.org"
    assert cfg.haproxy.timeout == 5.0
    region = cfg.region("eqiad1")
    assert region.fqdn == "openstack.eqiad1.wikimediacloud.org"
    assert "keystone_public" in region.services
    assert [str(n) for n in cfg.verify.nameservers] == [
        "127.0.0.1:5353", "[::1]:5354", "ns0.wikimedia.org"]
    assert region.controller_for_target("CLOUDCONTROL1004.wikimedia.org").name == (
        "cloudcontrol1004")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = """
[dns]
zone_file = "../../etc/passwd"
colour = "blue"
[verify]
nameservers = ["not a host", "1.2.3.4:http"]
[regions.eqiad1]
fqdn = "openstack.eqiad1.wikimediacloud.org"
[regions.eqiad1.controllers.a]
target = "same.wikimedia.org."
stats = "ftp://a"
[regions.eqiad1.controllers.b]
target = "SAME.wikimedia.org."
[regions.eqiad1.controllers."bad name"]
target = "c.wikimedia.org."
stats = "http://c"
"""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    problems = "\n".join(info.value.problems)
    for expected in ("[dns.colour] unknown key", "[dns.zone_file]", "'not a host'",
                     "'http' is not a number", "[regions.eqiad1.controllers.a.stats]",
                     "scheme 'ftp'", "[regions.eqiad1.controllers.b.stats] missing",
                     "also the target of a", "[regions.eqiad1.controllers.bad name]"):
        assert expected in problems
    assert all(str(tmp_path / "config.toml") in p for p in info.value.problems)


def test_zone_file_escaping_through_symlink(tmp_path: Path) -> None:
    checkout = tmp_path / "dns"
    (checkout / "templates").mkdir(parents=True)
    (checkout / "templates" / "wikimediacloud.org").symlink_to("/etc/hostname")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD))
    assert "leads outside the checkout" in str(info.value)


def test_missing_file_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAILOVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(tmp_path / "failover" / "config.toml") in str(info.value)


def test_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[dns\n"))


def test_unknown_region_and_controller(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    with pytest.raises(UsageError, match="unknown region 'codfw1'"):
        cfg.region("codfw1")
    with pytest.raises(UsageError, match="invalid region name"):
        cfg.region("../x")
    with pytest.raises(UsageError, match="unknown controller 'cloudcontrol1005'"):
        cfg.region("eqiad1").controller("cloudcontrol1005")


@pytest.mark.parametrize("entry,host,port", [
    ("127.0.0.1", "127.0.0.1", 53), ("127.0.0.1:5353", "127.0.0.1", 5353),
    ("::1", "::1", 53), ("[::1]:5353", "::1", 5353),
    ("ns0.wikimedia.org:5353", "ns0.wikimedia.org", 5353),
])
def test_parse_nameserver(entry: str, host: str, port: int) -> None:
    ns = parse_nameserver(entry)
    assert (ns.host, ns.port) == (host, port)


@pytest.mark.parametrize("entry", ["", "a b", "host:0", "host:99999", "x;y"])
def test_parse_nameserver_rejects(entry: str) -> None:
    with pytest.raises(UsageError):
        parse_nameserver(entry)


def test_targets() -> None:
    assert record_type_for("185.15.57.24") == "A"
    assert record_type_for("2a02:ec80::1") == "AAAA"
    assert record_type_for("cloudcontrol1004.wikimedia.org.") == "CNAME"
    assert normalize_target("Foo.Example.org") == "foo.example.org."
    assert normalize_target("2a02:ec80:0::1") == "2a02:ec80::1"


def test_cli_validate_and_show_hide_password(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path, GOOD)
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 0 and "valid" in result.stdout
    result = run_cli("config", "show", "--config", str(path), "--json")
    assert result.code == 0
    doc = json.loads(result.stdout)
    stats = doc["regions"]["eqiad1"]["controllers"]["cloudcontrol1003"]["stats"]
    assert stats == "http://user:***@127.0.0.1:9900/stats;csv"
    assert "s3cret" not in result.stdout + result.stderr


def test_cli_validate_bad_config_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path, "[regions.eqiad1]\nfqdn = 3\n")
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2
    assert "[regions.eqiad1.fqdn] must be a str" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_version_and_no_args(run_cli: RunCli) -> None:
    from failover import __version__
    result = run_cli("--version")
    assert result.code == 0 and result.stdout.strip() == f"failover {__version__}"
    result = run_cli()
    assert "promote" in result.stdout + result.stderr


def test_server_pattern_default_and_bad_values(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.haproxy.server_pattern == "{controller}"
    assert cfg.haproxy.ssh_command == ("socat", "unix-connect:{socket}", "stdio")  # no sudo
    for bad in ("cloudcontrol", "{controller}-{x}", "{controller"):
        text = GOOD + f"\n[haproxy]\nserver_pattern = {bad!r}\n"
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, text))
        assert any("haproxy.server_pattern" in p and "{controller}" in p
                   for p in info.value.problems), info.value.problems
