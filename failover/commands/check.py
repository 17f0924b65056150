"""`failover check`: a monitoring check (Icinga/NRPE plugin conventions).

Exit codes are the plugin's (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), so this command turns
every error into UNKNOWN itself instead of going through the CLI's exit-code mapping.
"""

from __future__ import annotations

import sys
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
    config: ConfigOption = None, verbose: VerboseOption = False,
) -> None:
    """Monitoring check: does the region's name point to a controller that can serve?

    Prints one status line with performance data, then details; exits 0 OK, 1 WARNING,
    2 CRITICAL, 3 UNKNOWN.

    Example: failover check eqiad1 --timeout 10
    """
    try:
        from failover.monitor import default_state_file, error_result, run_check, unknown

        if verbose:
            from failover.commands._common import setup

            setup(verbose)
        if not timeout > 0 or not grace >= 0:
            result = unknown(f"--timeout must be positive and --grace not negative "
                             f"(got {timeout:g}, {grace:g})")
        else:
            from failover.commands._common import load

            cfg = load(config)
            result = run_check(cfg, cfg.region(region), grace=grace, timeout=timeout,
                               state_file=state_file or default_state_file())
    except Exception as exc:  # a plugin must answer UNKNOWN, never a traceback or exit 2
        result = error_result(exc)
    try:
        from failover.render.check import plugin_output

        text = plugin_output(result)
    except Exception as exc:
        text = f"UNKNOWN - cannot render the result: {type(exc).__name__}: {exc}\n"
    from failover.redact import redact_text

    sys.stdout.write(redact_text(text))
    sys.stdout.flush()
    raise typer.Exit(result.state if text.startswith(result.name) else 3)
