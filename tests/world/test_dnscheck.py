"""Tests for failover.dnscheck against real gdnsd instances on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.resolver
import dns.rrset
import pytest

from failover.config import Config, parse_config
from failover.dnscheck import (
    check_region,
    check_regions,
    discover_nameservers,
    wait_for_agreement,
)
from failover.errors import UsageError
from sandbox.gdnsd import Gdnsd, start_gdnsd, wikimediacloud_zone
from sandbox.udp_answerer import UdpAnswerer

OLD = "cloudcontrol1003.wikimedia.org."
NEW = "cloudcontrol1004.wikimedia.org."
ZONE = "wikimediacloud.org"
WIKIMEDIA_ORG = """$TTL 1H
@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 1 12H 2H 2W 1H
@ 1D IN NS ns0.wikimedia.org.
@ 1D IN NS ns1.wikimedia.org.
ns0 1H IN A 127.0.0.1
ns1 1H IN A 127.0.0.1
ns2 1H IN A 127.0.0.1
"""


def make_config(nameservers: Sequence[str], **verify: Any) -> Config:
    """Return a Config with the sandbox's regions and these [verify] nameservers."""
    def region(fqdn: str, a: str, b: str, names: tuple[str, str]) -> dict[str, Any]:
        return {"fqdn": fqdn, "controllers": {
            names[0]: {"target": a, "stats": "unix:///run/haproxy/a.sock"},
            names[1]: {"target": b, "stats": "unix:///run/haproxy/b.sock"}}}

    cc = ("cloudcontrol1003", "cloudcontrol1004")
    raw = {
        "dns": {"checkout": "/tmp"},
        "verify": {"nameservers": list(nameservers), "query_timeout": 0.5, **verify},
        "regions": {
            "eqiad1": region("openstack.eqiad1.wikimediacloud.org", OLD, NEW, cc),
            "eqiad1vip": region("openstack.eqiad1vip.wikimediacloud.org", "185.15.57.24",
                                "185.15.57.25", ("vip24", "vip25")),
            "big": region("bigset.wikimediacloud.org", "10.64.0.1", "10.64.0.2", ("a1", "a2")),
            "nowhere": region("openstack.nowhere.wikimediacloud.org", OLD, NEW, cc),
            "elsewhere": region("openstack.eqiad1.example.org", OLD, NEW, cc),
        },
    }
    return parse_config(raw, Path("/tmp/failover-test.toml"))


@pytest.fixture
def two_gdnsd() -> Iterator[tuple[Gdnsd, Gdnsd]]:
    """Yield two gdnsd instances serving the production-shaped zone (eqiad1 -> OLD)."""
    zones = {ZONE: wikimediacloud_zone()}
    with start_gdnsd(zones) as first, start_gdnsd(zones) as second:
        yield first, second


class NonAuthoritativeServer(UdpAnswerer):
    """A tiny UDP DNS server that answers a CNAME without the AA flag (like a cache)."""

    def __init__(self, target: str) -> None:
        super().__init__(self._cached)
        self.target = target

    def _cached(self, query: dns.message.Message) -> list[bytes]:
        reply = dns.message.make_response(query)
        reply.flags &= ~dns.flags.AA
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "CNAME",
                                                self.target))
        return [reply.to_wire()]


@pytest.fixture
def non_authoritative() -> Iterator[NonAuthoritativeServer]:
    """Yield a running NonAuthoritativeServer answering OLD; stop it afterwards."""
    server = NonAuthoritativeServer(OLD)
    server.thread.start()
    try:
        yield server
    finally:
        server.close()


def test_all_servers_agree(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = make_config([g.address for g in two_gdnsd])
    report = check_region(cfg, cfg.region("eqiad1"))
    assert report.agree and report.controller == "cloudcontrol1003"
    assert [s.verdict for s in report.servers] == ["matches", "matches"]
    first = report.servers[0]
    assert (first.answer, first.ttl, first.aa, first.record_type) == (OLD, 300, True, "CNAME")
    assert first.rtt_ms is not None and not first.tcp


def test_one_stale_server(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    first.set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    first.reload()
    cfg = make_config([first.address, second.address])
    region = cfg.region("eqiad1")
    report = check_region(cfg, region, region.controller("cloudcontrol1004"))
    assert [s.verdict for s in report.servers] == ["matches", "stale"]
    assert [s.controller for s in report.servers] == ["cloudcontrol1004", "cloudcontrol1003"]
    assert not report.agree and report.controller is None
    doc = report.to_dict()
    assert doc["expected"] == "cloudcontrol1004" and doc["agree"] is False


def test_without_expect_disagreement_is_reported(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    second.set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    second.reload()
    cfg = make_config([first.address, first.address, second.address])
    report = check_region(cfg, cfg.region("eqiad1"))
    assert [s.verdict for s in report.servers] == ["matches", "matches", "differs"]
    assert not report.agree and report.controller is None


def test_server_down_is_reported_and_others_checked(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, _ = two_gdnsd
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind(("127.0.0.1", 0))
        dead = unused.getsockname()[1]
    cfg = make_config([f"127.0.0.1:{dead}", first.address], query_timeout=0.3)
    report = check_region(cfg, cfg.region("eqiad1"))
    down, up = report.servers
    assert down.verdict == "refused"
    assert down.answer is None and down.rtt_ms is None
    assert up.verdict == "matches"
    assert not report.agree


def test_closed_port_is_refused_not_a_timeout() -> None:
    """A stopped gdnsd's port answers ICMP port unreachable: "refused", as dig says it.

    With a 30 s query timeout, a timeout verdict could only come after 30 s; "refused"
    is the kernel's ECONNREFUSED on the connected socket, given at once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind(("127.0.0.1", 0))
        dead = unused.getsockname()[1]
    cfg = make_config([f"127.0.0.1:{dead}"], query_timeout=30)
    (down,) = check_region(cfg, cfg.region("eqiad1")).servers
    assert down.verdict == "refused"
    assert "connection refused over UDP" in down.detail


def test_silent_port_is_still_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))   # bound: no ICMP, no answer
        cfg = make_config([f"127.0.0.1:{silent.getsockname()[1]}"], query_timeout=0.3)
        (down,) = check_region(cfg, cfg.region("eqiad1")).servers
    assert down.verdict == "timeout"


def test_one_one_split_says_which_server_says_what(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    second.set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    second.reload()
    try:
        cfg = make_config([first.address, second.address])
        report = check_region(cfg, cfg.region("eqiad1"))
    finally:
        second.set_zone(ZONE, wikimediacloud_zone({"eqiad1": OLD}))
        second.reload()
    assert [s.verdict for s in report.servers] == ["differs", "differs"]
    for s in report.servers:
        assert "most say" not in s.detail
        assert s.detail.endswith(f"no majority: {first.address} says cloudcontrol1003, "
                                 f"{second.address} says cloudcontrol1004")


def test_nxdomain_refused_and_not_authoritative(
        two_gdnsd: tuple[Gdnsd, Gdnsd], non_authoritative: NonAuthoritativeServer) -> None:
    first, _ = two_gdnsd
    cfg = make_config([first.address, f"127.0.0.1:{non_authoritative.port}"])
    nx = check_region(cfg, cfg.region("nowhere")).servers[0]
    assert (nx.verdict, nx.aa, nx.answer) == ("nxdomain", True, None)
    refused = check_region(cfg, cfg.region("elsewhere")).servers[0]
    assert (refused.verdict, refused.aa) == ("refused", False)
    served, cache = check_region(cfg, cfg.region("eqiad1")).servers
    assert served.verdict == "matches"
    assert (cache.verdict, cache.aa, cache.answer) == ("not authoritative", False, OLD)


def test_a_record_region(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    second.set_zone(ZONE, wikimediacloud_zone({"eqiad1vip": "185.15.57.25"}))
    second.reload()
    cfg = make_config([first.address, second.address])
    region = cfg.region("eqiad1vip")
    report = check_region(cfg, region, region.controller("vip24"))
    assert [(s.record_type, s.answer, s.verdict) for s in report.servers] == [
        ("A", "185.15.57.24", "matches"), ("A", "185.15.57.25", "stale")]


def test_wrong_target_and_nodata(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    first.set_zone(ZONE, wikimediacloud_zone({"eqiad1": "cloudweb1003.wikimedia.org."}))
    first.reload()
    second.set_zone(ZONE, wikimediacloud_zone({"eqiad1": "208.80.154.23"}))
    second.reload()
    cfg = make_config([first.address, second.address])
    wrong, address = check_region(cfg, cfg.region("eqiad1")).servers
    assert (wrong.verdict, wrong.controller) == ("wrong", None)
    assert "no controller of eqiad1" in wrong.detail
    assert (address.verdict, address.record_type, address.answer) == (
        "wrong", "A", "208.80.154.23")


def test_truncated_answer_is_retried_over_tcp(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = make_config([two_gdnsd[0].address])
    region = cfg.region("big")
    answer = check_region(cfg, region, region.controller("a1")).servers[0]
    assert answer.tcp is True
    assert len(answer.records) == 100 and "10.64.0.1" in answer.records
    assert answer.verdict == "wrong" and "100 addresses" in answer.detail
    assert answer.to_dict()["tcp"] is True


def test_wait_for_agreement_catches_up_after_reload(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    for server in two_gdnsd:
        server.set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    first.reload()
    cfg = make_config([first.address, second.address], interval=0.2)
    region = cfg.region("eqiad1")
    rounds: list[tuple[int, int, float]] = []

    def on_round(report: Any, number: int, pause: float) -> None:
        rounds.append((number, report.matching, pause))
        if number == 2:
            second.reload()

    report = wait_for_agreement(cfg, region, region.controller("cloudcontrol1004"),
                                timeout=10, interval=0.1, on_round=on_round)
    assert report.agree and report.controller == "cloudcontrol1004"
    assert rounds[0][:2] == (1, 1) and rounds[-1][1:] == (2, 0.0)
    assert len(rounds) >= 3


def test_wait_for_agreement_gives_up(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = make_config([two_gdnsd[0].address])
    region = cfg.region("eqiad1")
    pauses: list[float] = []
    report = wait_for_agreement(cfg, region, region.controller("cloudcontrol1004"),
                                timeout=0.5, interval=0.1, max_interval=0.2,
                                on_round=lambda r, n, p: pauses.append(p))
    assert not report.agree and report.servers[0].verdict == "stale"
    assert pauses[-1] == 0.0 and all(0 < p <= 0.2 for p in pauses[:-1])


def test_recursor_reports_when_it_will_be_fresh(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    first, second = two_gdnsd
    first.set_zone(ZONE, wikimediacloud_zone({"eqiad1": NEW}))
    first.reload()
    cfg = make_config([first.address], recursors=[second.address])
    region = cfg.region("eqiad1")
    report = check_region(cfg, region, region.controller("cloudcontrol1004"))
    assert report.agree
    recursor = report.recursors[0]
    assert recursor.verdict == "stale" and recursor.ttl == 300
    assert report.checked_at is not None and recursor.fresh_by is not None
    assert (recursor.fresh_by - report.checked_at).total_seconds() == 300
    assert report.to_dict()["recursors"][0]["fresh_by"] == recursor.fresh_by.isoformat()


def test_nameservers_discovered_from_ns_records() -> None:
    zones = {ZONE: wikimediacloud_zone(), "wikimedia.org": WIKIMEDIA_ORG}
    with start_gdnsd(zones) as server:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = server.port
        resolver.lifetime = 2.0
        found = discover_nameservers("openstack.eqiad1.wikimediacloud.org", resolver,
                                     port=server.port)
        assert [(s.label, s.address, s.port) for s in found] == [
            (f"ns0.wikimedia.org:{server.port}", "127.0.0.1", server.port),
            (f"ns1.wikimedia.org:{server.port}", "127.0.0.1", server.port),
            (f"ns2.wikimedia.org:{server.port}", "127.0.0.1", server.port)]
        cfg = make_config([f"ns0.wikimedia.org:{server.port}"])
        report = check_region(cfg, cfg.region("eqiad1"), resolver=resolver)
        assert report.agree and str(report.servers[0].server) == (
            f"ns0.wikimedia.org:{server.port} (127.0.0.1:{server.port})")
        missing = make_config([f"ns9.wikimedia.org:{server.port}"])
        with pytest.raises(UsageError, match="resolves to no address"):
            check_region(missing, missing.region("eqiad1"), resolver=resolver)


def test_check_regions_for_status(two_gdnsd: tuple[Gdnsd, Gdnsd]) -> None:
    cfg = make_config([g.address for g in two_gdnsd])
    reports = check_regions(cfg, [cfg.region("eqiad1"), cfg.region("eqiad1vip")])
    assert {n: (r.agree, r.controller) for n, r in reports.items()} == {
        "eqiad1": (True, "cloudcontrol1003"), "eqiad1vip": (True, "vip24")}


def test_expect_must_belong_to_the_region() -> None:
    cfg = make_config(["127.0.0.1:1"])
    with pytest.raises(UsageError, match="not a controller of region 'eqiad1'"):
        check_region(cfg, cfg.region("eqiad1"), cfg.region("eqiad1vip").controller("vip24"))

