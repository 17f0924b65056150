"""`failover verify`: ask every authoritative nameserver and wait until they agree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
from failover.durations import require_seconds
from failover.errors import VerifyError

if TYPE_CHECKING:
    from failover.config import Config, Service

FIRST_PAUSE = 0.1
"""Seconds between the first two rounds; the pause then grows to [verify] interval."""


def verify(
    region: RegionArg,
    expect: Annotated[str | None, typer.Option(
        metavar="TARGET", help="The controller, candidate or side every server must answer.",
        show_default=False, autocompletion=complete_controller)] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait (default: config).")]
    = None,
    once: Annotated[bool, typer.Option("--once", help="Ask once, do not wait.")] = False,
    config: ConfigOption = None, json: JsonOption = False, verbose: VerboseOption = False,
) -> None:
    """Ask every authoritative nameserver for NAME's records; wait until they agree.

    With --expect, wait until every server answers TARGET (or the timeout runs out).

    Examples:
      failover verify eqiad1 --expect cloudcontrol1004   (a region)
      failover verify irc --expect irc1002 --once        (a service)
      failover verify db-masters --expect codfw          (a group)
    """
    setup(verbose)
    if timeout is not None:  # NaN, inf and 1e9 too: the wait must end ([verify] timeout is
        require_seconds("--timeout", timeout)  # checked where the config is read)
    cfg = load(config)
    from rich.markup import escape

    from failover import dnscheck
    from failover.render import human_console, print_json, stderr_console
    from failover.render.dns import RoundProgress, print_report

    wait = cfg.verify.timeout if timeout is None else timeout
    if (svc := cfg.service(region)) is not None:  # [services.*], [groups.*]: every record
        return _verify_service(cfg, svc, expect, wait, once=once, as_json=json)
    reg = cfg.region(region)
    target = reg.controller(expect) if expect is not None else None
    from concurrent.futures import ThreadPoolExecutor

    chosen = (target,) if target is not None else reg.controllers
    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        # each target's A/AAAA at the same servers, while the rounds run (issue 15)
        targets = {c.name: pool.submit(dnscheck.find_target_problem, cfg, reg, c)
                   for c in chosen}
        if target is None or once:
            report = dnscheck.check_region(cfg, reg, target)
        else:
            with RoundProgress(stderr_console(), reg.fqdn, wait) as progress:
                report = dnscheck.wait_for_agreement(cfg, reg, target, timeout=wait,
                                                     interval=FIRST_PAUSE,
                                                     on_round=progress.update)
        named = target.name if target is not None else report.controller
        problem = targets[named].result() if named in targets else None
    dangling = (f"{named}'s target {reg.controller(named).target} {problem}"
                if named is not None and problem is not None else None)
    if json:
        print_json({**report.to_dict(), "target_problem": dangling})
    print_report(human_console(json), report)
    if dangling is not None:
        human_console(json).print(f"[bold red]{escape(dangling)}[/]", highlight=False)
    if target is not None and dangling is not None:
        raise VerifyError(f"the expected target does not serve: {dangling}",
                          hint="fix the controller's target in the config (a typo? a retired "
                               "host?), or add the host's A/AAAA record")
    if report.agree:
        return
    raise disagreement(reg.name, reg.fqdn, target.name if target else None, wait, once=once,
                       what="CONTROLLER")


def _verify_service(cfg: Config, svc: Service, expect: str | None, wait: float, *, once: bool,
                    as_json: bool) -> None:
    """`failover verify NAME`: every record of the service or group, one table each."""
    from failover.render.services import show_verify, verify_document
    from failover.service_status import verify_service

    if expect is not None:
        svc.candidate(expect)
    reports = verify_service(cfg, svc, expect, wait_for=None if once else wait,
                             interval=FIRST_PAUSE)
    from failover.dnscheck import candidate_target_problems

    # as a region's (issue 15): every answered (or expected) candidate's targets resolve
    named = [expect] if expect is not None else sorted(
        {r.controller for r in reports if r.controller is not None})
    problems = [p for name in named for p in candidate_target_problems(cfg, svc, name).values()]
    show_verify(svc, expect, reports, as_json=as_json, problems=problems)
    if expect is not None and problems:
        raise VerifyError(f"the expected target does not serve: {'; '.join(problems)}",
                          hint="fix the candidate's target in the config (a typo? a retired "
                               "host?), or add the host's A/AAAA record")
    if verify_document(svc, expect, reports)["agree"]:
        return
    bad = ", ".join(r.fqdn for r in reports
                    if not (r.agree and (expect is None or r.controller == expect)))
    raise disagreement(svc.name, bad, expect, wait, once=once, what="CANDIDATE")


def disagreement(name: str, names: str, expected: str | None, wait: float, *, once: bool,
                 what: str) -> VerifyError:
    """Return the error of nameservers that do not all give one answer (or not `expected`)."""
    if expected is None:
        return VerifyError(f"the nameservers do not agree on {names}",
                           hint="see the verdict per server above; re-run with --expect "
                                f"{what} to wait for one answer")
    waited = "" if once else f" after {wait:g}s"
    return VerifyError(f"not every nameserver answers {expected} for {names}{waited}",
                       hint="check the deploy (authdns-update) and the servers marked above; "
                            f"re-run `failover verify {name} --expect {expected}`")
