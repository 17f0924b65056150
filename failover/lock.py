"""One failover at a time per checkout: a lock file held with flock for the whole run.

The lock lives in the checkout's own git directory (`$(git rev-parse --git-common-dir)/
failover.lock`): one lock per repository, shared by every user, state directory and worktree
of it, and outside the work tree (nothing of the operator's changes). The kernel releases a
flock when its process dies, so a lock left by a killed run is never in the way; its leftover
file still says who held it, and that is reported as a stale lock taken over.

Examples:
    >>> with FailoverLock.for_checkout(Path("~/src/operations/dns"), "eqiad1 -> cc1004"):
    ...     pass                                                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import getpass
import json
import logging
import os
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from failover.errors import GateRefused, UsageError
from failover.paths import private_dir, state_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a lock: user, host, pid, start time and what it is doing."""

    user: str
    host: str
    pid: int
    started: float
    purpose: str

    def describe(self) -> str:
        """Return one line naming the holder, e.g. for a refused run."""
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.started))
        return f"{self.user}@{self.host} pid {self.pid} since {when} ({self.purpose})"


class FailoverLock:
    """An exclusive, non-blocking lock on one checkout; a context manager."""

    def __init__(self, path: Path, purpose: str) -> None:
        self.path = path
        self.purpose = purpose
        self.stale: LockHolder | None = None
        self._fd: int | None = None

    @classmethod
    def for_checkout(cls, checkout: Path, purpose: str) -> FailoverLock:
        """Return the lock of `checkout` (not yet taken): `failover.lock` in its git common dir.

        Raises:
            UsageError: `checkout` is not a git checkout.
        """
        return cls(git_common_dir(checkout) / LOCK_NAME, purpose)

    def holder(self) -> LockHolder | None:
        """Return who holds the lock now, or None when it is free."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def acquire(self) -> FailoverLock:
        """Take the lock or raise GateRefused naming its holder; note a stale one taken over."""
        if self.path.parent.parent == state_dir():  # a lock of the state dir: ours, private
            private_dir(state_dir())
            private_dir(self.path.parent)
        for _ in range(5):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                who = holder.describe() if holder else "another process"
                raise GateRefused(
                    f"another failover holds the lock of this checkout: {who}",
                    hint=f"wait for it to finish; the lock file is {self.path}",
                ) from None
            if not _same_file(fd, self.path):  # unlinked by a releasing run meanwhile
                os.close(fd)
                continue
            self.stale = _read_holder(fd)
            if self.stale:
                logger.warning("taking over a stale lock left by %s", self.stale.describe())
            with contextlib.suppress(OSError):  # opened read-only: another user's file
                _write_holder(fd, self.purpose)
            self._fd = fd
            return self
        raise GateRefused(f"could not take the lock {self.path}", hint="try again")

    def release(self) -> None:
        """Release the lock and remove its file; safe to call twice."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError, PermissionError):
            self.path.unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def _open(self) -> int:
        flags = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            try:  # readable by all (who holds it is no secret); a flock needs no write access
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | flags, 0o644)
            except PermissionError:  # left by another user of a shared checkout
                fd = os.open(self.path, os.O_RDONLY | flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"{self.path} is a symlink; refusing to follow it",
                                 hint="remove it and run again") from None
            raise UsageError(f"cannot open the lock file {self.path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(f"the lock file {self.path} is not a regular file",
                             hint="remove it and run again")
        return fd

    def __enter__(self) -> FailoverLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


LOCK_NAME = "failover.lock"
"""The lock's file name in the checkout's git common dir."""


def flock_within(fd: int, seconds: float) -> None:
    """Take an exclusive flock on `fd`, waiting up to `seconds` while another process holds it.

    Raises:
        OSError: still held after `seconds` (EAGAIN), or flock itself failed.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def git_common_dir(checkout: Path) -> Path:
    """Return the absolute git common dir of `checkout` (shared by all its worktrees).

    Raises:
        UsageError: `checkout` is not a git checkout (or git cannot tell in 30 s).
    """
    path = checkout.expanduser()
    try:
        done = subprocess.run(["git", "-C", str(path), "rev-parse", "--path-format=absolute",
                               "--git-common-dir"], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot read the git directory of {path}: {exc}") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(f"{path} is not a git checkout",
                         hint="clone operations/dns there, or fix [dns] checkout")
    return Path(done.stdout.strip())


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "null")
        if not data:
            return None
        return LockHolder(user=str(data["user"]), host=str(data["host"]), pid=int(data["pid"]),
                          started=float(data["started"]), purpose=str(data["purpose"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, OSError):
        return None


def _write_holder(fd: int, purpose: str) -> None:
    data = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
            "started": time.time(), "purpose": purpose}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(data).encode(), 0)
