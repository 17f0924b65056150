"""Run every benchmark in this folder and print one table of figures (`make bench`).

Each `benchmarks/bench_*.py` module has `run() -> list[Figure]`. Figures are printed, never
asserted: a target missed is shown, not failed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One measured figure: what, the value with its unit, the target, and whether it is met."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None


def discover() -> list[str]:
    """Return the names of the benchmark modules, in name order."""
    here = Path(__file__).resolve().parent
    return sorted(f"benchmarks.{m.name}" for m in pkgutil.iter_modules([str(here)])
                  if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    """Run the benchmarks named in argv (substring match), or all; print the table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="failover benchmarks")
    for col in ("benchmark", "figure", "target", "met"):
        table.add_column(col)
    for name in discover():
        if argv and not any(a in name for a in argv):
            continue
        module = importlib.import_module(name)
        print(f"running {name} ...", file=sys.stderr, flush=True)
        for fig in module.run():
            met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[fig.met]
            table.add_row(fig.name, fig.value, fig.target, met)
    Console(width=120).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
