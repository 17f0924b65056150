"""Fixtures of the zone tests, each defined once: the two zone layouts of tests/data."""

from __future__ import annotations

import pytest

from failover.zone import read_zone
from tests.unit.zone.test_edit import DATA


@pytest.fixture
def cname_zone() -> str:
    """The production-shaped CNAME template (2019-2023 layout), with its $INCLUDE netbox/ line."""
    return read_zone(DATA / "wikimediacloud.org")


@pytest.fixture
def vip_zone() -> str:
    """The VIP layout: A and AAAA records, multi-line SOA, relative $ORIGIN, $TTL."""
    return read_zone(DATA / "vip" / "wikimediacloud.org")
