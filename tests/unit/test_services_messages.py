"""Issue 20, sections 4 and 6 (the parts that need no running world): one error path with the
documented exit code, and what reaches the commit and the operator for services and groups.

Each test failed before its fix. Programs run for real where one is involved (a health
command the kernel cannot execute, commit-message-validator, gdnsd checkconf's scratch
directory)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from failover import repo
from failover.alertmanager import parse_duration
from failover.config import Candidate, Controller, Health, load_config
from failover.errors import ConfigError, UsageError
from failover.health import HealthResult, read_health
from failover.model import FailoverName, Record, of_service
from failover.promote import message as texts
from failover.zone.gdnsd import TMP_PREFIX, clear_leftovers
from tests.conftest import ConfigFile, RunCli, region_toml
from tests.unit.config.test_services import GROUP, IRC
from tests.unit.promote.test_message_rules import CID, run_validator

REGION = region_toml("eqiad1", {"a": "unix:///a", "b": "unix:///b"})


# -- 4. one error path, the documented exit code ---------------------------------------------

@pytest.mark.parametrize("where", ["phabricator", "alertmanager", "http health",
                                   "haproxy health", "controller", "gerrit"])
def test_a_missing_ca_bundle_is_a_config_error_naming_the_file(
        config_file: ConfigFile, run_cli: RunCli, where: str) -> None:
    missing = "/nonexistent/ca-bundle.pem"
    parts = {
        "phabricator": (REGION, f'[phabricator]\nurl = "https://phab.example.org"\n'
                                f'ca_bundle = "{missing}"'),
        "alertmanager": (REGION, f'[alertmanager]\nurl = "https://am.example.org"\n'
                                 f'ca_bundle = "{missing}"'),
        "http health": (IRC.replace('health = {kind = "none"}', 'health = {kind = "http", url '
                                    f'= "https://irc2003.example.org/", ca_bundle = '
                                    f'"{missing}"}}'),),
        "haproxy health": (IRC.replace('health = {kind = "none"}', 'health = {kind = '
                                       '"haproxy", stats = "https://h.example.org/stats;csv",'
                                       f' services = ["irc"], ca_bundle = "{missing}"}}'),),
        "controller": (REGION.replace('stats = "unix:///a"', 'stats = "https://a.example.org/'
                                      f'stats;csv"\nca_bundle = "{missing}"'),),
        "gerrit": (REGION, f'[gerrit]\nca_bundle = "{missing}"'),
    }[where]
    path = config_file(*parts)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert any("ca_bundle]" in p and missing in p and "no such file" in p
               for p in exc.value.problems), exc.value.problems
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2 and missing in result.stderr and "Traceback" not in result.stderr


def test_a_ca_bundle_that_exists_is_kept(config_file: ConfigFile, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    cfg = load_config(config_file(REGION, f'[phabricator]\nurl = "https://phab.example.org"\n'
                                          f'ca_bundle = "{ca}"'))
    assert cfg.phabricator is not None and cfg.phabricator.ca_bundle == str(ca)


def test_a_health_command_the_kernel_cannot_execute_is_unhealthy(tmp_path: Path) -> None:
    script = tmp_path / "check_irc"
    script.write_text("echo OK\n")  # no #!: execve answers ENOEXEC
    script.chmod(0o755)
    result = read_health(SimpleNamespace(), Candidate("irc1001", {}, Health(  # type: ignore[arg-type]
        "command", argv=(str(script),), timeout=5)))
    assert result.healthy is False
    assert result.detail == f"cannot run {script}: Exec format error"


@pytest.mark.parametrize("text", ["9" * 300 + "d", "1" * 5000 + "s", "31d"])
def test_a_silence_of_hundreds_of_digits_is_refused_as_31d(text: str) -> None:
    with pytest.raises(UsageError, match="must be more than 0s and at most 30d") as exc:
        parse_duration(text)
    assert len(str(exc.value)) < 300


def test_a_zone_file_that_is_a_directory_is_a_config_error(config_file: ConfigFile,
                                                           tmp_path: Path,
                                                           run_cli: RunCli) -> None:
    checkout = tmp_path / "dns"
    (checkout / "templates" / "wikimedia.org").mkdir(parents=True)
    (checkout / "templates" / "wikimediacloud.org").mkdir(parents=True)
    dns = f'[dns]\ncheckout = "{checkout}"\nzone_file = "templates/wikimediacloud.org"\n'
    path = config_file(dns, REGION, IRC)
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2, result.stderr
    assert "[dns.zone_file] 'templates/wikimediacloud.org' is a directory" in result.stderr
    assert "[services.irc.zone_file] 'templates/wikimedia.org' is a directory" in result.stderr


# -- 6. messages that name the right thing ---------------------------------------------------

def test_an_ip_address_is_not_a_record_name(config_file: ConfigFile) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(config_file(IRC.replace('fqdn = "irc.wikimedia.org"', 'fqdn = "10.0.0.1"')))
    assert any("'10.0.0.1' is an IP address, not a record's name" in p
               for p in exc.value.problems), exc.value.problems


def test_a_side_listed_twice_is_named_as_such(config_file: ConfigFile) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(config_file(GROUP.replace('sides = ["eqiad", "codfw"]',
                                              'sides = ["eqiad", "codfw", "eqiad"]')))
    assert any("[groups.db-masters.sides] lists eqiad twice" in p for p in exc.value.problems)
    assert not any("same target" in p for p in exc.value.problems), exc.value.problems


def test_a_huge_value_is_not_echoed_whole(config_file: ConfigFile, run_cli: RunCli) -> None:
    huge = "x" * 100_000
    path = config_file(IRC.replace('fqdn = "irc.wikimedia.org"', f'fqdn = "{huge}"'))
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2 and "is not a record's fully qualified name" in result.stderr
    assert "(100000 characters)" in result.stderr and len(result.stderr) < 3000
    bad = run_cli("promote", "irc", huge, "--dry-run", "--config", str(config_file(IRC)))
    assert bad.code == 2 and len(bad.stderr) < 3000, bad.stderr[:300]


@pytest.mark.parametrize("key", ["alertmanager", "health"])
def test_the_phabricator_token_hint_is_only_for_phabricator(config_file: ConfigFile,
                                                            key: str) -> None:
    url = "https://user:pw@h.example.org/x"
    text = (f'{REGION}\n[alertmanager]\nurl = "{url}"' if key == "alertmanager" else
            IRC.replace('health = {kind = "none"}', f'health = {{kind = "http", url = "{url}"}}'))
    with pytest.raises(ConfigError) as exc:
        load_config(config_file(text))
    [problem] = [p for p in exc.value.problems if "plain URL" in p]
    assert "Phabricator" not in problem and "pw" not in problem


def test_an_unknown_name_offers_regions_services_and_groups(config_file: ConfigFile,
                                                            run_cli: RunCli) -> None:
    path = config_file(REGION, IRC, GROUP)
    result = run_cli("status", "irk", "--config", str(path))
    assert result.code == 2
    assert "unknown name 'irk'" in result.stderr
    assert "unknown region" not in result.stderr
    assert "choose a region (eqiad1), a service (irc) or a group (db-masters)" in result.stderr
    only_regions = run_cli("status", "nowhere", "--config", str(config_file(REGION)))
    assert only_regions.code == 2 and "choose a region (eqiad1)" in only_regions.stderr


def test_config_show_names_only_the_keys_of_the_health_kind(config_file: ConfigFile,
                                                            run_cli: RunCli) -> None:
    result = run_cli("config", "show", "--json", "--config", str(config_file(GROUP)))
    assert result.code == 0, result.stderr
    import json

    health = json.loads(result.stdout)["services"]["db-masters"]["candidates"]["codfw"]["health"]
    assert health == {"kind": "command", "argv": ["true"], "timeout": 5.0}
    human = run_cli("config", "show", "--config", str(config_file(GROUP)))
    assert "status" not in human.stdout.split("db-masters", 1)[1]


def test_a_missing_service_record_is_not_hinted_as_a_region_fqdn() -> None:
    from failover.zone import ZoneError, edit_record

    with pytest.raises(ZoneError) as exc:
        edit_record("$ORIGIN wikimedia.org.\nwww 5M IN CNAME dyna.wikimedia.org.\n",
                    "irc.wikimedia.org", "irc1002.wikimedia.org.", path="templates/wikimedia.org")
    assert "check the region's fqdn" not in str(exc.value)
    assert "a service's or group's records" in str(exc.value)


# -- 6. what reaches the commit ---------------------------------------------------------------

def service_plan(*, force: bool, healthy: bool, detail: str, name: str = "irc",
                 to: str = "irc1002") -> Any:
    record = Record(name, "irc.wikimedia.org", "templates/wikimedia.org", tuple(
        Controller(n, f"{n}.wikimedia.org.", "") for n in ("irc1001", to)))
    moved = FailoverName(name, "service", (record,), (), "templates/wikimedia.org",
                         f"{name}-failover", "")
    return SimpleNamespace(
        current="irc1001", zone_target=None, emergency=False, name=moved,
        region=record, target=SimpleNamespace(name=to),
        candidate_health={"irc1001": HealthResult("irc1001", "tcp", True, "exit 0"),
                          to: HealthResult(to, "tcp", healthy, detail)},
        request=SimpleNamespace(region=name, target=to, reason=None, force=force))


def test_a_health_output_with_control_characters_never_reaches_the_commit(
        tmp_path: Path) -> None:
    script = tmp_path / "check"
    script.write_text("#!/bin/sh\nprintf 'CRITICAL \\033[2J\\007 down\\r\\n'\nexit 2\n")
    script.chmod(0o755)
    result = read_health(SimpleNamespace(), Candidate("irc1002", {}, Health(  # type: ignore[arg-type]
        "command", argv=(str(script),), timeout=5)))
    assert result.detail == "exit 2: CRITICAL ?[2J? down"
    raw = "CRITICAL \x1b[2J\x07 down"  # as an older reader (or another kind) could hand it on
    plan = service_plan(force=True, healthy=False, detail=raw)
    text = repo.build_commit_message("wikimedia.org: fail over irc to irc1002",
                                     texts.body(plan, leaning=[], user="alice"), bug=None,
                                     change_id=CID)
    assert not any(c in text for c in "\x1b\x07\r")
    assert "CRITICAL ?[2J? down" in text
    assert run_validator(text, tmp_path) == ""


def test_force_on_an_unhealthy_service_target_is_written_in_the_commit() -> None:
    text = texts.body(service_plan(force=True, healthy=False, detail="exit 2"), leaning=[],
                      user="alice")
    assert "Forced with --force by alice: the target was not healthy when promoted." in text
    healthy = texts.body(service_plan(force=True, healthy=True, detail="exit 0"), leaning=[],
                         user="alice")
    assert "Forced" not in healthy


@pytest.mark.parametrize(("name", "to"), [("irc", "irc1002"), ("s" * 40, "irc1002"),
                                          ("a" * 63, "b" * 63)])
def test_service_subjects_say_no_api_and_pass_the_validator(tmp_path: Path, name: str,
                                                            to: str) -> None:
    subject = texts.subject("wikimedia.org", zone="wikimedia.org", region=name,
                            fqdn=f"{name}.wikimedia.org", to=to, service=True)
    assert " API " not in subject and len(subject) <= 80
    if len(name) < 60:
        assert texts.subject_target(subject, region=name, short=name) == to
    message = repo.build_commit_message(subject, "Planned failover.", bug=None, change_id=CID)
    assert run_validator(message, tmp_path) == ""
    region = texts.subject("wikimediacloud.org", zone="wikimediacloud.org", region="eqiad1",
                           fqdn="openstack.eqiad1.wikimediacloud.org", to="cloudcontrol1006")
    assert region == "wikimediacloud.org: eqiad1 API to cloudcontrol1006"  # regions keep it


# -- 6. temporary files follow TMPDIR, leftovers cleared ------------------------------------

def test_gdnsd_scratch_directories_follow_tmpdir_and_leftovers_are_cleared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"{TMP_PREFIX}{dead.pid}-abc"
    (left / "zones").mkdir(parents=True)
    running = tmp_path / f"{TMP_PREFIX}{os.getpid()}-def"
    running.mkdir()
    other = tmp_path / "fo-gdnsd-notapid"
    other.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    assert clear_leftovers() == [left]
    assert not left.exists() and running.exists() and other.exists()
    import shutil

    from failover.zone.gdnsd import gdnsd_checkconf

    gdnsd = shutil.which("gdnsd") or "/usr/sbin/gdnsd"
    if not Path(gdnsd).exists():
        pytest.skip("gdnsd not installed")
    seen: list[str] = []
    real_run = subprocess.run

    def spy(argv: list[str], **kwargs: Any) -> Any:
        seen.append(argv[2])  # gdnsd -c DIR checkconf
        return real_run(argv, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    zone = ("$TTL 300\n@ IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 1 1 1 1 1\n"
            "@ IN NS ns0.wikimedia.org.\nirc 5M IN CNAME irc1001.wikimedia.org.\n")
    gdnsd_checkconf(gdnsd, zone, path="templates/wikimedia.org", zone="wikimedia.org")
    assert seen and Path(seen[0]).parent == tmp_path
    assert not Path(seen[0]).exists()


# -- 5. a group's silence: the hosts its records leave ---------------------------------------

def silence_for(matchers: tuple[str, ...]) -> Any:
    from failover.outside_systems.silence import OldPrimarySilence

    alertmanager: Any = SimpleNamespace(matchers=matchers)  # all `matchers` reads of it
    return OldPrimarySilence(alertmanager, 3600)


def group_plan(old: dict[str, str], new: dict[str, str]) -> Any:
    from failover.config import Service
    from failover.outside_systems.base import OutsideRun

    svc = Service(name="db", records=tuple(old), group=True, candidates=(
        Candidate("eqiad", old), Candidate("codfw", new)))
    cfg: Any = SimpleNamespace(dns=SimpleNamespace(zone_file="templates/wmnet"))
    nobody: Any = None  # neither the audit log nor the observer is read by `left_hosts`
    return OutsideRun(region="db", target="codfw", name=of_service(cfg, svc), audit=nobody,
                      observer=nobody, current="eqiad")


def test_a_group_silences_every_host_its_records_leave_or_says_why_not() -> None:
    from failover.alertmanager import matcher_text
    from failover.outside_systems.silence import left_hosts

    plan = group_plan({"s1.eqiad.wmnet": "db1163.eqiad.wmnet.",
                       "s2.eqiad.wmnet": "db1222.eqiad.wmnet."},
                      {"s1.eqiad.wmnet": "db2203.codfw.wmnet.",
                       "s2.eqiad.wmnet": "db2204.codfw.wmnet."})
    silence = silence_for(('instance=~"{controller}(:[0-9]+)?"',))
    hosts, why = left_hosts(plan)
    assert hosts == ["db1163", "db1222"] and why is None
    [matcher] = silence.matchers(hosts)
    assert matcher_text(matcher) == 'instance=~"(?:db1163|db1222)(:[0-9]+)?"'
    with pytest.raises(UsageError, match="is not a regular expression"):
        silence_for(('instance="{controller}"',)).matchers(hosts)
    addresses = group_plan({"s1.eqiad.wmnet": "10.0.0.1"}, {"s1.eqiad.wmnet": "10.0.0.2"})
    assert left_hosts(addresses) == (
        [], "s1.eqiad.wmnet leaves 10.0.0.1, an address, not a host name: no silence created "
            "(silence its host by hand)")
