"""The zone check on real operations/dns templates, with the configuration its CI assembles.

Fixtures: tests/data/realrepo (copied unchanged from operations/dns, see its README). Each
promote shape of the real history is edited with the engine and checked by the real gdnsd on
the repository's own config: irc (relative target), idp/idm (absolute), the url-downloader
pair, m1-master, analytics-hive + presto, and every `*-master` of a DC switchover.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from failover.zone import RecordChange, ZoneError, edit_records, validate_zone
from failover.zone.ci import STAND_IN_ADDRESS, has_ci_config, undefined_targets
from tests.unit.zone.test_edit import needs_gdnsd

REAL = Path(__file__).resolve().parents[2] / "data" / "realrepo"
WIKIMEDIA = "templates/wikimedia.org"
WMNET = "templates/wmnet"


def template(path: str) -> str:
    return (REAL / path).read_text(encoding="utf-8")


def masters(text: str, origin: str) -> list[str]:
    """Return every `*-master` CNAME owner of the `$ORIGIN origin` section, absolute."""
    section = text.split(f"$ORIGIN {origin}\n", 1)[1].split("$ORIGIN ", 1)[0]
    return [f"{m}.{origin}" for m in re.findall(r"^([a-z0-9-]+-master)\s", section, re.M)]


def switchover() -> list[RecordChange]:
    """The DB masters of a DC switchover: every eqiad *-master to a codfw host."""
    return [RecordChange(name, f"db2{i:03d}.codfw.wmnet.", rtype="CNAME")
            for i, name in enumerate(masters(template(WMNET), "eqiad.wmnet."), start=100)]


SHAPES: dict[str, tuple[str, list[RecordChange]]] = {
    "irc (relative)": (WIKIMEDIA, [RecordChange("irc.wikimedia.org", "irc1003.wikimedia.org.")]),
    "idp (absolute)": (WIKIMEDIA, [RecordChange("idp.wikimedia.org", "idp2004.wikimedia.org.")]),
    "idm (absolute)": (WIKIMEDIA, [RecordChange("idm.wikimedia.org", "idm2001.wikimedia.org.")]),
    "url-downloader pair": (WIKIMEDIA, [
        RecordChange("url-downloader.eqiad.wikimedia.org", "urldownloader1005.wikimedia.org."),
        RecordChange("url-downloader.codfw.wikimedia.org", "urldownloader2005.wikimedia.org.")]),
    "m1-master": (WMNET, [RecordChange("m1-master.eqiad.wmnet", "dbproxy1028.eqiad.wmnet.")]),
    "analytics-hive + presto": (WMNET, [
        RecordChange("analytics-hive.eqiad.wmnet", "an-coord1004.eqiad.wmnet."),
        RecordChange("analytics-presto.eqiad.wmnet", "an-coord1004.eqiad.wmnet.")]),
    "DC switchover masters": (WMNET, switchover()),
}


def test_the_fixture_is_what_deploy_check_assembles() -> None:
    assert has_ci_config(REAL)
    assert len(switchover()) >= 20


@needs_gdnsd
@pytest.mark.parametrize("shape", list(SHAPES))
def test_real_promote_shapes_pass_the_repositorys_own_gdnsd_check(shape: str) -> None:
    path, changes = SHAPES[shape]
    edit = edit_records(template(path), changes, path=path)
    assert all(e.changed for e in edit.edits)
    checks = validate_zone(edit.new_text, path=path, zone=Path(path).name, checkout=REAL)
    said = "; ".join(checks)
    assert "with the repository's config, plugins, geo-maps" in said
    assert "netbox/ includes stood in for (no [dns] netbox_snippets)" in said


@needs_gdnsd
def test_the_real_dyna_records_need_the_repositorys_plugins(tmp_path: Path) -> None:
    """Without config/utils (a checkout like the sandbox's) the DYNA records cannot be checked:
    the zone-data options alone refuse them, as this module's check did before."""
    bare = tmp_path / "bare"
    (bare / "templates").mkdir(parents=True)
    with pytest.raises(ZoneError, match="text-addrs"):
        validate_zone(template(WIKIMEDIA), path=WIKIMEDIA, zone="wikimedia.org", checkout=bare)


@needs_gdnsd
@pytest.mark.parametrize(("change", "said"), [
    (("DYNA geoip!text-addrs", "DYNA geoip!text-addrz"), "text-addrz"),
    (("irc             5M  IN CNAME    irc2003", "irc             5M  IN CNAME    irc2003\n"
      "irc             5M  IN A        192.0.2.9"), "irc.wikimedia.org"),
])
def test_what_the_repositorys_ci_refuses_is_refused(change: tuple[str, str], said: str) -> None:
    text = template(WIKIMEDIA).replace(*change, 1)
    assert text != template(WIKIMEDIA)
    with pytest.raises(ZoneError, match=said):
        validate_zone(text, path=WIKIMEDIA, zone="wikimedia.org", checkout=REAL)


def test_stand_ins_are_the_targets_the_zone_does_not_define() -> None:
    names = undefined_targets("$ORIGIN example.org.\n"
                              "@ 1H IN SOA ns0 h 1 1 1 1 1\n@ 1H IN NS ns0\nns0 1H IN A 192.0.2.2\n"
                              "a 5M IN CNAME host1\nb 5M IN CNAME ns0\nc 5M IN CNAME x.other.\n"
                              "@ 1H IN MX 10 mx1\nsub 1H IN NS ns0\nd 5M IN CNAME h.sub\n",
                              "example.org")
    assert names == ["host1.example.org.", "mx1.example.org."]


@needs_gdnsd
def test_netbox_snippets_from_the_config_are_used_as_ci_uses_them(tmp_path: Path) -> None:
    """With `[dns] netbox_snippets` nothing stands in: the snippets must define the names
    (and exist), or gdnsd refuses as CI would."""
    text = template(WIKIMEDIA)
    snippets = tmp_path / "netbox"
    snippets.mkdir()
    includes = re.findall(r"^\$INCLUDE netbox/(\S+)", text, re.M)
    names = undefined_targets(text.replace("{{ serial_num }}", "1"), "wikimedia.org")
    for i, name in enumerate(includes):
        body = "".join(f"{n} 1H IN A {STAND_IN_ADDRESS}\n" for n in names) if i == 0 else ""
        (snippets / name).write_text("; generated\n" + body)
    checks = validate_zone(text, path=WIKIMEDIA, zone="wikimedia.org", checkout=REAL,
                           netbox_snippets=snippets)
    assert any(f"netbox/ snippets from {snippets}" in c for c in checks)
    (snippets / includes[0]).write_text("; generated, without the hosts\n")
    with pytest.raises(ZoneError, match="gdnsd checkconf refuses"):
        validate_zone(text, path=WIKIMEDIA, zone="wikimedia.org", checkout=REAL,
                      netbox_snippets=snippets)
    shutil.rmtree(snippets)
    snippets.mkdir()
    with pytest.raises(ZoneError, match="gdnsd checkconf refuses"):
        validate_zone(text, path=WIKIMEDIA, zone="wikimedia.org", checkout=REAL,
                      netbox_snippets=snippets)
