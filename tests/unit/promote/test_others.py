"""The decisions about other operators (issue 24): pure, plain data in."""

from __future__ import annotations

import pytest

from failover.errors import GateRefused
from failover.promote.others import (
    Flip,
    OpenChange,
    acked,
    lock_refusal,
    moves_records,
    next_step,
    race_loser,
    recent_flip,
    stale_from,
    suggested_promote,
)

PATH = "templates/wikimediacloud.org"
ZONE = """$ORIGIN eqiad1.wikimediacloud.org.
openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org.

$ORIGIN codfw1dev.wikimediacloud.org.
openstack  5M  IN CNAME  cloudcontrol2001-dev.wikimedia.org.
"""
EQIAD = ("openstack.eqiad1.wikimediacloud.org",)


def change(number: int, owner: str = "Other Op") -> OpenChange:
    return OpenChange(number=number, url=f"http://g/r/c/operations/dns/+/{number}",
                      owner=owner, subject="move eqiad1", age=300.0, change_id=f"I{number:040d}")


def test_a_change_of_the_record_moves_it_one_of_another_record_does_not() -> None:
    moved = ZONE.replace("cloudcontrol1003", "cloudcontrol1004")
    other = ZONE.replace("cloudcontrol2001-dev", "cloudcontrol2004-dev")
    assert moves_records(ZONE, moved, EQIAD, PATH)
    assert not moves_records(ZONE, other, EQIAD, PATH)
    assert not moves_records(ZONE, "; a comment above\n" + ZONE, EQIAD, PATH)  # only moved
    assert moves_records(ZONE, ZONE.replace("  5M  ", "  1H  ", 1), EQIAD, PATH)  # TTL


def test_a_set_moved_is_a_move_of_its_records() -> None:
    """An SRV set (templates/wmnet's shape): a member changed is a move; the lines reordered
    or another set changed is none."""
    srv = "_etcd._tcp.conftool 5M  IN SRV      0 1 4001 conf{}.eqiad.wmnet."
    zone = "\n".join(["$ORIGIN eqiad.wmnet.", *(srv.format(n) for n in (1007, 1008, 1009)),
                      "_x._tcp 5M IN SRV 0 1 80 a", ""])
    path, conftool = "templates/wmnet", ["_etcd._tcp.conftool.eqiad.wmnet"]
    assert moves_records(zone, zone.replace("conf1009", "conf2006.codfw"), conftool, path)
    lines = zone.split("\n")
    reordered = "\n".join([lines[0], lines[3], lines[2], lines[1], *lines[4:]])
    assert not moves_records(zone, reordered, conftool, path)
    assert not moves_records(zone, zone.replace("80 a", "80 b"), conftool, path)
    assert moves_records(zone, zone.replace(srv.format(1007) + "\n", ""), conftool, path)


def test_an_open_change_on_the_record_is_refused_naming_url_owner_age() -> None:
    with pytest.raises(GateRefused) as refused:
        lock_refusal("eqiad1", [change(7)], acks=())
    text = str(refused.value)
    assert "http://g/r/c/operations/dns/+/7" in text and "Other Op" in text and "5m0s" in text
    assert "--ack 7" in (refused.value.hint or "")


@pytest.mark.parametrize("ack", ["7", "http://g/r/c/operations/dns/+/7/", f"I{7:040d}"])
def test_an_acknowledged_open_change_passes(ack: str) -> None:
    lock_refusal("eqiad1", [change(7)], acks=(ack,))


def test_the_later_of_two_racing_changes_stops_the_earlier_goes_on() -> None:
    with pytest.raises(GateRefused, match=r"\+/7 .*came first"):
        race_loser("eqiad1", 8, [change(7)], acks=())
    race_loser("eqiad1", 7, [change(8)], acks=())  # the earlier one
    race_loser("eqiad1", 8, [change(7)], acks=("7",))  # seen, and acknowledged


def flip(age: float, author: str = "Other Op") -> Flip:
    return Flip(sha="abcdef0123456789" * 2 + "abcdef01", author=author,
                email=f"{author.split()[0].lower()}@example.org", subject="flip", age=age)


def test_a_flip_by_another_within_the_window_is_refused_unless_acked() -> None:
    with pytest.raises(GateRefused, match=r"10m0s ago by Other Op \(commit abcdef012345"):
        recent_flip("eqiad1", flip(600), window=3600, me=("Ops Person",), acks=())
    seen = recent_flip("eqiad1", flip(600), window=3600, me=("Ops Person",),
                       acks=("abcdef0",))
    assert seen is not None
    assert seen.acknowledgement() == ("Acknowledged: abcdef012345 (flip) by Other Op "
                                      "10m0s ago")


def test_an_old_flip_or_ones_own_needs_nothing() -> None:
    assert recent_flip("eqiad1", flip(4000), window=3600, me=(), acks=()) is None
    assert recent_flip("eqiad1", flip(60, "Ops Person"), window=3600,
                       me=("ops person",), acks=()) is None
    assert recent_flip("eqiad1", flip(60), window=0, me=(), acks=()) is None
    assert recent_flip("eqiad1", None, window=3600, me=(), acks=()) is None


def test_from_must_match_the_zone_and_every_nameserver() -> None:
    stale_from(None, zone="a", served={"ns0": "b"}, name="eqiad1")
    stale_from("a", zone="a", served={"ns0": "a", "ns1": "a"}, name="eqiad1")
    with pytest.raises(GateRefused, match="zone at the tip says b"):
        stale_from("a", zone="b", served={"ns0": "a"}, name="eqiad1")
    with pytest.raises(GateRefused, match="ns1 answers another address"):
        stale_from("a", zone="a", served={"ns0": "a", "ns1": None}, name="eqiad1")


def test_acked_is_not_fooled_by_short_prefixes() -> None:
    assert not acked("abcdef0123", ["ab"])
    assert not acked("17", ["1"])
    assert acked("abcdef0123", ["ABCDEF0"])


def test_status_suggests_the_first_healthy_standby_only() -> None:
    """An unhealthy standby is never suggested (promote's gate would refuse it); with none
    healthy, JSON's `suggested` is null and the human line says so; a split state says
    nothing."""
    seen = {"served": "a", "zone": "a"}
    both = {"a": True, "b": False, "c": True}
    assert suggested_promote("x", **seen, healthy=both) == "failover promote x c --from a"
    assert next_step("x", **seen, healthy=both) == "failover promote x c --from a"
    sick = {"a": True, "b": False}
    assert suggested_promote("x", **seen, healthy=sick) is None
    assert next_step("x", **seen, healthy=sick) == "none (no standby is healthy)"
    alone = {"a": True}  # one candidate: nothing to promote to, nothing to say
    assert suggested_promote("x", **seen, healthy=alone) is None
    assert next_step("x", **seen, healthy=alone) is None
    for served, zone in (("a", "b"), (None, "a"), ("a", None)):  # not agreed: no --from
        assert next_step("x", served=served, zone=zone, healthy=both) is None
        assert suggested_promote("x", served=served, zone=zone, healthy=both) is None
    # the primary's own health does not matter: an emergency moves off a sick primary
    assert next_step("x", **seen, healthy={"a": False, "b": True}) == \
        "failover promote x b --from a"


def test_a_ttl_only_commit_is_no_flip_a_target_change_is() -> None:
    """The flap guard counts commits that moved a record, not a TTL chain's lowering."""
    from datetime import UTC, datetime

    from failover.promote.guard import moved_targets
    from failover.repo.history import HistoryEntry, RecordChange

    def entry(before: str, after: str) -> HistoryEntry:
        when = datetime(2026, 1, 1, tzinfo=UTC)
        change = RecordChange("irc.wikimedia.org", "CNAME", (before,), (after,))
        return HistoryEntry("0" * 40, "a", "a@x", when, "a", when, "m", (change,))

    assert not moved_targets(entry("irc1001.wikimedia.org.", "irc1001.wikimedia.org."))
    assert moved_targets(entry("irc1001.wikimedia.org.", "irc1002.wikimedia.org."))
