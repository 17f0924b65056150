"""`failover depool` and `failover pool`: one member of a set out and back, as a promote."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    ConfigOption,
    JsonOption,
    RegionArg,
    VerboseOption,
    setup,
)

MemberArg = Annotated[str, typer.Argument(
    metavar="MEMBER", help="The member's host (or address), e.g. puppetserver2003.codfw.wmnet.",
    show_default=False)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask go/abort.")]
Force = Annotated[bool, typer.Option(
    "--force", help="Skip the health part of the gate (recorded; never min_members).")]
Bugs = Annotated[list[str] | None, typer.Option(help="Phabricator task, e.g. T12345 "
                                                     "(repeatable).")]
Reason = Annotated[str | None, typer.Option(help="Why, for the commit and the log.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Stop after the push.")]
NoSal = Annotated[bool, typer.Option("--no-sal", help="No Server Admin Log lines.")]


def _run(action: str, name: str, member: str, *, dry_run: bool, yes: bool, force: bool,
         bug: list[str] | None, reason: str | None, no_wait: bool, no_sal: bool,
         config: ConfigOption, json: bool, verbose: bool) -> None:
    from failover.commands.promote import run_request
    from failover.promote.plan import PromoteRequest
    from failover.promote.pooling import DEPOOLED, POOLED

    setup(verbose)
    request = PromoteRequest(region=name, target=DEPOOLED if action == "depool" else POOLED,
                             dry_run=dry_run, yes=yes, force=force, reason=reason,
                             no_wait=no_wait, bugs=tuple(bug or ()), no_sal=no_sal,
                             member=member, action=action)
    run_request(request, config, json)


def depool(name: RegionArg, member: MemberArg, dry_run: DryRun = False, yes: Yes = False,
           force: Force = False, bug: Bugs = None, reason: Reason = None,
           no_wait: NoWait = False, no_sal: NoSal = False, config: ConfigOption = None,
           json: JsonOption = False, verbose: VerboseOption = False) -> None:
    """Take MEMBER out of NAME's SRV (or round-robin) set through Gerrit review.

    Refused (exit 3) when fewer than min_members would be left, or one left is unhealthy.
    The same steps as a promote: change, review, deploy, verify.

    Examples:
      failover depool puppet puppetserver2003.codfw.wmnet --bug T1
    """
    _run("depool", name, member, dry_run=dry_run, yes=yes, force=force, bug=bug,
         reason=reason, no_wait=no_wait, no_sal=no_sal, config=config, json=json,
         verbose=verbose)


def pool(name: RegionArg, member: MemberArg, dry_run: DryRun = False, yes: Yes = False,
         force: Force = False, bug: Bugs = None, reason: Reason = None,
         no_wait: NoWait = False, no_sal: NoSal = False, config: ConfigOption = None,
         json: JsonOption = False, verbose: VerboseOption = False) -> None:
    """Put MEMBER back into NAME's set: Gerrit's Revert of its depool when it is one.

    Refused (exit 3) when MEMBER is not healthy. The same steps as a promote.

    Examples:
      failover pool puppet puppetserver2003.codfw.wmnet
    """
    _run("pool", name, member, dry_run=dry_run, yes=yes, force=force, bug=bug,
         reason=reason, no_wait=no_wait, no_sal=no_sal, config=config, json=json,
         verbose=verbose)
