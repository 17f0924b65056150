"""Tests for `failover verify` through the command line, against real gdnsd instances."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from rich.console import Console

from sandbox.gdnsd import Gdnsd, start_gdnsd, wikimediacloud_zone
from tests.conftest import RunCli, region_toml

NEW = "cloudcontrol1004.wikimedia.org."
ZONE = "wikimediacloud.org"


def write_config(tmp_path: Path, nameservers: Sequence[str], verify: str = "") -> str:
    """Write a config with regions eqiad1 (CNAME) and eqiad1vip (A); return its path."""
    servers = ", ".join(f'"{n}"' for n in nameservers)
    sockets = ("unix:///run/haproxy/a.sock", "unix:///run/haproxy/b.sock")
    path = tmp_path / "config.toml"
    path.write_text(f"""
[dns]
checkout = "dns"
[verify]
nameservers = [{servers}]
query_timeout = 0.5
interval = 0.2
{verify}
""" + region_toml("eqiad1", dict(zip(("cloudcontrol1003", "cloudcontrol1004"), sockets,
                                         strict=True)))
        + region_toml("eqiad1vip", dict(zip(("vip24", "vip25"), sockets, strict=True)),
                      targets={"vip24": "185.15.57.24", "vip25": "185.15.57.25"}))
    return str(path)


@pytest.fixture
def servers() -> Iterator[tuple[Gdnsd, Gdnsd]]:
    """Yield two gdnsd instances serving the production-shaped zone (eqiad1 -> 1003)."""
    zones = {ZONE: wikimediacloud_zone()}
    with start_gdnsd(zones) as first, start_gdnsd(zones) as second:
        yield first, second


def test_json_document(run_cli: RunCli, tmp_path: Path, servers: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = write_config(tmp_path, [s.address for s in servers])
    result = run_cli("verify", "eqiad1", "--config", cfg, "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"region", "fqdn", "expected", "agree", "servers"} <= set(doc)
    assert (doc["region"], doc["fqdn"], doc["expected"], doc["agree"]) == (
        "eqiad1", "openstack.eqiad1.wikimediacloud.org", None, True)
    assert doc["controller"] == "cloudcontrol1003"
    for server, entry in zip(servers, doc["servers"], strict=True):
        assert {"server", "answer", "ttl", "aa", "rtt_ms", "verdict"} <= set(entry)
        assert (entry["server"], entry["answer"], entry["ttl"], entry["aa"], entry["verdict"]) == (
            server.address, "cloudcontrol1003.wikimedia.org.", 300, True, "matches")
        assert isinstance(entry["rtt_ms"], float)
    assert "all 2 nameservers agree" in result.stderr


def test_human_table_for_an_a_record_region(run_cli: RunCli, tmp_path: Path,
                                            servers: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = write_config(tmp_path, [servers[0].address])
    result = run_cli("verify", "eqiad1vip", "--config", cfg, "--expect", "vip24", "--once")
    assert result.code == 0, result.stderr
    assert "185.15.57.24" in result.stdout and "vip24" in result.stdout
    assert "matches" in result.stdout and "all 1 nameservers agree" in result.stdout


def test_waits_for_a_stale_server_to_catch_up(run_cli: RunCli, tmp_path: Path,
                                              servers: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = servers
    for server in servers:
        server.set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    first.reload()
    reloaded = threading.Event()
    timer = threading.Timer(0.6, lambda: (second.reload(), reloaded.set()))
    timer.start()
    try:
        cfg = write_config(tmp_path, [first.address, second.address])
        result = run_cli("verify", "eqiad1", "--config", cfg, "--expect", "cloudcontrol1004",
                         "--timeout", "8", "--json")
    finally:
        timer.join(timeout=10)  # the new data is served before gdnsdctl returns
    assert reloaded.is_set()
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["agree"] is True and doc["expected"] == "cloudcontrol1004"
    assert [s["verdict"] for s in doc["servers"]] == ["matches", "matches"]
    # stderr is no terminal here: one line per round, the first with the stale server
    rounds = [line for line in result.stderr.splitlines() if line.startswith("[round ")]
    assert len(rounds) >= 2
    assert f"{second.address}=stale" in rounds[0] and "retrying in" in rounds[0]
    assert rounds[-1].endswith("done")


def test_times_out_with_exit_5(run_cli: RunCli, tmp_path: Path,
                               servers: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = write_config(tmp_path, [s.address for s in servers])
    result = run_cli("verify", "eqiad1", "--config", cfg, "--expect", "cloudcontrol1004",
                     "--timeout", "0.5")
    assert result.code == 5
    assert "not every nameserver answers cloudcontrol1004" in result.stderr
    assert "stale" in result.stdout and "Traceback" not in result.stderr


def test_disagreement_without_expect_exits_5(run_cli: RunCli, tmp_path: Path,
                                             servers: tuple[Gdnsd, Gdnsd]) -> None:
    servers[1].set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    servers[1].reload()
    cfg = write_config(tmp_path, [s.address for s in servers])
    result = run_cli("verify", "eqiad1", "--config", cfg, "--json")
    assert result.code == 5
    doc = json.loads(result.stdout)
    assert doc["agree"] is False and doc["controller"] is None
    assert "do not agree" in result.stderr


@pytest.mark.parametrize(("args", "verify", "message"), [
    (("nowhere",), "", "unknown name 'nowhere'"),
    (("eqiad1", "--expect", "cloudcontrol9999"), "", "unknown controller 'cloudcontrol9999'"),
    (("eqiad1", "--expect", "vip24"), "", "unknown controller 'vip24'"),
    (("eqiad1", "--timeout", "0"), "", "--timeout must be a positive number"),
    (("eqiad1",), 'recursors = ["bad host:name:53"]', "is not a host name or address"),
])
def test_bad_input_exits_2(run_cli: RunCli, tmp_path: Path, args: tuple[str, ...],
                           verify: str, message: str) -> None:
    cfg = write_config(tmp_path, ["127.0.0.1:1"], verify)
    result = run_cli("verify", *args, "--config", cfg)
    assert result.code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unparsable_nameserver_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, ["ns0.wikimedia.org:53x"])
    result = run_cli("verify", "eqiad1", "--config", cfg)
    assert result.code == 2
    assert "port '53x' is not a number" in result.stderr


def test_nameserver_name_resolving_to_nothing_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, ["ns0.failover-test.invalid:5353"])
    result = run_cli("verify", "eqiad1", "--config", cfg)
    assert result.code == 2, result.stderr
    assert "ns0.failover-test.invalid:5353" in result.stderr
    assert "Traceback" not in result.stderr


def test_live_table_on_a_terminal() -> None:
    from failover.dnscheck import DnsReport, Server, ServerAnswer
    from failover.render.dns import RoundProgress, report_table, summary

    server = Server("127.0.0.1:5353", "127.0.0.1", 5353)
    stale = ServerAnswer(server, "stale", "old target, not yet cloudcontrol1004",
                         records=("cloudcontrol1003.wikimedia.org.",), ttl=300, aa=True,
                         rtt_ms=1.5, controller="cloudcontrol1003")
    report = DnsReport("eqiad1", "openstack.eqiad1.wikimediacloud.org", "cloudcontrol1004",
                       (stale,))
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with RoundProgress(console, report.fqdn, 30) as progress:
        assert progress.live is not None
        progress.update(report, 1, 0.1)
    assert progress.live is None
    plain = Console(file=io.StringIO(), width=160)
    plain.print(report_table(report))
    text = plain.file.getvalue()  # type: ignore[attr-defined]
    assert "cloudcontrol1003.wikimedia.org." in text and "stale" in text and "300s" in text
    assert summary(report) == ("0 of 1 nameservers answer cloudcontrol1004; "
                               "they do not all agree")
