"""The `tcp` health kind: healthy when host:port accepts a connection within the timeout."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.config import Config, Health


def describe(h: Health) -> str:
    """Return what is checked: `tcp irc1001:6667`."""
    return f"tcp {h.host}:{h.port}"


def read(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Connect to host:port within the timeout; healthy when the connection is accepted."""
    try:
        with socket.create_connection((h.host or "", h.port or 0), timeout=h.timeout):
            return True, f"connected to {h.host}:{h.port}"
    except TimeoutError:
        return False, f"no answer from {h.host}:{h.port} within {h.timeout:g}s"
    except OSError as exc:
        return False, f"cannot connect to {h.host}:{h.port}: {exc.strerror or exc}"
