"""Tests for sandbox.up (`make sandbox`) and the demo's layout: the world stays up, says
where its config is and what to try, answers the commands it suggests, and Ctrl-C stops it
and removes its directory."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import demo
from sandbox.haproxy import haproxy_available
from sandbox.up import TRY

ROOT = Path(__file__).resolve().parents[3]


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Return what `proc` printed up to and including the line holding `marker`.

    Reads the pipe's bytes as they come (os.read), not lines through the text wrapper: a
    readline would keep the rest of a many-line write in the wrapper's buffer, where the
    selector never sees it.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=1) and (chunk := os.read(fd, 65536)):
            seen += chunk
            text = seen.decode(errors="replace")
            if marker in text and text.endswith("\n"):
                return text
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no {marker!r} in {timeout}s:\n{seen.decode(errors='replace')}")


@pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")
@pytest.mark.timeout(120)
def test_sandbox_up_prints_what_to_try_serves_it_and_cleans_up_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.up"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        shown = read_until(proc, "Ctrl-C here", 90)
        exports = re.search(r"^\s*export (FAILOVER_CONFIG=.+)$", shown, re.M)
        assert exports, shown
        settings = dict(kv.split("=", 1) for kv in exports.group(1).split())
        config = Path(settings["FAILOVER_CONFIG"])
        assert config.is_file() and f"config:            {config}" in shown
        workdir = Path(re.findall(r"removes (\S+)\.$", shown, re.M)[-1])
        assert config.is_relative_to(workdir)
        for _, cmd in TRY:
            assert cmd in shown
        status = subprocess.run([sys.executable, "-m", "failover.cli", "status"], cwd=ROOT,
                                env={**os.environ, **settings}, capture_output=True, text=True,
                                timeout=60, check=False)
        assert status.returncode == 0, status.stderr
        assert "eqiad1  openstack.eqiad1.wikimediacloud.org -> cloudcontrol1003" in \
            status.stdout
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        assert f"removed {workdir}" in rest
        assert not workdir.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_the_demo_uses_one_width_and_no_title_is_cut() -> None:
    assert 80 <= demo.WIDTH <= 110
    assert demo.TITLE_ROOM + 10 <= 80  # a rule of the narrowest width shows the longest title
    source = Path(demo.__file__).read_text()
    titles = re.findall(r'step\(f?"([^"]+)"', source)
    assert len(titles) >= 9
    longest = max(len(t.replace("{NEW}", demo.NEW).replace("{OLD}", demo.OLD)) for t in titles)
    assert longest <= demo.TITLE_ROOM
