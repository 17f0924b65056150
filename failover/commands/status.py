"""`failover status`: where each region's name points and how healthy each controller is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from failover.config import Config, Service
    from failover.status import RegionStatus


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
    from failover.render.status import show_status
    from failover.status import read_status

    setup(verbose)
    cfg = load(config)
    if region is not None and (svc := cfg.service(region)) is not None:
        return _show_services(cfg, [svc], {}, as_json=json)
    # `failover status ""` is a bad name, not "all regions": only None means all
    regions = [cfg.region(region)] if region is not None else list(cfg.regions.values())
    statuses = read_status(cfg, regions)
    if region is not None or not cfg.services:
        show_status(statuses, as_json=json)
    else:
        _show_services(cfg, list(cfg.services.values()), statuses, as_json=json)
    if not json:  # issue 23: a change prepared ahead (--prepare), per name
        from failover.prepared_changes import prepared_lines

        for line in prepared_lines(cfg.dns.checkout, [region] if region else
                                   [*cfg.regions, *cfg.services]):
            print(f"prepared: {line}")


def _show_services(cfg: Config, services: list[Service], regions: dict[str, RegionStatus],
                   *, as_json: bool) -> None:
    """Print the regions' status (when any), then each service's; JSON adds "services"."""
    from failover.render import print_json
    from failover.render.services import services_document, show_service_status
    from failover.render.status import show_status, status_document
    from failover.service_status import read_service_status

    read = [read_service_status(cfg, s) for s in services]
    if as_json:
        print_json({**status_document(regions), "services": services_document(read)})
        return
    if regions:
        show_status(regions, as_json=False)
    show_service_status(read)
