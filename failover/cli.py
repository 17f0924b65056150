"""The command line: wires the commands and turns expected errors into exit codes.

This module only parses and dispatches. Each command lives in `failover/commands/<name>.py`;
`main` is the one place where a FailoverError becomes a message and an exit code.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from failover import __version__
from failover.commands import (
    check,
    config,
    health,
    history,
    plain_params,
    pool,
    promote,
    status,
    verify,
)
from failover.errors import EXIT_UNEXPECTED, FailoverError

plain_params.install()  # the commands' str/int/float/Path parameters coerced without pydantic

app = typer.Typer(
    name="failover",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"failover {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Move a name in operations/dns to another host, through Gerrit review.

    Every command's NAME is a region (eqiad1: its OpenStack API name and controllers), a
    service (irc: its records and candidates) or a group (db-masters: records that move
    together, each to its side's own target), as the config defines them; promote's TARGET
    is the controller, candidate or side to move it to.

    Exit codes: 0 done or nothing to do, 1 unexpected, 2 usage/config, 3 refused by a safety
    gate, 4 git/Gerrit, 5 deploy or DNS verification. `failover check` follows the monitoring
    plugin convention instead (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    """


app.command()(status.status)
app.command()(health.health)
app.command()(promote.promote)
app.command()(pool.depool)
app.command()(pool.pool)
app.command()(verify.verify)
app.command()(check.check)
app.command()(history.history)
app.add_typer(config.app, name="config")


def main() -> None:
    """Run the command line; exit with the documented code, never with a traceback."""
    if sys.argv[1:2] == ["check"]:
        _run_check_plugin()
    try:
        app(prog_name="failover")
    except FailoverError as exc:
        _report(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _report("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, with the way to see more
        if os.environ.get("FAILOVER_DEBUG"):
            raise
        _report(f"unexpected error: {type(exc).__name__}: {exc}\n"
                "  hint: re-run with FAILOVER_DEBUG=1 for the traceback and report it")
        sys.exit(EXIT_UNEXPECTED)


def _run_check_plugin() -> None:
    """Run `failover check`: a monitoring plugin never answers 2 (CRITICAL) for bad usage."""
    try:
        code = app(prog_name="failover", standalone_mode=False)
    except KeyboardInterrupt:
        print("UNKNOWN - failover check: interrupted")
        sys.exit(3)
    except Exception as exc:  # the command maps its own errors; this is a usage error or abort
        what = exc.format_message() if hasattr(exc, "format_message") else "interrupted"
        print(f"UNKNOWN - failover check: {what} (see failover check --help)")
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)


def _report(message: str) -> None:
    from rich.markup import escape

    from failover.redact import redact_text
    from failover.render import stderr_console

    message = redact_text(message)
    stderr_console().print(f"[bold red]failover:[/] {escape(message)}", highlight=False,
                           soft_wrap=True)


if __name__ == "__main__":
    main()
