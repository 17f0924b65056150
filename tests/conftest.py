"""Shared fixtures: run the CLI in-process exactly as the console script does; write configs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from failover import cli
from tests import ordering

# -- Python's bytecode cache, on for the suite and every Python it starts ------------------------

PYC_CACHE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "pyc"
"""Where the suite's bytecode goes when the shell says PYTHONDONTWRITEBYTECODE (gitignored)."""


def bytecode_cache_on() -> None:
    """Turn Python's bytecode cache back on when the shell turned it off, under PYC_CACHE.

    With PYTHONDONTWRITEBYTECODE=1 every pytest worker rewrites and compiles every test module
    and plugin again, and every `failover`, hook or helper a test starts compiles its modules
    again: seconds of CPU a worker, a tenth of a second a process, for nothing. The environment
    changed here is the one the xdist workers and the tests' subprocesses inherit; the checkout
    gets no __pycache__ (as benchmarks/bench_whole.py)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or str(PYC_CACHE)
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.dont_write_bytecode = False
    sys.pycache_prefix = prefix


bytecode_cache_on()

# -- the order of the modules (tests/ordering.py): the longest first, for the parallel workers --

_recorder = ordering.Recorder()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sort the collection by module, the longest modules first."""
    items[:] = ordering.longest_first(items, ordering.known_seconds(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Hand every xdist worker the controller's seconds, so that all collect one order."""
    node.workerinput["module_seconds"] = ordering.known_seconds(node.config)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the seconds of each module (on the controller, or the only process)."""
    _recorder.add(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Keep the run's seconds per module for the next run's order (not in a worker)."""
    if not hasattr(session.config, "workerinput"):
        _recorder.store(session.config, int(exitstatus))


@dataclass
class CliResult:
    """What one run of the command line gave: exit code, stdout and stderr."""

    code: int
    stdout: str
    stderr: str


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Return a function that runs `failover ARGS...` through cli.main and captures it."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FAILOVER_DEBUG", raising=False)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["failover", *args])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def region_toml(region: str, stats: dict[str, str], *, targets: dict[str, str] | None = None,
                fqdn: str | None = None, services: list[str] | None = None) -> str:
    """Return the TOML of one region: `stats` maps each controller to its stats URL.

    A controller's target is `<name>.wikimedia.org.` unless `targets` names another; the
    fqdn is `openstack.<region>.wikimediacloud.org` unless given; `services` (HAProxy names) when
    given, else the default list.
    """
    lines = [f"[regions.{region}]", f'fqdn = "{fqdn or f"openstack.{region}.wikimediacloud.org"}"']
    if services is not None:
        lines.append("services = [" + ", ".join(f'"{s}"' for s in services) + "]")
    for name, url in stats.items():
        target = (targets or {}).get(name, f"{name}.wikimedia.org.")
        lines += [f"[regions.{region}.controllers.{name}]", f'target = "{target}"',
                  f'stats = "{url}"']
    return "\n".join(lines) + "\n"


ConfigFile = Callable[..., Path]


@pytest.fixture
def config_file(tmp_path: Path) -> ConfigFile:
    """Return a function that writes `parts` (TOML texts) to a config file in tmp_path."""

    def write(*parts: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(parts), encoding="utf-8")
        return path

    return write


def make_checkout(path: Path) -> Path:
    """Return `path` made a checkout of operations/dns as `failover promote` opens it: a git
    work tree with `.gitreview`, `templates/` and the review remote (nothing pushed)."""
    import subprocess

    from sandbox.dnsrepo import gitreview_text

    (path / "templates").mkdir(parents=True)
    (path / ".gitreview").write_text(gitreview_text(29418))
    for args in (["init", "--quiet"], ["remote", "add", "origin", "http://127.0.0.1:9/r/dns"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, timeout=30)
    return path
