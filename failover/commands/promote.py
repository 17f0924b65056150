"""`failover promote`: the whole failover, or its preview with --dry-run."""

from __future__ import annotations

from typing import Annotated

import typer

from failover.commands._common import (
    ConfigOption,
    ControllerArg,
    JsonOption,
    RegionArg,
    VerboseOption,
    load,
    setup,
)


def promote(
    region: RegionArg,
    controller: ControllerArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask go/abort.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Promote an unhealthy target "
                                                        "(recorded).")] = False,
    bug: Annotated[list[str] | None, typer.Option(help="Phabricator task, e.g. T12345 "
                                                      "(repeatable).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why, for the commit and the log.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Stop after the push.")] = False,
    signoff: Annotated[bool, typer.Option("--signoff", help="Add Signed-off-by (git's "
                                                            "identity).")] = False,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Fail the region's API name over to CONTROLLER, through Gerrit review.

    Example: failover promote eqiad1 cloudcontrol1004 --dry-run --bug T12345
    """
    from failover.errors import FailoverError
    from failover.interactive import durable_shell_warning
    from failover.plan import PromoteRequest
    from failover.promotion import Promotion, interrupt_on_sigterm
    from failover.render.plan import PlanView, show_outcome

    setup(verbose)
    cfg = load(config)
    request = PromoteRequest(region=region, target=controller, dry_run=dry_run, yes=yes,
                             force=force, bug=bug[0] if bug else None, reason=reason,
                             no_wait=no_wait, bugs=tuple(bug or ()), signoff=signoff)
    view = PlanView(as_json=json)
    promotion = Promotion(cfg, request, view)
    if not dry_run and (warning := durable_shell_warning()):
        view.warn(warning)
    try:
        with interrupt_on_sigterm():
            plan = promotion.run()
    except FailoverError:
        if json:
            show_outcome(promotion.plan, as_json=True)
        raise
    show_outcome(plan, as_json=json)
