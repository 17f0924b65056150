"""Start-up figure: `failover --version` against a bare Typer app that only prints a version.

Both run by the same Python, several times each; the ratio of the medians shows what the
tool adds to the framework's own start-up (target: under 1.5x).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import Figure

RUNS = 7
"""Runs of each command; the median is reported."""

BARE_APP = '''
from typing import Annotated

import typer

app = typer.Typer(pretty_exceptions_enable=False)


def print_version(value: bool) -> None:
    if value:
        print("bare 0.0")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=print_version,
                                                is_eager=True)] = False) -> None:
    """A bare app."""


@app.command()
def hello() -> None:
    """A command, so the callback is a group callback as in failover."""


app()
'''

FAILOVER = "import sys; from failover.cli import main; sys.argv[0] = 'failover'; main()"
"""What the `failover` console script runs."""
# The bare app prints its version the way failover does (an eager option callback): with a
# plain option handled in the callback body, Typer 0.29 coerces it through pydantic
# (~80 ms more), which would flatter the ratio.


def median_wall(argv: list[str]) -> float:
    """Return the median wall time of RUNS runs of `argv` (one untimed warm-up first)."""
    subprocess.run(argv, capture_output=True, timeout=60, check=True)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, timeout=60, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> list[Figure]:
    """Return the two medians and their ratio."""
    with tempfile.TemporaryDirectory(prefix="fo-bench-") as work:
        bare = Path(work) / "bare.py"
        bare.write_text(BARE_APP)
        bare_s = median_wall([sys.executable, str(bare), "--version"])
        ours_s = median_wall([sys.executable, "-c", FAILOVER, "--version"])
    ratio = ours_s / bare_s
    return [
        Figure(f"bare Typer app --version (median of {RUNS})", f"{bare_s * 1000:.0f} ms"),
        Figure(f"failover --version (median of {RUNS})", f"{ours_s * 1000:.0f} ms"),
        Figure("failover --version / bare Typer app", f"{ratio:.2f}x", "< 1.5x", ratio < 1.5),
    ]


if __name__ == "__main__":
    for fig in run():
        print(fig)
