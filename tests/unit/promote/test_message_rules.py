"""The commit by Wikimedia's rules: every message shape through the real commit-message-validator,
footers that no command-line text can add or break, the subject's topic from the file's history,
no hook of the operator's during the commit, and validation as strict as the repository's CI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from failover import repo
from failover.errors import UsageError
from failover.promote import message as texts
from failover.zone import ZoneError, edit_record, read_zone, validate_zone
from failover.zone.gdnsd import zone_data_options
from tests.unit.zone.test_edit import DATA, EQIAD, PATH, needs_gdnsd

VALIDATOR = Path(__file__).resolve().parents[3] / ".venv-tools" / "bin" / \
    "commit-message-validator"
CID = "I" + "b" * 40


def run_validator(message: str, tmp_path: Path) -> str:
    """Return the validator's complaints about `message` ('' when it passes)."""
    if not VALIDATOR.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{VALIDATOR} is missing: `make test` installs it (make tools)")
        pytest.skip("commit-message-validator not installed: run `make tools`")
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(message)
    proc = subprocess.run([str(VALIDATOR), "validate", "--gerrit", "--commit-msg-filename",
                           str(path)], capture_output=True, text=True, timeout=60, check=False)
    return "" if proc.returncode == 0 else proc.stdout + proc.stderr


def service(healthy: bool) -> Any:
    return SimpleNamespace(healthy=healthy)


def controller(healthy: bool, error: str | None = None) -> Any:
    names = ("keystone_public", "keystone_admin", "nova_api", "nova_metadata", "neutron",
             "glance_api", "cinder_api", "placement_api", "trove_api", "designate")
    return SimpleNamespace(healthy=healthy, error=error, services={n: service(healthy)
                                                                   for n in names},
                           failing=[] if healthy else list(names[:6]))


def message_of(kind: str, region: str, old: str, new: str, *, reason: str | None = None,
               force: bool = False, bugs: tuple[str, ...] = ("T12345",),
               signoff: str | None = None, topic: str | None = "wikimediacloud.org") -> str:
    """Return the message a promote writes for that failover (its subject and body)."""
    fqdn = f"openstack.{region}.wikimediacloud.org"
    health = {old: controller(kind != "emergency", None if kind != "emergency" else
                              "connection refused"),
              new: controller(not force)}
    plan: Any = SimpleNamespace(
        current=old, zone_target=None, emergency=kind == "emergency",
        name=SimpleNamespace(kind="region"),
        region=SimpleNamespace(fqdn=fqdn, name=region), target=SimpleNamespace(name=new),
        health=SimpleNamespace(controllers=health),
        request=SimpleNamespace(region=region, target=new, reason=reason, force=force))
    subject = texts.subject(topic, zone="wikimediacloud.org", region=region, fqdn=fqdn,
                              to=new)
    return repo.build_commit_message(subject, texts.body(plan, leaning=[], user="alice"),
                                     bug=None, bugs=bugs, signoff=signoff, change_id=CID)


LONG = ("cloudcontrol1005 is drained for the kernel upgrade and reboot of the whole rack, "
        "see https://wikitech.wikimedia.org/wiki/Portal:Cloud_VPS/Admin/Maintenance for the "
        "procedure and the schedule agreed with the WMCS team")
SHAPES = {
    "planned": dict(kind="planned", region="eqiad1", old="cloudcontrol1005",
                    new="cloudcontrol1006"),
    "emergency": dict(kind="emergency", region="eqiad1", old="cloudcontrol1005",
                      new="cloudcontrol1006"),
    "forced": dict(kind="planned", region="eqiad1", old="cloudcontrol1005",
                   new="cloudcontrol1006", force=True),
    "codfw1dev": dict(kind="planned", region="codfw1dev", old="cloudcontrol2001-dev",
                      new="cloudcontrol2004-dev"),
    "emergency codfw1dev": dict(kind="emergency", region="codfw1dev",
                                old="cloudcontrol2001-dev", new="cloudcontrol2004-dev"),
    "long reason": dict(kind="planned", region="eqiad1", old="cloudcontrol1005",
                        new="cloudcontrol1006", reason=LONG),
    "several bugs": dict(kind="planned", region="eqiad1", old="cloudcontrol1005",
                         new="cloudcontrol1006", bugs=("T12345", "T345678", "T1")),
    "signoff": dict(kind="emergency", region="eqiad1", old="cloudcontrol1005",
                    new="cloudcontrol1006", signoff="Ops Person <ops@example.org>",
                    reason="rack power"),
    "no bug, old topic": dict(kind="planned", region="eqiad1", old="cloudcontrol1005",
                              new="cloudcontrol1006", bugs=(), topic="wikimediacloud"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_message_shape_passes_wikimedias_validator(shape: str, tmp_path: Path) -> None:
    message = message_of(**SHAPES[shape])  # type: ignore[arg-type]
    assert run_validator(message, tmp_path) == "", message
    _subject, *body = message.splitlines()
    assert all(len(ln) <= 72 for ln in body if not ln.startswith("http")), message


def test_validator_rejects_what_the_tool_wrote_before(tmp_path: Path) -> None:
    """The check is live: an unwrapped 143-column body line is refused."""
    old = ("s: x\n\nEmergency failover of openstack.eqiad1.wikimediacloud.org from "
           "cloudcontrol1005 to cloudcontrol1006: cloudcontrol1005's HAProxy is not healthy.\n\n"
           f"Change-Id: {CID}\n")
    assert "Line 3" in run_validator(old, tmp_path)


def test_subjects_fit_50_where_the_names_allow() -> None:
    eqiad = message_of(**SHAPES["planned"]).splitlines()[0]  # type: ignore[arg-type]
    assert eqiad == "wikimediacloud.org: eqiad1 API to cloudcontrol1006"
    assert len(eqiad) <= 50
    codfw = message_of(**SHAPES["codfw1dev"]).splitlines()[0]  # type: ignore[arg-type]
    assert codfw == "wikimediacloud.org: codfw1dev API to cloudcontrol2004-dev"  # shortest
    short = message_of(**{**SHAPES["planned"], "topic": "dns"}).splitlines()[0]  # type: ignore
    assert short == "dns: move eqiad1 API to cloudcontrol1006"  # the first shape is 51


def test_footer_order_bugs_signoff_change_id_last() -> None:
    msg = repo.build_commit_message("s: x", "why", bug="T1", bugs=("T2", "T1", "T3"),
                                    signoff="A B <a@b.org>", change_id=CID)
    assert msg.endswith(f"why\n\nBug: T1\nBug: T2\nBug: T3\nSigned-off-by: A B <a@b.org>\n"
                        f"Change-Id: {CID}\n")


@pytest.mark.parametrize("bug", ["T1\n", "T1\r", "\nT1", "T1 ", "T1\nChange-Id: I1"])
def test_task_ids_are_full_matches(bug: str) -> None:
    assert not repo.BUG_RE.match(bug)
    with pytest.raises(UsageError, match="bad task id"):
        repo.build_commit_message("s", "b", bug=None, bugs=(bug,), change_id=CID)


@pytest.mark.parametrize("reason", [
    "maintenance\x1b[2J", "bell\x07", "cr\rhere", "two\nlines", f"see Change-Id: {CID}",
    "Bug: T1", "upgrade, bug:T2", "signed-off-by: me", "a tab\there"])
def test_reasons_that_could_break_the_footer_or_terminal_are_refused(reason: str) -> None:
    with pytest.raises(UsageError, match="--reason contains"):
        repo.check_command_line_text("--reason", reason)


def test_plain_reasons_pass() -> None:
    for reason in ("cloudcontrol1003 maintenance", "T12345: kernel upgrade", "debug: see log",
                   LONG, "ünïcode reboot"):
        repo.check_command_line_text("--reason", reason)


def test_body_cannot_carry_a_footer_line_even_after_wrapping() -> None:
    with pytest.raises(UsageError, match="footer line"):
        repo.build_commit_message("s", "x " * 36 + "Bug: T1", bug=None, change_id=CID)


def test_wrap_keeps_urls_whole_and_indents_list_items() -> None:
    url = "https://wikitech.wikimedia.org/wiki/" + "x" * 80
    text = repo.wrap_body(f"Reason: see {url} now\n- cloudcontrol1003: " + "word " * 20)
    lines = text.splitlines()
    assert url in lines and all(len(ln) <= 72 for ln in lines if ln != url)
    assert lines[-1].startswith("  word")


# -- the topic, from the file's history --------------------------------------------------------

# -- the preview's diff carries git's function context ------------------------------------------

def test_diff_hunk_names_the_origin_as_git_diff_does(tmp_path: Path) -> None:
    src = read_zone(DATA / "wikimediacloud.org")
    edit = edit_record(src, EQIAD, "cloudcontrol1003.wikimedia.org.", path=PATH)
    work = tmp_path / "w"
    (work / "templates").mkdir(parents=True)
    (work / PATH).write_text(src)
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=a", "-c", "user.email=a@b",
                                                "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=work, check=True, timeout=30)
    (work / PATH).write_text(edit.new_text)
    real = subprocess.run(["git", "diff"], cwd=work, capture_output=True, text=True,
                          check=True, timeout=30).stdout
    assert edit.diff == "".join(real.splitlines(keepends=True)[2:])
    assert "@@ $ORIGIN eqiad1.wikimediacloud.org.\n" in edit.diff


# -- validation as strict as the repository's CI ----------------------------------------------

def edited(text_change: tuple[str, str] | None = None) -> str:
    src = read_zone(DATA / "wikimediacloud.org")
    if text_change:
        src = src.replace(*text_change, 1)
    return edit_record(src, EQIAD, "cloudcontrol1003.wikimedia.org.", path=PATH).new_text


@needs_gdnsd
def test_validation_says_what_it_checked() -> None:
    checks = validate_zone(edited(), path=PATH, zone="wikimediacloud.org")
    assert "rendered as gen-zones.py does (Jinja StrictUndefined)" in checks
    assert "no tabs (check-tabs.sh)" in checks
    assert any(c.startswith("zone_validator.py rules") for c in checks)
    assert "gdnsd checkconf (zones_strict_data = true, zones_default_ttl = 3600, " \
           "experimental_no_chain = true)" in checks


@needs_gdnsd
@pytest.mark.parametrize(("change", "said"), [
    (("; Primary openstack", "{{ not_defined }}\n; Primary openstack"), "undefined variable"),
    (("; Primary openstack", ";\tPrimary openstack"), "a tab character"),
    (("; Primary openstack", "dup 5M IN A 192.0.2.7\ndup 5M IN A 192.0.2.7\n; Primary openstack"),
     "duplicate record"),
    (("; Primary openstack", "x 5M IN CNAME y\ny 5M IN CNAME x\n; Primary openstack"),
     "gdnsd checkconf refuses"),
])
def test_changes_the_repositorys_ci_rejects_are_refused(change: tuple[str, str],
                                                        said: str) -> None:
    with pytest.raises(ZoneError, match=said) as info:
        validate_zone(edited(change), path=PATH, zone="wikimediacloud.org")
    assert info.value.exit_code == 2


@needs_gdnsd
def test_strict_data_comes_from_the_checkouts_own_config(tmp_path: Path) -> None:
    """One NS only: gdnsd accepts it by default, not with the repository's zones_strict_data."""
    one_ns = edited(("@           1D  IN NS   ns1.wikimedia.org.\n", ""))
    one_ns = one_ns.replace("@           1D  IN NS   ns2.wikimedia.org.\n", "")
    (tmp_path / "templates").mkdir()
    (tmp_path / "config").write_text("options => {\n  zones_strict_data = false,\n}\n")
    assert zone_data_options(tmp_path) == {"zones_strict_data": "false"}
    validate_zone(one_ns, path=PATH, zone="wikimediacloud.org", checkout=tmp_path)
    (tmp_path / "config").write_text("options => {\n    zones_strict_data = true,\n"
                                     "    zones_default_ttl = 3600,\n}\n")
    with pytest.raises(ZoneError, match="only has one NS record"):
        validate_zone(one_ns, path=PATH, zone="wikimediacloud.org", checkout=tmp_path)
