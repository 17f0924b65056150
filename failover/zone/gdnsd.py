"""`gdnsd checkconf` on a rendered zone, in a throw-away config directory, as authdns would.

The config's zone-data options are the repository's own (`zone_data_options`); `$INCLUDE`
lines: a file found in the checkout (same relative path) is copied beside the zone, a file not
found is left out, its line turned into a comment so line numbers hold. A scratch directory a
killed run left behind is cleared by the next (`clear_leftovers`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from failover.zone.scan import ZoneError

CHECKCONF_TIMEOUT = 30.0
"""Seconds `gdnsd checkconf` may take before the validation gives up."""

_INCLUDE_RE = re.compile(r"^\$INCLUDE[ \t]+(\S+)", re.IGNORECASE | re.MULTILINE)

ZONE_DATA_OPTIONS = ("zones_strict_data", "zones_default_ttl", "experimental_no_chain",
                     "max_ttl", "min_ttl", "max_ncache_ttl")
"""gdnsd options about zone data, taken from the repository's own `config` for checkconf."""
PRODUCTION_ZONE_OPTIONS = {"zones_strict_data": "true", "zones_default_ttl": "3600",
                           "experimental_no_chain": "true"}
"""What operations/dns's `config` sets (2025): used when the checkout has no `config`."""

_OPTION_RE = re.compile(r"^[ \t]*(" + "|".join(ZONE_DATA_OPTIONS)
                        + r")[ \t]*=>?[ \t]*([A-Za-z0-9_]+)", re.MULTILINE)


def zone_data_options(checkout: Path | None) -> dict[str, str]:
    """Return the zone-data options of the checkout's gdnsd `config` (production's if none)."""
    path = checkout / "config" if checkout is not None else None
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path else None
    except OSError:
        text = None
    if text is None or "options" not in text:
        return dict(PRODUCTION_ZONE_OPTIONS)
    return {m.group(1): m.group(2) for m in _OPTION_RE.finditer(text)}


TMP_PREFIX = "fo-gdnsd-"
"""gdnsd checkconf's scratch directories: `fo-gdnsd-<pid>-XXXX` in the temp directory."""


def clear_leftovers(tmpdir: str | None = None) -> list[Path]:
    """Remove (and return) this user's scratch directories whose process is gone.

    A SIGKILL during `prepare` leaves one (no `finally` runs); the next validation clears
    it. A directory of a running process, or of another user, is left alone.
    """
    root = Path(tmpdir or tempfile.gettempdir())
    removed = []
    for path in root.glob(f"{TMP_PREFIX}*-*"):
        pid = path.name[len(TMP_PREFIX):].split("-", 1)[0]
        try:
            if not pid.isdigit() or path.lstat().st_uid != os.getuid() or \
                    not path.is_dir() or path.is_symlink() or _alive(int(pid)):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    """Return True when process `pid` exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gdnsd_checkconf(gdnsd: str, rendered: str, *, path: str, zone: str,
                    checkout: Path | None = None, timeout: float = CHECKCONF_TIMEOUT,
                    options: dict[str, str] | None = None) -> None:
    """Return None when `gdnsd checkconf` accepts the rendered zone, else raise ZoneError.

    `options` (e.g. `{"zones_strict_data": "true"}`) go into the config's `options` block.
    """
    zone = zone.rstrip(".")
    clear_leftovers()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))  # $TMPDIR, else /tmp
    try:
        zones = tmp / "zones"
        for sub in ("zones", "run", "state"):
            (tmp / sub).mkdir()
        (tmp / "config").write_text(
            "options => {\n"
            "  listen => [ 127.0.0.1:53 ]\n"
            f"  run_dir => {tmp / 'run'}\n"
            f"  state_dir => {tmp / 'state'}\n"
            + "".join(f"  {k} = {v}\n" for k, v in (options or {}).items())
            + "}\n", encoding="utf-8")
        body = _resolve_includes(rendered, zones, checkout)
        (zones / zone).write_bytes(body.encode("utf-8", "surrogateescape"))
        run_checkconf(gdnsd, tmp, zones / zone, path=path, timeout=timeout,
                      by_hand="run `gdnsd checkconf` by hand on the rendered zone")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_checkconf(gdnsd: str, tmp: Path, zone_path: Path, *, path: str, timeout: float,
                  by_hand: str, config: str = "", also: str = "") -> None:
    """Run `gdnsd -c tmp checkconf`; raise ZoneError with its error lines when it refuses.

    `by_hand` is the hint on a timeout; `config` (" with the repository's own config") and
    `also` (" (utils/deploy-check.py refuses it too)") complete the refusal's words.
    """
    try:
        proc = subprocess.run([gdnsd, "-c", str(tmp), "checkconf"], capture_output=True,
                              text=True, errors="replace", timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ZoneError(f"{path}: gdnsd checkconf did not finish within {timeout:g}s",
                        hint=by_hand) from None
    if proc.returncode != 0:
        said = [ln.replace(str(zone_path), f"{path} (rendered)").replace(str(tmp), "...")
                for ln in (proc.stderr + proc.stdout).splitlines()
                if ln.startswith(("error:", "fatal:"))] or [f"exit {proc.returncode}"]
        raise ZoneError(
            f"{path}: gdnsd checkconf refuses the rendered zone{config} "
            f"(exit {proc.returncode}):\n  " + "\n  ".join(said),
            hint=f"fix the zone as gdnsd says{also}; nothing was committed")


def _resolve_includes(rendered: str, zones: Path, checkout: Path | None) -> str:
    """Return the zone with each $INCLUDE either served from the checkout or commented out."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        rel = Path(name)
        if checkout is not None and not rel.is_absolute() and ".." not in rel.parts:
            src = checkout / rel
            if src.is_file():
                dest = zones / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                return m.group(0)
        return f"; {m.group(0)} (left out: not in the checkout)"

    return _INCLUDE_RE.sub(one, rendered)
