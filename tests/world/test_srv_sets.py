"""SRV sets against a real gdnsd: a set (several lines) moved between two DCs' hosts, one
member taken out and back (the gate refusing when the minimum would be broken), a commented
standby swapped, and a set's TTL lowered and restored; each zone edit is the engine's
(`failover.zone.sets`), each answer judged as a set (`failover.dnscheck.srvset`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from failover.dnscheck.servers import Server
from failover.dnscheck.srvset import MISMATCH, agreed, ask_sets, max_ttl
from failover.zone.sets import Member, replace_sets, set_ttl, swap_standby
from sandbox.gdnsd import Gdnsd, start_gdnsd

ZONE = "wmnet"
KW = {"path": "templates/wmnet", "zone": ZONE}
CONFTOOL = "_etcd._tcp.conftool.eqiad.wmnet"
PUPPET = "_x-puppet._tcp.codfw.wmnet"
EQIAD = [Member(f"conf100{i}.eqiad.wmnet.", 0, 1, 4001) for i in (7, 8, 9)]
CODFW = [Member(f"conf200{i}.codfw.wmnet.", 0, 1, 4001) for i in (4, 5, 6)]
PUPPETS = [Member(f"puppetserver200{i}.codfw.wmnet.", 0, 5, 8140) for i in (1, 2, 3)]

# Lines copied from the real templates/wmnet (tests/data/realrepo), SOA/NS added.
TEXT = """$TTL 1H
@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 2024010101 12H 2H 2W 1H
@ 1D IN NS ns0.wikimedia.org.

$ORIGIN eqiad.wmnet.
; Conftool (RW)
_etcd._tcp.conftool 5M  IN SRV      0 1 4001 conf1007.eqiad.wmnet.
_etcd._tcp.conftool 5M  IN SRV      0 1 4001 conf1008.eqiad.wmnet.
_etcd._tcp.conftool 5M  IN SRV      0 1 4001 conf1009.eqiad.wmnet.

$ORIGIN codfw.wmnet.
; puppet SRV records
_x-puppet._tcp     5M  IN SRV  0  5 8140 puppetserver2001.codfw.wmnet.
_x-puppet._tcp     5M  IN SRV  0  5 8140 puppetserver2002.codfw.wmnet.
_x-puppet._tcp     5M  IN SRV  0  5 8140 puppetserver2003.codfw.wmnet.

$ORIGIN discovery.wmnet.
;doc                   300 IN CNAME doc1004.eqiad.wmnet.
doc                   300 IN CNAME doc2003.codfw.wmnet.
"""


@pytest.fixture
def gdnsd() -> Iterator[tuple[Gdnsd, list[Server]]]:
    """Yield a gdnsd serving TEXT as zone wmnet, and it as the server to ask."""
    with start_gdnsd({ZONE: TEXT}) as server:
        yield server, [Server("ns0", server.host, server.port)]


def _serve(server: Gdnsd, text: str) -> None:
    server.set_zone(ZONE, text)
    server.reload()


def test_srv_set_moves_between_datacenters(gdnsd: tuple[Gdnsd, list[Server]]) -> None:
    server, servers = gdnsd
    cands = {"eqiad": EQIAD, "codfw": CODFW}
    before = ask_sets(servers, CONFTOOL, "SRV", cands)
    assert agreed(before) == "eqiad" and max_ttl(before) == 300
    edit = replace_sets(TEXT, [CONFTOOL], "SRV", CODFW, **KW)
    assert edit.diff.count("\n-_etcd") == 3 and edit.diff.count("\n+_etcd") == 3
    _serve(server, edit.new_text)
    after = ask_sets(servers, CONFTOOL, "SRV", cands)
    assert agreed(after) == "codfw"
    assert [m.target for m in after[0].members] == [m.target for m in CODFW]


def test_commented_standby_swaps_and_answers(gdnsd: tuple[Gdnsd, list[Server]]) -> None:
    server, servers = gdnsd
    doc = "doc.discovery.wmnet"
    cands = {"eqiad": [Member("doc1004.eqiad.wmnet.")], "codfw": [Member("doc2003.codfw.wmnet.")]}
    assert agreed(ask_sets(servers, doc, "CNAME", cands)) == "codfw"
    edit = swap_standby(TEXT, doc, "CNAME", "doc1004.eqiad.wmnet", **KW)
    assert "+doc                   300 IN CNAME doc1004.eqiad.wmnet." in edit.diff
    assert "+;doc                   300 IN CNAME doc2003.codfw.wmnet." in edit.diff
    _serve(server, edit.new_text)
    assert agreed(ask_sets(servers, doc, "CNAME", cands)) == "eqiad"


def test_set_ttl_lowered_then_restored(gdnsd: tuple[Gdnsd, list[Server]]) -> None:
    server, servers = gdnsd
    low = set_ttl(TEXT, [CONFTOOL], "SRV", "10", **KW)
    _serve(server, low.new_text)
    answers = ask_sets(servers, CONFTOOL, "SRV", {"eqiad": EQIAD})
    assert max_ttl(answers) == 10 and agreed(answers) == "eqiad"
    _serve(server, set_ttl(low.new_text, [CONFTOOL], "SRV", "5M", **KW).new_text)
    assert max_ttl(ask_sets(servers, CONFTOOL, "SRV", {"eqiad": EQIAD})) == 300


def test_a_partial_set_is_no_candidate(gdnsd: tuple[Gdnsd, list[Server]]) -> None:
    _, servers = gdnsd
    answers = ask_sets(servers, CONFTOOL, "SRV", {"two": EQIAD[:2], "ports": [
        Member(m.target, 0, 1, 2379) for m in EQIAD]})
    assert answers[0].verdict == MISMATCH and agreed(answers) is None
