"""One HTTP(S) GET with the standard library: TLS verified, basic auth, timeouts, a body cap.

Used for HAProxy's stats (failover.haproxy.transport) and Gerrit's REST (failover.gerrit).
Not requests: importing requests, urllib3 and charset_normalizer costs ~100-140 ms of every
command's start-up (more than the read itself; issue 14) for what is here one GET, while
http.client and ssl cost a few. Kept as with requests: TLS always verified (the system's CA
store, or a ca_bundle), the host name checked, a connect and a per-read timeout, no
redirect followed (the caller reports it), and, when the caller asks (`proxy=True`),
HTTPS_PROXY/NO_PROXY for https URLs. Added: a cap on the body and one deadline for the whole
read (connect + read timeout), so a server that trickles its answer cannot hold a command.

Examples:
    >>> answer = get("https://gerrit.wikimedia.org/r/changes/?q=status:open",
    ...              connect_timeout=5, timeout=5, max_bytes=1 << 20)      # doctest: +SKIP
    >>> answer.status, answer.text()[:4]                                  # doctest: +SKIP
    (200, ")]}'")
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 65536
"""Bytes asked for per read of the body."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status line, the Location header (for a redirect) and the body."""

    status: int
    reason: str
    body: bytes
    location: str | None = None

    def text(self) -> str:
        """Return the body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


class FetchError(Exception):
    """The GET failed: `cause` is the OSError or HTTPException, `connected` whether the
    connection (and the TLS handshake) had been made when it failed."""

    def __init__(self, cause: Exception, connected: bool) -> None:
        super().__init__(str(cause))
        self.cause, self.connected = cause, connected


class TooLarge(Exception):
    """The body is longer than the cap."""


class Overdue(Exception):
    """The body was not complete within connect timeout + read timeout."""


def basic_auth(user: str, password: str) -> str:
    """Return the Authorization header's value for HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def connection(scheme: str, host: str, port: int | None, ca_bundle: str | None,
               timeout: float, *, proxy: bool = False) -> http.client.HTTPConnection:
    """Return an unopened connection; HTTPS verifies the certificate and the host name.

    With `proxy`, an https URL goes through HTTPS_PROXY (a CONNECT tunnel) unless NO_PROXY
    names the host, as requests did.
    """
    if scheme == "https":
        context = ssl.create_default_context(cafile=ca_bundle)
        via = _https_proxy(host) if proxy else None
        if via is None:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        conn = http.client.HTTPSConnection(via[0], via[1], timeout=timeout, context=context)
        conn.set_tunnel(host, port)
        return conn
    return http.client.HTTPConnection(host, port, timeout=timeout)


def _https_proxy(host: str) -> tuple[str, int | None] | None:
    """Return (host, port) of the proxy for an https URL to `host`, or None (go direct)."""
    if not any(k.lower() == "https_proxy" for k in os.environ):
        return None
    import urllib.request  # only when a proxy is set: a few ms

    url = urllib.request.getproxies_environment().get("https")
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.hostname or "", parts.port


def get(url: str, *, connect_timeout: float, timeout: float, max_bytes: int,
        ca_bundle: str | None = None, auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None, proxy: bool = False,
        method: str = "GET", data: bytes | None = None) -> Answer:
    """Return the answer to a GET of `url`, whatever its status; the body at most `max_bytes`.

    `method` and `data` make it another request (Gerrit's POSTs: a vote, a submit).

    Raises:
        ValueError: the URL's port is not a number.
        FetchError: cannot connect, TLS failure, timeout, connection dropped.
        TooLarge: the body is longer than `max_bytes`.
        Overdue: the body was not complete within `connect_timeout + timeout` seconds.
    """
    parts = urlsplit(url)
    port = parts.port
    deadline = time.monotonic() + connect_timeout + timeout
    conn = connection(parts.scheme, parts.hostname or "", port, ca_bundle, connect_timeout,
                      proxy=proxy)
    sent = {"Accept": "*/*", "Connection": "close", "User-Agent": "failover", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = basic_auth(*auth)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connected = False
    try:
        conn.connect()
        connected = True
        assert conn.sock is not None
        conn.sock.settimeout(timeout)
        conn.request(method, target, body=data, headers=sent)
        resp = conn.getresponse()
        body = bytearray()
        # read1 returns as soon as some bytes arrive, so a body trickled byte by byte
        # (each byte within the socket timeout) still meets the deadline below; a plain
        # read(CHUNK) would wait for the whole chunk, or forever without an end.
        while chunk := resp.read1(CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise TooLarge(f"answer larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise Overdue(f"answer not complete after {connect_timeout + timeout:g}s")
        return Answer(resp.status, resp.reason or "", bytes(body), resp.getheader("Location"))
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(exc, connected) from None
    finally:
        conn.close()
