"""A real OpenSSH server on 127.0.0.1, with a temporary host key and authorized key.

For the tests of stats read through SSH: the server lets this machine's user log in with a
key made for it; client configs (for `[haproxy] ssh_config`, i.e. `ssh -F`) point at a temp
known_hosts and key, so the operator's own ~/.ssh is never read or written.

Examples:
    >>> with start_sshd() as sshd:                                       # doctest: +SKIP
    ...     url = sshd.url("/tmp/fo-hap-x/cloudcontrol1003.sock")
    ...     config = sshd.client_config()            # known host key, the authorized key
    ...     stranger = sshd.client_config("stranger", known_host=False)
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.backends import free_port
from sandbox.haproxy import SandboxError

SSHD = "/usr/sbin/sshd"
"""The OpenSSH server (Debian package openssh-server); it wants an absolute path."""

PRIVSEP_DIR = Path("/run/sshd")
"""The privilege separation directory sshd insists on when run as root (Debian makes it at boot)."""

START_TIMEOUT = 10.0
"""Seconds sshd may take to show its banner."""


def ssh_keygen(path: Path, comment: str) -> Path:
    """Return `path` after writing a new ed25519 key pair there (no passphrase)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f",
                    str(path)], check=True, capture_output=True, timeout=30)
    return path


@dataclass
class SandboxSshd:
    """One running sshd: its directory, port, keys, and the process."""

    workdir: Path
    port: int
    user: str
    host_key: Path
    client_key: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Return the file sshd's log (`-e`: to stderr) goes to."""
        return self.workdir / "sshd.log"

    def url(self, path: str = "", query: str = "") -> str:
        """Return an `ssh://user@127.0.0.1:PORT/path[?query]` stats URL for this server."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def write_server_config(self) -> Path:
        """Write and return sshd_config: loopback only, keys only, files in the workdir."""
        path = self.workdir / "sshd_config"
        path.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            "StrictModes no", "UsePAM no", "PermitRootLogin yes",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "AcceptEnv LANG LC_*", "LogLevel INFO",
            # the classic elliptic-curve key exchange, not OpenSSH 9's default sntrup761 hybrid:
            # its client-side key generation costs ~0.1 s of CPU a connection (7x), and the
            # tests open hundreds (git over ssh, stats reads); Gerrit's own sshd (Apache MINA)
            # offers curve25519 and no sntrup761 either
            "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org",
            # bash sources ~/.bashrc for a command sshd starts only at SHLVL 1: a sandbox
            # session (a forced command, a stats read) needs none of the user's rc files,
            # which can cost a second a connection (e.g. `pyenv init`)
            "SetEnv SHLVL=1", "",
        ]))
        return path

    def client_config(self, name: str = "client", *, known_host: bool = True,
                      key: Path | None = None) -> Path:
        """Return an ssh client config file for `ssh -F`.

        `known_host=False` gives an empty known_hosts (host key unknown); `key` replaces the
        authorized key (e.g. one the server does not know).
        """
        known = self.workdir / f"{name}.known_hosts"
        host_key = " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])
        known.write_text(f"[127.0.0.1]:{self.port} {host_key}\n" if known_host else "")
        path = self.workdir / f"{name}.ssh_config"
        path.write_text("\n".join([
            "Host *", f"  User {self.user}", f"  IdentityFile {key or self.client_key}",
            "  IdentitiesOnly yes", "  IdentityAgent none",
            f"  UserKnownHostsFile {known}", "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes", "  UpdateHostKeys no", "  ControlMaster no",
            "  ControlPath none", "  LogLevel ERROR", "",
        ]))
        return path

    def start(self) -> None:
        """Start sshd in the foreground and return once it shows its SSH banner."""
        if self.process is not None and self.process.poll() is None:
            return
        if os.geteuid() == 0:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        config = self.write_server_config()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not _banner(self.port):
            if self.process.poll() is not None:
                raise SandboxError(f"sshd exited with {self.process.returncode}: "
                                   f"{self._log_tail()}")
            if time.monotonic() > deadline:
                raise SandboxError(f"sshd not answering after {START_TIMEOUT:g}s: "
                                   f"{self._log_tail()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop sshd (SIGTERM, then SIGKILL) and its session's processes; the port then refuses."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-3:])
        except OSError:
            return "(no log)"


def _banner(port: int) -> bool:
    """Return True if 127.0.0.1:port answers with an SSH banner."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def sshd_available() -> bool:
    """Return True when sshd and ssh-keygen are installed (tests skip without them)."""
    return Path(SSHD).exists() and shutil.which("ssh-keygen") is not None \
        and shutil.which("ssh") is not None


@contextlib.contextmanager
def start_sshd(workdir: Path | None = None) -> Iterator[SandboxSshd]:
    """Yield a running SandboxSshd on a free 127.0.0.1 port; stop it (and clean up) on exit."""
    own = workdir is None
    work = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="fo-ssh-", dir="/tmp"))
    try:
        host_key = ssh_keygen(work / "host_key", "failover-sandbox-host")
        client_key = ssh_keygen(work / "client_key", "failover-sandbox-client")
        shutil.copyfile(f"{client_key}.pub", work / "authorized_keys")
        server = SandboxSshd(work, free_port(), getpass.getuser(), host_key, client_key)
        try:
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
