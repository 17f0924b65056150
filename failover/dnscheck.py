"""Ask every authoritative nameserver what a region's name is, judge it, and wait for agreement.

Each server is asked directly (no recursion), concurrently, over UDP with a retry over TCP
when the answer is truncated, each with its own timeout. gdnsd answers a name holding a CNAME
with the CNAME only, so the record itself is compared, never a chased address.

Examples:
    >>> report = check_region(cfg, cfg.region("eqiad1"))                   # doctest: +SKIP
    >>> report.agree, report.controller
    (True, 'cloudcontrol1003')
    >>> wait_for_agreement(cfg, region, region.controller("cloudcontrol1004"),
    ...                    timeout=900, interval=0.2).agree                # doctest: +SKIP
    True
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from failover.config import Config, Controller, Nameserver, Region, normalize_target
from failover.errors import UsageError

if TYPE_CHECKING:
    import dns.resolver

log = logging.getLogger(__name__)

MATCHES = "matches"
"""The server answers the expected controller's target."""
STALE = "stale"
"""The server still answers another controller of the region (the old target)."""
DIFFERS = "differs"
"""Without an expected controller: another controller than most servers answer."""
WRONG = "wrong"
"""The server answers something that is no controller of the region (or no record)."""
MIN_INTERVAL = 0.1
"""Shortest pause between two polling rounds: at most 10 queries a second per server."""
BACKOFF = 1.5
"""Factor the pause grows by after each round, up to the cap."""
MAX_WORKERS = 64
"""Threads asking servers at once; they are kept between rounds (starting one costs ~1 ms)."""

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _query_pool() -> ThreadPoolExecutor:
    """Return the process-wide pool that asks the servers, created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="dnscheck")
        return _pool


@dataclass(frozen=True)
class Server:
    """One address to ask: what the operator configured (label), the address and the port."""

    label: str
    address: str
    port: int = 53

    def __str__(self) -> str:
        shown = str(Nameserver(self.address, self.port))
        return shown if self.label == shown else f"{self.label} ({shown})"


@dataclass(frozen=True)
class ServerAnswer:
    """What one server said about the name, and the verdict on it."""

    server: Server
    verdict: str
    detail: str = ""
    records: tuple[str, ...] = ()
    record_type: str | None = None
    ttl: int | None = None
    aa: bool | None = None
    rtt_ms: float | None = None
    controller: str | None = None
    tcp: bool = False
    final_addresses: tuple[str, ...] = ()
    fresh_by: datetime | None = None

    @property
    def answer(self) -> str | None:
        """Return the record as one string (the CNAME target, or the addresses), or None."""
        return ", ".join(self.records) if self.records else None

    @property
    def ok(self) -> bool:
        """Return True if the verdict is `matches`."""
        return self.verdict == MATCHES

    def to_dict(self, *, recursor: bool = False) -> dict[str, Any]:
        """Return the JSON form: server, answer, ttl, aa, rtt_ms, verdict, and extra fields."""
        doc: dict[str, Any] = {
            "server": str(self.server), "answer": self.answer, "ttl": self.ttl, "aa": self.aa,
            "rtt_ms": self.rtt_ms, "verdict": self.verdict, "detail": self.detail,
            "controller": self.controller, "type": self.record_type,
            "records": list(self.records), "address": self.server.address,
            "port": self.server.port, "tcp": self.tcp,
            "final_addresses": list(self.final_addresses),
        }
        if recursor:
            doc["fresh_by"] = self.fresh_by.isoformat() if self.fresh_by else None
        return doc


@dataclass(frozen=True)
class DnsReport:
    """Every server's answer for one region's name at one moment."""

    region: str
    fqdn: str
    expected: str | None
    servers: tuple[ServerAnswer, ...]
    recursors: tuple[ServerAnswer, ...] = ()
    checked_at: datetime | None = None

    @property
    def agree(self) -> bool:
        """Return True if every server matches (the expected controller, else one controller)."""
        return bool(self.servers) and all(s.ok for s in self.servers)

    @property
    def controller(self) -> str | None:
        """Return the controller every server points at, or None if they do not all agree."""
        names = {s.controller for s in self.servers}
        return names.pop() if self.servers and len(names) == 1 else None

    @property
    def matching(self) -> int:
        """Return how many servers match."""
        return sum(s.ok for s in self.servers)

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON document of issue 4 (plus added fields)."""
        return {
            "region": self.region, "fqdn": self.fqdn, "expected": self.expected,
            "agree": self.agree, "controller": self.controller,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "servers": [s.to_dict() for s in self.servers],
            "recursors": [r.to_dict(recursor=True) for r in self.recursors],
        }


@dataclass(frozen=True)
class _Reply:
    """A raw reply: the message, or the failure verdict; how long it took; over TCP or not."""

    message: dns.message.Message | None
    failure: str | None
    rtt_ms: float | None
    tcp: bool = False
    detail: str = ""


def system_resolver(timeout: float) -> dns.resolver.Resolver:
    """Return the system's resolver (/etc/resolv.conf) with `timeout` as its lifetime."""
    import dns.resolver  # only for names: addresses are asked with dns.query alone

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
    if not names or not all(_is_address(ns.host) for ns in names):
        resolver = resolver or system_resolver(cfg.verify.query_timeout)
    if not names:
        assert resolver is not None
        return discover_nameservers(fqdn, resolver)
    return _servers_for(names, resolver)


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


def check_region(cfg: Config, region: Region, expect: Controller | None = None, *,
                 resolver: dns.resolver.Resolver | None = None) -> DnsReport:
    """Return every nameserver's answer for `region`, judged against `expect` (or each other).

    Raises:
        UsageError: `expect` is not a controller of `region`, or no nameserver can be found.
    """
    _check_expect(region, expect)
    servers = resolve_nameservers(cfg, region.fqdn, resolver)
    return _ask_all(cfg, region, expect, servers, _recursors(cfg, resolver))


def check_regions(cfg: Config, regions: Iterable[Region] | None = None, *,
                  resolver: dns.resolver.Resolver | None = None) -> dict[str, DnsReport]:
    """Return {region name: DnsReport} for `regions` (default: all), asked concurrently."""
    chosen = list(cfg.regions.values() if regions is None else regions)
    if not chosen:
        return {}
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        reports = list(pool.map(lambda r: check_region(cfg, r, resolver=resolver), chosen))
    return {r.name: rep for r, rep in zip(chosen, reports, strict=True)}


def wait_for_agreement(
    cfg: Config, region: Region, expect: Controller, *, timeout: float, interval: float,
    max_interval: float | None = None,
    on_round: Callable[[DnsReport, int, float], None] | None = None,
    resolver: dns.resolver.Resolver | None = None,
) -> DnsReport:
    """Return the last report, once every server matches `expect` or `timeout` has passed.

    The pause between rounds starts at `interval` and grows by BACKOFF up to `max_interval`
    (default: [verify] interval). `on_round(report, round_number, next_pause)` is called after
    each round; `next_pause` is 0.0 after the last one. The caller decides the exit code.
    """
    _check_expect(region, expect)
    servers = resolve_nameservers(cfg, region.fqdn, resolver)
    recursors = _recursors(cfg, resolver)
    cap = max(MIN_INTERVAL, max_interval if max_interval is not None else cfg.verify.interval)
    pause = min(max(MIN_INTERVAL, interval), cap)
    planned = _planned_rounds(timeout, pause, cap)
    deadline = time.monotonic() + timeout
    number = 0
    while True:
        number += 1
        report = _ask_all(cfg, region, expect, servers, recursors)
        remaining = deadline - time.monotonic()
        done = report.agree or remaining <= 0
        next_pause = 0.0 if done else min(pause, remaining)
        if not done:
            log.info("[%d/%d, retrying in %.1fs] %s: %d of %d servers answer %s", number,
                     max(planned, number + 1), next_pause, region.fqdn, report.matching,
                     len(report.servers), expect.name)
        if on_round is not None:
            on_round(report, number, next_pause)
        if done:
            return report
        time.sleep(next_pause)
        pause = min(pause * BACKOFF, cap)


def _planned_rounds(timeout: float, pause: float, cap: float) -> int:
    """Return how many rounds fit in `timeout` with the backoff (ignoring query time)."""
    rounds, spent = 1, 0.0
    while spent + pause <= timeout and rounds < 100_000:
        spent += pause
        rounds += 1
        pause = min(pause * BACKOFF, cap)
    return rounds


def _check_expect(region: Region, expect: Controller | None) -> None:
    if expect is not None and expect not in region.controllers:
        raise UsageError(f"{expect.name!r} is not a controller of region {region.name!r}",
                         hint=f"choose one of: {', '.join(region.controller_names)}")


def _recursors(cfg: Config, resolver: dns.resolver.Resolver | None) -> tuple[Server, ...]:
    names = cfg.verify.recursors
    if not all(_is_address(ns.host) for ns in names):
        resolver = resolver or system_resolver(cfg.verify.query_timeout)
    return _servers_for(names, resolver)


def _ask_all(cfg: Config, region: Region, expect: Controller | None,
             servers: Sequence[Server], recursors: Sequence[Server]) -> DnsReport:
    """Return the report of one round: every server (and recursor) asked concurrently."""
    rdtype = "AAAA" if {c.record_type for c in region.controllers} == {"AAAA"} else "A"
    timeout = cfg.verify.query_timeout
    everyone = [*servers, *recursors]
    checked_at = datetime.now(UTC)
    replies = list(_query_pool().map(
        lambda i: _ask(everyone[i], region.fqdn, rdtype, timeout, recursion=i >= len(servers)),
        range(len(everyone))))
    answers = [_read(region, s, r) for s, r in zip(everyone, replies, strict=True)]
    auth, recs = answers[:len(servers)], answers[len(servers):]
    reference = expect.name if expect else _most_common(a.controller for a in auth)
    expected = expect is not None
    split = "" if expected or reference else ", ".join(
        f"{a.server} says {a.controller}" for a in auth if a.controller)
    judged = tuple(_judge(region, a, reference, expected, split=split) for a in auth)
    rjudged = tuple(_fresh_by(_judge(region, a, reference, expected, need_aa=False), checked_at)
                    for a in recs)
    return DnsReport(region=region.name, fqdn=region.fqdn,
                     expected=expect.name if expect else None, servers=judged,
                     recursors=rjudged, checked_at=checked_at)


def _ask(server: Server, fqdn: str, rdtype: str, timeout: float, *,
         recursion: bool = False) -> _Reply:
    """Return `server`'s reply to `fqdn`/`rdtype`: UDP, then TCP if truncated, within `timeout`."""
    query = dns.message.make_query(fqdn, rdtype, use_edns=0, payload=1232,
                                   flags=dns.flags.RD if recursion else 0)
    start = time.monotonic()
    tcp = False
    try:
        with _connected_udp(server) as sock:
            message = dns.query.udp(query, server.address, timeout=timeout, port=server.port,
                                    ignore_unexpected=True, sock=sock)
        if message.flags & dns.flags.TC:
            tcp = True
            left = max(0.05, timeout - (time.monotonic() - start))
            message = dns.query.tcp(query, server.address, timeout=left, port=server.port)
    except ConnectionRefusedError:
        # on a connected UDP socket, the ICMP port unreachable comes back at once (as dig's
        # "connection refused"); over TCP, a RST
        return _Reply(None, "refused", None, tcp,
                      f"connection refused over {'TCP' if tcp else 'UDP'}: nothing listens on "
                      f"port {server.port}")
    except dns.exception.Timeout:
        log.debug("%s: no answer within %gs", server, timeout)
        return _Reply(None, "timeout", None, tcp,
                      f"no answer within {timeout:g}s over {'TCP' if tcp else 'UDP'}")
    except OSError as exc:
        reason = str(exc.strerror or exc).lower()
        return _Reply(None, f"error: {reason}", None, tcp, reason)
    except (dns.exception.DNSException, EOFError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        return _Reply(None, f"error: {reason}", None, tcp, reason)
    rtt = round((time.monotonic() - start) * 1000, 1)
    return _Reply(message, None, rtt, tcp)


def _connected_udp(server: Server) -> socket.socket:
    """Return a non-blocking UDP socket connected to `server`.

    Connected, the kernel hands the ICMP "port unreachable" of a closed port to the next
    receive as ECONNREFUSED (an unconnected socket never sees it, and waits for the timeout).
    """
    family = socket.AF_INET6 if ":" in server.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.connect((server.address, server.port))
    except BaseException:
        sock.close()
        raise
    return sock


def _read(region: Region, server: Server, reply: _Reply) -> ServerAnswer:
    """Return what the reply says (records, TTL, controller), with a verdict for failures only."""
    base = ServerAnswer(server=server, verdict="", rtt_ms=reply.rtt_ms, tcp=reply.tcp)
    msg = reply.message
    if msg is None:
        return replace(base, verdict=reply.failure or "error", detail=reply.detail)
    aa = bool(msg.flags & dns.flags.AA)
    base = replace(base, aa=aa)
    rcode = msg.rcode()
    if rcode != dns.rcode.NOERROR:
        text = dns.rcode.to_text(rcode)
        verdict = text.lower() if text in ("NXDOMAIN", "SERVFAIL", "REFUSED") else f"error: {text}"
        return replace(base, verdict=verdict, detail=f"rcode {text}")
    qname = dns.name.from_text(region.fqdn)
    cname = msg.get_rrset(msg.answer, qname, dns.rdataclass.IN, dns.rdatatype.CNAME)
    if cname is not None:
        target = normalize_target(str(cname[0].target))
        return replace(base, records=(target,), record_type="CNAME", ttl=cname.ttl,
                        controller=_controller(region, target),
                        final_addresses=_chase(msg, cname[0].target))
    rdtype = msg.question[0].rdtype if msg.question else dns.rdatatype.A
    rrset = msg.get_rrset(msg.answer, qname, dns.rdataclass.IN, rdtype)
    if rrset is None:
        return replace(base, record_type=None)
    addrs = tuple(sorted((normalize_target(r.address) for r in rrset),
                         key=lambda a: ipaddress.ip_address(a)))
    return replace(base, records=addrs, record_type=dns.rdatatype.to_text(rdtype),
                    ttl=rrset.ttl, final_addresses=addrs,
                    controller=_controller(region, addrs[0]) if len(addrs) == 1 else None)


def _judge(region: Region, answer: ServerAnswer, reference: str | None, expected: bool,
           need_aa: bool = True, split: str = "") -> ServerAnswer:
    """Return `answer` with its verdict: matches, stale, differs, wrong, not authoritative.

    Without an expected controller and no majority (`reference` None, e.g. a 1-1 split),
    `split` says which server says what.
    """
    if answer.verdict:
        return answer
    if need_aa and not answer.aa:
        return replace(answer, verdict="not authoritative", detail="AA flag not set")
    if answer.controller is not None and answer.controller == reference:
        return replace(answer, verdict=MATCHES, detail=f"points at {answer.controller}")
    if answer.controller is not None:
        if expected:
            return replace(answer, verdict=STALE,
                            detail=f"old target, not yet {reference}")
        others = f"most say {reference}" if reference else f"no majority: {split}"
        return replace(answer, verdict=DIFFERS, detail=f"points at {answer.controller}; {others}")
    if not answer.records:
        return replace(answer, verdict=WRONG, detail="no record of the expected type (NODATA)")
    if len(answer.records) > 1:
        detail = f"{len(answer.records)} addresses; a controller is one"
    else:
        detail = f"{answer.records[0]} is no controller of {region.name}"
    return replace(answer, verdict=WRONG, detail=detail)


def _fresh_by(answer: ServerAnswer, now: datetime) -> ServerAnswer:
    """Return a recursor's answer with the time it will have the new record at the latest."""
    if answer.ok or answer.ttl is None:
        return answer
    return replace(answer, fresh_by=now + timedelta(seconds=answer.ttl))


def _controller(region: Region, target: str) -> str | None:
    found = region.controller_for_target(target)
    return found.name if found else None


def _chase(msg: dns.message.Message, target: dns.name.Name) -> tuple[str, ...]:
    """Return the addresses the reply itself gives for the CNAME chain from `target`."""
    for _ in range(8):
        nxt = msg.get_rrset(msg.answer, target, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if nxt is None:
            break
        target = nxt[0].target
    found: list[str] = []
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        rrset = msg.get_rrset(msg.answer, target, dns.rdataclass.IN, rdtype)
        found += [normalize_target(r.address) for r in rrset or ()]
    return tuple(found)


def _most_common(names: Iterable[str | None]) -> str | None:
    """Return the name most servers give; None when there is none or no single most (a tie)."""
    top = Counter(n for n in names if n is not None).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]



@dataclass(frozen=True)
class TargetCheck:
    """What the authoritative servers say of a controller's host name (a CNAME target)."""

    addresses: tuple[str, ...]
    """Every A/AAAA address an authoritative server gave for it."""
    answered: tuple[str, ...]
    """The servers that answered it definitively (authoritative NOERROR or NXDOMAIN)."""
    asked: tuple[str, ...]

    @property
    def dangling(self) -> bool:
        """Return True when some server answered definitively and none gave an address."""
        return bool(self.answered) and not self.addresses


def check_target(cfg: Config, region: Region, controller: Controller, *,
                 resolver: dns.resolver.Resolver | None = None) -> TargetCheck | None:
    """Return what the authoritative servers answer for `controller`'s host name (A, AAAA).

    None for an address target (nothing to resolve). Asked at the servers `verify` asks (the
    [verify] nameservers, or the zone's NS), which serve the hosts' zone in production too.
    """
    if controller.record_type != "CNAME":
        return None
    servers = resolve_nameservers(cfg, region.fqdn, resolver)
    jobs = [(s, t) for s in servers for t in ("A", "AAAA")]
    replies = list(_query_pool().map(
        lambda j: _ask(j[0], controller.target, j[1], cfg.verify.query_timeout), jobs))
    name = dns.name.from_text(controller.target)
    found: set[str] = set()
    answered: set[str] = set()
    for (server, rdtype), reply in zip(jobs, replies, strict=True):
        msg = reply.message
        if msg is None or not msg.flags & dns.flags.AA or msg.rcode() not in (
                dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            continue
        answered.add(str(server))
        rrset = msg.get_rrset(msg.answer, name, dns.rdataclass.IN,
                              dns.rdatatype.from_text(rdtype))
        found.update(normalize_target(r.address) for r in rrset or ())
    return TargetCheck(tuple(sorted(found)), tuple(sorted(answered)),
                       tuple(str(s) for s in servers))


def stats_host_addresses(cfg: Config, controller: Controller) -> tuple[str, str] | None:
    """Return (host, its addresses joined) of the controller's stats URL, or None.

    None when it is not checkable: a unix socket (no host), or a name the system resolver
    cannot resolve within [verify] query_timeout.
    """
    from urllib.parse import urlsplit

    try:
        host = urlsplit(controller.stats).hostname
    except ValueError:
        return None
    if not host:
        return None
    if _is_address(host):
        return host, normalize_target(host)
    resolver = system_resolver(cfg.verify.query_timeout)
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            addresses += [normalize_target(r.address) for r in resolver.resolve(host, rdtype)]
        except dns.exception.DNSException:
            continue
    return (host, " ".join(sorted(addresses))) if addresses else None


def refuse_dangling_target(cfg: Config, region: Region, controller: Controller) -> str | None:
    """Raise GateRefused when `controller`'s host name does not resolve, or resolves to another
    host than the one its HAProxy stats are read from; return a warning when not checkable.

    Checkable: a CNAME target, asked at the authoritative servers (A and AAAA); compared with
    the stats URL's host when that host is an address or resolves (not for unix:// stats).
    An address target (A/AAAA record, possibly a service address) is not compared.
    """
    from failover.errors import GateRefused

    found = check_target(cfg, region, controller)
    if found is None:
        return None
    if found.dangling:
        raise GateRefused(
            f"refusing to promote {controller.name}: its target {controller.target} does not "
            f"resolve (no A or AAAA record at {', '.join(found.answered)})",
            hint="fix the controller's target in the config (a typo? a retired host?), or "
                 "add the host's record first")
    if not found.addresses:
        return (f"could not check that {controller.target} resolves: no authoritative answer "
                f"from {', '.join(found.asked)}")
    stats = stats_host_addresses(cfg, controller)
    if stats is not None and not set(stats[1].split()) & set(found.addresses):
        raise GateRefused(
            f"refusing to promote {controller.name}: its target {controller.target} "
            f"({', '.join(found.addresses)}) is not the host whose HAProxy stats were read "
            f"({stats[0]}: {stats[1]})",
            hint="fix the controller's target or stats in the config")
    return None
