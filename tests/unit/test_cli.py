"""Shell completion (bash, zsh) of region and controller names from the config; --help examples."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliResult, ConfigFile, RunCli, region_toml
from tests.unit.config.test_services import GROUP, IRC

SOCKET = "unix:///run/haproxy/haproxy.sock"
CONFIG = (region_toml("eqiad1", {"cloudcontrol1003": SOCKET, "cloudcontrol1004": SOCKET})
          + region_toml("codfw1dev", {"cloudcontrol2001-dev": SOCKET,
                                      "cloudcontrol2004-dev": SOCKET}))
CODFW = ["cloudcontrol2001-dev", "cloudcontrol2004-dev"]


@pytest.fixture
def config(config_file: ConfigFile) -> str:
    return str(config_file(CONFIG))


def bash(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, line: str) -> CliResult:
    """Return what bash completion offers for `line` (the last word is being completed)."""
    words = line.split(" ")
    monkeypatch.setenv("_FAILOVER_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    return run_cli()


@pytest.mark.parametrize(("line", "offered"), [
    ("failover health ", ["eqiad1", "codfw1dev"]),
    ("failover status e", ["eqiad1"]),
    ("failover promote codfw1dev ", CODFW),
    ("failover health eqiad1 cloudcontrol1004", ["cloudcontrol1004"]),
    ("failover verify codfw1dev --expect ", CODFW),
    ("failover check c", ["codfw1dev"]),
])
def test_bash_completes_names_from_the_config(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                                              config: str, line: str,
                                              offered: list[str]) -> None:
    monkeypatch.setenv("FAILOVER_CONFIG", config)
    r = bash(run_cli, monkeypatch, line)
    assert r.code == 0 and r.stdout.split() == offered, r.stderr


def test_config_option_on_the_line_is_used(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
                                           config: str) -> None:
    monkeypatch.delenv("FAILOVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    assert bash(run_cli, monkeypatch, f"failover health --config {config} ").stdout.split() == \
        ["eqiad1", "codfw1dev"]
    assert bash(run_cli, monkeypatch,
                f"failover verify eqiad1 --config {config} --expect c").stdout.split() == \
        ["cloudcontrol1003", "cloudcontrol1004"]


def test_a_broken_config_completes_nothing_quietly(run_cli: RunCli,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("not toml [")
    monkeypatch.setenv("FAILOVER_CONFIG", str(tmp_path / "bad.toml"))
    r = bash(run_cli, monkeypatch, "failover health ")
    assert (r.code, r.stdout.strip(), r.stderr) == (0, "", "")


def test_zsh_and_the_scripts_through_the_installed_entry_point(config: str) -> None:
    """The console script itself, as the shell runs it."""
    script = shutil.which("failover")
    argv = [script] if script else [sys.executable, "-m", "failover.cli"]
    env = {**os.environ, "FAILOVER_CONFIG": config, "_FAILOVER_COMPLETE": "complete_zsh",
           "_TYPER_COMPLETE_ARGS": "failover promote eqiad1 "}
    zsh = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert zsh.returncode == 0, zsh.stderr
    assert '"cloudcontrol1003"' in zsh.stdout and '"cloudcontrol1004"' in zsh.stdout
    for shell in ("bash", "zsh"):
        env["_FAILOVER_COMPLETE"] = f"source_{shell}"
        source = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30,
                                check=False)
        assert source.returncode == 0 and f"_FAILOVER_COMPLETE=complete_{shell}" in source.stdout


@pytest.mark.parametrize("command", [("config", "validate"), ("config", "show")])
def test_config_help_has_an_example(run_cli: RunCli, command: tuple[str, ...]) -> None:
    r = run_cli(*command, "--help")
    assert r.code == 0
    assert f"Example: failover {' '.join(command)}" in " ".join(r.stdout.split())


@pytest.mark.parametrize(("command", "usage"), [
    ("status", "[NAME]"), ("health", "{NAME} [TARGET]"), ("promote", "{NAME} {TARGET}"),
    ("verify", "{NAME}"), ("check", "{NAME}"),
])
def test_help_names_name_and_target_with_an_example_of_each_kind(
        run_cli: RunCli, command: str, usage: str) -> None:
    """NAME is a region, a service or a group; the help shows one example of each."""
    r = run_cli(command, "--help")
    text = " ".join(r.stdout.split())
    assert r.code == 0 and f"Usage: failover {command} [OPTIONS] {usage}" in text, text
    assert "A region (eqiad1), a service (irc) or a group (db-masters)" in text
    lines = r.stdout.splitlines()
    for name, kind in (("eqiad1", "region"), ("irc", "service"), ("db-masters", "group")):
        assert any(f"failover {command} {name}" in ln and f"(a {kind}" in ln for ln in lines), \
            (name, r.stdout)
    if "TARGET" in usage:
        assert "controller (cloudcontrol1004)" in text and "candidate (irc1002)" in text
        assert "side (codfw)" in text
    assert "region (eqiad1)" not in " ".join(ln for ln in lines if "Usage" in ln)


def test_root_help_says_what_name_and_target_are(run_cli: RunCli) -> None:
    text = " ".join(run_cli("--help").stdout.split())
    assert "Move a name in operations/dns to another host, through Gerrit review." in text
    assert "NAME is a region (eqiad1" in text and "a service (irc" in text
    assert "a group (db-masters" in text and "promote's TARGET" in text


NAMES = (CONFIG + IRC + GROUP)


@pytest.mark.parametrize("command", [
    ("status", "nowhere"), ("health", "nowhere"), ("verify", "nowhere", "--once"),
    ("promote", "nowhere", "x", "--dry-run"),
])
def test_an_unknown_name_offers_every_region_service_and_group(
        run_cli: RunCli, config_file: ConfigFile, command: tuple[str, ...]) -> None:
    r = run_cli(*command, "--config", str(config_file(NAMES)))
    assert r.code == 2, r.stderr
    said = " ".join(r.stderr.split())
    assert "unknown name 'nowhere'" in said and "unknown region" not in said
    assert ("hint: choose a region (eqiad1, codfw1dev), a service (irc) or a group "
            "(db-masters)") in said


def test_completion_offers_services_and_groups_and_their_targets(
        run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, config_file: ConfigFile) -> None:
    monkeypatch.setenv("FAILOVER_CONFIG", str(config_file(NAMES)))
    assert bash(run_cli, monkeypatch, "failover status ").stdout.split() == [
        "eqiad1", "codfw1dev", "irc", "db-masters"]
    assert bash(run_cli, monkeypatch, "failover promote irc ").stdout.split() == [
        "irc1003", "irc2003"]
    assert bash(run_cli, monkeypatch, "failover verify db-masters --expect c").stdout.split() \
        == ["codfw"]


def test_no_arguments_lists_the_commands(run_cli: RunCli) -> None:
    r = run_cli()
    for name in ("status", "health", "promote", "verify", "check", "config"):
        assert name in r.stdout + r.stderr
