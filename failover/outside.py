"""What the outside systems (SAL, Alertmanager, Phabricator) share: who runs, bounded HTTP.

Every call has one deadline for the whole exchange (connect, send, every byte of the answer),
so a server that is down, slow or trickles its answer costs at most its timeout. Failures
are OutsideError with a reason that never carries a credential: callers send tokens only in
request bodies, and no body is ever quoted.

Examples:
    >>> status, text = bounded_request("GET", "http://127.0.0.1:9093/api/v2/status",
    ...                                timeout=5)                       # doctest: +SKIP
    >>> operator()                                                      # doctest: +SKIP
    ('alice', 'cumin1002')
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from failover.errors import OutsideError

MAX_ANSWER = 1024 * 1024
"""The most bytes read from an outside system's answer."""


def operator() -> tuple[str, str]:
    """Return (user, host) of the person running the tool: SUDO_USER under sudo."""
    user = username()
    if user == "-":
        import getpass

        user = getpass.getuser()
    return user, socket.gethostname()


def username() -> str:
    """Return the user running the tool as the cookbooks name it: SUDO_USER (unless root),
    else USER, else `-`.

    The rule of `wmflib.interactive.get_username`, written here: importing wmflib costs a
    promote about 45 ms of start-up (its package looks its own version up in every installed
    distribution's metadata) for these few lines (tests/unit compares the two).
    """
    sudo_user = os.getenv("SUDO_USER")
    if sudo_user is not None and sudo_user != "root":
        return sudo_user
    user = os.getenv("USER")
    return user if user is not None else "-"


def bounded_request(method: str, url: str, *, timeout: float, ca_bundle: str | None = None,
                    json: Any = None, data: Mapping[str, str] | None = None,
                    params: Mapping[str, str] | list[tuple[str, str]] | None = None,
                    ) -> tuple[int, str]:
    """Return (HTTP status, body text) of one request finished within `timeout` seconds.

    `json` is sent as a JSON body, `data` as a form (application/x-www-form-urlencoded),
    `params` in the query string.
    Through the one HTTP client (failover.httpget): TLS verified (the system's store or
    `ca_bundle`), no redirect followed, the whole answer within the deadline.

    Raises:
        OutsideError: no answer in time, connection refused, TLS failure, answer too big.
    """
    from urllib.parse import urlencode

    from failover import httpget

    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    headers: dict[str, str] = {}
    body: bytes | None = None
    if json is not None:
        import json as json_module

        body, headers["Content-Type"] = json_module.dumps(json).encode(), "application/json"
    elif data is not None:
        body = urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    # connect + answer within `timeout` in all: the whole exchange is what the caller bounds
    connect = min(timeout / 2, 5.0)
    try:
        answer = httpget.request(method, url, connect_timeout=connect,
                                 timeout=max(0.01, timeout - connect), max_bytes=MAX_ANSWER,
                                 ca_bundle=ca_bundle, headers=headers, body=body)
    except httpget.Overdue:
        raise OutsideError(f"{url}: no complete answer within {timeout:g}s") from None
    except httpget.TooLarge:
        raise OutsideError(f"{url}: answer larger than {MAX_ANSWER} bytes") from None
    except ValueError:
        raise OutsideError(f"{url}: the port is not a number") from None
    except httpget.FetchError as exc:
        if isinstance(exc.cause, ssl.SSLError):
            raise OutsideError(f"{url}: TLS certificate not trusted (set ca_bundle)") from None
        if isinstance(exc.cause, TimeoutError):
            raise OutsideError(f"{url}: no answer within {timeout:g}s") from None
        if not exc.connected:
            raise OutsideError(f"{url}: cannot connect (down or unreachable)") from None
        raise OutsideError(f"{url}: {type(exc.cause).__name__}") from None
    return answer.status, answer.text()
