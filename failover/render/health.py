"""Render `failover health` for every name, and HAProxy's one-line verdicts.

A region: the side-by-side table of its controllers' HAProxy services, its JSON document
per controller; a service or group: one row per candidate (side), its own JSON document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from failover.config import Region
from failover.haproxy import ControllerHealth, RegionHealth, ServiceHealth, dependencies
from failover.render import human_console, print_json

if TYPE_CHECKING:
    from failover.health import HealthResult
    from failover.model import FailoverName


def cell_markup(service: ServiceHealth) -> str:
    """Return the table cell for one service on one controller, coloured for a glance."""
    if not service.healthy:
        colour = "red"
    elif service.backup_only or service.servers_up < service.servers_total:
        colour = "yellow"
    else:
        colour = "green"
    return f"[{colour}]{escape(service.cell)}[/]"


def verdict(controller: ControllerHealth) -> str:
    """Return one plain line: the controller's name and whether it can take the traffic."""
    total = len(controller.services)
    if not controller.reachable:
        return f"{controller.name}  UNREACHABLE: {controller.error}"
    if controller.healthy:
        return f"{controller.name}  healthy  {total}/{total} services UP"
    failing = controller.failing
    return (f"{controller.name}  UNHEALTHY  {total - len(failing)}/{total} services UP; "
            f"failing: {', '.join(failing)}")


def verdict_markup(controller: ControllerHealth) -> str:
    """Return the verdict line with Rich markup: the name bold, the verdict coloured."""
    colour = "green" if controller.healthy else "red"
    name, _, rest = verdict(controller).partition("  ")
    return f"[bold]{escape(name)}[/]  [{colour}]{escape(rest)}[/]"


def health_table(health: RegionHealth, region: Region) -> Table:
    """Return the Rich table: services as rows, controllers as columns, details last."""
    table = Table(title=f"HAProxy health: {region.name} ({region.fqdn})", title_justify="left")
    table.add_column("service")
    for name in health.controllers:
        table.add_column(name)
    table.add_column("detail", overflow="fold")
    for service in region.services:
        cells = [cell_markup(c.services[service]) for c in health.controllers.values()]
        table.add_row(service, *cells, escape(_details(health, service)))
    return table


def _details(health: RegionHealth, service: str) -> str:
    """Return the detail text of a service row: per controller, or once when all agree."""
    notes = {name: c.services[service].detail for name, c in health.controllers.items()
             if c.reachable and not c.services[service].detail.startswith("all ")}
    if len(notes) > 1 and len(set(notes.values())) == 1:
        who = "both" if len(notes) == 2 else "all"
        return f"{who}: {next(iter(notes.values()))}"
    return "; ".join(f"{name}: {detail}" for name, detail in notes.items())


def dependence_lines(health: RegionHealth) -> list[str]:
    """Return one line per controller that serves some service only through another's servers.

    Before a planned failover away from that other controller, those services would have no
    server left (the planned-maintenance gate of `promote`).
    """
    return [f"{name}  without {other}'s own servers: no usable server for {', '.join(found)}"
            for name, others in dependencies(health.controllers).items()
            for other, found in others.items()]


def health_document(health: RegionHealth) -> dict[str, object]:
    """Return the `failover health --json` document, each controller with its `depends_on`."""
    doc = health.to_dict()
    for name, others in dependencies(health.controllers).items():
        doc["controllers"][name]["depends_on"] = others
    return doc


def show_health(name: FailoverName, health: Mapping[str, HealthResult],
                haproxy: RegionHealth | None, *, as_json: bool) -> None:
    """Print a name's health: a region's HAProxy (`haproxy`), else one row per candidate."""
    if name.region is not None and haproxy is not None:
        show_region_health(haproxy, name.region, as_json=as_json)
    else:
        show_candidates_health(name, health, as_json=as_json)


def show_region_health(health: RegionHealth, region: Region, *, as_json: bool) -> None:
    """Print the health of a region: JSON document on stdout, or the table and verdicts."""
    if as_json:
        print_json(health_document(health))
        return
    console = human_console(as_json)
    console.print(health_table(health, region))
    for controller in health.controllers.values():
        console.print(verdict_markup(controller), highlight=False)
    for line in dependence_lines(health):
        console.print(f"[yellow]{escape(line)}[/]", highlight=False)


def candidates_document(name: FailoverName, health: Mapping[str, HealthResult],
                        ) -> dict[str, Any]:
    """Return `failover health NAME --json` of a service or group: {"service", "group",
    "healthy", "candidates"}."""
    return {"service": name.name, "group": name.kind == "group",
            "healthy": all(h.healthy for h in health.values()),
            "candidates": {n: h.to_dict() for n, h in health.items()}}


def show_candidates_health(name: FailoverName, health: Mapping[str, HealthResult], *,
                           as_json: bool) -> None:
    """Print the candidates' health: the JSON document, or one line per candidate."""
    if as_json:
        print_json(candidates_document(name, health))
        return
    console = human_console(False)
    table = Table(title=f"health: {name.name}", title_justify="left")
    for col in ("side" if name.kind == "group" else "candidate", "verdict", "checked",
                "detail", "ms"):
        table.add_column(col, overflow="fold")
    for h in health.values():
        table.add_row(escape(h.name), "[green]healthy[/]" if h.healthy else
                      "[bold red]UNHEALTHY[/]", escape(h.checked), escape(h.detail),
                      f"{h.ms:.1f}")
    console.print(table)
