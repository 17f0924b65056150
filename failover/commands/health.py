"""`failover health`: per-service HAProxy health of a region's controllers."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    TARGET_HELP,
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
    controller: Annotated[str | None, typer.Argument(
        metavar="TARGET", help=f"Only this one: {TARGET_HELP[0].lower()}{TARGET_HELP[1:]}",
        show_default=False, autocompletion=complete_controller)] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Show the health of NAME's targets, side by side (a region's: HAProxy, per service).

    A region's controllers by their HAProxy services; a service's candidates and a group's
    sides by their own health check (tcp, http, command, haproxy).
    Exit 0 when every target read is healthy, 3 when any is not (or unreachable).

    Examples:
      failover health eqiad1 cloudcontrol1004   (a region; one controller)
      failover health irc                       (a service)
      failover health db-masters                (a group)
    """
    from failover.errors import EXIT_REFUSED
    from failover.haproxy import read_region_health
    from failover.render.health import show_health

    setup(verbose)
    cfg = load(config)
    if (svc := cfg.service(region)) is not None:  # [services.*], [groups.*]
        from failover.render.services import show_service_health
        from failover.service_status import read_service_health

        read = read_service_health(cfg, svc, controller)
        show_service_health(svc, read, as_json=json)
        if not all(h.healthy for h in read.values()):
            raise typer.Exit(EXIT_REFUSED)
        return
    reg = cfg.region(region)
    if controller is not None:
        reg.controller(controller)
    result = read_region_health(cfg, reg, only=controller)
    show_health(result, reg, as_json=json)
    if not result.healthy:
        raise typer.Exit(EXIT_REFUSED)
