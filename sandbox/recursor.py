"""A real PowerDNS Recursor (Debian's pdns-recursor 4.x) on 127.0.0.1, forwarding the sandbox's
zones to its gdnsd.

Everything lives in a temporary directory: its recursor.conf (4.x: key=value), its control
socket (`rec_control --socket-dir=DIR`), no daemon, no pid file, no system path. It never
sends a query off loopback: the forwarded zones go to the sandbox's gdnsd, the root hints
name a loopback address (127.0.0.0/8 is in the default `dont-query`, so priming fails at
once), and the security poll is off.

Examples:
    >>> with start_recursor(Path("/tmp/r"), {"wikimediacloud.org": ["127.0.0.1:40001"]}) as rec:
    ...     rec.wipe_argv()                                                # doctest: +SKIP
    ['rec_control', '--socket-dir=/tmp/r', 'wipe-cache', '{name}$']
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.gdnsd import free_port, terminate

PDNS_RECURSOR = "/usr/sbin/pdns_recursor"
"""The recursor (Debian package `pdns-recursor`)."""
REC_CONTROL = "rec_control"
"""Its control program."""
START_TIMEOUT = 10.0
"""Seconds the recursor may take to answer `rec_control ping`."""


def available() -> bool:
    """Return True when pdns_recursor and rec_control are installed."""
    return Path(PDNS_RECURSOR).exists() and shutil.which(REC_CONTROL) is not None


@dataclass
class Recursor:
    """A running pdns_recursor: its directory (config and control socket) and port."""

    workdir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Return "127.0.0.1:PORT"."""
        return f"127.0.0.1:{self.port}"

    def wipe_argv(self) -> list[str]:
        """Return the `[verify] recursors` wipe argv for this recursor ({name} placeholder)."""
        return [REC_CONTROL, f"--socket-dir={self.workdir}", "wipe-cache", "{name}$"]

    def control(self, *args: str) -> str:
        """Return what `rec_control ARGS` prints (raise CalledProcessError on failure)."""
        done = subprocess.run([REC_CONTROL, f"--socket-dir={self.workdir}", *args],
                              capture_output=True, text=True, timeout=5, check=True)
        return done.stdout

    def stop(self) -> None:
        """Stop the recursor (SIGTERM, then SIGKILL)."""
        proc, self.process = self.process, None
        terminate(proc)


def config_text(workdir: Path, port: int, forwards: Mapping[str, Sequence[str]]) -> str:
    """Return the recursor.conf (4.x syntax) of a loopback-only forwarding recursor."""
    zones = ",".join(f"{zone}={';'.join(servers)}" for zone, servers in forwards.items())
    return "\n".join([
        f"config-dir={workdir}", f"socket-dir={workdir}",
        "local-address=127.0.0.1", f"local-port={port}",
        "daemon=no", "write-pid=no", "disable-syslog=yes", "threads=1", "quiet=yes",
        f"forward-zones={zones}", "dnssec=off", "allow-from=127.0.0.0/8",
        f"hint-file={workdir / 'root.hints'}", "security-poll-suffix=",
        "max-negative-ttl=5", ""])


@contextlib.contextmanager
def start_recursor(workdir: Path, forwards: Mapping[str, Sequence[str]]) -> Iterator[Recursor]:
    """Yield a running recursor forwarding `forwards` ({zone: ["addr:port", ...]}); stop it on
    exit. The directory must be short (a unix socket path is at most 107 bytes)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "root.hints").write_text(
        ".  3600000  NS  a.root-servers.sandbox.\n"
        "a.root-servers.sandbox.  3600000  A  127.255.255.254\n")
    rec = Recursor(workdir, free_port())
    (workdir / "recursor.conf").write_text(config_text(workdir, rec.port, forwards))
    with (workdir / "recursor.log").open("wb") as log:
        rec.process = subprocess.Popen([PDNS_RECURSOR, f"--config-dir={workdir}"],
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)
    try:
        _wait_ready(rec)
        yield rec
    finally:
        rec.stop()


def _wait_ready(rec: Recursor) -> None:
    """Return once `rec_control ping` answers; raise RuntimeError if it dies or times out."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if rec.process is not None and rec.process.poll() is not None:
            tail = (rec.workdir / "recursor.log").read_text(errors="replace")[-500:]
            raise RuntimeError(f"pdns_recursor exited with {rec.process.returncode}: {tail}")
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            if "pong" in rec.control("ping"):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"pdns_recursor did not answer within {START_TIMEOUT:g}s")
        time.sleep(0.05)
