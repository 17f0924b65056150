"""Read HAProxy's stats over HTTP(S) (`stats;csv`) or from its stats socket, bounded in time."""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import unquote, urlsplit

from failover.config import Controller, HaproxyConfig
from failover.haproxy.model import CHUNK, StatsReadError


def _http_auth(url: str) -> tuple[str, tuple[str, str] | None]:
    """Return the URL without userinfo, and basic auth from it or the environment (else None)."""
    parts = urlsplit(url)
    if parts.username is not None:
        bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        return bare, (unquote(parts.username), unquote(parts.password or ""))
    user = os.environ.get("FAILOVER_STATS_USER")
    if user:
        return url, (user, os.environ.get("FAILOVER_STATS_PASSWORD", ""))
    return url, None  # requests then looks in ~/.netrc


def read_http_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> str:
    """Return the body of the controller's `stats;csv` URL, bounded in time and size.

    Raises:
        StatsReadError: refused, timed out, TLS failure, HTTP error status, or too large.
    """
    import requests

    url, auth = _http_auth(controller.stats)
    deadline = time.monotonic() + haproxy_cfg.connect_timeout + haproxy_cfg.timeout
    verify: bool | str = controller.ca_bundle or True
    try:
        with requests.Session() as session, session.get(
                url, auth=auth, verify=verify, stream=True, allow_redirects=False,
                timeout=(haproxy_cfg.connect_timeout, haproxy_cfg.timeout)) as resp:
            if resp.status_code != 200:
                raise StatsReadError(_http_status_reason(resp.status_code, resp.reason))
            body = bytearray()
            # read1 returns as soon as some bytes arrive, so a body trickled byte by byte
            # (each byte within the socket timeout) still meets the deadline below; a plain
            # read(CHUNK) would wait for the whole chunk, or forever without an end.
            while chunk := resp.raw.read1(CHUNK, decode_content=True):
                body += chunk
                if len(body) > haproxy_cfg.max_bytes:
                    raise StatsReadError(f"answer larger than {haproxy_cfg.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise StatsReadError("answer not complete after "
                                         f"{haproxy_cfg.connect_timeout + haproxy_cfg.timeout:g}s")
    except requests.exceptions.RequestException as exc:
        raise StatsReadError(_requests_reason(exc, haproxy_cfg)) from None
    return body.decode("utf-8", errors="replace")


def _http_status_reason(code: int, reason: str | None) -> str:
    text = f"HTTP {code} {reason or ''}".rstrip()
    if code in (401, 403):
        return (f"{text}: check the credentials (user:password in the stats URL, "
                "FAILOVER_STATS_USER/FAILOVER_STATS_PASSWORD, or ~/.netrc)")
    if 300 <= code < 400:
        return f"{text}: redirected; put the final stats URL in the config"
    return text


def _requests_reason(exc: Exception, haproxy_cfg: HaproxyConfig) -> str:
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timeout after {haproxy_cfg.connect_timeout:g}s connecting"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "Read timed out" in text:
        return f"timeout after {haproxy_cfg.timeout:g}s waiting for an answer"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {_last_reason(text)}"
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name does not resolve"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection failed: {_last_reason(text)}"
    return f"{type(exc).__name__}: {_last_reason(text)}"


def _last_reason(text: str) -> str:
    """Return the innermost reason of a nested urllib3 message, on one line."""
    inner = text.rsplit("(Caused by ", 1)[-1].rstrip(")")
    return " ".join(inner.split())[:200]


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
