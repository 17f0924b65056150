"""`failover config validate` and `failover config show`."""

from __future__ import annotations

import typer

from failover.commands._common import ConfigOption, JsonOption, VerboseOption, load, setup

app = typer.Typer(help="Check or show the configuration as the tool reads it.",
                  no_args_is_help=True)


@app.command()
def validate(config: ConfigOption = None, json: JsonOption = False,
             verbose: VerboseOption = False) -> None:
    """Check the configuration; list every problem at once.

    Example: failover config validate --config examples/eqiad1.toml
    """
    from failover.render import config as view

    setup(verbose)
    cfg = load(config)
    view.show_valid(cfg, as_json=json)


@app.command()
def show(config: ConfigOption = None, json: JsonOption = False,
         verbose: VerboseOption = False) -> None:
    """Show the configuration with every default filled in (secrets hidden).

    Example: failover config show --json
    """
    from failover.render import config as view

    setup(verbose)
    view.show_config(load(config), as_json=json)
