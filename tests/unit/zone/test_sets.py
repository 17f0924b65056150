"""Record sets on the real templates/wmnet (tests/data/realrepo): SRV set switch, member out
and back, commented standby swap, TTL of a set; each edit checked line by line as people
wrote the same change in operations/dns's history."""

from __future__ import annotations

from pathlib import Path

import pytest

from failover.zone import ZoneError, read_zone
from failover.zone.sets import (
    Member,
    add_member,
    find_set,
    find_sets,
    remove_member,
    replace_sets,
    set_ttl,
    swap_standby,
    ttl_seconds,
    unified_diff,
)

WMNET = Path(__file__).resolve().parents[2] / "data" / "realrepo" / "templates" / "wmnet"
KW = {"path": "templates/wmnet", "zone": "wmnet"}
PUPPET = "_x-puppet._tcp.codfw.wmnet"
CONFTOOL = [f"_etcd._tcp.conftool.{dc}.wmnet" for dc in ("eqiad", "codfw")]


@pytest.fixture
def wmnet() -> str:
    """The real templates/wmnet at 2025-06-30."""
    return read_zone(WMNET)


def _removed_added(old: str, new: str) -> tuple[list[str], list[str]]:
    """Return the lines the diff removes and adds, in order."""
    body = [ln for ln in unified_diff(old, new, "x").split("\n")[2:] if ln[:1] in ("+", "-")]
    return [ln[1:] for ln in body if ln[0] == "-"], [ln[1:] for ln in body if ln[0] == "+"]


def test_srv_set_is_read_with_its_fields(wmnet: str) -> None:
    rs = find_set(wmnet, PUPPET, "SRV", **KW)
    assert [m.target for m in rs.members()] == [
        f"puppetserver200{i}.codfw.wmnet." for i in (1, 2, 3, 4)]
    assert {(m.priority, m.weight, m.port) for m in rs.members()} == {(0, 5, 8140)}
    assert {ln.ttl for ln in rs.live} == {"5M"}


def test_member_out_removes_its_line_and_back_restores_the_file(wmnet: str) -> None:
    out = remove_member(wmnet, PUPPET, "SRV", "puppetserver2003.codfw.wmnet", **KW)
    assert _removed_added(wmnet, out.new_text) == (
        ["_x-puppet._tcp     5M  IN SRV  0  5 8140 puppetserver2003.codfw.wmnet."], [])
    back = add_member(out.new_text, PUPPET, "SRV", Member("puppetserver2003.codfw.wmnet."), **KW)
    assert back.new_text == wmnet  # the revert of the depool, byte for byte


def test_last_member_cannot_be_removed(wmnet: str) -> None:
    with pytest.raises(ZoneError, match="only member"):
        remove_member(wmnet, "_x-puppet-ca._tcp.codfw.wmnet", "SRV",
                      "puppetserver1001.eqiad.wmnet", **KW)


def test_unknown_member_is_refused_naming_the_members(wmnet: str) -> None:
    with pytest.raises(ZoneError) as err:
        remove_member(wmnet, PUPPET, "SRV", "puppetserver2009.codfw.wmnet", **KW)
    assert "puppetserver2001.codfw.wmnet." in (err.value.hint or "")


def test_srv_set_switches_as_one_token_by_token(wmnet: str) -> None:
    codfw = [Member(f"conf200{i}.codfw.wmnet.", port=2379) for i in (4, 5, 6)]
    edit = replace_sets(wmnet, CONFTOOL, "SRV", codfw, **KW)
    removed, added = _removed_added(wmnet, edit.new_text)
    assert len(removed) == 6
    assert added == [f"_etcd._tcp.conftool 5M  IN SRV      0 1 2379 conf200{i}.codfw.wmnet."
                     for i in (4, 5, 6)] * 2
    assert edit.new_text.count("conftool 5M  IN SRV      0 1 2379 conf2004") == 2
    eqiad = [Member(f"conf100{i}.eqiad.wmnet.", port=4001) for i in (7, 8, 9)]
    assert replace_sets(edit.new_text, CONFTOOL, "SRV", eqiad, **KW).new_text == wmnet


def test_a_set_grows_and_shrinks_keeping_staying_members(wmnet: str) -> None:
    two = [Member("puppetserver2002.codfw.wmnet."), Member("puppetserver2004.codfw.wmnet.")]
    edit = replace_sets(wmnet, [PUPPET], "SRV", two, **KW)
    assert [m.target for m in find_set(edit.new_text, PUPPET, "SRV", **KW).members()] == [
        "puppetserver2002.codfw.wmnet.", "puppetserver2004.codfw.wmnet."]
    five = [Member(f"puppetserver200{i}.codfw.wmnet.") for i in range(1, 6)]
    grown = replace_sets(wmnet, [PUPPET], "SRV", five, **KW)
    assert _removed_added(wmnet, grown.new_text)[1] == [
        "_x-puppet._tcp     5M  IN SRV  0  5 8140 puppetserver2005.codfw.wmnet."]


def test_commented_standby_swaps_the_semicolon_only(wmnet: str) -> None:
    edit = swap_standby(wmnet, "doc.discovery.wmnet", "CNAME", "doc1004.eqiad.wmnet", **KW)
    assert _removed_added(wmnet, edit.new_text) == (
        [";doc                   300 IN CNAME doc1004.eqiad.wmnet.",
         "doc                   300 IN CNAME doc2003.codfw.wmnet."],
        ["doc                   300 IN CNAME doc1004.eqiad.wmnet.",
         ";doc                   300 IN CNAME doc2003.codfw.wmnet."])
    back = swap_standby(edit.new_text, "doc.discovery.wmnet", "CNAME", "doc2003.codfw.wmnet",
                        **KW)
    assert back.new_text == wmnet


def test_standby_follows_the_other_candidate_when_asked(wmnet: str) -> None:
    with pytest.raises(ZoneError, match="no commented"):
        swap_standby(wmnet, "doc.discovery.wmnet", "CNAME", "doc1005.eqiad.wmnet", **KW)
    edit = swap_standby(wmnet, "doc.discovery.wmnet", "CNAME", "doc1005.eqiad.wmnet",
                        follow=True, **KW)
    assert _removed_added(wmnet, edit.new_text)[1] == [
        ";doc                   300 IN CNAME doc2003.codfw.wmnet.",
        "doc                   300 IN CNAME doc1005.eqiad.wmnet."]


def test_standby_already_live_is_no_change(wmnet: str) -> None:
    edit = swap_standby(wmnet, "doc.discovery.wmnet", "CNAME", "doc2003.codfw.wmnet.", **KW)
    assert not edit.changed and edit.diff == ""


def test_ttl_of_a_set_lowered_and_restored(wmnet: str) -> None:
    low = set_ttl(wmnet, CONFTOOL, "SRV", "10", **KW)
    _, added = _removed_added(wmnet, low.new_text)
    assert added == [f"_etcd._tcp.conftool 10  IN SRV      0 1 4001 conf100{i}.eqiad.wmnet."
                     for i in (7, 8, 9)] * 2
    assert "-_etcd._tcp.conftool 5M  IN SRV" in low.diff
    assert set_ttl(low.new_text, CONFTOOL, "SRV", "5M", **KW).new_text == wmnet
    with pytest.raises(ZoneError, match="not a zone TTL"):
        set_ttl(wmnet, CONFTOOL, "SRV", "ten", **KW)


def test_ttl_seconds() -> None:
    assert [ttl_seconds(t) for t in ("10", "5M", "1h30m", "300")] == [10, 300, 5400, 300]


def test_sets_are_per_origin(wmnet: str) -> None:
    found = find_sets(wmnet, [*CONFTOOL, "_etcd._tcp.conftool.nowhere.wmnet"], "SRV", **KW)
    assert [len(s.live) for s in found.values()] == [3, 3, 0]


def test_promote_hook_swaps_a_commented_standby(wmnet: str) -> None:
    from failover.promote.standby import standby_edits

    edits = standby_edits(wmnet, {"doc.discovery.wmnet": "doc1004.eqiad.wmnet."},
                          path="templates/wmnet")
    assert edits is not None and edits.changed
    assert edits.new_text == swap_standby(wmnet, "doc.discovery.wmnet", "CNAME",
                                          "doc1004.eqiad.wmnet", **KW).new_text
    (edit,) = edits.edits
    assert (edit.old_target, edit.new_target, edit.record.line) == (
        "doc2003.codfw.wmnet.", "doc1004.eqiad.wmnet.", 998)
    assert edit.new_line == "doc                   300 IN CNAME doc1004.eqiad.wmnet."
    # no commented line names the target: the usual target edit (None here)
    assert standby_edits(wmnet, {"doc.discovery.wmnet": "doc1009.eqiad.wmnet."},
                         path="templates/wmnet") is None


def test_the_configured_standby_is_required_or_follows(wmnet: str) -> None:
    from failover.promote.standby import standby_edits

    targets = {"doc.discovery.wmnet": "doc1009.eqiad.wmnet."}
    with pytest.raises(ZoneError, match="no commented"):  # standby = "commented"
        standby_edits(wmnet, targets, path="templates/wmnet", required=True)
    edits = standby_edits(wmnet, targets, path="templates/wmnet", required=True, follow=True)
    assert edits is not None
    assert _removed_added(wmnet, edits.new_text)[1] == [
        ";doc                   300 IN CNAME doc2003.codfw.wmnet.",
        "doc                   300 IN CNAME doc1009.eqiad.wmnet."]
    live = {"doc.discovery.wmnet": "doc2003.codfw.wmnet."}  # already live: no edit
    assert standby_edits(wmnet, live, path="templates/wmnet", required=True) is None
