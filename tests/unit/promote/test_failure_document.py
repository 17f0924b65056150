"""The early-failure JSON document is an empty Plan's: a script reads it as it reads any."""

from __future__ import annotations

from typing import Any

from failover.config import Controller, Region
from failover.model import FailoverName, Record
from failover.promote.plan import Plan, PromoteRequest, failure_document


def shape(doc: Any) -> Any:
    """Return the keys of `doc`, nested dicts' keys under theirs (values dropped)."""
    if isinstance(doc, dict):
        return {k: shape(v) for k, v in doc.items()}
    return None


def region_plan(request: PromoteRequest) -> Plan:
    ctl = Controller("cloudcontrol1004", "cloudcontrol1004.wikimedia.org.", "http://x/stats")
    region = Region("eqiad1", "openstack.eqiad1.wikimediacloud.org", ("nova_api",),
                    (Controller("cloudcontrol1003", "cloudcontrol1003.wikimedia.org.",
                                "http://y/stats"), ctl))
    record = Record("eqiad1", region.fqdn, "templates/wikimediacloud.org", region.controllers)
    name = FailoverName("eqiad1", "region", (record,), (), "templates/wikimediacloud.org",
                        "openstack-failover", "admin", region=region)
    return Plan(request=request, name=name, region=record, target=ctl)


def test_its_keys_are_the_plans_keys() -> None:
    request = PromoteRequest("eqiad1", "cloudcontrol1004", bugs=("T1", "T2"))
    doc = failure_document(request, "failed", "no config file", 2)
    assert shape(doc) == shape(region_plan(request).to_dict())


def test_what_is_not_known_yet_is_null_and_the_request_is_kept() -> None:
    request = PromoteRequest("nowhere", "c9", dry_run=True, bugs=("T1", "T2"), reason="r")
    doc = failure_document(request, "refused", "unknown name", 3)
    assert (doc["fqdn"], doc["target"], doc["kind"], doc["from"]) == (None, None, None, None)
    assert (doc["region"], doc["to"], doc["bug"], doc["bugs"]) == ("nowhere", "c9", "T1",
                                                                  ["T1", "T2"])
    assert (doc["outcome"], doc["error"], doc["exit_code"]) == ("refused", "unknown name", 3)
    assert doc["steps"] == [] and doc["sal"] == [] and doc["revert"] is None
