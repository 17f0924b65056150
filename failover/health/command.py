"""The `command` health kind: run an argv (no shell), bounded; healthy when it exits 0."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.config import Config, Health

OUTPUT_CAP = 4096
"""How much of a command health's stdout (and of its stderr) is kept: its first line is shown."""


def describe(h: Health) -> str:
    """Return what is checked: `command ARGV...`."""
    return "command " + " ".join(h.argv)


def read(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Run the argv (no shell) within the timeout; healthy when it exits 0. Its first
    output line (a monitoring plugin's verdict) is the detail."""
    from failover import proc

    argv = list(h.argv)
    try:  # the one bounded runner: own process group, ended as a group on timeout/Ctrl-C
        done = proc.run(argv, timeout=h.timeout, group=True, grace=1.0,
                        max_output=OUTPUT_CAP)
    except FileNotFoundError:
        return False, f"command not found: {argv[0]}"
    except PermissionError:
        return False, f"command is not executable: {argv[0]}"
    except OSError as exc:  # ENOEXEC (no #!), E2BIG, ...: the kernel would not run it
        return False, f"cannot run {argv[0]}: {exc.strerror or exc}"
    if done.timed_out:
        return False, f"command still running after {h.timeout:g}s; killed: {argv[0]}"
    out = done.stdout + done.stderr
    first = out.strip().splitlines()[:1]
    said = f": {printable(first[0])[:200]}" if first else ""
    if done.code != 0:
        return False, f"exit {done.code}{said}"
    return True, f"exit 0{said}"


_VERDICT_RE = re.compile(r"^(exit -?[0-9]+: )((?:[A-Za-z0-9_.-]+ ){0,3}?"
                         r"(?:OK|WARNING|CRITICAL|UNKNOWN))\b")


def command_verdict(detail: str) -> str:
    """Return a command health's detail as its verdict: `exit 0: TCP OK` for a monitoring
    plugin's `exit 0: TCP OK - 0.001 second response time ...|time=...` (the timing figures
    and performance data left out); any other output without its performance data.

    Examples:
        >>> command_verdict("exit 0: TCP OK - 0.000 second response time on 127.0.0.1 port 22")
        'exit 0: TCP OK'
        >>> command_verdict("exit 1: unreachable|t=3")
        'exit 1: unreachable'
    """
    m = _VERDICT_RE.match(detail)
    if m:
        return m.group(1) + m.group(2)
    return detail.split("|", 1)[0].rstrip()


def printable(text: str) -> str:
    """Return `text` with each control character (ESC, BEL, CR, ...) shown as `?`: a health's
    output goes to terminals and into the commit message (issue 20)."""
    from failover.names import CONTROL_RE

    return CONTROL_RE.sub("?", text)
