"""The `http` health kind: GET a URL (TLS verified, no redirects followed) through the one
HTTP client (`failover.httpget`); healthy on the expected status and body."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.config import Config, Health

BODY_CAP = 1024 * 1024
"""How much of an http health answer's body is read for `contains`."""


def describe(h: Health) -> str:
    """Return what is checked: `http URL -> 200 with 'text'`."""
    return f"http {h.url} -> {h.status}" + (f" with {h.contains!r}" if h.contains else "")


def read(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """GET the URL (TLS verified, no redirects followed); healthy when the status is the
    expected one and the body holds `contains` (when given). The one HTTP client
    (failover.httpget): headers and body within the health's timeout, whatever the pace."""
    import ssl

    from failover import httpget
    from failover.names import redact_url

    url = h.url or ""
    shown = redact_url(url)
    connect = min(h.timeout / 2, 5.0)  # connect + whole answer within `timeout` in all
    cap = BODY_CAP if h.contains else 0  # without `contains` the status is enough
    try:
        answer = httpget.get(url, connect_timeout=connect, timeout=h.timeout - connect,
                             max_bytes=cap, ca_bundle=h.ca_bundle, auth=_url_auth(url),
                             truncate=True)
    except httpget.Overdue:
        return False, f"no complete answer from {shown} within {h.timeout:g}s"
    except ValueError:
        return False, f"cannot GET {shown}: the port is not a number"
    except httpget.FetchError as exc:
        if isinstance(exc.cause, ssl.SSLError):
            return False, f"TLS verification of {shown} failed: {_first_line(exc.cause)}"
        if isinstance(exc.cause, TimeoutError):
            return False, f"no answer from {shown} within {h.timeout:g}s"
        return False, f"cannot GET {shown}: {_first_line(exc.cause)}"
    status, body = answer.status, answer.body
    if status != h.status:
        return False, f"{shown} answered {status}, expected {h.status}"
    if h.contains and h.contains.encode() not in body:
        return False, f"{shown} answered {status} but its body lacks {h.contains!r}"
    return True, f"{shown} answered {status}" + (f" with {h.contains!r}" if h.contains else "")


def _url_auth(url: str) -> tuple[str, str] | None:
    """Return (user, password) of a URL's userinfo (sent as basic auth, as requests did)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
