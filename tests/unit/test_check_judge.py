"""The check's one judgement (`failover.check_judge`) over a region, a service and a group.

Pure logic: a Reading built by hand, judged and rendered in the plugin format. The expected
outputs are the ones the two judgements gave before they became one (region: `check.judge`,
services and groups: `check_records.judge_name`), byte for byte: the plugin's output is a
contract (NRPE, dashboards, runbooks).
"""

from __future__ import annotations

import pytest

from failover.check_judge import CRITICAL, OK, UNKNOWN, WARNING, Reading, judge
from failover.check_words import words_for
from failover.config import load_config
from failover.dnscheck import DnsReport, Server, ServerAnswer
from failover.haproxy.model import ControllerHealth, ServiceHealth
from failover.health import HealthResult
from failover.health.haproxy import as_result
from failover.model import FailoverName, Record, of_region, of_service
from failover.render.check import plugin_output
from tests.conftest import ConfigFile, region_toml
from tests.unit.config.test_services import GROUP, IRC

NS = (Server("ns0", "127.0.0.1", 5301), Server("ns1", "127.0.0.1", 5302),
      Server("ns2", "127.0.0.1", 5303))
DANGLING = "does not resolve (no A or AAAA record at ns0 (127.0.0.1:5301))"


class Log:
    """An in-memory disagreement log (the state file's part the judgement uses)."""

    def __init__(self, seen: dict[str, float] | None = None) -> None:
        self.seen = dict(seen or {})

    def since(self, key: str, now: float) -> float:
        return self.seen.setdefault(key, now)

    def clear(self, key: str) -> None:
        self.seen.pop(key, None)


def says(server: Server, record: Record, candidate: str | None = None, *,
         verdict: str = "matches", rtt: float | None = 0.4) -> ServerAnswer:
    """Return `server`'s answer: `candidate`'s target for `record`, or none (`verdict`)."""
    if candidate is None:
        return ServerAnswer(server, verdict, rtt_ms=rtt)
    return ServerAnswer(server, verdict, records=(record.target(candidate),),
                        controller=candidate, rtt_ms=rtt)


def report(record: Record, *answers: ServerAnswer) -> DnsReport:
    return DnsReport(record.name, record.fqdn, None, answers)


def haproxy(name: str, *, down: tuple[str, ...] = (), error: str | None = None,
            ms: float = 12.0) -> ControllerHealth:
    """Return a controller's HAProxy read over services a and b (`down` failing)."""
    services = {s: ServiceHealth(s, error is None and s not in down, 1, 1, False, "", "")
                for s in ("a", "b")}
    return ControllerHealth(name, error is None, error, services, ms)


def tcp(name: str, healthy: bool = True, detail: str = "connected") -> HealthResult:
    return HealthResult(name, "tcp", healthy, detail, "tcp 127.0.0.1:6667", 1.5)


def region_reading(name: FailoverName, rep: DnsReport, reads: list[ControllerHealth],
                   targets: dict[str, str] | None = None) -> Reading:
    """Return a region's Reading: its one record's report, each controller's HAProxy."""
    return Reading({rep.fqdn: rep}, {c.name: as_result(c.name, "haproxy", c) for c in reads},
                   {c: {rep.fqdn: p} for c, p in (targets or {}).items()},
                   {c.name: c for c in reads})


@pytest.fixture
def region(config_file: ConfigFile) -> FailoverName:
    cfg = load_config(config_file(region_toml(
        "eqiad1", {"cc1": "http://127.0.0.1:1/stats", "cc2": "http://127.0.0.1:2/stats"},
        services=["a", "b"])))
    return of_region(cfg, cfg.regions["eqiad1"])


@pytest.fixture
def services(config_file: ConfigFile) -> dict[str, FailoverName]:
    cfg = load_config(config_file(IRC, GROUP))
    return {n: of_service(cfg, s) for n, s in cfg.services.items()}


def out(name: FailoverName, reading: Reading, log: Log | None = None,
        grace: float = 900.0) -> tuple[int, str]:
    result = judge(name, reading, words_for(name), grace=grace, log=log or Log(), now=1000.0)
    return result.state, plugin_output(result)


def test_a_region_that_serves(region: FailoverName) -> None:
    rec = region.records[0]
    reading = region_reading(region, report(rec, says(NS[0], rec, "cc2"),
                                            says(NS[1], rec, "cc2", rtt=1.25)),
                             [haproxy("cc1"), haproxy("cc2", ms=3.0)])
    assert out(region, reading) == (OK, (
        "OK - openstack.eqiad1 -> cc2, HAProxy healthy (2/2 services); standby cc1 healthy"
        " | 'cc1_services_up'=2;;;0;2 'cc2_services_up'=2;;;0;2 'dns_rtt_max'=1.2ms;;;0"
        " 'dns_servers_answering'=2;;;0;2 'cc1_stats_fetch'=12ms;;;0"
        " 'cc2_stats_fetch'=3ms;;;0 'dns_disagree_age'=0s;;900;0\n"
        "nameserver ns0 (127.0.0.1:5301): cc2.wikimedia.org. (cc2) matches 0.4 ms\n"
        "nameserver ns1 (127.0.0.1:5302): cc2.wikimedia.org. (cc2) matches 1.2 ms\n"
        "cc1: 2/2 services healthy, stats read in 12.0 ms\n"
        "cc2: 2/2 services healthy, stats read in 3.0 ms\n"))


def test_a_region_split_between_servers(region: FailoverName) -> None:
    """A tie names who says what; a silent server warns; a dangling target of a serving
    controller is CRITICAL; the disagreement's age counts from the log."""
    rec = region.records[0]
    reading = region_reading(
        region, report(rec, says(NS[0], rec, "cc1"), says(NS[1], rec, "cc2", verdict="stale"),
                       says(NS[2], rec, verdict="timeout", rtt=None)),
        [haproxy("cc1", down=("b",)), haproxy("cc2", error="connection refused")],
        {"cc2": DANGLING})
    state, text = out(region, reading, Log({"eqiad1": 400.0}))
    assert (state, text.splitlines()[0]) == (CRITICAL, (
        "CRITICAL - openstack.eqiad1 -> cc1 per ns0 (127.0.0.1:5301), HAProxy UNHEALTHY "
        "(1/2 services; failing: b); openstack.eqiad1 -> cc2 per ns1 (127.0.0.1:5302), "
        "HAProxy unreachable: connection refused; openstack.eqiad1 -> cc2.wikimedia.org. "
        "which does not resolve (no A or AAAA record at ns0 (127.0.0.1:5301)); nameservers "
        "disagree for 600s (grace 900s): ns0 (127.0.0.1:5301) -> cc1, ns1 (127.0.0.1:5302) "
        "-> cc2; 1 of 3 nameservers did not answer (ns2 (127.0.0.1:5303)) | "
        "'cc1_services_up'=1;;;0;2 'cc2_services_up'=U;;;0;2 'dns_rtt_max'=0.4ms;;;0 "
        "'dns_servers_answering'=2;;;0;3 'cc1_stats_fetch'=12ms;;;0 'cc2_stats_fetch'=U;;;0 "
        "'dns_disagree_age'=600s;;900;0"))
    assert text.splitlines()[1:] == [
        "nameserver ns0 (127.0.0.1:5301): cc1.wikimedia.org. (cc1) matches 0.4 ms",
        "nameserver ns1 (127.0.0.1:5302): cc2.wikimedia.org. (cc2) stale 0.4 ms",
        "nameserver ns2 (127.0.0.1:5303): - timeout",
        "cc1: 1/2 services healthy; failing: b, stats read in 12.0 ms",
        "cc2: unreachable: connection refused, stats read in 12.0 ms"]


def test_a_region_nobody_answers_is_that_alone(region: FailoverName) -> None:
    rec = region.records[0]
    reading = region_reading(region, report(rec, says(NS[0], rec, verdict="servfail", rtt=None)),
                             [haproxy("cc1"), haproxy("cc2")])
    state, text = out(region, reading)
    assert (state, text.splitlines()[0]) == (CRITICAL, (
        "CRITICAL - no nameserver answered for openstack.eqiad1.wikimediacloud.org "
        "(ns0 (127.0.0.1:5301) servfail) | 'cc1_services_up'=2;;;0;2 'cc2_services_up'=2;;;0;2"
        " 'dns_rtt_max'=U;;;0 'dns_servers_answering'=0;;;0;1 'cc1_stats_fetch'=12ms;;;0"
        " 'cc2_stats_fetch'=12ms;;;0"))
    assert out(region, region_reading(region, report(rec), []))[0] == UNKNOWN


def test_a_service_with_an_unhealthy_standby(services: dict[str, FailoverName]) -> None:
    irc = services["irc"]
    rec = irc.records[0]
    reading = Reading({rec.fqdn: report(rec, says(NS[0], rec, "irc1003"))},
                      {"irc1003": tcp("irc1003"), "irc2003": tcp("irc2003", False, "refused")},
                      {"irc2003": {rec.fqdn: DANGLING}})
    assert out(irc, reading) == (WARNING, (
        "WARNING - standby irc2003 UNHEALTHY (refused); standby irc.wikimedia.org: irc2003's "
        "target irc2003.wikimedia.org. does not resolve (no A or AAAA record at ns0 "
        "(127.0.0.1:5301)); irc -> irc1003, healthy (connected) | 'irc1003_healthy'=1;;;0;1 "
        "'irc2003_healthy'=0;;;0;1 'dns_rtt_max'=0.4ms;;;0 'records_pointing'=1;;;0;1 "
        "'dns_disagree_age'=0s;;900;0\n"
        "irc.wikimedia.org at ns0 (127.0.0.1:5301): irc1003.wikimedia.org. (irc1003) matches "
        "0.4 ms\n"
        "irc1003: healthy (tcp 127.0.0.1:6667: connected) in 1.5 ms\n"
        "irc2003: UNHEALTHY (tcp 127.0.0.1:6667: refused) in 1.5 ms\n"))


def test_a_group_split_between_records(services: dict[str, FailoverName]) -> None:
    """Records pointing at two sides are CRITICAL (the primary: the first side most records
    point at); the primary's health leads; a record whose servers disagree is named."""
    group = services["db-masters"]
    s1, s2 = group.records
    reading = Reading(
        {s1.fqdn: report(s1, says(NS[0], s1, "eqiad"), says(NS[1], s1, "codfw")),
         s2.fqdn: report(s2, says(NS[0], s2, "codfw"), says(NS[1], s2, "codfw"))},
        {"eqiad": tcp("eqiad", False, "refused"), "codfw": tcp("codfw")})
    state, text = out(group, reading, Log({f"db-masters {s1.fqdn}": 900.0}), grace=60.0)
    assert (state, text.splitlines()[0]) == (CRITICAL, (
        "CRITICAL - db-masters -> eqiad, UNHEALTHY (refused); nameservers disagree on "
        "s1-master.eqiad.wmnet for 100s (grace 60s): 1 say eqiad, 1 say codfw; records split: "
        "1 record(s) -> eqiad, 1 record(s) -> codfw; standby codfw healthy | "
        "'eqiad_healthy'=0;;;0;1 'codfw_healthy'=1;;;0;1 'dns_rtt_max'=0.4ms;;;0 "
        "'records_pointing'=2;;;0;2 'dns_disagree_age'=100s;;60;0"))
