"""The audit log: one JSON line per step and outcome of every run, whatever its result.

Written to `$XDG_STATE_HOME/failover/audit.log` (or `[audit] log`), mode 0600, never through a
symlink. Records hold who, when, region, from, to, reason, bug, change URL and result; never a
secret (the callers pass no credentials, and URLs are redacted here).
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import socket
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failover.errors import UsageError
from failover.paths import private_dir, state_dir
from failover.redact import redact_text, redact_value


def default_audit_path() -> Path:
    """Return where the audit log is written when the config names no `[audit] log`."""
    return state_dir() / "audit.log"


@dataclass
class AuditLog:
    """Appends records of one run; every record carries the run's identity fields."""

    path: Path
    context: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def record(self, step: str, result: str, **details: Any) -> dict[str, Any]:
        """Append one line for `step` with `result` (ok, failed, skipped, ...); return it."""
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "run": self.run_id,
            "user": getpass.getuser(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **self.context,
            "step": step,
            "result": result,
            **{k: _clean(v) for k, v in details.items()},
        }
        append_line(self.path, redact_text(json.dumps(entry, default=str)))
        return entry


def _clean(value: Any) -> Any:
    return redact_value(value)


def append_line(path: Path, line: str) -> None:
    """Append `line` and a newline to `path` (created 0600), never following a symlink."""
    if path.parent == state_dir():
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # non-blocking: a FIFO without a reader fails at once (ENXIO) instead of waiting
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                     | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"audit log {path} is a symlink; refusing to follow it",
                             hint="remove it and run again") from None
        if exc.errno == errno.ENXIO:
            raise UsageError(f"audit log {path} is not a regular file (a FIFO)",
                             hint="set [audit] log to a regular file") from None
        raise UsageError(f"cannot write the audit log {path}: {exc.strerror}",
                         hint="set [audit] log to a writable file") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO with a reader, a device, ...
        os.close(fd)
        raise UsageError(f"audit log {path} is not a regular file",
                         hint="set [audit] log to a regular file")
    data = (line + "\n").encode()
    try:
        size = os.fstat(fd).st_size
        written = os.write(fd, data)  # one write of the whole line: never interleaved
        if written != len(data):  # a full disk or a file size limit cut it: take it back
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_size == size + written:  # nobody appended meanwhile
                    os.ftruncate(fd, size)
            raise OSError(errno.EFBIG, f"only {written} of {len(data)} bytes written "
                                       "(disk full or file too large)")
    finally:
        os.close(fd)
