"""One bounded subprocess runner: git (repo), ssh (haproxy/ssh) and the deploy all run here.

Always an argv list (never a shell), always a timeout. When the timeout passes, or the run is
interrupted (Ctrl-C, SIGTERM, SIGHUP arrive as exceptions), the child is killed and reaped,
so nothing keeps running behind the tool. With `group` (or `session`) the child leads its own
process group and the whole group is ended: SIGTERM, then SIGKILL after `grace` seconds
(`grace=0`: SIGKILL at once), so a child of the child (a script's `sleep &`, an ssh
ProxyCommand) does not outlive it either. With `max_output`, only the first bytes of each
stream are kept (the rest is read and dropped), so a chatty child (`yes`) costs neither memory
nor time beyond its timeout.

Examples:
    >>> run(["true"], timeout=5).code
    0
    >>> run(["sleep", "5"], timeout=0.1).timed_out
    True
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_GROUPS: set[int] = set()
"""Process groups of the grouped children running now (`end_all` ends them)."""

REAP_WAIT = 2.0
"""Seconds to read what a killed child's pipes still hold before they are closed."""


@dataclass(frozen=True)
class Finished:
    """How a run ended: exit code (None: killed after the timeout), stdout and stderr text."""

    code: int | None
    stdout: str = ""
    stderr: str = ""

    @property
    def timed_out(self) -> bool:
        """Return True when the child was killed because the timeout passed."""
        return self.code is None


def run(argv: Sequence[str], *, timeout: float, cwd: Path | None = None,
        env: Mapping[str, str] | None = None, stdin: str | None = None,
        capture: bool = True, stdout_fd: int | None = None, group: bool = False,
        session: bool = False, grace: float = 0.0,
        during: Callable[[int], AbstractContextManager[object]] | None = None,
        max_output: int | None = None) -> Finished:
    """Return how `argv` ended, run for at most `timeout` seconds.

    `stdin`: text for its stdin (else /dev/null when capturing, the terminal otherwise).
    `capture`: read stdout and stderr (decoded, bad bytes replaced); else stdout goes to
    `stdout_fd` (None: ours) and stderr is ours. `group`/`session`: the child leads its own
    process group (a new session also has no controlling terminal) and is ended as a group.
    `during(pid)`: a context entered around the wait (e.g. giving it the terminal).
    `max_output`: keep at most this many bytes of each stream (capture, no `stdin`).

    Raises:
        OSError: the program cannot be started (FileNotFoundError, PermissionError).
        BaseException: an interrupt during the wait, after the child was ended.
    """
    pipe = subprocess.PIPE if capture else None
    capped = capture and max_output is not None and stdin is None
    text = capture and not capped
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if stdin is not None else (subprocess.DEVNULL if capture else None),
        stdout=pipe if capture else stdout_fd, stderr=pipe, text=text,
        encoding="utf-8" if text else None,
        errors="replace" if text else None, start_new_session=session,
        process_group=0 if group and not session else None)
    grouped = group or session
    if grouped:
        _GROUPS.add(proc.pid)
    try:
        with during(proc.pid) if during is not None else contextlib.nullcontext():
            if capped:
                assert max_output is not None
                out, err = _read_capped(proc, timeout, max_output)
            elif capture:
                out, err = proc.communicate(stdin, timeout=timeout)
            else:
                proc.wait(timeout=timeout)
                out = err = ""
    except BaseException as exc:  # the timeout, Ctrl-C, SIGTERM
        end(proc, grouped=grouped, grace=grace)
        if isinstance(exc, subprocess.TimeoutExpired):
            return Finished(None)
        raise
    finally:
        _GROUPS.discard(proc.pid)
    return Finished(proc.returncode, out or "", err or "")


def end_all() -> None:
    """SIGKILL the process group of every grouped child still running (from any thread).

    For a process that ends while a thread still waits on a child (`check`'s watchdog, or its
    answer given before a late health command ended): nothing it started outlives it.
    """
    for pgid in list(_GROUPS):
        _signal_group(pgid, signal.SIGKILL)


def _read_capped(proc: subprocess.Popen[Any], timeout: float, cap: int) -> tuple[str, str]:
    """Return the first `cap` bytes of `proc`'s stdout and stderr (decoded) once it has ended;
    the rest is read and dropped. subprocess.communicate would keep all of it.

    Raises:
        subprocess.TimeoutExpired: `proc` still runs (or holds its pipes) after `timeout`.
    """
    deadline = time.monotonic() + timeout
    kept: dict[int, bytearray] = {}
    with selectors.DefaultSelector() as sel:
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            sel.register(stream.fileno(), selectors.EVENT_READ)
            kept[stream.fileno()] = bytearray()
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            for key, _ in sel.select(left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                room = cap - len(kept[key.fd])
                if room > 0:
                    kept[key.fd] += chunk[:room]
    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    assert proc.stdout is not None and proc.stderr is not None
    out, err = (kept[s.fileno()].decode("utf-8", "replace") for s in (proc.stdout, proc.stderr))
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return out, err


def end(proc: subprocess.Popen[Any], *, grouped: bool, grace: float = 0.0) -> None:
    """End `proc` (its whole group when `grouped`) and reap it; its pipes are closed."""
    if grouped:
        if grace > 0:
            _signal_group(proc.pid, signal.SIGTERM)
            _wait_group(proc, grace)
        _signal_group(proc.pid, signal.SIGKILL)
    else:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    if grouped and (proc.stdout is not None or proc.stderr is not None):
        with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
            proc.communicate(timeout=REAP_WAIT)  # the whole group is gone: EOF comes
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group(proc: subprocess.Popen[Any], grace: float) -> None:
    """Return when every process of `proc`'s group has ended, or after `grace` seconds."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(proc.pid):
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        else:
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
