"""Tests for failover.zone: find, edit, diff, write, render and validate a zone template.

Fixtures under tests/data/zones/ are shaped like operations/dns `templates/wikimediacloud.org`:
the 2019-2023 CNAME layout (wikimediacloud.org) and the later VIP layout with A/AAAA records
and a multi-line SOA (vip/wikimediacloud.org). gdnsd and git are the real programs.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.zone import (
    ZoneError,
    current_target,
    edit_record,
    find_record,
    read_zone,
    write_atomic,
    zone_name,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "zones"
PATH = "templates/wikimediacloud.org"
EQIAD = "openstack.eqiad1.wikimediacloud.org"
CODFW = "openstack.codfw1dev.wikimediacloud.org"
GDNSD = shutil.which("gdnsd")
needs_gdnsd = pytest.mark.skipif(GDNSD is None, reason="gdnsd is not installed")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory under /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="fo-zone-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def zone(body: str) -> str:
    """Return a minimal template around `body` (an SOA and NS, then the body's lines)."""
    head = ("@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. {{ serial_num }} "
            "12H 2H 2W 1H\n@ 1D IN NS ns0.wikimedia.org.\n@ 1D IN NS ns1.wikimedia.org.\n")
    return head + body


def changed_lines(old: str, new: str) -> list[int]:
    """Return the 0-based indexes of the lines that differ (same line count required)."""
    a, b = old.split("\n"), new.split("\n")
    assert len(a) == len(b)
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


# --- finding ------------------------------------------------------------------------------

def test_finds_production_cname_records(cname_zone: str) -> None:
    rec = find_record(cname_zone, EQIAD, path=PATH)
    assert (rec.line, rec.owner, rec.ttl, rec.rclass, rec.rtype) == (52, "openstack", "5M",
                                                                     "IN", "CNAME")
    assert rec.target == "cloudcontrol1004.wikimedia.org."
    assert rec.origin == "eqiad1.wikimediacloud.org."
    assert rec.line_text[rec.span[0]:rec.span[1]] == rec.target
    assert cname_zone.split("\n")[rec.line - 1] == rec.line_text
    codfw = find_record(cname_zone, CODFW, path=PATH)
    assert (codfw.line, codfw.target) == (29, "cloudcontrol2001-dev.wikimedia.org.")
    assert current_target(cname_zone, EQIAD + ".", path=PATH) == "cloudcontrol1004.wikimedia.org."


def test_names_compare_case_insensitively_and_absolute(cname_zone: str) -> None:
    assert find_record(cname_zone, "OpenStack.EQIAD1.wikimediacloud.org.", path=PATH).line == 52


def test_relative_cname_target_is_completed_by_origin(cname_zone: str) -> None:
    rec = find_record(cname_zone, "object.eqiad1.wikimediacloud.org", path=PATH)
    assert rec.target == "openstack"
    assert rec.absolute_target == "openstack.eqiad1.wikimediacloud.org."


@pytest.mark.parametrize(("fqdn", "line", "owner", "ttl", "rclass", "rtype", "target",
                          "default_ttl"), [
    # under `$ORIGIN eqiad1.@Z`, TTL and class present, comment after the record
    (EQIAD, 23, "openstack", "5M", "IN", "A", "185.15.56.24", "1H"),
    # class before the TTL, after `$TTL 300`
    (CODFW, 30, "openstack", "300", "IN", "AAAA", "2a02:ec80:a100:fe00::24", "300"),
    # after a relative `$ORIGIN dev`: no TTL, no class
    ("openstack.dev.wikimediacloud.org", 36, "openstack", None, None, "AAAA",
     "2a02:ec80:a100:fe01::5", "300"),
    # an absolute owner name under another origin
    ("openstack.staging.wikimediacloud.org", 38, "openstack.staging.wikimediacloud.org.",
     "1D", "IN", "CNAME", "cloudcontrol2004-dev.wikimedia.org.", "300"),
    ("api.dev.wikimediacloud.org", 37, "api", "1W", None, "A", "185.15.57.99", "300"),
    # a relative owner of two labels
    ("nat.cloudgw.eqiad1.wikimediacloud.org", 26, "nat.cloudgw", "5M", "IN", "A",
     "185.15.56.1", "1H"),
])
def test_record_forms_in_vip_layout(vip_zone: str, fqdn: str, line: int, owner: str,
                                    ttl: str | None, rclass: str | None, rtype: str,
                                    target: str, default_ttl: str) -> None:
    rec = find_record(vip_zone, fqdn, path=PATH)
    assert (rec.line, rec.owner, rec.ttl, rec.rclass, rec.rtype, rec.target) == (
        line, owner, ttl, rclass, rtype, target)
    assert rec.default_ttl == default_ttl
    assert rec.line_text[rec.span[0]:rec.span[1]] == target


def test_soa_in_parentheses_does_not_break_the_parse(vip_zone: str) -> None:
    # The SOA's continuation lines start with blanks; they must not read as records of "@".
    rec = find_record(vip_zone, EQIAD, path=PATH)
    assert rec.line == 23


def test_blank_owner_line_inherits_the_previous_owner() -> None:
    text = zone("$ORIGIN eqiad1.wikimediacloud.org.\n"
                "openstack  5M  IN TXT \"API endpoint; see wikitech\"\n"
                "           5M  IN A   185.15.56.24 ; VIP\n"
                "other      5M  IN A   185.15.56.25\n"
                "           5M  IN AAAA 2a02:ec80:a000::25\n")
    rec = find_record(text, EQIAD, path=PATH)
    assert (rec.line, rec.owner, rec.rtype, rec.target) == (6, "", "A", "185.15.56.24")


def test_at_sign_and_gdnsd_zone_origin() -> None:
    text = zone("$ORIGIN openstack.eqiad1.@Z\n@ 5M IN CNAME cloudcontrol1003.wikimedia.org.\n"
                "keystone 5M IN CNAME @\n")
    rec = find_record(text, EQIAD, path=PATH)
    assert (rec.line, rec.owner) == (5, "@")
    assert current_target(text, "keystone.openstack.eqiad1.wikimediacloud.org",
                          path=PATH) == "openstack.eqiad1.wikimediacloud.org."


def test_jinja_never_breaks_the_parse() -> None:
    text = zone("{# a Jinja comment over lines:\n"
                "openstack.eqiad1.wikimediacloud.org. 5M IN A 192.0.2.1\n"
                "#}\n"
                "{% if false %}{# nothing #}{% endif %}\n"
                "{{ extra_owner }} 5M IN A 192.0.2.2\n"
                "$ORIGIN eqiad1.wikimediacloud.org.\n"
                "{%- if true -%}\n"
                "openstack 5M IN CNAME cloudcontrol1004.wikimedia.org. ; {{ note }}\n"
                "{% endif %}\n")
    rec = find_record(text, EQIAD, path=PATH)
    assert (rec.line, rec.target) == (11, "cloudcontrol1004.wikimedia.org.")


def test_parenthesized_record_of_another_name_hides_record_lookalikes() -> None:
    text = zone("$ORIGIN eqiad1.wikimediacloud.org.\n"
                "notes 5M IN TXT ( \"one\"\n"
                "openstack 5M IN A 192.0.2.9\n"
                " \"two\" )\n"
                "openstack 5M IN A 192.0.2.1\n")
    assert find_record(text, EQIAD, path=PATH).line == 8


def test_zone_name_is_the_basename_unless_given(cname_zone: str) -> None:
    assert zone_name("templates/wikimediacloud.org") == "wikimediacloud.org"
    assert zone_name("/x/y/wmnet") == "wmnet"
    rec = find_record(cname_zone, EQIAD, path="worktree/zone.tmpl", zone="wikimediacloud.org")
    assert rec.path == "worktree/zone.tmpl"


def test_read_zone_of_a_missing_file_is_a_clear_error(short_tmp: Path) -> None:
    with pytest.raises(ZoneError, match=r"zone template .*/nothing not found"):
        read_zone(short_tmp / "nothing")


# --- refusals -----------------------------------------------------------------------------

def refusal(text: str, fqdn: str, new: str | None = None) -> str:
    with pytest.raises(ZoneError) as info:
        if new is None:
            find_record(text, fqdn, path=PATH)
        else:
            edit_record(text, fqdn, new, path=PATH)
    assert info.value.exit_code == 2
    assert info.value.hint
    return str(info.value)


def test_refuses_an_absent_name(vip_zone: str) -> None:
    msg = refusal(vip_zone, "openstack.nowhere.wikimediacloud.org")
    assert msg.startswith(f"{PATH}: no line defines openstack.nowhere.wikimediacloud.org")
    assert "$ORIGIN nowhere.wikimediacloud.org." in msg


def test_refuses_a_name_only_reachable_through_include(cname_zone: str) -> None:
    msg = refusal(cname_zone, "openstack.nowhere.wikimediacloud.org")
    assert "not defined in the template itself" in msg
    assert "netbox/wikimediacloud.org-eqiad (included at line 17)" in msg
    assert "change the record there" in msg


def test_refuses_a_name_defined_twice() -> None:
    text = zone("$ORIGIN eqiad1.wikimediacloud.org.\n"
                "openstack 5M IN A 185.15.56.24\n"
                "openstack.eqiad1.wikimediacloud.org. 5M IN AAAA 2a02:ec80:a000::24\n")
    msg = refusal(text, EQIAD)
    assert f"{PATH}: {EQIAD} is defined 2 times: line 5 (A), line 6 (AAAA)" in msg
    assert "keep one" in msg


def test_refuses_a_name_outside_the_zone(cname_zone: str) -> None:
    msg = refusal(cname_zone, "openstack.eqiad1.wikimedia.org")
    assert "is not inside zone wikimediacloud.org." in msg


def test_refuses_other_record_types_only() -> None:
    text = zone("$ORIGIN eqiad1.wikimediacloud.org.\nopenstack 5M IN TXT \"moved\"\n")
    assert "only TXT at line 5" in refusal(text, EQIAD)


@pytest.mark.parametrize(("body", "reason"), [
    ("openstack 5M IN A ( 192.0.2.1\n )\n", "continues inside parentheses"),
    ("openstack ( 5M IN\n A 192.0.2.1 )\n", "continue inside parentheses"),
    ("openstack 5M IN CNAME {{ primary }}\n", "template expression"),
    ("openstack 5M IN A 192.0.2.1 192.0.2.2\n", "2 data fields"),
    ("openstack 5M IN A 192.0{# x #}.2.1\n", "template tag sits inside"),
])
def test_refuses_forms_it_cannot_edit_safely(body: str, reason: str) -> None:
    msg = refusal(zone("$ORIGIN eqiad1.wikimediacloud.org.\n" + body), EQIAD)
    assert msg.startswith(f"{PATH}:5: the ")
    assert reason in msg


@pytest.mark.parametrize(("fqdn", "new", "has", "needs"), [
    (EQIAD, "cloudcontrol1003.wikimedia.org.", "is an A record", "needs a CNAME record"),
    (EQIAD, "2a02:ec80:a000::24", "is an A record", "needs an AAAA record"),
    (CODFW, "185.15.57.24", "is an AAAA record", "needs an A record"),
    ("openstack.staging.wikimediacloud.org", "185.15.57.24", "is a CNAME record",
     "needs an A record"),
])
def test_refuses_a_target_of_the_wrong_type(vip_zone: str, fqdn: str, new: str, has: str,
                                            needs: str) -> None:
    msg = refusal(vip_zone, fqdn, new)
    line = find_record(vip_zone, fqdn, path=PATH).line
    assert msg.startswith(f"{PATH}:{line}: {fqdn} {has}; the new target {new!r} {needs}")
    assert "fix the controller's target in the config" in msg


def test_refuses_a_target_that_is_no_name(cname_zone: str) -> None:
    assert "neither a host name nor an IP address" in refusal(cname_zone, EQIAD, "not a name!")


# --- editing ------------------------------------------------------------------------------

def test_edit_changes_only_the_target_bytes(cname_zone: str, short_tmp: Path) -> None:
    src = short_tmp / "wikimediacloud.org"
    shutil.copyfile(DATA / "wikimediacloud.org", src)
    before = src.read_bytes()
    edit = edit_record(cname_zone, EQIAD, "cloudcontrol1003.wikimedia.org", path=PATH)
    assert edit.changed
    assert edit.old_target == "cloudcontrol1004.wikimedia.org."
    assert edit.new_target == "cloudcontrol1003.wikimedia.org."   # made absolute
    assert edit.new_line == "openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org."
    write_atomic(src, edit.new_text)
    after = src.read_bytes()
    old_lines, new_lines = before.split(b"\n"), after.split(b"\n")
    assert len(old_lines) == len(new_lines)
    diffs = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert diffs == [51]
    assert new_lines[51] == old_lines[51].replace(b"cloudcontrol1004", b"cloudcontrol1003")
    assert find_record(read_zone(src), EQIAD, path=PATH).target == edit.new_target


def test_edit_keeps_spacing_ttl_class_and_comment(vip_zone: str) -> None:
    edit = edit_record(vip_zone, EQIAD, "185.15.56.30", path=PATH)
    assert edit.old_line == "openstack 5M IN A 185.15.56.24 ; haproxy VIP"
    assert edit.new_line == "openstack 5M IN A 185.15.56.30 ; haproxy VIP"
    assert changed_lines(vip_zone, edit.new_text) == [22]
    six = edit_record(vip_zone, CODFW, "2A02:EC80:A100:FE00:0::42", path=PATH)
    assert six.new_line == "openstack  IN  300  AAAA  2a02:ec80:a100:fe00::42"


def test_edit_to_the_current_target_is_a_no_op(cname_zone: str, vip_zone: str) -> None:
    edit = edit_record(cname_zone, EQIAD, "CloudControl1004.wikimedia.org", path=PATH)
    assert not edit.changed
    assert edit.diff == ""
    assert edit.new_text is cname_zone
    assert not edit_record(vip_zone, CODFW, "2a02:ec80:a100:fe00:0:0:0:24", path=PATH).changed


def test_crlf_file_keeps_its_line_endings(cname_zone: str) -> None:
    crlf = cname_zone.replace("\n", "\r\n")
    edit = edit_record(crlf, EQIAD, "cloudcontrol1003.wikimedia.org.", path=PATH)
    assert edit.new_text.count("\r\n") == crlf.count("\r\n") == crlf.count("\n")
    assert edit.new_text == crlf.replace("cloudcontrol1004.wikimedia.org.",
                                         "cloudcontrol1003.wikimedia.org.")
    assert find_record(edit.new_text, EQIAD, path=PATH).line_text.endswith("org.")
    assert edit.new_line == "openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org."


def test_non_utf8_bytes_survive(short_tmp: Path) -> None:
    raw = zone("; caf\xe9 (latin-1)\n$ORIGIN eqiad1.@Z\nopenstack A 192.0.2.1\n").encode("latin-1")
    src = short_tmp / "wikimediacloud.org"
    src.write_bytes(raw)
    edit = edit_record(read_zone(src), EQIAD, "192.0.2.7", path=PATH)
    write_atomic(src, edit.new_text)
    assert src.read_bytes() == raw.replace(b"192.0.2.1", b"192.0.2.7")


# --- the diff -----------------------------------------------------------------------------

def git_diff(old: bytes, new: bytes, where: Path) -> str:
    """Return the hunks `git diff --no-index` prints for old -> new (function context cut)."""
    (where / "a").write_bytes(old)
    (where / "b").write_bytes(new)
    proc = subprocess.run(["git", "diff", "--no-index", "--no-color", "a", "b"], cwd=where,
                          capture_output=True, timeout=30, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.decode().splitlines(keepends=True)
    hunks = lines[lines.index(next(x for x in lines if x.startswith("@@"))):]
    return "".join(hunks)  # with git's function context after the second @@


@pytest.mark.parametrize("shape", ["middle", "crlf", "last-line-no-newline", "first-line"])
def test_diff_is_what_git_shows_and_applies(shape: str, short_tmp: Path) -> None:
    text = read_zone(DATA / "wikimediacloud.org")
    fqdn = EQIAD
    if shape == "crlf":
        text = text.replace("\n", "\r\n")
    elif shape == "last-line-no-newline":
        text = text + "$ORIGIN eqiad1.@Z\nnew 5M IN A 192.0.2.1"
        fqdn = "new.eqiad1.wikimediacloud.org"
    elif shape == "first-line":
        text = "$ORIGIN eqiad1.@Z\nnew 5M IN A 192.0.2.1\n" + text
        fqdn = "new.eqiad1.wikimediacloud.org"
    new = "192.0.2.9" if fqdn != EQIAD else "cloudcontrol1003.wikimedia.org."
    edit = edit_record(text, fqdn, new, path=PATH)
    head, _, hunks = edit.diff.partition("@@")
    assert head == f"--- a/{PATH}\n+++ b/{PATH}\n"
    old_b, new_b = text.encode(), edit.new_text.encode()
    assert "@@" + hunks == git_diff(old_b, new_b, short_tmp)
    assert sum(1 for ln in edit.diff.splitlines() if ln.startswith("-")) == 2  # --- and -line
    assert sum(1 for ln in edit.diff.splitlines() if ln.startswith("+")) == 2
    # git applies the diff to the original file and gives the edited one
    repo = short_tmp / "repo"
    (repo / "templates").mkdir(parents=True)
    (repo / PATH).write_bytes(old_b)
    (short_tmp / "change.diff").write_bytes(edit.diff.encode())
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    subprocess.run(["git", "apply", "--whitespace=nowarn", str(short_tmp / "change.diff")],
                   cwd=repo, check=True, timeout=30)
    assert (repo / PATH).read_bytes() == new_b


# --- writing ------------------------------------------------------------------------------

def test_write_atomic_keeps_mode_and_symlink(short_tmp: Path) -> None:
    real = short_tmp / "real.zone"
    real.write_text("old\n")
    real.chmod(0o640)
    link = short_tmp / "wikimediacloud.org"
    link.symlink_to(real.name)
    write_atomic(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in short_tmp.iterdir()) == ["real.zone", "wikimediacloud.org"]


def test_write_atomic_leaves_the_original_when_the_disk_refuses(short_tmp: Path) -> None:
    src = short_tmp / "wikimediacloud.org"
    original = (DATA / "wikimediacloud.org").read_bytes()
    src.write_bytes(original)
    # A real EFBIG from the kernel: the file size limit is below what the write needs.
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from failover.zone import write_atomic, ZoneWriteError\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n"
        "    write_atomic(Path(sys.argv[1]), 'x' * 100000)\n"
        "except ZoneWriteError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(7)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(src)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 7, proc.stderr
    assert f"cannot write {src}: File too large; the file was left as it was" in proc.stdout
    assert src.read_bytes() == original
    assert [p.name for p in short_tmp.iterdir()] == ["wikimediacloud.org"]


def test_write_atomic_into_a_missing_directory_is_a_clear_error(short_tmp: Path) -> None:
    from failover.zone import ZoneWriteError

    with pytest.raises(ZoneWriteError, match="No such file or directory"):
        write_atomic(short_tmp / "gone" / "wikimediacloud.org", "x\n")
