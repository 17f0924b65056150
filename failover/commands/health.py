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


def health(
    region: RegionArg,
    controller: Annotated[str | None, typer.Argument(help="Only this controller.",
                                                     autocompletion=complete_controller)] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Show per-service HAProxy health of the region's controllers, side by side.

    Exit 0 when every controller read is healthy, 3 when any is not (or unreachable).

    Example: failover health eqiad1
    """
    from failover.errors import EXIT_REFUSED
    from failover.haproxy import read_region_health
    from failover.render.health import show_health

    setup(verbose)
    cfg = load(config)
    reg = cfg.region(region)
    if controller is not None:
        reg.controller(controller)
    result = read_region_health(cfg, reg, only=controller)
    show_health(result, reg, as_json=json)
    if not result.healthy:
        raise typer.Exit(EXIT_REFUSED)
