"""The shape replay's classification and rebuild on real lines of templates/wmnet: each
change made by the engine is classified as its shape and rebuilt byte for byte."""

from __future__ import annotations

import pytest

from benchmarks.replay_shapes import _classify, _replay_file
from failover.zone import read_zone
from failover.zone.sets import Member, remove_member, replace_sets, set_ttl, swap_standby
from tests.unit.zone.test_sets import CONFTOOL, KW, PUPPET, WMNET


def _edits(text: str) -> dict[str, str]:
    out = remove_member(text, PUPPET, "SRV", "puppetserver2003.codfw.wmnet", **KW).new_text
    return {
        "member out": out,
        "member in": text,  # from `out` back to text
        "srv switch": replace_sets(text, CONFTOOL, "SRV", [
            Member(f"conf200{i}.codfw.wmnet.") for i in (4, 5, 6)], **KW).new_text,
        "standby swap": swap_standby(text, "doc.discovery.wmnet", "CNAME",
                                     "doc1004.eqiad.wmnet", **KW).new_text,
        "ttl": set_ttl(text, CONFTOOL, "SRV", "10", **KW).new_text,
    }


@pytest.mark.parametrize("shape", ["member out", "member in", "srv switch", "standby swap",
                                   "ttl"])
def test_each_shape_is_classified_and_rebuilt(shape: str) -> None:
    text = read_zone(WMNET)
    edits = _edits(text)
    old = edits["member out"] if shape == "member in" else text
    new = edits[shape]
    found, ops = _classify(old.split("\n"), new.split("\n"))
    assert found == shape
    assert _replay_file(shape, "templates/wmnet", old, new, ops).new_text == new


def test_other_changes_are_not_a_shape() -> None:
    text = read_zone(WMNET)
    lines = text.split("\n")
    assert _classify(lines, [*lines[:5], "; a new comment", *lines[5:]])[0] == "other"
