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
from failover.durations import require_seconds
from failover.errors import VerifyError

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
    from failover.model import name_of
    from failover.render import stderr_console
    from failover.render.dns import RoundProgress, show_verify
    from failover.verify import verify_name

    wait = cfg.verify.timeout if timeout is None else timeout
    name = name_of(cfg, region)
    if expect is not None:
        name.candidate(expect)
    wait_for = None if once or expect is None else wait
    if wait_for is not None and name.region is not None:  # a region's rounds are shown
        with RoundProgress(stderr_console(), name.records[0].fqdn, wait) as progress:
            done = verify_name(cfg, name, expect, wait_for=wait_for, interval=FIRST_PAUSE,
                               on_round=lambda reps, n, pause: progress.update(reps[0], n,
                                                                               pause))
    else:
        done = verify_name(cfg, name, expect, wait_for=wait_for, interval=FIRST_PAUSE)
    problems = show_verify(name, expect, done, as_json=json)
    if expect is not None and problems:
        raise VerifyError(f"the expected target does not serve: {'; '.join(problems)}",
                          hint=f"fix the {'controller' if name.region else 'candidate'}'s "
                               "target in the config (a typo? a retired host?), or add the "
                               "host's A/AAAA record")
    if done.agree(expect if name.region is None else None):
        return
    bad = ", ".join(r.fqdn for r in done.reports
                    if not (r.agree and (expect is None or r.controller == expect)))
    raise disagreement(name.name, bad, expect, wait, once=once,
                       what="CONTROLLER" if name.region else "CANDIDATE")


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
