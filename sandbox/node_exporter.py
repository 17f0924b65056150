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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from sandbox.backends import free_port
from sandbox.daemon import serve

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
    url = f"http://127.0.0.1:{port}/metrics"
    argv = [BINARY, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
            "--collector.textfile", f"--collector.textfile.directory={textfile_dir}"]
    with serve(argv, textfile_dir.parent / "node_exporter.log", url, "node_exporter") as proc:
        yield NodeExporter(url, textfile_dir, proc)
