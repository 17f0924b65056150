"""The `none` health kind: no check configured, said so, never refused for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failover.config import Config, Health


def describe(h: Health) -> str:
    """Return what is checked: nothing."""
    return "none (no health check configured)"


def read(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Return healthy, saying nothing was checked."""
    return True, "not checked (health kind none)"
