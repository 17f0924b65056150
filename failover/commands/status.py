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
    """Show where each region's name points and a one-line verdict per controller.

    Informational: exits 0 whatever the health (2 on a usage or config error).

    Example: failover status eqiad1
    """
    from failover.haproxy import read_regions_health
    from failover.render.health import show_status

    setup(verbose)
    cfg = load(config)
    regions = [cfg.region(region)] if region else list(cfg.regions.values())
    healths = read_regions_health(cfg, regions)
    show_status({r.name: r for r in regions}, healths, as_json=json)
