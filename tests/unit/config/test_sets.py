"""Set records in the config (`type = "SRV"`, list targets, `min_members`) and commented
standbys (`standby`, `standby_follows`): parsed into the model, each bad key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from failover.config import load_config
from failover.model import of_service
from failover.zone.sets import Member
from failover.zone.setspec import format_set, matches_set, parse_member, parse_set
from tests.conftest import ConfigFile

WMNET = Path(__file__).resolve().parents[2] / "data" / "realrepo" / "templates" / "wmnet"

PUPPET = """
[services.puppet]
zone_file = "templates/wmnet"
fqdn = "_x-puppet._tcp.codfw.wmnet"
type = "SRV"
min_members = 2
[services.puppet.candidates.all]
target = ["0 5 8140 puppetserver2001.codfw.wmnet.", "puppetserver2002.codfw.wmnet."]
health = {kind = "tcp", host = "{host}", port = 8140}
[services.puppet.candidates.one]
target = ["puppetserver2001.codfw.wmnet."]
"""

DOC = """
[services.doc]
zone_file = "templates/wmnet"
fqdn = "doc.discovery.wmnet"
standby = "commented"
standby_follows = true
[services.doc.candidates.a]
target = "doc1003.eqiad.wmnet."
[services.doc.candidates.b]
target = "doc2002.codfw.wmnet."
"""


def test_an_srv_service_parses_into_set_records(config_file: ConfigFile) -> None:
    cfg = load_config(config_file(PUPPET, DOC))
    svc = cfg.services["puppet"]
    assert svc.record_type == "SRV" and svc.min_members == 2
    assert svc.candidate("all").health.host == "{host}"
    record = of_service(cfg, svc).records[0]
    assert record.record_type == "SRV" and record.set_type == "SRV"
    assert record.target("all") == ("0 5 8140 puppetserver2001.codfw.wmnet., "
                                    "puppetserver2002.codfw.wmnet.")
    answered = "0 5 8140 puppetserver2002.codfw.wmnet., 0 5 8140 puppetserver2001.codfw.wmnet."
    found = record.controller_for_target(answered)
    assert found is not None and found.name == "all"
    assert record.controller_for_target("0 5 8140 puppetserver2002.codfw.wmnet.") is None
    doc = cfg.services["doc"]
    assert doc.standby == "commented" and doc.standby_follows and doc.record_type is None


@pytest.mark.parametrize(("body", "key"), [
    (PUPPET.replace('type = "SRV"', 'type = "MX"'), "[services.puppet.type]"),
    (PUPPET.replace("min_members = 2", "min_members = 0"), "[services.puppet.min_members]"),
    (PUPPET.replace('"puppetserver2002.codfw.wmnet."', '"1 2 puppetserver2002.codfw.wmnet."'),
     "[services.puppet.candidates.all.target]"),
    (PUPPET.replace('"puppetserver2002.codfw.wmnet."', '"10.0.0.1"'),
     "[services.puppet.candidates.all.target]"),
    (PUPPET.replace('"puppetserver2002.codfw.wmnet."', '"puppetserver2001.codfw.wmnet."'),
     "[services.puppet.candidates.all.target]"),
    (DOC.replace('standby = "commented"', 'standby = "hidden"'), "[services.doc.standby]"),
    (DOC.replace('standby = "commented"\n', ""), "[services.doc.standby_follows]"),
    (DOC.replace('standby = "commented"', 'standby = "none"'), "[services.doc.standby_follows]"),
])
def test_bad_set_keys_are_named(config_file: ConfigFile, body: str, key: str) -> None:
    from failover.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_config(config_file(body))
    assert key in str(exc.value)


def test_a_set_written_as_one_text_round_trips() -> None:
    members = [Member("conf1007.eqiad.wmnet.", 0, 1, 4001), Member("conf1008.eqiad.wmnet.")]
    assert parse_set(format_set(members)) == tuple(members)
    assert parse_member("10.64.0.1") == Member("10.64.0.1")
    assert parse_member("* * 4001 conf1009.eqiad.wmnet") == Member("conf1009.eqiad.wmnet.",
                                                                   None, None, 4001)
    assert matches_set("0 1 4001 conf1008.eqiad.wmnet., 0 1 4001 conf1007.eqiad.wmnet.",
                       format_set(members))
    assert not matches_set("0 1 2379 conf1007.eqiad.wmnet., 0 1 4001 conf1008.eqiad.wmnet.",
                           format_set(members))


def test_an_unknown_standby_names_both_values(config_file: ConfigFile) -> None:
    from failover.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_config(config_file(DOC.replace('standby = "commented"', 'standby = "live"')))
    said = str(exc.value)
    assert "'live' is unknown" in said and '"commented"' in said and '"none"' in said


def _edit(body: str, side: str) -> str:
    """Return the real templates/wmnet after the promote edit of `[services.doc]` to `side`."""
    from types import SimpleNamespace

    from failover.promote.records import target_edit
    from failover.zone import read_zone

    cfg = load_config(body)
    name = of_service(cfg, cfg.services["doc"])
    ctx = SimpleNamespace(plan=SimpleNamespace(name=name, target=SimpleNamespace(name=side)))
    return target_edit(ctx, read_zone(WMNET)).new_text  # type: ignore[arg-type]


def test_standby_none_edits_the_live_line_and_leaves_the_commented_one(
        config_file: ConfigFile) -> None:
    """`;doc ... doc1004` above the live `doc ... doc2003`: by default the commented line goes
    live (the swap); with `standby = "none"` the live line's target changes and the commented
    line stays as it was (as "switch webserver-misc-sites from codfw to eqiad" was written)."""
    doc = ('[services.doc]\nzone_file = "templates/wmnet"\nfqdn = "doc.discovery.wmnet"\n'
           '{standby}[services.doc.candidates]\ndoc2003 = {{target = "doc2003.codfw.wmnet."}}\n'
           'doc1004 = {{target = "doc1004.eqiad.wmnet."}}\n')
    commented = ";doc                   300 IN CNAME doc1004.eqiad.wmnet.\n"
    before = commented + "doc                   300 IN CNAME doc2003.codfw.wmnet.\n"
    assert before in WMNET.read_text()
    swapped = _edit(config_file(doc.format(standby="")), "doc1004")
    assert "doc                   300 IN CNAME doc1004.eqiad.wmnet.\n" \
           ";doc                   300 IN CNAME doc2003.codfw.wmnet.\n" in swapped
    left = _edit(config_file(doc.format(standby='standby = "none"\n'), name="none.toml"),
                 "doc1004")
    assert left == WMNET.read_text().replace(
        before, commented + "doc                   300 IN CNAME doc1004.eqiad.wmnet.\n", 1)
