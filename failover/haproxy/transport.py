"""Read HAProxy's stats over HTTP(S) (`stats;csv`) or from its stats socket, bounded in time."""

from __future__ import annotations

import os
import socket
import ssl
import time
from urllib.parse import unquote, urlsplit

from failover import httpget
from failover.config import Controller, HaproxyConfig
from failover.errors import UsageError
from failover.haproxy.model import CHUNK, StatsReadError


def _http_auth(url: str) -> tuple[str, tuple[str, str] | None]:
    """Return the URL without userinfo, and basic auth from it, the environment or ~/.netrc."""
    parts = urlsplit(url)
    if parts.username is not None:
        bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        return bare, (unquote(parts.username), unquote(parts.password or ""))
    user = os.environ.get("FAILOVER_STATS_USER")
    if user:
        return url, (user, os.environ.get("FAILOVER_STATS_PASSWORD", ""))
    try:
        return url, httpget.netrc_entry(url, os.environ.get("NETRC"))  # else ~/.netrc
    except UsageError:  # an unreadable netrc: no auth, as requests did
        return url, None


# The stats are read with the standard library's http.client (failover.httpget says why not
# requests). Kept as with requests: TLS verified (the system's CA store, or the controller's
# ca_bundle), basic auth (URL, environment, ~/.netrc), no redirects followed, the connect and
# per-read timeouts, the body cap and the whole-read deadline. Not kept: HTTP(S)_PROXY (stats
# listeners are reached directly) and gzip (none is asked for).

def read_http_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> str:
    """Return the body of the controller's `stats;csv` URL, bounded in time and size.

    Raises:
        StatsReadError: refused, timed out, TLS failure, HTTP error status, or too large.
    """
    url, auth = _http_auth(controller.stats)
    try:
        answer = httpget.get(url, connect_timeout=haproxy_cfg.connect_timeout,
                             timeout=haproxy_cfg.timeout, max_bytes=haproxy_cfg.max_bytes,
                             ca_bundle=controller.ca_bundle, auth=auth)
    except ValueError:
        raise StatsReadError(f"the port of {urlsplit(url).hostname} is not a number") from None
    except (httpget.TooLarge, httpget.Overdue) as exc:
        raise StatsReadError(str(exc)) from None
    except httpget.FetchError as exc:
        raise StatsReadError(_http_reason(exc.cause, exc.connected, haproxy_cfg)) from None
    if answer.status != 200:
        raise StatsReadError(_http_status_reason(answer.status, answer.reason))
    return answer.text()


def _http_status_reason(code: int, reason: str | None) -> str:
    text = f"HTTP {code} {reason or ''}".rstrip()
    if code in (401, 403):
        return (f"{text}: check the credentials (user:password in the stats URL, "
                "FAILOVER_STATS_USER/FAILOVER_STATS_PASSWORD, or ~/.netrc)")
    if 300 <= code < 400:
        return f"{text}: redirected; put the final stats URL in the config"
    return text


def _http_reason(exc: Exception, connected: bool, haproxy_cfg: HaproxyConfig) -> str:
    """Return why the read failed, in the words `health` shows (connecting or answering)."""
    if isinstance(exc, TimeoutError):
        return (f"timeout after {haproxy_cfg.timeout:g}s waiting for an answer" if connected
                else f"timeout after {haproxy_cfg.connect_timeout:g}s connecting")
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {_one_line(str(exc))}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name does not resolve"
    if isinstance(exc, OSError):
        return f"connection failed: {_one_line(exc.strerror or str(exc))}"
    return f"connection failed: {type(exc).__name__}: {_one_line(str(exc))}"


def _one_line(text: str) -> str:
    """Return `text` on one line, at most 200 characters."""
    return " ".join(text.split())[:200]


def socket_command(path: str, command: str, haproxy_cfg: HaproxyConfig) -> str:
    """Return HAProxy's answer to `command` on the stats socket at `path`, read to EOF.

    Raises:
        StatsReadError: no socket there, nobody listening, no permission, timeout, or too large.
    """
    deadline = time.monotonic() + haproxy_cfg.connect_timeout + haproxy_cfg.timeout
    data = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(haproxy_cfg.connect_timeout)
        try:
            sock.connect(path)
        except FileNotFoundError:
            raise StatsReadError(f"socket {path} does not exist") from None
        except ConnectionRefusedError:
            raise StatsReadError(f"nothing listens on socket {path} (connection refused)") \
                from None
        except PermissionError:
            raise StatsReadError(f"permission denied on socket {path}") from None
        except TimeoutError:
            raise StatsReadError(f"timeout after {haproxy_cfg.connect_timeout:g}s connecting "
                                 f"to socket {path}") from None
        except OSError as exc:
            raise StatsReadError(f"cannot connect to socket {path}: {exc.strerror}") from None
        try:
            sock.settimeout(haproxy_cfg.timeout)
            sock.sendall(command.encode() + b"\n")
            while chunk := sock.recv(CHUNK):
                data += chunk
                if len(data) > haproxy_cfg.max_bytes:
                    raise StatsReadError(f"answer larger than {haproxy_cfg.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError
        except TimeoutError:
            raise StatsReadError(f"timeout after {haproxy_cfg.timeout:g}s waiting for "
                                 f"socket {path} to answer {command!r}") from None
        except OSError as exc:
            raise StatsReadError(f"socket {path}: {exc.strerror or exc}") from None
    return data.decode("utf-8", errors="replace")
