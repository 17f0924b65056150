"""Stopping a promote cleanly: the first SIGINT, SIGTERM or SIGHUP stops it, later ones wait.

`interrupt_on_sigterm()` arms the handlers around a run; `deferred_signals()` holds a signal
back over a short critical section (creating the temporary worktree), so nothing is half made;
`outside_call()` marks a call to an outside system (SAL, Alertmanager, Phabricator), which any
signal ends at once, even in the shielded end of a run: the caller records it and goes on.
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
    outside = 0
    """Calls to an outside system under way: a signal ends them whatever the state above."""


STOP = _Stopping()


def _on_signal(signum: int, frame: object) -> None:
    if STOP.outside:  # waiting on an outside system is never worth a signal ignored
        STOP.stopping = True
        raise KeyboardInterrupt
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
def outside_call() -> Iterator[None]:
    """Within the block (one call to an outside system), a stopping signal raises
    KeyboardInterrupt at once, also in a deferred section or after a first signal."""
    STOP.outside += 1
    try:
        yield
    finally:
        STOP.outside -= 1


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP stop the run once, cleanly.

    The first raises KeyboardInterrupt, so the run cleans up as on Ctrl-C (SIGHUP: the
    operator's ssh session dropped); any later one is ignored, also after the block when the
    run was stopped, so the report and the JSON document are printed whole.
    """
    import signal

    names = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    STOP.stopping, STOP.deferred, STOP.pending, STOP.outside = False, 0, False, 0
    old = {signum: signal.signal(signum, _on_signal) for signum in names}
    try:
        yield
    finally:
        for signum, handler in old.items():  # stopped: ignored until the exit, which the
            signal.signal(signum, signal.SIG_IGN if STOP.stopping else handler)  # reports
