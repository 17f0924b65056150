"""`failover status`: where each region's name points and how healthy each controller is."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    NAME_HELP,
    ConfigOption,
    JsonOption,
    VerboseOption,
    complete_region,
    load,
    setup,
)


def status(
    region: Annotated[str | None, typer.Argument(
        metavar="NAME", help=f"{NAME_HELP} Default: every name.", show_default=False,
        autocompletion=complete_region)] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Show where each name points (nameservers, zone file) and how healthy its targets are.

    Informational: exits 0 whatever the health or DNS (2 on a usage or config error).

    Examples:
      failover status              (every name of the config)
      failover status eqiad1       (a region)
      failover status irc          (a service)
      failover status db-masters   (a group)
    """
    from failover.model import every_name, name_of
    from failover.render.status import show_status
    from failover.status import read_status

    setup(verbose)
    cfg = load(config)
    # `failover status ""` is a bad name, not "every name": only None means every name
    names = [name_of(cfg, region)] if region is not None else every_name(cfg)
    show_status(read_status(cfg, names), as_json=json,
                services=any(n.kind != "region" for n in names))
    if not json:  # a change prepared ahead (--prepare), per name
        from failover.prepared_changes import prepared_lines

        for line in prepared_lines(cfg.dns.checkout, [region] if region else
                                   [*cfg.regions, *cfg.services]):
            print(f"prepared: {line}")
