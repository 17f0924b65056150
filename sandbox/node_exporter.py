"""The real node_exporter (Debian `prometheus-node-exporter`) on a 127.0.0.1 port, serving a
textfile directory only.

Started as its own process with every default collector off but the textfile collector
(`--collector.disable-defaults --collector.textfile`), reading the `*.prom` files of one
temporary directory; the packaged service is never started. Ready when `/metrics` answers.

Examples:
    >>> with start_node_exporter(Path("/tmp/textfile")) as ne:          # doctest: +SKIP
    ...     "node_textfile_scrape_error 0" in requests.get(ne.metrics_url, timeout=2).text
    True
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from sandbox.backends import free_port

BINARY = "/usr/bin/prometheus-node-exporter"
"""Where Debian installs node_exporter."""


@dataclass
class NodeExporter:
    """A running node_exporter: its /metrics URL, the textfile directory, its process."""

    metrics_url: str
    textfile_dir: Path
    process: subprocess.Popen[bytes]

    def metrics(self) -> str:
        """Return one scrape of /metrics."""
        answer = requests.get(self.metrics_url, timeout=5)
        answer.raise_for_status()
        return answer.text


def available() -> bool:
    """Return True if the node_exporter binary is installed."""
    return shutil.which(BINARY) is not None


@contextmanager
def start_node_exporter(textfile_dir: Path) -> Iterator[NodeExporter]:
    """Yield a node_exporter on 127.0.0.1 reading `textfile_dir`; stop it on exit."""
    textfile_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = textfile_dir.parent / "node_exporter.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [BINARY, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
             "--collector.textfile", f"--collector.textfile.directory={textfile_dir}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            _wait_ready(url, proc, log_path)
            yield NodeExporter(url, textfile_dir, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("node_exporter exited: " + log.read_text()[-500:])
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"node_exporter on {url} not ready within 15s")
