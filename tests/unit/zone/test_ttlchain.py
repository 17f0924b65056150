"""The TTL chain on the real templates/wmnet: lower, switch, restore (as 2020-01-23's three
conftool commits), and when the switch may be merged (pure logic, no clock read)."""

from __future__ import annotations

import pytest

from failover.promote.ttlchain import build_chain, switch_may_merge
from failover.zone import ZoneError, read_zone
from failover.zone.sets import Member, find_set, replace_sets
from tests.unit.zone.test_sets import CONFTOOL, KW, WMNET

CODFW = [Member(f"conf200{i}.codfw.wmnet.", port=4001) for i in (4, 5, 6)]


def _switch(text: str):  # type: ignore[no-untyped-def]
    return replace_sets(text, CONFTOOL, "SRV", CODFW, **KW)


def test_chain_lowers_switches_and_restores() -> None:
    text = read_zone(WMNET)
    chain = build_chain(text, CONFTOOL, "SRV", _switch, "10", **KW,
                        subject="Move conftool SRV entries to codfw")
    lower, switch, restore = chain.steps
    assert (chain.old_ttl, chain.old_seconds) == ("5M", 300)
    assert {ln.ttl for ln in find_set(lower.edit.new_text, CONFTOOL[0], "SRV", **KW).live} \
        == {"10"}
    assert switch.edit.old_text == lower.edit.new_text
    assert restore.edit.old_text == switch.edit.new_text
    assert restore.edit.new_text == _switch(text).new_text  # same as switching without chain
    assert [s.subject.rsplit("(", 1)[1][:3] for s in chain.steps] == ["1/3", "2/3", "3/3"]


def test_chain_refuses_a_ttl_not_lower() -> None:
    with pytest.raises(ZoneError, match="not lower"):
        build_chain(read_zone(WMNET), CONFTOOL, "SRV", _switch, "1H", **KW, subject="x")


def test_switch_waits_for_every_server_then_the_old_ttl() -> None:
    assert switch_may_merge([10, 300], None, 300, 10, now=100.0)[0] is False
    assert switch_may_merge([10, None], None, 300, 10, now=100.0)[0] is False
    ok, when, why = switch_may_merge([10, 10], None, 300, 10, now=100.0)
    assert (ok, when) == (False, 400.0) and "from now" in why
    assert switch_may_merge([10, 10], 100.0, 300, 10, now=399.0)[:2] == (False, 400.0)
    assert switch_may_merge([10, 10], 100.0, 300, 10, now=400.0) == (True, 400.0, "")
