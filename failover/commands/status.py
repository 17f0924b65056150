"""`failover status`: where each region's name points and how healthy each controller is."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    ConfigOption,
    JsonOption,
    VerboseOption,
    complete_region,
    load,
    setup,
)
from failover.errors import FailoverError


def status(
    region: Annotated[str | None, typer.Argument(help="Region (default: all).",
                                                 autocompletion=complete_region)] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Show where each region's name points and a one-line verdict per controller.

    Example: failover status eqiad1
    """
    setup(verbose)
    load(config)
    raise FailoverError("status: not implemented yet")
