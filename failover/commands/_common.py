"""Options every command accepts after its name, and the small glue they share."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from failover.config import Config

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="PATH",
                 help="Config file (else $FAILOVER_CONFIG, else "
                      "$XDG_CONFIG_HOME/failover/config.toml).",
                 show_default=False),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine output on stdout; people's output goes to stderr."),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log what is done, to stderr."),
]


def _typed(ctx: typer.Context) -> tuple[Path | None, list[str]]:
    """Return the --config typed so far and the other words, for completion.

    When the word being completed is an option's value (`--expect <TAB>`), click leaves the
    command's parameters unparsed in `ctx.args`; they are read from there.
    """
    words = list(ctx.args)
    config = ctx.params.get("config")
    for flag in ("--config", "-c"):
        if config is None and flag in words[:-1]:
            config = Path(words[words.index(flag) + 1])
    return config, words


def complete_region(ctx: typer.Context, incomplete: str) -> list[str]:
    """Return the configured region, service and group names starting with `incomplete`
    (shell completion)."""
    try:
        cfg = load(_typed(ctx)[0])
    except Exception:  # completion must never fail loudly
        return []
    return [r for r in [*cfg.regions, *cfg.services] if r.startswith(incomplete)]


def complete_controller(ctx: typer.Context, incomplete: str) -> list[str]:
    """Return the controllers of the region (a service's candidates, a group's sides) typed
    so far starting with `incomplete`."""
    try:
        config, words = _typed(ctx)
        cfg = load(config)
        known = [*cfg.regions, *cfg.services]
        region = ctx.params.get("region") or next(w for w in words if w in known)
        names = cfg.regions[region].controller_names if region in cfg.regions \
            else cfg.services[region].candidate_names
    except Exception:  # completion must never fail loudly
        return []
    return [c for c in names if c.startswith(incomplete)]


NAME_HELP = "A region (eqiad1), a service (irc) or a group (db-masters) of the config."
"""What NAME is, in every command's help."""
TARGET_HELP = ("A region's controller (cloudcontrol1004), a service's candidate (irc1002) or "
               "a group's side (codfw).")
"""What TARGET is, in every command's help."""

RegionArg = Annotated[str, typer.Argument(metavar="NAME", help=NAME_HELP, show_default=False,
                                          autocompletion=complete_region)]
ControllerArg = Annotated[str, typer.Argument(metavar="TARGET", help=TARGET_HELP,
                                              autocompletion=complete_controller)]


class _RichOnFirstRecord(logging.Handler):
    """Rich's log handler, made (and rich.logging imported) when the first record comes: most
    runs without -v log nothing, and the import is start-up time every command paid."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Hand the record to Rich's handler, made on the first call."""
        if self._rich is None:
            from rich.logging import RichHandler

            from failover.render import stderr_console

            self._rich = RichHandler(console=stderr_console(), show_path=False)
            self._rich.setFormatter(self.formatter)  # logging.basicConfig's, set on this one
        self._rich.emit(record)


def setup(verbose: bool) -> None:
    """Configure logging to stderr: warnings by default, everything with -v."""
    handler = _RichOnFirstRecord()
    handler.addFilter(_redact_record)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s", datefmt="[%X]", handlers=[handler], force=True,
    )
    for noisy in ("urllib3", "git"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


def _redact_record(record: logging.LogRecord) -> bool:
    """Redact the credentials of any URL in a log record (a logging filter; keeps the record)."""
    from failover.redact import redact_text

    record.msg, record.args = redact_text(record.getMessage()), None
    return True


def load(config: Path | None) -> Config:
    """Return the validated configuration from `config` or the default places."""
    from failover.config import load_config

    return load_config(config)
