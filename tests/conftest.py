"""Shared fixtures: run the CLI in-process exactly as the console script does."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from failover import cli


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
