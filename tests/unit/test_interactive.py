"""Tests for failover.interactive: go/abort answers, no TTY refused, durable shell warning."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from failover.errors import GateRefused
from failover.interactive import ask_go_abort, durable_shell_warning


def answers(*values: str) -> Iterator[str]:
    yield from values


def test_go_proceeds_after_a_wrong_answer() -> None:
    it = answers("yes", "go")
    ask_go_abort("push?", ask=lambda _: next(it), isatty=lambda: True)


@pytest.mark.parametrize("replies", [("abort",), ("y", "n", "ok")])
def test_abort_or_three_wrong_answers_refuse(replies: tuple[str, ...]) -> None:
    it = answers(*replies)
    with pytest.raises(GateRefused):
        ask_go_abort("push?", ask=lambda _: next(it), isatty=lambda: True)


def test_no_tty_refuses_and_names_yes() -> None:
    with pytest.raises(GateRefused, match="without a terminal") as info:
        ask_go_abort("push?", isatty=lambda: False)
    assert "--yes" in str(info.value)


def test_durable_shell_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)
    assert durable_shell_warning() is not None
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    assert durable_shell_warning() is None
