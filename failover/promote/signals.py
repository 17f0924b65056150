"""Stopping a promote cleanly: the first SIGINT, SIGTERM or SIGHUP stops it, later ones wait.

`interrupt_on_sigterm()` arms the handlers around a run; `deferred_signals()` holds a signal
back over a short critical section (creating the temporary worktree), so nothing is half made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class _Stopping:
    """The signal state of a run: the first signal stops it, later ones are ignored.

    A second Ctrl-C (or SIGTERM/SIGHUP) arriving while the run cleans up, records its
    outcome or prints its report would cut that short (a traceback, no JSON, an outcome left
    `pending`): only the first one raises. `deferred` blocks delay it past a short critical
    section (creating the temporary worktree), so nothing is half made.
    """

    stopping = False
    deferred = 0
    pending = False


STOP = _Stopping()


def _on_signal(signum: int, frame: object) -> None:
    if STOP.stopping:
        return
    if STOP.deferred:
        STOP.pending = True
        return
    STOP.stopping = True
    raise KeyboardInterrupt


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Within the block a stopping signal waits; it is raised when the block ends."""
    STOP.deferred += 1
    try:
        yield
    finally:
        STOP.deferred -= 1
        if not STOP.deferred and STOP.pending and not STOP.stopping:
            STOP.pending, STOP.stopping = False, True
            raise KeyboardInterrupt


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP stop the run once, cleanly.

    The first raises KeyboardInterrupt, so the run cleans up as on Ctrl-C (SIGHUP: the
    operator's ssh session dropped); any later one is ignored, also after the block when the
    run was stopped, so the report and the JSON document are printed whole.
    """
    import signal

    names = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    STOP.stopping, STOP.deferred, STOP.pending = False, 0, False
    old = {signum: signal.signal(signum, _on_signal) for signum in names}
    try:
        yield
    finally:
        for signum, handler in old.items():  # stopped: ignored until the exit, which the
            signal.signal(signum, signal.SIG_IGN if STOP.stopping else handler)  # reports
