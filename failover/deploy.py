"""Run the configured deploy command (e.g. `ssh dns1004 sudo -i authdns-update`) after merge.

The command gets the operator's terminal (it asks its own question), its output goes to
stderr (stdout may carry JSON), and it is bounded by `[dns] deploy_timeout`.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from failover import proc
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
        done = proc.run(argv, timeout=timeout, capture=False, stdout_fd=_stderr_fd(),
                        group=True, grace=GRACE, during=_foreground)
    except FileNotFoundError:
        raise VerifyError(f"deploy command not found: {argv[0]}",
                          hint="fix [dns] deploy in the config; the change is merged, so run "
                               "the deploy by hand, then `failover verify`") from None
    except PermissionError:
        raise VerifyError(f"deploy command is not executable: {argv[0]}",
                          hint="fix [dns] deploy in the config") from None
    if done.code is None:  # the group was ended (TERM, then KILL after GRACE)
        raise VerifyError(f"deploy command still running after {timeout:.0f}s; killed: {shown}",
                          hint="check the DNS hosts, run the deploy by hand, then run "
                               "the same promote again (it goes on with verification)")
    returncode = done.code
    if returncode == -signal.SIGINT:  # Ctrl-C at the terminal went to the deploy's group
        raise KeyboardInterrupt
    if returncode != 0:
        raise VerifyError(f"deploy command failed (exit {returncode}): {shown}",
                          hint="read its output above; fix it and run the same promote again "
                               "(it goes on with the deploy and verification)")


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
