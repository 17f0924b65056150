"""failover.promote.message: the commit subject and body, and reading subjects back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from failover.promote.message import SUBJECT_MAX, body, subject, subject_target

FQDN = "openstack.eqiad1.wikimediacloud.org"
ZONE = "wikimediacloud.org"


def test_subject_takes_the_first_shape_that_fits() -> None:
    assert subject("dns", zone=ZONE, region="eqiad1", fqdn=FQDN, to="cc1006") == \
        "dns: fail over openstack.eqiad1 to cc1006"
    assert subject("dns", zone=ZONE, region="eqiad1", fqdn=FQDN, to="cloudcontrol1006") == \
        "dns: move eqiad1 API to cloudcontrol1006"
    long = subject("wikimediacloud.org", zone=ZONE, region="eqiad1", fqdn=FQDN,
                   to="cloudcontrol1006")
    assert len(long) <= SUBJECT_MAX and long.endswith("to cloudcontrol1006")
    assert subject(None, zone=ZONE, region="eqiad1", fqdn=FQDN, to="c").startswith(ZONE + ": ")


def test_every_subject_shape_reads_back_to_its_target() -> None:
    for topic in ("dns", "wikimediacloud.org", "a-very-long-topic-name-of-forty-chars"):
        text = subject(topic, zone=ZONE, region="eqiad1", fqdn=FQDN, to="cloudcontrol1006")
        assert subject_target(text, region="eqiad1", short="openstack.eqiad1") == \
            "cloudcontrol1006", text
    assert subject_target("dns: move codfw1dev API to x", region="eqiad1",
                          short="openstack.eqiad1") is None


def plan(emergency: bool, force: bool = False) -> Any:
    ctl = SimpleNamespace(healthy=True, error=None, failing=[],
                          services={"nova_api": SimpleNamespace(healthy=True)})
    return SimpleNamespace(
        current="cloudcontrol1005", zone_target=None, emergency=emergency,
        name=SimpleNamespace(kind="region"), region=SimpleNamespace(fqdn=FQDN, name="eqiad1"),
        target=SimpleNamespace(name="cloudcontrol1006"),
        health=SimpleNamespace(controllers={"cloudcontrol1005": ctl, "cloudcontrol1006": ctl}),
        request=SimpleNamespace(region="eqiad1", target="cloudcontrol1006", reason="kernel",
                                force=force))


def test_body_says_planned_or_emergency_reason_health_and_origin() -> None:
    text = body(plan(False), leaning=[], user="alice", now=0)
    assert text.startswith(f"Planned failover of {FQDN} from cloudcontrol1005 to "
                           "cloudcontrol1006.")
    assert "Reason: kernel" in text and "HAProxy health at 1970-01-01 00:00:00 UTC:" in text
    assert "- cloudcontrol1006 (new primary): healthy, 1/1 services up" in text
    assert text.splitlines()[-1].endswith("failover promote eqiad1 cloudcontrol1006")
    assert body(plan(True), leaning=[], user="alice").startswith("Emergency failover of")


def test_body_names_who_forced_a_planned_promote_leaning_on_the_old_primary() -> None:
    text = body(plan(False, force=True), leaning=["nova_api"], user="alice", now=0)
    assert "Forced with --force by alice: without cloudcontrol1005's own servers" in text
    assert "Forced" not in body(plan(False, force=False), leaning=["nova_api"], user="alice")
