"""The real Alertmanager (Debian `prometheus-alertmanager`) on a 127.0.0.1 port.

Started as its own process with a minimal configuration (one receiver, no notification
sent anywhere), no cluster (`--cluster.listen-address=`) and a temporary storage path; the
packaged service is never started. Ready when `/-/ready` answers (about 0.1 s).

Examples:
    >>> with start_alertmanager(Path("/tmp/am")) as am:                 # doctest: +SKIP
    ...     requests.get(f"{am.url}/api/v2/silences", timeout=2).json()
    []
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.backends import free_port
from sandbox.daemon import serve

BINARY = "/usr/bin/prometheus-alertmanager"
"""Where Debian installs Alertmanager."""
CONFIG = """route:
  receiver: sandbox
receivers:
  - name: sandbox
"""
"""A configuration that routes every alert to a receiver that sends nothing."""


@dataclass
class Alertmanager:
    """A running Alertmanager: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]
    workdir: Path


def available() -> bool:
    """Return True if the Alertmanager binary is installed."""
    return shutil.which(BINARY) is not None


@contextmanager
def start_alertmanager(workdir: Path) -> Iterator[Alertmanager]:
    """Yield a running Alertmanager on 127.0.0.1; stop it on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(CONFIG, encoding="utf-8")
    port = free_port()
    argv = [BINARY, f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
            f"--storage.path={workdir / 'data'}", f"--config.file={workdir / 'alertmanager.yml'}"]
    url = f"http://127.0.0.1:{port}"
    with serve(argv, workdir / "alertmanager.log", f"{url}/-/ready", "alertmanager") as proc:
        yield Alertmanager(url, proc, workdir)
