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

import socket
import time
from typing import Any

from failover.errors import OutsideError

MAX_ANSWER = 1024 * 1024
"""The most bytes read from an outside system's answer."""


def operator() -> tuple[str, str]:
    """Return (user, host) of the person running the tool: SUDO_USER under sudo."""
    from wmflib.interactive import get_username  # the cookbooks' own rule (SUDO_USER, USER)

    user = get_username()
    if user == "-":
        import getpass

        user = getpass.getuser()
    return user, socket.gethostname()


def bounded_request(method: str, url: str, *, timeout: float, ca_bundle: str | None = None,
                    **kwargs: Any) -> tuple[int, str]:
    """Return (HTTP status, body text) of one request finished within `timeout` seconds.

    Raises:
        OutsideError: no answer in time, connection refused, TLS failure, answer too big.
    """
    import requests  # here, not at the top: `promote` needs operator() at start-up, and
    # requests costs ~100 ms to import (issue 14); only a configured outside system pays it

    deadline = time.monotonic() + timeout
    try:
        with requests.request(method, url, timeout=(timeout, timeout), stream=True,
                              allow_redirects=False, verify=ca_bundle or True,
                              **kwargs) as resp:
            body = bytearray()
            for chunk in resp.iter_content(8192):
                body += chunk
                if time.monotonic() > deadline:
                    raise OutsideError(f"{url}: no complete answer within {timeout:g}s")
                if len(body) > MAX_ANSWER:
                    raise OutsideError(f"{url}: answer larger than {MAX_ANSWER} bytes")
            if time.monotonic() > deadline:
                raise OutsideError(f"{url}: no complete answer within {timeout:g}s")
            return resp.status_code, body.decode("utf-8", "replace")
    except requests.exceptions.SSLError:
        raise OutsideError(f"{url}: TLS certificate not trusted (set ca_bundle)") from None
    except requests.exceptions.Timeout:
        raise OutsideError(f"{url}: no answer within {timeout:g}s") from None
    except requests.exceptions.ConnectionError:
        raise OutsideError(f"{url}: cannot connect (down or unreachable)") from None
    except requests.exceptions.RequestException as exc:
        raise OutsideError(f"{url}: {type(exc).__name__}") from None
