"""Loading the configuration: find the file, read it safely, parse the TOML, validate it.

`load_config` reads the TOML with tomllib and hands it to `failover.config.parse`, which
validates it and reports every problem at once, each naming its key and the file.

Examples:
    >>> cfg = load_config(Path("examples/sandbox.toml"))      # doctest: +SKIP
    >>> cfg.region("eqiad1").controller("cloudcontrol1004").target
    'cloudcontrol1004.wikimedia.org.'
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from failover.config.model import Config
from failover.config.parse import parse_config
from failover.errors import ConfigError
from failover.paths import config_dir


def default_config_path() -> tuple[Path, list[str]]:
    """Return the config path to use and the places looked at, in order."""
    looked: list[str] = []
    env = os.environ.get("FAILOVER_CONFIG")
    if env:
        return Path(env).expanduser(), ["$FAILOVER_CONFIG"]
    looked.append("$FAILOVER_CONFIG (unset)")
    path = config_dir() / "config.toml"
    looked.append(str(path))
    return path, looked


MAX_CONFIG_BYTES = 1024 * 1024
"""The largest configuration file read (a real one is a few kilobytes)."""


def read_config_text(path: Path) -> str:
    """Return the text of the configuration file `path`: a regular file of at most 1 MiB.

    Checked before it is read (a FIFO with no writer would block for ever, /dev/zero never
    ends, a directory cannot be read) and opened non-blocking, never waiting on a writer.

    Raises:
        FileNotFoundError: `path` does not exist.
        ConfigError: `path` is not a regular file, is too large, or cannot be read.
    """
    import stat

    if not stat.S_ISREG(path.stat().st_mode):
        raise ConfigError(f"configuration file {path} is not a regular file "
                          f"({_file_kind(path.stat().st_mode)})",
                          hint="pass --config PATH of a TOML file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the stat and the open
            raise ConfigError(f"configuration file {path} is not a regular file")
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"configuration file {path} is larger than "
                          f"{MAX_CONFIG_BYTES // 1024} KiB; it cannot be a failover config",
                          hint="pass --config PATH of the TOML file")
    return data.decode("utf-8")


def _file_kind(mode: int) -> str:
    import stat

    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a file")


def load_config(path: Path | None = None) -> Config:
    """Return the validated configuration read from `path` (or the default places).

    Raises:
        ConfigError: the file is missing or unreadable, or any key is wrong (all listed).
    """
    looked: list[str] = []
    if path is None:
        path, looked = default_config_path()
    path = path.expanduser()
    try:
        raw = tomllib.loads(read_config_text(path))
    except FileNotFoundError:
        where = f" (looked at: {', '.join(looked)})" if looked else ""
        raise ConfigError(
            f"configuration file not found: {path}{where}",
            hint="pass --config PATH, set FAILOVER_CONFIG, or copy examples/eqiad1.toml there",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(f"{path}: not a usable configuration: arrays or tables nested too "
                          "deeply", hint="a failover config nests at most a few levels") from None
    return parse_config(raw, path)
