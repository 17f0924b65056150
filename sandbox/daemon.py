"""Run one real server program of the sandbox (Alertmanager, node_exporter) for a block.

Started as its own process, output to a log file; ready when an HTTP GET of `ready_url`
answers 200; terminated (then killed) when the block ends.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

READY_TIMEOUT = 15.0
"""Seconds a program may take to answer its readiness URL."""


@contextmanager
def serve(argv: Sequence[str], log_path: Path, ready_url: str,
          what: str) -> Iterator[subprocess.Popen[bytes]]:
    """Yield the running process of `argv` once `ready_url` answers 200; stop it on exit."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            _wait_ready(ready_url, proc, log_path, what)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    end = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: " + log.read_text()[-500:])
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} on {url} not ready within {READY_TIMEOUT:g}s")
