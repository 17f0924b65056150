"""Asking one server: a non-recursive query over UDP (TCP when truncated), each with its own
timeout, on a process-wide pool of threads."""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from failover.dnscheck.servers import Server

if TYPE_CHECKING:
    import dns.resolver  # imported where used: start-up pays only for what a command needs

MAX_WORKERS = 64
"""Threads asking servers at once; they are kept between rounds (starting one costs ~1 ms)."""

log = logging.getLogger("failover.dnscheck")


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
class _Reply:
    """A raw reply: the message, or the failure verdict; how long it took; over TCP or not."""

    message: dns.message.Message | None
    failure: str | None
    rtt_ms: float | None
    tcp: bool = False
    detail: str = ""


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
