"""The TTL chain on the real templates/wmnet: lower, switch, restore (as 2020-01-23's three
conftool commits), and when the switch may be merged (pure logic, no clock read)."""

from __future__ import annotations

import pytest

from failover.promote.ttlchain import (
    build_chain,
    chain_step_of,
    chain_subjects,
    switch_may_merge,
    ttl_problem,
    written_ttl,
)
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


def test_chain_subjects_say_their_step_and_fit_the_validator() -> None:
    lower, switch, restore = chain_subjects("wikimedia.org: fail over irc to irc1002",
                                            short="irc", old="5M", new="10")
    assert (lower, switch, restore) == ("wikimedia.org: lower TTL of irc to 10 (1/3)",
                                        "wikimedia.org: fail over irc to irc1002 (2/3)",
                                        "wikimedia.org: restore TTL 5M of irc (3/3)")
    long = "wikimediacloud.org: fail over openstack.codfw1dev API to cloudcontrol2004-dev"
    subjects = chain_subjects(long, short="openstack.eqiad1" * 4, old="5M", new="10")
    assert subjects[1] == long  # no room for "(2/3)": the body says it
    assert all(len(s) <= 80 for s in subjects)


def test_chain_step_of_reads_back_what_chain_subjects_writes() -> None:
    lower, switch, restore = chain_subjects("wmnet: move s1-master to db2203", short="s1-master",
                                            old="1H", new="5")
    assert chain_step_of(lower, "s1-master") == (1, "5")
    assert chain_step_of(restore, "s1-master") == (3, "1H")
    assert chain_step_of(switch, "s1-master") is None
    assert chain_step_of(restore, "s4-master") is None  # another name's chain


def test_switch_ttl_values() -> None:
    assert ttl_problem("10s") is None and written_ttl("10s") == "10"
    assert written_ttl("1m") == "60"
    assert "not a TTL" in (ttl_problem("ten") or "")
    assert "min_ttl" in (ttl_problem("2") or "")  # gdnsd would serve 5 s instead


def test_the_switch_subject_still_names_its_target() -> None:
    from failover.promote.message import subject_target

    assert subject_target("wikimedia.org: fail over irc to irc1002 (2/3)", region="irc",
                          short="irc") == "irc1002"
    assert subject_target("wikimedia.org: lower TTL of irc to 10 (1/3)", region="irc",
                          short="irc") is None
