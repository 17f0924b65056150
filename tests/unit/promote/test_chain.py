"""The TTL chain's pure parts beside the steps: commit bodies, Gerrit's push output of a
chain, and the option checks (no I/O)."""

from __future__ import annotations

import pytest

from failover.errors import UsageError
from failover.promote.chain import check_request, step_body
from failover.promote.plan import PromoteRequest
from failover.repo.push import pushed_changes
from tests.unit.promote.test_message_rules import run_validator


def test_each_body_says_its_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from failover.repo import build_commit_message

    for number in (1, 2, 3):
        text = step_body(number, "5M", "10", "irc.wikimedia.org", "reboot", "Planned.")
        assert text.startswith(f"Step {number}/3 of a TTL chain: ")
        assert ("Planned." in text) == (number == 2)
        assert all(len(ln) <= 72 for ln in text.splitlines())
        message = build_commit_message(f"wikimedia.org: step {number} (1/3)", text,
                                       bug="T12345", change_id="I" + "a" * 40)
        assert run_validator(message, tmp_path) == ""


def test_a_chain_push_names_every_change_in_order() -> None:
    lines = ["remote: Processing changes: refs: 1, new: 3, done", "remote:",
             "remote: SUCCESS", "remote:",
             "remote:   https://gerrit.wikimedia.org/r/c/operations/dns/+/101 a (1/3) [WIP] [NEW]",
             "remote:   https://gerrit.wikimedia.org/r/c/operations/dns/+/102 b (2/3) [WIP] [NEW]",
             "remote:   https://gerrit.wikimedia.org/r/c/operations/dns/+/103 c (3/3) [WIP]",
             "remote:"]
    found = pushed_changes(lines)
    assert [(c.number, c.created) for c in found] == [(101, True), (102, True), (103, False)]


@pytest.mark.parametrize("options", [{"switch_ttl": "soon"}, {"switch_ttl": "2"},
                                     {"switch_ttl": "10", "prepare": True},
                                     {"switch_ttl": "10", "change": "123"}])
def test_bad_switch_ttl_requests_are_usage_errors(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        check_request(PromoteRequest("irc", "irc1002", **options))  # type: ignore[arg-type]
    check_request(PromoteRequest("irc", "irc1002", switch_ttl="10s"))
