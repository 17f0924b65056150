"""The depool's and pool's commit message: its subject and body pass Wikimedia's
commit-message-validator, as a promote's do."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from failover.config import load_config
from failover.errors import UsageError
from failover.model import name_of
from failover.promote.pooling import DEPOOLED, POOLED, MemberAction, body, member_name, subject
from failover.zone.sets import Member
from tests.conftest import ConfigFile
from tests.unit.promote.test_message_rules import CID, run_validator


def test_depool_and_pool_messages_pass_the_validator(tmp_path: Path) -> None:
    origin: Any = SimpleNamespace(name="puppet", service=SimpleNamespace(min_members=3))
    left = tuple(Member(f"puppetserver200{i}.codfw.wmnet.", 0, 5, 8140) for i in (1, 2, 4))
    for action in ("depool", "pool"):
        member = Member("puppetserver2003.codfw.wmnet.", 0, 5, 8140)
        gate = ["3 member(s) left, min_members 3:",
                *(f"- {m.target.rstrip('.')}: healthy" for m in left)]
        act = MemberAction(action, member, origin, left, gate=gate)  # type: ignore[arg-type]
        plan: Any = SimpleNamespace(
            member=act, request=SimpleNamespace(reason="RAM upgrade", force=False,
                                                region="puppet"),
            name=SimpleNamespace(records=[SimpleNamespace(fqdn="_x-puppet._tcp.codfw.wmnet")]),
            acknowledged=[])
        head = subject("wmnet", act)
        how = "from" if action == "depool" else "in"
        assert head == f"wmnet: {action} puppetserver2003 {how} puppet"
        message = f"{head}\n\n{body(plan, 'alice')}\n\nBug: T12345\nChange-Id: {CID}\n"
        assert run_validator(message, tmp_path) == ""


RR = """
[services.mc]
zone_file = "templates/wmnet"
fqdn = "mc.eqiad.wmnet"
type = "A"
min_members = 2
[services.mc.candidates.all]
target = ["10.64.0.1", "10.64.16.1", "10.64.32.1"]
[services.mc.candidates.one]
target = ["10.64.0.1"]
"""
RR_ZONE = """$ORIGIN eqiad.wmnet.
mc                  5M  IN A     10.64.0.1
mc                  5M  IN A     10.64.16.1
mc                  5M  IN A     10.64.32.1
"""


def test_a_round_robin_member_out_and_back_are_two_sets(config_file: ConfigFile) -> None:
    cfg = load_config(config_file(RR))
    origin = name_of(cfg, "mc")
    act = MemberAction("depool", Member("10.64.16.1"), origin)
    name = member_name(RR_ZONE, act)
    (record,) = name.records
    assert record.target(DEPOOLED) == "10.64.0.1, 10.64.32.1"
    assert record.target(POOLED) == "10.64.0.1, 10.64.32.1, 10.64.16.1"
    assert act.left == (Member("10.64.0.1"), Member("10.64.32.1"))
    found = record.controller_for_target("10.64.32.1, 10.64.16.1, 10.64.0.1")
    assert found is not None and found.name == POOLED
    without = RR_ZONE.replace("mc                  5M  IN A     10.64.16.1\n", "")
    back = MemberAction("pool", Member("10.64.16.1"), origin)
    assert member_name(without, back).records[0].target(DEPOOLED) == "10.64.0.1, 10.64.32.1"
    with pytest.raises(UsageError, match="no live line"):
        member_name(RR_ZONE, MemberAction("depool", Member("10.64.48.1"), origin))
