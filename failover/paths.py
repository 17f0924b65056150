"""Where the tool keeps its files: the XDG state and config directories, made private.

Examples:
    >>> state_dir()                                               # doctest: +SKIP
    PosixPath('/home/alice/.local/state/failover')
"""

from __future__ import annotations

import os
from pathlib import Path

from failover.errors import UsageError


def state_dir() -> Path:
    """Return the state directory: $XDG_STATE_HOME/failover, else ~/.local/state/failover."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "failover"


def private_dir(path: Path) -> Path:
    """Return `path` after creating it (mode 0700) and checking it is a real directory we own."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
    except OSError as exc:  # e.g. a parent of another user's: permission denied
        raise UsageError(f"cannot create {path}: {exc.strerror or exc}",
                         hint="set XDG_STATE_HOME to a directory of your own") from None
    if not path.is_dir() or path.is_symlink():
        raise UsageError(f"{path} is not a directory", hint="remove it; the tool recreates it")
    if st.st_uid != os.getuid():
        raise UsageError(f"{path} belongs to another user (uid {st.st_uid})",
                         hint="set XDG_STATE_HOME to a directory of your own")
    return path


def config_dir() -> Path:
    """Return the config directory: $XDG_CONFIG_HOME/failover, else ~/.config/failover."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "failover"
