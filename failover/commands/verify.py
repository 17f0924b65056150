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
from failover.errors import UsageError, VerifyError

FIRST_PAUSE = 0.1
"""Seconds between the first two rounds; the pause then grows to [verify] interval."""


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
    cfg = load(config)
    from rich.markup import escape

    from failover import dnscheck
    from failover.render import human_console, print_json, stderr_console
    from failover.render.dns import RoundProgress, print_report

    reg = cfg.region(region)
    target = reg.controller(expect) if expect is not None else None
    wait = cfg.verify.timeout if timeout is None else timeout
    if wait <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {wait:g}")
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
    if target is None:
        raise VerifyError(f"the nameservers do not agree on {reg.fqdn}",
                          hint="see the verdict per server above; re-run with --expect "
                               "CONTROLLER to wait for one answer")
    waited = "" if once else f" after {wait:g}s"
    raise VerifyError(f"not every nameserver answers {target.name} for {reg.fqdn}{waited}",
                      hint="check the deploy (authdns-update) and the servers marked above; "
                           f"re-run `failover verify {reg.name} --expect {target.name}`")
