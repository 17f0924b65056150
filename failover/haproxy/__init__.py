"""Read HAProxy stats (HTTP `;csv`, the stats socket, or either through SSH), judge health.

The package's parts: `model` (the data), `judge` (CSV parsing and the verdicts), `transport`
(HTTP and the local stats socket), `ssh` (the same through `ssh` to the controller). Every
public name is importable from `failover.haproxy`.

Examples:
    >>> health = read_region_health(cfg, cfg.region("eqiad1"))          # doctest: +SKIP
    >>> health.controllers["cloudcontrol1004"].services["nova_api"].cell
    'UP 2/2'
    >>> health.healthy
    True
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import unquote, urlsplit

from failover.config import Config, Controller, HaproxyConfig, Region
from failover.haproxy.judge import (
    dependencies,
    depends_on,
    judge_controller,
    judge_service,
    parse_show_info,
    parse_stats_csv,
    server_owner,
    unreachable,
)
from failover.haproxy.model import (
    ControllerHealth,
    RegionHealth,
    ServiceHealth,
    StatRow,
    StatsParseError,
    StatsReadError,
    StatsSnapshot,
)
from failover.haproxy.ssh import parse_ssh_url, read_ssh_stats
from failover.haproxy.transport import read_http_stats, socket_command

__all__ = [
    "ControllerHealth", "RegionHealth", "ServiceHealth", "StatRow", "StatsParseError",
    "StatsReadError", "dependencies", "depends_on", "judge_service", "parse_ssh_url",
    "parse_stats_csv", "read_controller_health", "read_http_stats", "read_region_health",
    "read_stats", "server_owner", "socket_command",
]


def read_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> StatsSnapshot:
    """Return the parsed stats of one controller, read over HTTP(S), its socket, or SSH.

    Raises:
        StatsReadError: the stats could not be read or are not HAProxy's; the message says why.
    """
    started = time.monotonic()
    scheme = urlsplit(controller.stats).scheme
    info: dict[str, str] = {}
    if scheme in ("http", "https"):
        text = read_http_stats(controller, haproxy_cfg)
    elif scheme == "unix":
        path = unquote(urlsplit(controller.stats).path)
        info = parse_show_info(socket_command(path, "show info", haproxy_cfg))
        if info.get("Name") != "HAProxy":
            raise StatsReadError(f"socket {path} is not HAProxy's stats socket "
                                 "(no 'Name: HAProxy' in its answer to 'show info')")
        text = socket_command(path, "show stat", haproxy_cfg)
    elif scheme == "ssh":
        info, text = read_ssh_stats(controller, haproxy_cfg)
    else:
        raise StatsReadError(f"stats URL scheme {scheme!r} is not supported")
    try:
        rows = parse_stats_csv(text)
    except StatsParseError as exc:
        raise StatsReadError(str(exc)) from None
    return StatsSnapshot(tuple(rows), info, (time.monotonic() - started) * 1000)


def read_controller_health(cfg: Config, region: Region, controller: Controller) -> ControllerHealth:
    """Return one controller's health; an unreadable HAProxy gives an unreachable verdict."""
    return _read_judged(cfg, controller, region.services, region.controller_names)


def read_stats_health(cfg: Config, name: str, stats: str, services: tuple[str, ...], *,
                      ca_bundle: str | None = None) -> ControllerHealth:
    """Return the health of the HAProxy at `stats` (a `haproxy` health check), its
    `services` judged as a region controller's are (none: every pair found)."""
    ctl = Controller(name=name, target="", stats=stats, ca_bundle=ca_bundle)
    return _read_judged(cfg, ctl, services, (name,))


def _read_judged(cfg: Config, controller: Controller, services: tuple[str, ...],
                 peers: tuple[str, ...]) -> ControllerHealth:
    started = time.monotonic()
    try:
        snapshot = read_stats(controller, cfg.haproxy)
    except StatsReadError as exc:
        return unreachable(controller, services, str(exc), (time.monotonic() - started) * 1000)
    return judge_controller(controller, services, snapshot, cfg.haproxy, peers)


def region_read_cap(haproxy_cfg: HaproxyConfig) -> float:
    """Return the seconds after which a region read stops waiting for a controller."""
    return 2 * (haproxy_cfg.connect_timeout + haproxy_cfg.timeout) + 1.0


def read_region_health(cfg: Config, region: Region, only: str | None = None) -> RegionHealth:
    """Return the health of the region's controllers (or only `only`), all read concurrently.

    Raises:
        UsageError: `only` is not a controller of the region.
    """
    controllers = [region.controller(only)] if only else list(region.controllers)
    # Each read bounds itself; this cap also covers what no socket timeout bounds (a name
    # resolution that hangs): such a controller is reported without waiting for it.
    cap = region_read_cap(cfg.haproxy)
    pool = ThreadPoolExecutor(max_workers=len(controllers) or 1, thread_name_prefix="haproxy")
    try:
        futures = [pool.submit(read_controller_health, cfg, region, c) for c in controllers]
        wait(futures, timeout=cap)
        results = [f.result() if f.done() else
                   unreachable(c, region.services, f"no answer after {cap:g}s", cap * 1000)
                   for c, f in zip(controllers, futures, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return RegionHealth(region.name, {c.name: c for c in results})
