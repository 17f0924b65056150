"""The Server Admin Log: `!log` lines sent to a tcpircbot relay, the way cookbooks do it.

wmflib's `irc.SALSocketHandler` does the sending: one TCP connection per line (1 s timeout),
`!log <user>@<host> <message>` in UTF-8, then close. WMCS cookbooks put the Cloud VPS project
first and the task last: `!log alice@cumin1002 admin START - failover promote eqiad1
cloudcontrol1004 (maintenance) (T12345)`. A relay that is down or slow costs at most that
second and is reported, never raised: the SAL is a courtesy, the failover is the job.

Examples:
    >>> message = sal_message("START", request)                        # doctest: +SKIP
    >>> send_sal(SalConfig("127.0.0.1", 9201), message, user="alice")  # doctest: +SKIP
    SalResult(line='!log alice@host admin START - ...', error=None)
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from wmflib.irc import SALSocketHandler

if TYPE_CHECKING:
    from failover.config import SalConfig


class Asked(Protocol):
    """What a SAL line says of the run: the operator's request (a promote's), read only."""

    @property
    def region(self) -> str:
        """The NAME moved."""
        ...

    @property
    def target(self) -> str:
        """Where it moves."""
        ...

    @property
    def reason(self) -> str | None:
        """--reason, if given."""
        ...

    @property
    def tasks(self) -> list[str]:
        """Every --bug task, in order."""
        ...

    @property
    def action(self) -> str | None:
        """"depool" or "pool" (then `member` is moved, not `target`); None: a promote."""
        ...

    @property
    def member(self) -> str | None:
        """The member a depool or pool moves."""
        ...


@dataclass(frozen=True)
class SalResult:
    """One SAL line: what was (or would be) sent, and the error if it could not be."""

    line: str
    error: str | None = None


def sal_message(phase: str, request: Asked, *, project: str = "",
                exit_code: int | None = None,
                durations: Mapping[str, float] | None = None) -> str:
    """Return the message after `!log user@host`: project, phase, the command, reason, task.

    `phase` is START, END (PASS) or END (FAIL); a failure names its exit code; an END says
    the run's `durations` (`(push_to_merge=12.3s)`).
    """
    what = f"{request.action} {request.region} {request.member or ''}" if request.action \
        else f"promote {request.region} {request.target}"  # depool/pool: the member
    text = f"{phase} - failover {what}"
    if request.reason:
        text += f" ({request.reason})"
    if exit_code:
        text += f" (exit_code={exit_code})"
    if durations:
        text += " (" + " ".join(f"{k}={v:.1f}s" for k, v in durations.items()) + ")"
    if request.tasks:  # every task, as the WMCS cookbooks log them: (T1, T2)
        text += f" ({', '.join(request.tasks)})"
    text = " ".join(text.split())  # one line: a newline would end the relay's message
    return f"{project} {text}" if project else text


def sal_line(message: str, *, user: str, host: str) -> str:
    """Return the exact line the relay receives for `message`."""
    return f"!log {user}@{host} {message}"


class _Handler(SALSocketHandler):
    """wmflib's handler, keeping its error instead of printing a traceback."""

    error: str | None = None

    # logging.Handler.handleError prints "--- Logging error ---" and a traceback to stderr
    # (which --json leaves to people, but not for that); the error is kept and reported once,
    # as a warning and an audit line.
    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        if isinstance(exc, TimeoutError | socket.timeout):
            reason = "no answer within 1s"
        self.error = f"SAL relay {self.addr[0]}:{self.addr[1]}: {reason or 'failed'}"


def send_sal(cfg: SalConfig, message: str, *, user: str) -> SalResult:
    """Send one `!log` line to the relay; return what was sent and the error, if any."""
    handler = _Handler(cfg.host, cfg.port, user)
    line = sal_line(message, user=user, host=handler.hostname)
    record = logging.LogRecord("failover.sal", logging.INFO, __file__, 0, message, None, None)
    handler.handle(record)
    return SalResult(line, handler.error)
