"""`failover promote`: the whole failover, or its preview with --dry-run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from failover.promote.plan import PromoteRequest


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
    silence: Annotated[str | None, typer.Option(
        metavar="DURATION", help="Silence the old primary in Alertmanager, e.g. 2h.")] = None,
    no_sal: Annotated[bool, typer.Option("--no-sal", help="No Server Admin Log lines.")]
    = False,
    change: Annotated[str | None, typer.Option(
        metavar="N|URL|CHANGE-ID", help="Adopt this open (or merged) change: check it, then "
                                        "follow, deploy, verify.")] = None,
    prepare: Annotated[bool, typer.Option("--prepare", help="Push as work in progress and "
                                                            "stop (a maintenance window).")]
    = False,
    prepare_failback: Annotated[bool, typer.Option(
        "--prepare-failback", help="Also push the failback (the revert) as work in "
                                   "progress.")] = False,
    self_merge: Annotated[bool, typer.Option(
        "--self-merge", help="Emergency: Code-Review +2 and submit as yourself.")] = False,
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="CURRENT",
        help="The candidate NAME points at now; refused when the zone or the nameservers "
             "say otherwise.")] = None,
    ack: Annotated[list[str] | None, typer.Option(
        metavar="CHANGE|COMMIT",
        help="Go on beside another's open change of the records, or after their recent "
             "change (number or commit; repeatable; recorded in the commit).")] = None,
    switch_ttl: Annotated[str | None, typer.Option(
        "--switch-ttl", metavar="TTL",
        help="Lower the records' TTL to TTL (e.g. 10s) first, switch, then restore it: three "
             "changes pushed as one relation chain.")] = None,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Move NAME to TARGET through Gerrit review: health, change, merge, deploy, verify.

    A region's API name moves to a controller, a service's records to a candidate, a group's
    records each to the side's own target; in one change, with the name's own topic, SAL
    project and zone file.

    Examples:
      failover promote eqiad1 cloudcontrol1004 --dry-run --bug T12345   (a region)
      failover promote irc irc1002 --reason "irc1001 reboot"             (a service)
      failover promote db-masters codfw --dry-run                        (a group)
    """
    from failover.promote.plan import PromoteRequest

    setup(verbose)
    request = PromoteRequest(region=region, target=controller, dry_run=dry_run, yes=yes,
                             force=force, reason=reason,
                             no_wait=no_wait, bugs=tuple(bug or ()), signoff=signoff,
                             silence=silence, no_sal=no_sal, change=change, prepare=prepare,
                             prepare_failback=prepare_failback, self_merge=self_merge,
                             from_=from_, acks=tuple(ack or ()), switch_ttl=switch_ttl)
    run_request(request, config, json)


def run_request(request: PromoteRequest, config: Path | None, json: bool) -> None:
    """Load the config, run the promote (or depool, pool) of `request`, render its outcome;
    the one path of `promote`, `depool` and `pool`."""
    from failover.errors import EXIT_INTERRUPTED, FailoverError, Interrupted
    from failover.interactive import durable_shell_warning
    from failover.promote import Promotion, interrupt_on_sigterm
    from failover.render.plan import PlanView, show_failure, show_outcome

    dry_run = request.dry_run
    promotion: Promotion | None = None
    try:
        with interrupt_on_sigterm():  # armed before the config load: a signal there is clean
            cfg = load(config)
            view = PlanView(as_json=json)
            promotion = Promotion(cfg, request, view)
            if not dry_run and (warning := durable_shell_warning()):
                view.warn(warning)
            plan = promotion.run()
    except KeyboardInterrupt:  # before the run started: nothing was done
        if json:
            show_failure(request, "interrupted", "interrupted before the run started",
                         EXIT_INTERRUPTED)
        raise Interrupted("interrupted before the run started; nothing was done") from None
    except FailoverError as exc:
        if json and promotion is not None:
            show_outcome(promotion.plan, as_json=True)
        elif json:
            show_failure(request, "refused" if exc.exit_code == 3 else "failed", str(exc),
                         exc.exit_code)
        raise
    show_outcome(plan, as_json=json)
