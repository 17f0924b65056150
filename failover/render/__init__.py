"""Rendering: Rich views for people (stderr when --json is given), JSON for machines."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def stderr_console() -> Console:
    """Return the console for people's output and progress (stderr)."""
    from rich.console import Console

    return Console(stderr=True)


@cache
def stdout_console() -> Console:
    """Return the console for people's output when no --json is asked (stdout)."""
    from rich.console import Console

    return Console()


def human_console(as_json: bool) -> Console:
    """Return where people's output goes: stderr under --json, else stdout."""
    return stderr_console() if as_json else stdout_console()


def print_json(document: Any) -> None:
    """Write `document` as indented JSON to stdout, ending with a newline."""
    from failover.redact import redact_text

    text = json.dumps(document, indent=2, sort_keys=False, default=str)
    sys.stdout.write(redact_text(text) + "\n")
    sys.stdout.flush()
