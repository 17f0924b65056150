"""`failover history`: who moved a name's records, when, from where to where, and why."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from failover.commands._common import ConfigOption, JsonOption, RegionArg, VerboseOption


def history(
    region: RegionArg,
    limit: Annotated[int | None, typer.Option(min=1, help="Show only the last N changes.")]
    = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """The changes of the name's records in the repository, newest first.

    Read at the checkout's remote-tracking branch (nothing is fetched): when, from -> to,
    who, subject, Bug:, Change-Id, whether failover made it, and how long from written
    (author date) to merged (committer date).

    Example: failover history eqiad1 --limit 5
    """
    from failover.commands._common import load, setup
    from failover.history import name_history

    if verbose:
        setup(verbose)
    found = name_history(load(config), region, limit=limit)
    if json:
        from failover.render import print_json

        print_json(found.to_dict())
        return
    from failover.render.history import history_text

    sys.stdout.write(history_text(found))
    sys.stdout.flush()
