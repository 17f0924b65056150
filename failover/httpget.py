"""The one HTTP(S) client, on the standard library: TLS verified, basic auth, a body cap and
one deadline for the whole answer.

Every HTTP call of the tool goes here: HAProxy's stats (failover.haproxy.transport), Gerrit's
REST (failover.gerrit), the outside systems (Alertmanager, Phabricator: failover.outside) and
the `http` health kind (failover.health). Callers redact what they show with failover.redact.
Not requests: importing requests, urllib3 and charset_normalizer costs ~100-140 ms of every
command's start-up (more than the read itself; issue 14) for what is here one GET, while
http.client and ssl cost a few. Kept as with requests: TLS always verified (the system's CA
store, or a ca_bundle), the host name checked, a connect and a per-read timeout, no
redirect followed (the caller reports it), and, when the caller asks (`proxy=True`),
HTTPS_PROXY/NO_PROXY for https URLs. Added: a cap on the body and one deadline for the whole
exchange (connect + read timeout): headers and body. A per-recv timeout is not enough (a
server sending one byte every half second never trips it), so a timer shuts the socket down
at the deadline, which ends a read blocked anywhere in http.client. A signal (Ctrl-C,
SIGTERM) during the wait interrupts it at once, as any blocking call in the main thread.

Examples:
    >>> answer = get("https://gerrit.wikimedia.org/r/changes/?q=status:open",
    ...              connect_timeout=5, timeout=5, max_bytes=1 << 20)      # doctest: +SKIP
    >>> answer.status, answer.text()[:4]                                  # doctest: +SKIP
    (200, ")]}'")
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import ssl
import threading
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
    """The answer (headers and body) was not complete within connect timeout + read timeout."""


def netrc_entry(url: str, netrc_file: str | None = None) -> tuple[str, str] | None:
    """Return (login, password) of the URL's host in `netrc_file` (None: ~/.netrc), or None:
    no file, no entry. The one netrc reader of Gerrit, Phabricator and the stats.

    Raises:
        UsageError: the file cannot be read or parsed (the callers that shrug catch it).
    """
    import netrc

    from failover.errors import UsageError

    try:
        entry = netrc.netrc(netrc_file).authenticators(urlsplit(url).hostname or "")
    except FileNotFoundError:
        return None
    except (netrc.NetrcParseError, OSError) as exc:
        raise UsageError(f"cannot read netrc: {exc}", hint="fix or remove ~/.netrc") from None
    return (entry[0] or "", entry[2] or "") if entry else None


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
        try:
            context = ssl.create_default_context(cafile=ca_bundle)
        except OSError as exc:  # ssl names no file: say which CA bundle is gone
            raise OSError(exc.errno, exc.strerror or str(exc), ca_bundle) from None
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
        truncate: bool = False, method: str = "GET", data: bytes | None = None) -> Answer:
    """Return the answer to a GET of `url` (see `request`); `method` and `data` make it
    another request (Gerrit's POSTs: a vote, a submit)."""
    return request(method, url, connect_timeout=connect_timeout, timeout=timeout,
                   max_bytes=max_bytes, ca_bundle=ca_bundle, auth=auth, headers=headers,
                   body=data, proxy=proxy, truncate=truncate)


def request(method: str, url: str, *, connect_timeout: float, timeout: float, max_bytes: int,
            ca_bundle: str | None = None, auth: tuple[str, str] | None = None,
            headers: Mapping[str, str] | None = None, body: bytes | None = None,
            proxy: bool = False, truncate: bool = False) -> Answer:
    """Return the answer to `method` `url` (with `body`), whatever its status; the body at
    most `max_bytes`, the whole answer within `connect_timeout + timeout` seconds.
    `truncate`: keep the first `max_bytes` of a longer body instead of raising TooLarge.

    Raises:
        ValueError: the URL's port is not a number.
        FetchError: cannot connect, TLS failure, timeout, connection dropped.
        TooLarge: the body is longer than `max_bytes`.
        Overdue: the answer (headers and body) was not complete within
            `connect_timeout + timeout` seconds.
    """
    parts = urlsplit(url)
    port = parts.port
    whole = connect_timeout + timeout
    deadline = time.monotonic() + whole
    conn = connection(parts.scheme, parts.hostname or "", port, ca_bundle, connect_timeout,
                      proxy=proxy)
    sent = {"Accept": "*/*", "Connection": "close", "User-Agent": "failover", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = basic_auth(*auth)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connected = False
    cut: _Cutter | None = None
    try:
        conn.connect()
        connected = True
        assert conn.sock is not None
        conn.sock.settimeout(min(timeout, max(0.01, deadline - time.monotonic())))
        cut = _Cutter(conn.sock, deadline)
        conn.request(method, target, body=body, headers=sent)
        resp = conn.getresponse()
        data = bytearray()
        # read1 returns as soon as some bytes arrive; the cutter ends a trickle at the deadline
        while len(data) <= max_bytes and (chunk := resp.read1(CHUNK)):
            data += chunk
            if len(data) > max_bytes and truncate:
                del data[max_bytes:]
                break
            if len(data) > max_bytes:
                raise TooLarge(f"answer larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                break
        if cut.fired or time.monotonic() > deadline:
            raise Overdue(f"answer not complete after {whole:g}s")
        return Answer(resp.status, resp.reason or "", bytes(data), resp.getheader("Location"))
    except (OSError, http.client.HTTPException) as exc:
        if cut is not None and cut.fired:
            raise Overdue(f"answer not complete after {whole:g}s") from None
        raise FetchError(exc, connected) from None
    finally:
        if cut is not None:
            cut.cancel()
        conn.close()


class _Cutter:
    """Shuts `sock` down at `deadline` (time.monotonic), ending any read blocked on it."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.fired = False
        self._sock = sock
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        # the plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop the SSL
        # object under the reading thread; this only ends the transport (the read sees EOF)
        with contextlib.suppress(OSError):  # already closed: the exchange has ended anyway
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        """Stop the timer (the exchange has ended)."""
        self._timer.cancel()
