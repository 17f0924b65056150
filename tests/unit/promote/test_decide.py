"""failover.promote.decide: what a promote does, from plain data (no servers)."""

from __future__ import annotations

import pytest

from failover.errors import GateRefused
from failover.gerrit import ChangeInfo
from failover.promote.decide import Pushed, Reading, decide, wants_pushed

TARGET, OLD = "cloudcontrol1006", "cloudcontrol1005"


def change(to: str, number: int = 1, status: str = "NEW") -> ChangeInfo:
    return ChangeInfo(number=number, project="operations/dns", branch="master",
                      change_id="I" + f"{number:040x}", subject=f"dns: move eqiad1 API to {to}",
                      status=status, url=f"https://gerrit.example/r/c/{number}")


def reading(**kw: object) -> Reading:
    base: dict[str, object] = dict(target=TARGET, region="eqiad1", short="openstack.eqiad1",
                                   zone_controller=OLD, served=False, current=OLD,
                                   current_healthy=True)
    return Reading(**{**base, **kw})  # type: ignore[arg-type]


def test_zone_and_nameservers_at_the_target_is_nothing_to_do() -> None:
    assert decide(reading(zone_controller=TARGET, served=True)).kind == "nothing to do"


def test_zone_at_the_target_but_nameservers_behind_resumes_the_deploy() -> None:
    decision = decide(reading(zone_controller=TARGET, served=False))
    assert decision.kind == "resume deploy" and decision.change is None


def test_merged_with_a_change_open_elsewhere_warns_and_does_not_refuse() -> None:
    decision = decide(reading(zone_controller=TARGET, open_changes=[change(OLD, 7)]))
    assert decision.kind == "resume deploy"
    assert len(decision.warnings) == 1 and "https://gerrit.example/r/c/7" in decision.warnings[0]


def test_an_open_change_to_the_target_is_resumed() -> None:
    open_change = change(TARGET, 5)
    decision = decide(reading(open_changes=[open_change]))
    assert decision.kind == "resume review" and decision.change == open_change
    assert decision.change_id == open_change.change_id and not decision.emergency


def test_nothing_open_is_a_new_change_planned_or_emergency() -> None:
    assert decide(reading()).kind == "new change"
    assert not decide(reading()).emergency
    assert decide(reading(current_healthy=False)).emergency
    assert not decide(reading(current_healthy=None)).emergency


def test_an_open_change_elsewhere_is_refused() -> None:
    with pytest.raises(GateRefused, match=r"points elsewhere: https://gerrit\.example/r/c/3"):
        decide(reading(open_changes=[change(OLD, 3)]))


def test_a_change_pushed_earlier_is_followed_or_its_change_id_reused() -> None:
    pushed = change(TARGET, 9)
    assert wants_pushed(reading()) and not wants_pushed(reading(open_changes=[pushed]))
    found = decide(reading(pushed=Pushed(pushed.change_id, pushed)))
    assert found.kind == "resume review" and found.change == pushed
    unseen = decide(reading(pushed=Pushed(pushed.change_id, None)))
    assert unseen.kind == "new change" and unseen.change_id == pushed.change_id
    merged = decide(reading(pushed=Pushed(pushed.change_id, change(TARGET, 9, "MERGED"))))
    assert merged.kind == "new change" and merged.change_id is None


def test_a_planned_promote_leaning_on_the_old_primary_needs_force() -> None:
    with pytest.raises(GateRefused, match="no usable server for: nova_api"):
        decide(reading(leaning=["nova_api"]))
    forced = decide(reading(leaning=["nova_api"], force=True))
    assert forced.kind == "new change" and forced.warnings[0].startswith("--force: ")
    assert decide(reading(leaning=["nova_api"], current_healthy=False)).emergency
