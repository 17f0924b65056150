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


def status(
    region: Annotated[str | None, typer.Argument(help="Region (default: all).",
                                                 autocompletion=complete_region)] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Show where each region's name points (nameservers, zone file) and each controller's health.

    Informational: exits 0 whatever the health or DNS (2 on a usage or config error).

    Example: failover status eqiad1
    """
    from failover.render.status import show_status
    from failover.status import read_status

    setup(verbose)
    cfg = load(config)
    # `failover status ""` is a bad name, not "all regions": only None means all
    regions = [cfg.region(region)] if region is not None else list(cfg.regions.values())
    show_status(read_status(cfg, regions), as_json=json)
