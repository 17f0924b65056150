"""Which servers to ask: the configured nameservers and recursors, or the zone's NS, resolved
to routable addresses."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from failover.config import Config, Nameserver
from failover.errors import UsageError

if TYPE_CHECKING:
    import dns.resolver  # imported where used: start-up pays only for what a command needs

log = logging.getLogger("failover.dnscheck")


@dataclass(frozen=True)
class Server:
    """One address to ask: what the operator configured (label), the address and the port."""

    label: str
    address: str
    port: int = 53
    role: str = "nameserver"
    """`nameserver` ([verify] nameservers or the zone's NS), `authdns host`, `recursor`."""

    def __str__(self) -> str:
        shown = str(Nameserver(self.address, self.port))
        return shown if self.label == shown else f"{self.label} ({shown})"


def system_resolver(timeout: float) -> dns.resolver.Resolver:
    """Return the system's resolver (/etc/resolv.conf) with `timeout` as its lifetime."""
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver()
    except dns.exception.DNSException as exc:
        raise UsageError(f"cannot read the system resolver configuration: {exc}",
                         hint="configure [verify] nameservers as addresses") from None
    resolver.lifetime = timeout
    return resolver


def resolve_nameservers(cfg: Config, fqdn: str,
                        resolver: dns.resolver.Resolver | None = None) -> tuple[Server, ...]:
    """Return the servers to ask: [verify] nameservers, or the addresses of the zone's NS hosts.

    Raises:
        UsageError: a name resolves to no address, or no nameserver could be found.
    """
    names = cfg.verify.nameservers
    hosts = cfg.verify.authdns_hosts
    if not names or not all(_is_address(ns.host) for ns in (*names, *hosts)):
        resolver = resolver or system_resolver(cfg.verify.query_timeout)
    if not names:
        assert resolver is not None
        found = discover_nameservers(fqdn, resolver)
    else:
        found = _servers_for(names, resolver)
    return found + authdns_servers(cfg, resolver)


def authdns_servers(cfg: Config, resolver: dns.resolver.Resolver | None = None,
                    ) -> tuple[Server, ...]:
    """Return the [verify] authdns_hosts as servers (role `authdns host`), names resolved."""
    hosts = cfg.verify.authdns_hosts
    if hosts and resolver is None and not all(_is_address(ns.host) for ns in hosts):
        resolver = system_resolver(cfg.verify.query_timeout)
    return tuple(replace(s, role=AUTHDNS_HOST) for s in _servers_for(hosts, resolver))


AUTHDNS_HOST = "authdns host"
"""The role of a [verify] authdns_hosts server."""


def zone_of(cfg: Config, fqdn: str) -> str:
    """Return the zone holding `fqdn`: the longest zone of the configured zone files
    (`[dns] zone_file`, each service's) that it is in, else its parent name."""
    from pathlib import PurePosixPath

    name = fqdn.rstrip(".").lower()
    files = {cfg.dns.zone_file, *(s.zone_file for s in cfg.services.values() if s.zone_file)}
    zones = [z for z in (PurePosixPath(f).name.lower() for f in files)
             if name == z or name.endswith("." + z)]
    return max(zones, key=len) if zones else name.partition(".")[2] or name


def discover_nameservers(fqdn: str, resolver: dns.resolver.Resolver,
                         port: int = 53) -> tuple[Server, ...]:
    """Return every address of the NS hosts of the zone holding `fqdn`, asked on `port`."""
    import dns.resolver

    try:
        zone = dns.resolver.zone_for_name(fqdn, resolver=resolver, lifetime=resolver.lifetime)
        hosts = sorted(str(r.target).rstrip(".") for r in resolver.resolve(zone, "NS"))
    except dns.exception.DNSException as exc:
        raise UsageError(f"cannot find the nameservers of {fqdn}: {exc}",
                         hint="configure [verify] nameservers") from None
    log.debug("zone of %s is %s, NS: %s", fqdn, zone, ", ".join(hosts))
    return _servers_for([Nameserver(h, port) for h in hosts], resolver)


def _servers_for(names: Sequence[Nameserver],
                 resolver: dns.resolver.Resolver | None) -> tuple[Server, ...]:
    """Return the Servers of `names`, host names resolved concurrently."""
    if not names:
        return ()
    if resolver is None or all(_is_address(ns.host) for ns in names):  # nothing to look up
        return tuple(s for ns in names for s in _servers_of(ns, resolver))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
        found = list(pool.map(lambda ns: _servers_of(ns, resolver), names))
    return tuple(s for group in found for s in group)


def _servers_of(ns: Nameserver, resolver: dns.resolver.Resolver | None) -> tuple[Server, ...]:
    """Return a Server per usable address of `ns` (A, and AAAA when IPv6 is routed)."""
    if _is_address(ns.host) or resolver is None:
        return (Server(str(ns), ns.host, ns.port),)
    import dns.resolver  # a name to resolve: the resolver module is already loaded then

    addresses: list[str] = []
    reasons: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            addresses += sorted(r.address for r in resolver.resolve(ns.host, rdtype))
        except dns.resolver.NoAnswer:
            continue
        except dns.exception.DNSException as exc:
            reasons.append(str(exc))
    if not addresses:
        why = f" ({reasons[0]})" if reasons else ""
        raise UsageError(f"nameserver {ns} resolves to no address{why}",
                         hint="fix [verify]: use a name that resolves, or an address")
    routed = [a for a in addresses if _routable(a)]
    return tuple(Server(str(ns), a, ns.port) for a in routed or addresses)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _routable(address: str) -> bool:
    """Return True if this machine has a route to `address` (IPv6 often has none)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((address, 53))
        except OSError:
            return False
    return True
