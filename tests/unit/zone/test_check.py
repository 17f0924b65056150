"""Tests for failover.zone.check: render a template like gen-zones.py, lint it, run gdnsd."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from failover.zone import (
    ZoneError,
    edit_record,
    lint_zone,
    render_template,
    validate_zone,
)
from failover.zone.check import GEN_ZONES_HEADER
from failover.zone.gdnsd import gdnsd_checkconf, zone_data_options
from tests.unit.zone.test_edit import CODFW, DATA, EQIAD, GDNSD, PATH, needs_gdnsd, zone


def test_render_fills_template_values_like_gen_zones(cname_zone: str) -> None:
    out = render_template(cname_zone, serial=2024052713)
    lines = out.split("\n")
    assert lines[1] == "; 2024052713 Unknown/uncommitted"
    assert lines[2] == ("@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 2024052713 "
                        "12H 2H 2W 1H")
    assert "$INCLUDE netbox/wikimediacloud.org-eqiad" in lines
    assert out.endswith("keystone 5M  IN CNAME  openstack.eqiad1.wikimediacloud.org.\n")
    assert "{" not in out
    with pytest.raises(ZoneError, match=r"undefined variable .*unknown_var"):
        render_template("{{ unknown_var }} A 192.0.2.1\n")  # gen-zones: StrictUndefined
    assert render_template("x\n", header=True) == GEN_ZONES_HEADER + "x\n"


def test_render_reports_a_jinja_syntax_error_with_its_line() -> None:
    with pytest.raises(ZoneError, match=r"^templates/x:3: template syntax error"):
        render_template("a\nb\n{% if %}\n", path="templates/x")


def test_lint_names_each_broken_line() -> None:
    text = zone("$ORIGIN eqiad1.@Z\nopenstack 5M IN A 185.15.56\nx 5M IN CNAME a b\n"
                "y.example.com. A 192.0.2.1\nz 5X IN A 192.0.2.1\nw TXT ( \"open\n")
    problems = lint_zone(text, path=PATH, zone="wikimediacloud.org")
    assert problems == [
        f"{PATH}:5: A record data '185.15.56' is not one IPv4 address",
        f"{PATH}:6: CNAME record data 'a b' is not one host name",
        f"{PATH}:7: owner y.example.com. is outside zone wikimediacloud.org.",
        f"{PATH}:8: '5X' is neither a TTL, a class nor a type",
        f"{PATH}:9: unterminated quoted string",
        f"{PATH}:9: '(' opened here is never closed",
    ]


def test_lint_accepts_the_fixtures(cname_zone: str, vip_zone: str) -> None:
    for text in (cname_zone, vip_zone):
        assert lint_zone(render_template(text), path=PATH, zone="wikimediacloud.org") == []


@needs_gdnsd
def test_validate_accepts_the_edited_zones(cname_zone: str, vip_zone: str) -> None:
    edit = edit_record(cname_zone, EQIAD, "cloudcontrol1003.wikimedia.org.", path=PATH)
    validate_zone(edit.new_text, path=PATH, zone="wikimediacloud.org")
    validate_zone(edit.new_text, path=PATH, zone="wikimediacloud.org", checkout=DATA)
    six = edit_record(vip_zone, CODFW, "2a02:ec80:a100:fe00::42", path=PATH)
    # the VIP layout is gdnsd's syntax, but not what the repository's zone_validator.py reads
    with pytest.raises(ZoneError, match=r"(?s):13: illegal leading whitespace.*"
                                        r":36: \$ORIGIN dev is not fully qualified"):
        validate_zone(six.new_text, path=PATH, zone="wikimediacloud.org")
    gdnsd_checkconf(GDNSD, render_template(six.new_text), path=PATH, zone="wikimediacloud.org",
                    options=zone_data_options(None))


@needs_gdnsd
def test_validate_surfaces_gdnsd_refusal(cname_zone: str) -> None:
    # Well-formed lines (the lint passes) that gdnsd refuses: a CNAME beside other data.
    broken = cname_zone.replace(
        "openstack  5M  IN CNAME  cloudcontrol1004.wikimedia.org.",
        "openstack  5M  IN CNAME  cloudcontrol1004.wikimedia.org.\nopenstack 5M IN TXT \"x\"")
    with pytest.raises(ZoneError) as info:
        validate_zone(broken, path=PATH, zone="wikimediacloud.org")
    msg = str(info.value)
    assert msg.startswith(f"{PATH}: gdnsd checkconf refuses the rendered zone (exit 42)")
    assert f"'{EQIAD}.': CNAME not allowed alongside other data" in msg


@needs_gdnsd
def test_gdnsd_message_names_file_and_line() -> None:
    assert GDNSD is not None
    with pytest.raises(ZoneError) as info:
        gdnsd_checkconf(GDNSD, render_template(zone("bad 5M IN A 192.0.2\n")), path=PATH,
                        zone="wikimediacloud.org")
    assert (f"Zonefile parse error at file {PATH} (rendered) line 4: IPv4 address "
            "'192.0.2' invalid") in str(info.value)


@needs_gdnsd
def test_validate_reads_includes_from_the_checkout(cname_zone: str, tmp_path: Path) -> None:
    checkout = tmp_path / "dns"
    shutil.copytree(DATA / "netbox", checkout / "netbox")
    validate_zone(cname_zone, path=PATH, zone="wikimediacloud.org", checkout=checkout)
    # The included file is really read: a broken one makes gdnsd refuse.
    inc = checkout / "netbox" / "wikimediacloud.org-eqiad"
    inc.write_text(inc.read_text() + "broken 1H IN A 999.1.1.1\n")
    with pytest.raises(ZoneError, match=r"wikimediacloud.org-eqiad line 5: IPv4 address"):
        validate_zone(cname_zone, path=PATH, zone="wikimediacloud.org", checkout=checkout)
    # Without the checkout the $INCLUDE is left out and the zone alone is valid.
    validate_zone(cname_zone, path=PATH, zone="wikimediacloud.org")


def test_validate_stops_on_a_lint_problem_before_gdnsd(cname_zone: str) -> None:
    broken = cname_zone.replace("185.15.56.1", "185.15.56")
    with pytest.raises(ZoneError, match=r"the rendered zone does not parse:\n  "
                                        r"templates/wikimediacloud.org:61: A record data"):
        validate_zone(broken, path=PATH, zone="wikimediacloud.org")


def test_gdnsd_run_leaves_no_temp_dirs(cname_zone: str) -> None:
    before = set(os.listdir("/tmp"))
    validate_zone(cname_zone, path=PATH, zone="wikimediacloud.org")
    mine = f"fo-gdnsd-{os.getpid()}-"  # other processes (xdist workers) make their own
    assert not {n for n in set(os.listdir("/tmp")) - before if n.startswith(mine)}
