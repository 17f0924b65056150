"""`failover health`: per-service HAProxy health of a region's controllers."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    ConfigOption,
    JsonOption,
    RegionArg,
    VerboseOption,
    complete_controller,
    load,
    setup,
)
from failover.errors import FailoverError


def health(
    region: RegionArg,
    controller: Annotated[str | None, typer.Argument(help="Only this controller.",
                                                     autocompletion=complete_controller)] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Show per-service HAProxy health of the region's controllers, side by side.

    Example: failover health eqiad1
    """
    setup(verbose)
    load(config)
    raise FailoverError("health: not implemented yet")
