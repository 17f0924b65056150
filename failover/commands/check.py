"""`failover check`: a monitoring check (Icinga/NRPE plugin conventions).

Exit codes are the plugin's (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), so this command turns
every error into UNKNOWN itself instead of going through the CLI's exit-code mapping.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from failover.commands._common import ConfigOption, RegionArg, VerboseOption


def check(
    region: RegionArg,
    grace: Annotated[float, typer.Option(help="Seconds nameservers may disagree before "
                                              "CRITICAL (WARNING until then).")] = 900.0,
    timeout: Annotated[float, typer.Option(help="Bound on the whole check, seconds.")] = 10.0,
    state_file: Annotated[Path | None, typer.Option(
        metavar="PATH", help="Where the time of a disagreement is kept (default: "
                             "$XDG_STATE_HOME/failover/check-state.json).",
        show_default=False)] = None,
    path: Annotated[bool, typer.Option("--path", help="Check instead that the path of a "
                                                      "failover is open: Gerrit credentials, "
                                                      "remote, deploy host, SAL, Alertmanager, "
                                                      "every health source.")] = False,
    config: ConfigOption = None, verbose: VerboseOption = False,
) -> None:
    """Monitoring check: does NAME point to a target that can serve?

    Prints one status line with performance data, then details; exits 0 OK, 1 WARNING,
    2 CRITICAL, 3 UNKNOWN.

    With --path: OK when every system a promote goes through answers, WARNING naming each
    one that does not.

    Examples:
      failover check eqiad1 --timeout 10   (a region)
      failover check irc                   (a service)
      failover check db-masters            (a group)
    """
    deadline = _arm_deadline(timeout)
    try:
        from failover.check import default_state_file, error_result, run_check
        from failover.check_judge import unknown

        if verbose:
            from failover.commands._common import setup

            setup(verbose)
        if problem := _option_problem(timeout, grace):
            result = unknown(problem)
        else:
            from failover.commands._common import load

            cfg = load(config)
            if path:
                from failover.path_check import check_path

                result = check_path(cfg, region, timeout=timeout, deadline=deadline)
            else:  # a region, service or group: one model, one check
                from failover.model import name_of

                result = run_check(cfg, name_of(cfg, region), grace=grace, timeout=timeout,
                                   state_file=state_file or default_state_file(),
                                   deadline=deadline)
    except Exception as exc:  # a plugin must answer UNKNOWN, never a traceback or exit 2
        result = error_result(exc)
    try:
        from failover.render.check import plugin_output

        text = plugin_output(result)
    except Exception as exc:
        text = f"UNKNOWN - cannot render the result: {type(exc).__name__}: {exc}\n"
    from failover.redact import redact_text

    text = redact_text(text)
    with _OUTPUT:  # the watchdog stays silent once the answer is being written
        while _WATCHDOGS:
            _WATCHDOGS.pop().cancel()
        _end_children()  # a health command still running past the answer (UNKNOWN: late)
        sys.stdout.write(text)
        sys.stdout.flush()
    raise typer.Exit(result.state if text.startswith(result.name) else 3)


EXIT_MARGIN = 0.1
"""Seconds kept at the end of --timeout for rendering the answer and the interpreter's exit."""

STARTUP_MAX = 5.0
"""A process older than this at the check is not a fresh command: the bound starts then."""

_OUTPUT = threading.Lock()
_WATCHDOGS: list[threading.Timer] = []


def process_elapsed() -> float:
    """Return the seconds since this process started (interpreter start-up included)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, IndexError, ValueError):
        return 0.0


def _option_problem(timeout: float, grace: float) -> str | None:
    """Return what is wrong with --timeout or --grace (NaN, inf, absurd), or None."""
    from failover.durations import WEEK, seconds_problem

    if seconds_problem(timeout) is not None:
        return f"--timeout must be positive, finite and at most a day (got {timeout:g})"
    if (problem := seconds_problem(grace, zero=True, most=WEEK)) is not None:
        return f"--grace {problem}"
    return None


def _end_children() -> None:
    """End every process group a health command started (failover.proc) and still runs."""
    proc = sys.modules.get("failover.proc")  # not imported: nothing started (and no import
    if proc is not None:  # from the watchdog's thread, which may fire during one)
        proc.end_all()


def _arm_deadline(timeout: float) -> float | None:
    """Return the check's deadline (monotonic), counted from the process start; arm a watchdog.

    Whatever hangs (the config load, an import, a call past every socket timeout), the
    watchdog answers UNKNOWN at the bound and ends the process.
    """
    if _option_problem(timeout, 0.0) is not None:  # answered UNKNOWN, at once
        return None
    elapsed = process_elapsed()
    if elapsed > STARTUP_MAX:  # not a fresh command (run in-process, embedded): from now,
        return time.monotonic() + timeout  # and no watchdog ends the process
    end = time.monotonic() + timeout - elapsed

    def expire() -> None:
        if _OUTPUT.acquire(blocking=False):
            _end_children()
            sys.stdout.write(f"UNKNOWN - failover check: timed out after {timeout:g}s\n")
            sys.stdout.flush()
            os._exit(3)

    watchdog = threading.Timer(max(0.0, end - time.monotonic() - EXIT_MARGIN / 2), expire)
    watchdog.daemon = True
    watchdog.start()
    _WATCHDOGS.append(watchdog)
    return end - EXIT_MARGIN
