"""The depool's and pool's commit message: its subject and body pass Wikimedia's
commit-message-validator, as a promote's do."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from failover.promote.pooling import MemberAction, body, subject
from failover.zone.sets import Member
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
