"""Shell completion (bash, zsh) of region and controller names from the config; --help examples."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliResult, ConfigFile, RunCli, region_toml

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


@pytest.mark.parametrize("command", [
    ("status",), ("health",), ("promote",), ("verify",), ("check",), ("config", "validate"),
    ("config", "show"),
])
def test_every_command_help_has_an_example(run_cli: RunCli, command: tuple[str, ...]) -> None:
    r = run_cli(*command, "--help")
    assert r.code == 0
    assert f"Example: failover {' '.join(command)}" in " ".join(r.stdout.split())


def test_no_arguments_lists_the_commands(run_cli: RunCli) -> None:
    r = run_cli()
    for name in ("status", "health", "promote", "verify", "check", "config"):
        assert name in r.stdout + r.stderr
