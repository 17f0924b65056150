"""Which merged changes a failback may revert: failovers of the same name only."""

from __future__ import annotations

import pytest

from failover.promote.revert import is_failover, revert_body, revert_subject


@pytest.mark.parametrize(("subject", "expected"), [
    ("wikimediacloud.org: eqiad1 API to cloudcontrol1004", True),
    ("wikimediacloud.org: fail over openstack.eqiad1 to cloudcontrol1004", True),
    ('Revert "Revert "wikimediacloud.org: eqiad1 API to cloudcontrol1004""', True),
    ("Failover openstack.eqiad1 to cloudcontrol1003", True),
    ("wikimediacloud.org: point openstack.eqiad1.wikimediacloud.org at x (sandbox)", False),
    ("Failover codfw1dev to cloudcontrol2004-dev", False),
    ("wikimediacloud.org: codfw1dev API to cloudcontrol2004-dev", False),
])
def test_only_a_failover_of_this_name_is_reverted(subject: str, expected: bool) -> None:
    assert is_failover(subject, region="eqiad1", short="openstack.eqiad1") is expected


def test_gerrit_revert_shape() -> None:
    assert revert_subject("a: b") == 'Revert "a: b"'
    assert revert_body("f" * 40, "Reason for revert: x") == \
        f"This reverts commit {'f' * 40}.\n\nReason for revert: x"
    assert revert_body("f" * 40, "") == f"This reverts commit {'f' * 40}."
