"""`failover config validate` and `failover config show`."""

from __future__ import annotations

import typer

from failover.commands._common import ConfigOption, JsonOption, VerboseOption, load, setup

app = typer.Typer(help="Check or show the configuration as the tool reads it.",
                  no_args_is_help=True)


@app.command()
def validate(config: ConfigOption = None, json: JsonOption = False,
             verbose: VerboseOption = False) -> None:
    """Check the configuration; list every problem at once, then the regions, services and
    groups it holds.

    Exit 2 on a problem, and when [dns] checkout is missing or not a git checkout of
    operations/dns (promote cannot work without it; the error says how to clone it).

    Example: failover config validate --config examples/eqiad1.toml
    """
    from failover.render import config as view
    from failover.repo import checkout_error

    setup(verbose)
    cfg = load(config)
    problem = checkout_error(cfg.dns.checkout, cfg.gerrit.url)
    view.show_valid(cfg, as_json=json, checkout_problem=problem.message if problem else None)
    if problem is not None:
        raise problem


@app.command()
def show(config: ConfigOption = None, json: JsonOption = False,
         verbose: VerboseOption = False) -> None:
    """Show the configuration with every default filled in (secrets hidden).

    Example: failover config show --json
    """
    from failover.render import config as view

    setup(verbose)
    view.show_config(load(config), as_json=json)
