"""Tests for failover.lock: one holder at a time, holder shown, stale locks taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from failover.errors import GateRefused, UsageError
from failover.lock import FailoverLock


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)


HOLD = """
import sys, time
from pathlib import Path
from failover.lock import FailoverLock
lock = FailoverLock.for_checkout(Path(sys.argv[1]), "promote eqiad1 -> cloudcontrol1004")
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def hold_in_child(checkout: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(checkout)], stdout=subprocess.PIPE,
                             text=True, env=os.environ.copy())
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_holder_refused_with_holder_shown(tmp_path: Path) -> None:
    child = hold_in_child(tmp_path)
    try:
        lock = FailoverLock.for_checkout(tmp_path, "another")
        holder = lock.holder()
        assert holder is not None and holder.pid == child.pid
        with pytest.raises(GateRefused) as info:
            lock.acquire()
        assert f"pid {child.pid}" in str(info.value)
        assert "promote eqiad1 -> cloudcontrol1004" in str(info.value)
        assert info.value.exit_code == 3
    finally:
        child.kill()
        child.wait()


def test_lock_of_killed_process_is_taken_over(tmp_path: Path) -> None:
    child = hold_in_child(tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait()
    lock = FailoverLock.for_checkout(tmp_path, "mine")
    assert lock.holder() is None
    with lock:
        assert lock.stale is not None and lock.stale.pid == child.pid
        assert lock.holder() is not None
    assert not lock.path.exists()


def test_release_frees_and_removes(tmp_path: Path) -> None:
    lock = FailoverLock.for_checkout(tmp_path, "one")
    with lock:
        assert lock.path.exists()
        assert oct(lock.path.stat().st_mode & 0o777) == "0o644"
    assert not lock.path.exists()
    with FailoverLock.for_checkout(tmp_path, "two") as again:
        assert again.stale is None


def test_symlink_planted_as_lock_is_refused(tmp_path: Path) -> None:
    lock = FailoverLock.for_checkout(tmp_path, "x")
    target = tmp_path / "victim"
    target.write_text("keep")
    lock.path.symlink_to(target)
    with pytest.raises(UsageError, match="symlink"):
        lock.acquire()
    assert target.read_text() == "keep"
