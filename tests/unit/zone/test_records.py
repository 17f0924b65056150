"""The zone editor as a library: any record by owner, class and type; several in one edit.

Fixtures of our own in the shapes of operations/dns's templates/wikimedia.org and wmnet:
`$ORIGIN` blocks, multi-label owners (`url-downloader.eqiad`), relative and absolute targets,
aligned columns with varying spaces, TTLs `5M`/`1H`/`1D`, trailing comments, `$INCLUDE` of a
file not in the repository, Jinja, an A and an AAAA at one name, and a Latin-1 byte.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import replay
from failover.zone import (
    RecordChange,
    ZoneError,
    edit_record,
    edit_records,
    find_record,
    list_records,
    render_template,
)
from tests.helpers import short_tmp as make_short_tmp
from tests.unit.zone.test_edit import git_diff

WIKIMEDIA = "templates/wikimedia.org"
WMNET = "templates/wmnet"

WIKIMEDIA_TEXT = """\
; {{ serial_comment }}
$TTL 3600
@           1D  IN SOA  ns0.wikimedia.org. hostmaster.wikimedia.org. {{ serial_num }} 12H 2H 2W 1H
@           1D  IN NS   ns0.wikimedia.org.
$INCLUDE netbox/wikimedia.org-eqiad
; Service aliases
idp             5M  IN CNAME    idp1005.wikimedia.org.
idp-test        5M  IN CNAME    idp-test1004.wikimedia.org. ; the test instance
irc             5M  IN CNAME    irc2003
icinga      1H IN CNAME alert1002.wikimedia.org.
klaxon          5M  IN CNAME    alert1002.wikimedia.org.
url-downloader.eqiad  5M  IN CNAME    urldownloader1005
url-downloader.codfw  5M  IN CNAME    urldownloader2005  ; moved T123456
mx-in           1D  IN A        208.80.154.76
mx-in           1D  IN AAAA     2620:0:861:3:208:80:154:76
{% if false %}
irc-old         5M  IN CNAME    irc1001
{% endif %}
$ORIGIN eqiad.wikimedia.org.
ntp             1H  IN CNAME    dns1004.wikimedia.org.
"""

WMNET_TEXT = """\
$ORIGIN wmnet.
@           1D  IN SOA  ns0.wikimedia.org. hostmaster.wikimedia.org. {{ serial_num }} 12H 2H 2W 1H
$INCLUDE netbox/wmnet-eqiad
$ORIGIN eqiad.{{ zonename }}.
; (templated origin: nothing here is editable)
$ORIGIN eqiad.wmnet.
s1-master       5M  IN CNAME    db1163.eqiad.wmnet.
s2-master       5M  IN CNAME    db1162.eqiad.wmnet.
m1-master       5M  IN CNAME    dbproxy1024.eqiad.wmnet.
analytics-hive  5M  IN CNAME    an-coord1003.eqiad.wmnet.
$ORIGIN codfw.wmnet.
s1-master       5M  IN CNAME    db2203.codfw.wmnet.
s2-master       5M  IN CNAME    db2204.codfw.wmnet.
"""


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    path = make_short_tmp("fo-zr-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_multi_label_owner_and_relative_target_stays_relative() -> None:
    fqdn = "url-downloader.eqiad.wikimedia.org"
    rec = find_record(WIKIMEDIA_TEXT, fqdn, path=WIKIMEDIA)
    assert (rec.owner, rec.target, rec.absolute_target) == (
        "url-downloader.eqiad", "urldownloader1005", "urldownloader1005.wikimedia.org.")
    edit = edit_record(WIKIMEDIA_TEXT, fqdn, "urldownloader1006.wikimedia.org.", path=WIKIMEDIA)
    assert edit.new_line == "url-downloader.eqiad  5M  IN CNAME    urldownloader1006"
    assert edit.new_target == "urldownloader1006"
    assert edit.new_text == WIKIMEDIA_TEXT.replace("urldownloader1005", "urldownloader1006")


def test_relative_target_written_absolute_when_outside_the_origin() -> None:
    edit = edit_record(WIKIMEDIA_TEXT, "irc.wikimedia.org", "irc1001.eqiad.wmnet",
                       path=WIKIMEDIA)
    assert edit.new_line == "irc             5M  IN CNAME    irc1001.eqiad.wmnet."
    below = edit_record(WIKIMEDIA_TEXT, "irc.wikimedia.org", "irc1001.eqiad.wikimedia.org.",
                        path=WIKIMEDIA)
    assert below.new_line == "irc             5M  IN CNAME    irc1001.eqiad"


def test_absolute_target_stays_absolute_and_comment_kept() -> None:
    edit = edit_record(WIKIMEDIA_TEXT, "idp-test.wikimedia.org", "idp-test2004.wikimedia.org.",
                       path=WIKIMEDIA)
    assert edit.new_line == ("idp-test        5M  IN CNAME    idp-test2004.wikimedia.org. "
                             "; the test instance")
    assert edit.new_text == WIKIMEDIA_TEXT.replace("idp-test1004", "idp-test2004")


def test_already_there_is_no_change() -> None:
    edit = edit_record(WIKIMEDIA_TEXT, "irc.wikimedia.org", "irc2003.wikimedia.org.",
                       path=WIKIMEDIA)
    assert not edit.changed and edit.diff == "" and edit.new_text == WIKIMEDIA_TEXT


def test_templated_block_and_include_do_not_hide_the_record() -> None:
    # irc-old exists only inside a Jinja block (read as plain lines): it is found as written
    assert find_record(WIKIMEDIA_TEXT, "irc-old.wikimedia.org", path=WIKIMEDIA).line == 17
    with pytest.raises(ZoneError, match=re.escape("included file: netbox/wikimedia.org-eqiad")):
        find_record(WIKIMEDIA_TEXT, "cloudcontrol1005.wikimedia.org", path=WIKIMEDIA)


def test_origin_blocks_select_the_record() -> None:
    eqiad = find_record(WMNET_TEXT, "s1-master.eqiad.wmnet", path=WMNET)
    codfw = find_record(WMNET_TEXT, "s1-master.codfw.wmnet", path=WMNET)
    assert (eqiad.target, codfw.target) == ("db1163.eqiad.wmnet.", "db2203.codfw.wmnet.")


def test_a_and_aaaa_at_one_name_picked_by_type() -> None:
    with pytest.raises(ZoneError, match="defined 2 times"):
        find_record(WIKIMEDIA_TEXT, "mx-in.wikimedia.org", path=WIKIMEDIA)
    aaaa = find_record(WIKIMEDIA_TEXT, "mx-in.wikimedia.org", path=WIKIMEDIA, rtype="AAAA",
                       rclass="IN")
    assert aaaa.target == "2620:0:861:3:208:80:154:76"
    both = edit_records(WIKIMEDIA_TEXT, [
        RecordChange("mx-in.wikimedia.org", "208.80.153.45", rtype="A"),
        RecordChange("mx-in.wikimedia.org", "2620:0:860:2:208:80:153:45", rtype="AAAA"),
    ], path=WIKIMEDIA)
    assert [e.new_target for e in both.edits] == ["208.80.153.45", "2620:0:860:2:208:80:153:45"]
    with pytest.raises(ZoneError, match="has no CNAME record"):
        find_record(WIKIMEDIA_TEXT, "mx-in.wikimedia.org", path=WIKIMEDIA, rtype="CNAME")


def test_several_records_in_one_edit_and_the_diff_is_gits(short_tmp: Path) -> None:
    edits = edit_records(WIKIMEDIA_TEXT, [
        RecordChange("url-downloader.eqiad.wikimedia.org", "urldownloader1006.wikimedia.org"),
        RecordChange("url-downloader.codfw.wikimedia.org", "urldownloader2006.wikimedia.org."),
        RecordChange("ntp.eqiad.wikimedia.org", "dns1005.wikimedia.org."),
    ], path=WIKIMEDIA)
    assert edits.changed and all(e.changed for e in edits.edits)
    expected = (WIKIMEDIA_TEXT.replace("urldownloader1005", "urldownloader1006")
                .replace("urldownloader2005", "urldownloader2006")
                .replace("dns1004", "dns1005"))
    assert edits.new_text == expected
    head, _, hunks = edits.diff.partition("@@")
    assert head == f"--- a/{WIKIMEDIA}\n+++ b/{WIKIMEDIA}\n"
    assert "@@" + hunks == git_diff(WIKIMEDIA_TEXT.encode(), expected.encode(), short_tmp)
    assert edits.diff.count("\n@@ ") == 1  # contexts 7 lines apart: one hunk, as git joins them


def test_records_far_apart_get_hunks_of_their_own(short_tmp: Path) -> None:
    edits = edit_records(WIKIMEDIA_TEXT, [
        RecordChange("ntp.eqiad.wikimedia.org", "dns1005.wikimedia.org."),
        RecordChange("idp.wikimedia.org", "idp2004.wikimedia.org."),
    ], path=WIKIMEDIA)
    expected = WIKIMEDIA_TEXT.replace("dns1004", "dns1005").replace("idp1005", "idp2004")
    assert edits.new_text == expected
    assert [e.record.line for e in edits.edits] == [20, 7]  # in the order asked
    _, _, hunks = edits.diff.partition("@@")
    assert "@@" + hunks == git_diff(WIKIMEDIA_TEXT.encode(), expected.encode(), short_tmp)
    assert edits.diff.count("\n@@ ") == 2


def test_switchover_of_every_master_one_edit() -> None:
    moves = {"s1-master.eqiad.wmnet": "db1164.eqiad.wmnet.",
             "s2-master.eqiad.wmnet": "db1165.eqiad.wmnet.",
             "m1-master.eqiad.wmnet": "dbproxy1025.eqiad.wmnet."}
    edits = edit_records(WMNET_TEXT, [RecordChange(k, v) for k, v in moves.items()],
                         path=WMNET)
    changed = [(a, b) for a, b in zip(WMNET_TEXT.split("\n"), edits.new_text.split("\n"),
                                      strict=True) if a != b]
    assert len(changed) == 3
    with pytest.raises(ZoneError, match="named twice"):
        edit_records(WMNET_TEXT, [RecordChange("s1-master.eqiad.wmnet", "a.eqiad.wmnet."),
                                  RecordChange("S1-MASTER.eqiad.wmnet.", "b.eqiad.wmnet.")],
                     path=WMNET)


def test_one_bad_record_refuses_the_whole_edit() -> None:
    with pytest.raises(ZoneError, match=r"s9-master\.eqiad\.wmnet is not defined in the template"):
        edit_records(WMNET_TEXT, [RecordChange("s1-master.eqiad.wmnet", "a.eqiad.wmnet."),
                                  RecordChange("s9-master.eqiad.wmnet", "b.eqiad.wmnet.")],
                     path=WMNET)


def test_latin1_byte_kept_and_diff_printable() -> None:
    raw = WIKIMEDIA_TEXT.encode().replace(b"; Service aliases", b"; Service aliases caf\xe9")
    text = raw.decode("utf-8", "surrogateescape")
    edit = edit_record(text, "idp.wikimedia.org", "idp2004.wikimedia.org.", path=WIKIMEDIA)
    assert edit.new_text.encode("utf-8", "surrogateescape") == raw.replace(b"idp1005",
                                                                          b"idp2004")
    assert " ; Service aliases caf\\xe9\n" in edit.diff
    edit.diff.encode("utf-8")  # printable: no lone surrogate left


def test_list_records_gives_every_editable_record() -> None:
    names = [(r.name, r.rtype) for r in list_records(WMNET_TEXT, path=WMNET)]
    assert names == [("s1-master.eqiad.wmnet.", "CNAME"), ("s2-master.eqiad.wmnet.", "CNAME"),
                     ("m1-master.eqiad.wmnet.", "CNAME"),
                     ("analytics-hive.eqiad.wmnet.", "CNAME"),
                     ("s1-master.codfw.wmnet.", "CNAME"), ("s2-master.codfw.wmnet.", "CNAME")]


# --- rendering a large template: plain runs are passed to Jinja as values ----------------------

PLAIN = "".join(f"host{i}  1H  IN A  10.0.{i % 250}.{i % 200}\n" for i in range(600))


@pytest.mark.parametrize("template", [
    PLAIN + "{# note #}\n" + PLAIN,
    "{% if true %}\n" + PLAIN + "{% endif %}\n" + PLAIN,
    PLAIN + "\n\n   {%- if true -%}\n\n" + PLAIN + "  \n\n{{- serial_num -}}\n\n" + PLAIN
    + "{% endif %}",
    "{% for i in [1, 2] %}" + PLAIN + "{{ i }}{% endfor %}\n",
    PLAIN.replace("\n", "\r\n") + "{{ serial_num }}\r\n" + PLAIN,
    PLAIN + "{% raw %}" + PLAIN + "{{ x }}{% endraw %}" + PLAIN,
    PLAIN + "{% macro m() %}" + PLAIN + "{% endmacro %}{{ m() }}" + PLAIN,
    PLAIN + "{% set x = 3 %}" + PLAIN + "{{ x }}\n\n",
], ids=["comment", "if", "whitespace-control", "for", "crlf", "raw", "macro", "set"])
def test_render_of_a_large_template_is_jinjas(template: str) -> None:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    whole = env.from_string(template).render(serial_num=7, serial_comment="7 x") + "\n"
    assert render_template(template, serial=7) == whole


# --- the replay, on a small history of our own -------------------------------------------------

def _commit(repo: Path, text: str, message: str) -> str:
    (repo / WIKIMEDIA).write_text(text)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=Ops", "-c",
                    "user.email=ops@example.org", "commit", "-qam", message], check=True,
                   timeout=30)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True, timeout=30).stdout.strip()


def test_replay_reproduces_flips_and_names_the_rest(short_tmp: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    repo = short_tmp / "dns"
    (repo / "templates").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    (repo / WIKIMEDIA).write_text(WIKIMEDIA_TEXT)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, timeout=30)
    _commit(repo, WIKIMEDIA_TEXT, "initial")
    t1 = WIKIMEDIA_TEXT.replace("irc2003", "irc1001")
    single = _commit(repo, t1, "irc: fail over to irc1001")
    t2 = t1.replace("urldownloader1005", "urldownloader1006").replace("urldownloader2005",
                                                                      "urldownloader2006")
    multi = _commit(repo, t2, "url-downloader: switch over both")
    t3 = t2.replace("idp             5M  IN CNAME    idp1005.wikimedia.org.",
                    "idp 5M IN CNAME idp2004.wikimedia.org.")
    respaced = _commit(repo, t3, "idp: fail over, realigned by hand")
    _commit(repo, t3 + "new  1H  IN A  192.0.2.1\n", "a new record: not a flip")
    assert replay.main([str(repo), "--json"]) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    by_commit = {d["commit"]: d for d in lines}
    assert set(by_commit) == {single, multi, respaced}
    assert by_commit[single]["result"] == by_commit[multi]["result"] == "exact"
    assert by_commit[respaced]["result"] == "different"
    assert "idp2004" in by_commit[respaced]["why"]
    for sha in (single, multi):
        blob = subprocess.run(["git", "-C", str(repo), "rev-parse", f"{sha}:{WIKIMEDIA}"],
                              check=True, capture_output=True, text=True, timeout=30).stdout
        assert by_commit[sha]["files"] == {WIKIMEDIA: blob.strip()}
    assert replay.main([str(repo)]) == 0
    table = capsys.readouterr().out
    assert "commits considered: 3 (2 single-record, 1 multi-record)" in table
    assert "exact: 2 (single 1, multi 1)" in table


@pytest.mark.parametrize("text", ["", "a", "a\n", "\n\n", "a\r\nb\n c", "x\n\ny"])
def test_iter_lines_is_split(text: str) -> None:
    from failover.zone.scan import iter_lines

    assert list(iter_lines(text)) == text.split("\n")


@pytest.mark.parametrize("address", [
    "192.0.2.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "2620:0:861:3::76",
    "::ffff:192.0.2.1", "fe80::1%eth0", "2620:0:861:3:208:80:154:76:1", "12345::", "::",
    "2620:0:861:0003::76", "not an address", "1.2.3.4 ",
])
def test_fast_address_checks_agree_with_ipaddress(address: str) -> None:
    import ipaddress

    from failover.zone import check as zonecheck

    for version in (4, 6):
        try:
            expected = ipaddress.ip_address(address).version == version
        except ValueError:
            expected = False
        assert zonecheck._is_ip(address, version) == expected
        if expected:
            rtype = "A" if version == 4 else "AAAA"
            assert zonecheck._packed(address, rtype) == ipaddress.ip_address(address).packed
