"""Issue 20, section 3: bounded in time, memory and processes.

Against hostile servers of our own on loopback (one byte every half second, in the headers or
the body) and real commands (`yes`, `sleep`): every HTTP read has one deadline for the whole
answer, a command health keeps a few KiB and ends with its process group, `check --timeout`
leaves no health command behind, a signal ends an outside call at once, and every duration
refuses NaN, inf and absurd values.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from failover import httpget
from failover.config import Candidate, Health
from failover.errors import OutsideError
from failover.health import read_health
from failover.health.command import OUTPUT_CAP
from failover.outside import bounded_request
from tests.conftest import ConfigFile, RunCli
from tests.helpers import TrickleServer
from tests.world.test_service_health import CFG  # a config with no checkout: health only

GAP = 0.5
"""One byte every half second: each byte far within any per-read timeout."""


@pytest.mark.parametrize("in_headers", [True, False], ids=["headers", "body"])
def test_a_trickled_answer_is_cut_at_the_whole_deadline(in_headers: bool) -> None:
    with TrickleServer(b"x", gap=GAP, in_headers=in_headers) as server:
        started = time.monotonic()
        with pytest.raises(httpget.Overdue, match="not complete after 2s"):
            httpget.get(server.url("/"), connect_timeout=1, timeout=1, max_bytes=1 << 20)
        assert time.monotonic() - started < 2 + 2 * GAP + 1


@pytest.mark.parametrize("in_headers", [True, False], ids=["headers", "body"])
def test_an_outside_system_that_trickles_is_an_outside_error(in_headers: bool) -> None:
    with TrickleServer(b"{}", gap=GAP, in_headers=in_headers) as server:
        started = time.monotonic()
        with pytest.raises(OutsideError, match="no complete answer within 2s"):
            bounded_request("POST", server.url("/api/v2/silences"), timeout=2, json={"a": 1})
        assert time.monotonic() - started < 2 + 2 * GAP + 1


@pytest.mark.parametrize("in_headers", [True, False], ids=["headers", "body"])
def test_an_http_health_that_trickles_is_unhealthy_within_its_timeout(in_headers: bool) -> None:
    with TrickleServer(b"x", gap=GAP, in_headers=in_headers) as server:
        health = Health("http", url=server.url("/"), contains="OK", timeout=2)
        started = time.monotonic()
        result = read_health(CFG, Candidate("c1", {}, health))
        assert time.monotonic() - started < 2 + 2 * GAP + 1
    assert not result.healthy
    assert "no complete answer" in result.detail and "within 2s" in result.detail


def test_a_chatty_command_health_keeps_a_few_kib_and_ends_at_its_timeout() -> None:
    health = Health("command", argv=("yes", "y" * 100), timeout=2)
    started = time.monotonic()
    result = read_health(CFG, Candidate("c1", {}, health))
    took = time.monotonic() - started
    assert not result.healthy and "still running after 2s; killed" in result.detail
    assert took < 2 + 1 + 2  # the timeout, the group's grace, a margin: not 25 s


def test_a_command_health_s_output_is_capped(tmp_path: Path) -> None:
    script = tmp_path / "loud"
    script.write_text("#!/bin/sh\nhead -c 10000000 /dev/zero | tr '\\0' 'a'\necho\nexit 0\n")
    script.chmod(0o755)
    from failover import proc

    done = proc.run([str(script)], timeout=10, group=True, max_output=OUTPUT_CAP)
    assert done.code == 0 and len(done.stdout) == OUTPUT_CAP


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_check_timeout_ends_the_hung_health_command(config_file: ConfigFile,
                                                    tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    hang = tmp_path / "hang"
    hang.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 300\n")
    hang.chmod(0o755)
    cfg = config_file(
        "[dns]", f'checkout = "{tmp_path}"', "[verify]", 'nameservers = ["127.0.0.1:9"]',
        "[services.irc]", 'fqdn = "irc.wikimedia.org"',
        "[services.irc.candidates.irc1001]", 'target = "irc1001.wikimedia.org."',
        f'health = {{kind = "command", argv = ["{hang}"], timeout = 60}}',
        "[services.irc.candidates.irc1002]", 'target = "irc1002.wikimedia.org."')
    done = subprocess.run([sys.executable, "-m", "failover.cli", "check", "irc", "--timeout",
                           "8", "--state-file", str(tmp_path / "s.json"), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 3 and done.stdout.startswith("UNKNOWN"), done.stdout
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the hung health command outlived the check"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e9", "0"])
def test_verify_timeout_refuses_what_is_no_duration(run_cli: RunCli, value: str) -> None:
    result = run_cli("verify", "eqiad1", "--timeout", value, "--config", "/nonexistent.toml")
    assert result.code == 2, result.stderr
    assert "--timeout must be" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "1e9"])
def test_check_timeout_refuses_what_is_no_duration(run_cli: RunCli, value: str) -> None:
    result = run_cli("check", "eqiad1", "--timeout", value, "--config", "/nonexistent.toml")
    assert result.code == 3 and result.stdout.startswith("UNKNOWN - --timeout must be positive")


@pytest.mark.parametrize("value", ["nan", "inf", "1e9"])
def test_a_duration_key_refuses_what_is_no_duration(run_cli: RunCli, config_file: ConfigFile,
                                                    tmp_path: Path, value: str) -> None:
    cfg = config_file(
        "[dns]", f'checkout = "{tmp_path}"',
        "[services.irc]", 'fqdn = "irc.wikimedia.org"',
        "[services.irc.candidates.irc1001]", 'target = "irc1001.wikimedia.org."',
        f'health = {{kind = "tcp", host = "irc1001", port = 6667, timeout = {value}}}',
        "[services.irc.candidates.irc1002]", 'target = "irc1002.wikimedia.org."')
    result = run_cli("config", "validate", "--config", str(cfg))
    assert result.code == 2
    assert "[services.irc.candidates.irc1001.health.timeout] must be" in result.stderr
