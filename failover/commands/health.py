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
    from failover.model import name_of
    from failover.render.health import show_health
    from failover.status import read_name_health

    setup(verbose)
    cfg = load(config)
    name = name_of(cfg, region)
    health, haproxy = read_name_health(cfg, name, controller)
    show_health(name, health, haproxy, as_json=json)
    if not all(h.healthy for h in health.values()):
        raise typer.Exit(EXIT_REFUSED)
