"""Issue 15: config files that are not what they seem (FIFO, device, directory, huge, too deep),
and region targets of two address families; each refused at once as a config error (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from failover.config import load_config
from failover.errors import ConfigError
from tests.conftest import RunCli

EXAMPLE = Path(__file__).parents[3] / "examples" / "eqiad1.toml"


def run_tool(*args: str, timeout: float = 20) -> tuple[int, str, float]:
    """Return (exit code, output, seconds) of the real `failover ARGS` process."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "failover.cli", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "COLUMNS": "200"})
    return done.returncode, done.stdout + done.stderr, time.monotonic() - start


def test_config_fifo_without_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    code, out, _ = run_tool("config", "validate", "--config", str(fifo))
    assert code == 2, out
    assert f"configuration file {fifo} is not a regular file (a FIFO)" in out
    code, out, seconds = run_tool("check", "eqiad1", "--timeout", "10", "--config", str(fifo),
                                  timeout=90)
    assert code == 3 and out.startswith("UNKNOWN") and "not a regular file" in out, out
    # the check ended by itself (it used to block for ever on the open); the bound leaves a
    # loaded machine room for the interpreter's start, which alone can take seconds there
    assert seconds < 45


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"),
                                            ("/tmp", "a directory")], ids=["dev-zero", "dir"])
def test_config_device_or_directory_is_refused(run_cli: RunCli, path: str, kind: str) -> None:
    result = run_cli("config", "validate", "--config", path)
    assert result.code == 2, result.stderr
    assert f"is not a regular file ({kind})" in result.stderr


def test_config_larger_than_a_mebibyte_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "config.toml"
    big.write_text(EXAMPLE.read_text() + "#" * (1024 * 1024) + "\n")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_config(big)


@pytest.mark.parametrize("nested", ["a = " + "[" * 5000 + "]" * 5000,
                                    "a = " + "{b = " * 5000 + "1" + "}" * 5000],
                         ids=["arrays", "inline-tables"])
def test_toml_nested_5000_deep_is_a_config_error(run_cli: RunCli, tmp_path: Path,
                                                 nested: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(nested + "\n")
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2, result.stderr
    assert "nested too deeply" in result.stderr
    assert "unexpected error" not in result.stderr


def test_ipv4_and_ipv6_controller_targets_in_one_region_are_refused(run_cli: RunCli,
                                                                    tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for name, address in (("cloudcontrol1003", "192.0.2.3"), ("cloudcontrol1004", "2001:db8::4")):
        text = text.replace(f'target = "{name}.wikimedia.org."', f'target = "{address}"')
    assert "192.0.2.3" in text and "2001:db8::4" in text
    path = tmp_path / "config.toml"
    path.write_text(text)
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2, result.stderr
    assert "[regions.eqiad1.controllers] mixes IPv4 (A) and IPv6 (AAAA) targets" in result.stderr
