"""Run the configured deploy command (e.g. `ssh dns1004 sudo -i authdns-update`) after merge.

The command gets the operator's terminal (it asks its own question), its output goes to
stderr (stdout may carry JSON), and it is bounded by `[dns] deploy_timeout`.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

from failover.errors import VerifyError


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return None


GRACE = 5.0
"""Seconds the deploy's process group has between SIGTERM and SIGKILL when it is ended."""


def run_deploy(argv: Sequence[str], *, timeout: float) -> None:
    """Return when the deploy command exits 0; raise VerifyError (exit 5) otherwise.

    The command runs in its own process group: on timeout or an interrupt the whole group is
    ended (SIGTERM, then SIGKILL after `GRACE`), so no child of it (a `sleep &` of a script,
    an ssh it started) outlives the run and meets the deploy of a re-run.

    Raises:
        VerifyError: the command is missing, not executable, failed, or ran past `timeout`.
    """
    shown = " ".join(argv)
    try:
        proc = subprocess.Popen(list(argv), stdout=_stderr_fd(), process_group=0)
    except FileNotFoundError:
        raise VerifyError(f"deploy command not found: {argv[0]}",
                          hint="fix [dns] deploy in the config; the change is merged, so run "
                               "the deploy by hand, then `failover verify`") from None
    except PermissionError:
        raise VerifyError(f"deploy command is not executable: {argv[0]}",
                          hint="fix [dns] deploy in the config") from None
    try:
        with _foreground(proc.pid):
            returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_group(proc)
        raise VerifyError(f"deploy command still running after {timeout:.0f}s; killed: {shown}",
                          hint="check the DNS hosts, run the deploy by hand, then run "
                               "the same promote again (it goes on with verification)") from None
    except BaseException:  # Ctrl-C, SIGTERM, SIGHUP: the deploy ends with the run
        end_group(proc)
        raise
    if returncode == -signal.SIGINT:  # Ctrl-C at the terminal went to the deploy's group
        raise KeyboardInterrupt
    if returncode != 0:
        raise VerifyError(f"deploy command failed (exit {returncode}): {shown}",
                          hint="read its output above; fix it and run the same promote again "
                               "(it goes on with the deploy and verification)")


def end_group(proc: subprocess.Popen[bytes], grace: float = GRACE) -> None:
    """End `proc`'s whole process group: SIGTERM, then SIGKILL after `grace`; reap `proc`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(proc.pid):
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        else:
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@contextlib.contextmanager
def _foreground(pgid: int) -> Iterator[None]:
    """Within the block, the deploy's group is the terminal's foreground (it asks there).

    Only when the tool itself is in the foreground of its controlling terminal; Ctrl-C then
    goes to the deploy, which ends, and the run stops as interrupted.
    """
    tty = _foreground_tty()
    if tty is None:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, pgid)
        yield
    finally:
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # we are in the background now
        try:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(tty, os.getpgrp())
        finally:
            signal.signal(signal.SIGTTOU, old)
            os.close(tty)


def _foreground_tty() -> int | None:
    """Return the controlling terminal (open) when this process is its foreground, else None."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if os.tcgetpgrp(tty) == os.getpgrp():
            return tty
    except OSError:
        pass
    os.close(tty)
    return None
