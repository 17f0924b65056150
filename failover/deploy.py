"""Run the configured deploy command (e.g. `ssh dns1004 sudo -i authdns-update`) after merge.

The command gets the operator's terminal (it asks its own question), its output goes to
stderr (stdout may carry JSON), and it is bounded by `[dns] deploy_timeout`.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Sequence

from failover.errors import VerifyError


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return None


def run_deploy(argv: Sequence[str], *, timeout: float) -> None:
    """Return when the deploy command exits 0; raise VerifyError (exit 5) otherwise.

    Raises:
        VerifyError: the command is missing, not executable, failed, or ran past `timeout`.
    """
    shown = " ".join(argv)
    try:
        done = subprocess.run(list(argv), stdout=_stderr_fd(), timeout=timeout, check=False)
    except FileNotFoundError:
        raise VerifyError(f"deploy command not found: {argv[0]}",
                          hint="fix [dns] deploy in the config; the change is merged, so run "
                               "the deploy by hand, then `failover verify`") from None
    except PermissionError:
        raise VerifyError(f"deploy command is not executable: {argv[0]}",
                          hint="fix [dns] deploy in the config") from None
    except subprocess.TimeoutExpired:
        raise VerifyError(f"deploy command still running after {timeout:.0f}s; killed: {shown}",
                          hint="check the DNS hosts, run the deploy by hand, then run "
                               "the same promote again (it goes on with verification)") from None
    if done.returncode != 0:
        raise VerifyError(f"deploy command failed (exit {done.returncode}): {shown}",
                          hint="read its output above; fix it and run the same promote again "
                               "(it goes on with the deploy and verification)")
