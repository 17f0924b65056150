"""Talking to the operator: go/abort confirmation and the durable-shell warning (as wmflib)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from failover.errors import GateRefused, NoTerminal

TRIES = 3
"""How many answers ask_go_abort accepts before it gives up."""


def read_answer(prompt: str) -> str:
    """Return one line typed by the operator; the prompt goes to stderr (stdout may be JSON)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def ask_go_abort(message: str, *, ask: Callable[[str], str] = read_answer,
                 isatty: Callable[[], bool] | None = None) -> None:
    """Return when the operator types `go`; raise GateRefused on `abort`, three wrong answers,
    end of input, or when there is no terminal to ask.

    Examples:
        >>> ask_go_abort("Push the change for review?")              # doctest: +SKIP
        ==> Push the change for review?
        Type "go" to proceed or "abort" to interrupt the execution
        > go
    """
    is_tty = isatty() if isatty else sys.stdin.isatty()
    if not is_tty:
        raise NoTerminal(f"cannot ask for confirmation without a terminal: {message}",
                          hint="run from a terminal, or pass --yes to proceed without asking")
    print(f"==> {message}", file=sys.stderr)
    for _ in range(TRIES):
        print('Type "go" to proceed or "abort" to interrupt the execution', file=sys.stderr)
        try:
            answer = ask("> ").strip()
        except EOFError:
            break
        if answer == "go":
            return
        if answer == "abort":
            raise GateRefused("aborted at the prompt", hint="the run stopped at this prompt")
    raise GateRefused("no valid answer at the prompt; aborting",
                      hint="answer exactly go or abort")


def durable_shell_warning() -> str | None:
    """Return a warning when not inside tmux or screen (a failover can take minutes), else None."""
    if os.environ.get("TMUX") or os.environ.get("STY"):
        return None
    return ("not running inside tmux or screen: a failover can take minutes; "
            "a dropped connection would interrupt it (re-running resumes it)")
