"""`failover verify`: ask every authoritative nameserver and wait until they agree."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    ConfigOption,
    JsonOption,
    RegionArg,
    VerboseOption,
    complete_controller,
    load,
    setup,
)
from failover.errors import FailoverError


def verify(
    region: RegionArg,
    expect: Annotated[str | None, typer.Option(help="Controller every server must answer.",
                                               autocompletion=complete_controller)] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait (default: config).")]
    = None,
    once: Annotated[bool, typer.Option("--once", help="Ask once, do not wait.")] = False,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Check every authoritative nameserver; wait until they agree or time runs out.

    Example: failover verify eqiad1 --expect cloudcontrol1004
    """
    setup(verbose)
    load(config)
    raise FailoverError("verify: not implemented yet")
