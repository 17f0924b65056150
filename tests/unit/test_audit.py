"""Tests for failover.audit: JSON lines appended, 0600, no symlink followed, URLs redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failover.audit import AuditLog, append_line
from failover.errors import UsageError


def test_records_are_json_lines_with_context(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log", {"region": "eqiad1", "to": "cloudcontrol1004"})
    log.record("lock", "ok")
    log.record("push", "ok", change_url="http://bob:hunter2@gerrit/r/c/1")
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert [x["step"] for x in lines] == ["lock", "push"]
    assert all(x["region"] == "eqiad1" and x["run"] == log.run_id for x in lines)
    assert "hunter2" not in (tmp_path / "audit.log").read_text()
    assert (tmp_path / "audit.log").stat().st_mode & 0o777 == 0o600


def test_symlink_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("")
    (tmp_path / "audit.log").symlink_to(victim)
    with pytest.raises(UsageError, match="symlink"):
        append_line(tmp_path / "audit.log", "{}")
    assert victim.read_text() == ""
