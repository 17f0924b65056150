"""`failover check`: a monitoring check (Icinga/NRPE plugin conventions)."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import ConfigOption, RegionArg, VerboseOption


def check(
    region: RegionArg,
    grace: Annotated[float, typer.Option(help="Seconds nameservers may disagree before "
                                              "CRITICAL.")] = 900.0,
    timeout: Annotated[float, typer.Option(help="Bound on the whole check, seconds.")] = 10.0,
    config: ConfigOption = None, verbose: VerboseOption = False,
) -> None:
    """Monitoring check: does the region's name point to a controller that can serve?

    Example: failover check eqiad1 --timeout 10
    """
    print("UNKNOWN - failover check: not implemented yet")
    raise typer.Exit(3)
