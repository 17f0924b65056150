"""The one error hierarchy: every expected failure is a FailoverError with an exit code.

`failover.cli.main` is the only place that turns these into a message and an exit code;
code below it raises and never prints or exits.
"""

from __future__ import annotations

from failover.redact import redact_text

MESSAGE_MAX = 1000
"""The longest message or problem line shown; a longer one (a 100,000-character value echoed
in it) keeps its start and end around a note of what was cut (issue 20)."""

# 0: done, or nothing to do (what Typer returns; no constant)
EXIT_UNEXPECTED = 1
"""An unexpected failure (a bug): reported with a hint to re-run with -v."""
EXIT_USAGE = 2
"""Usage or configuration error, bad input file."""
EXIT_REFUSED = 3
"""Refused by a safety gate: unhealthy target, dirty state, lock held, aborted at the prompt."""
EXIT_GIT = 4
"""git/Gerrit failure: fetch, push rejected, change abandoned, review timed out."""
EXIT_VERIFY = 5
"""Deploy or DNS verification failed or timed out."""
EXIT_INTERRUPTED = 130
"""Interrupted by SIGINT or SIGTERM; the state is clean and a re-run resumes."""


def shown(value: object, limit: int = 80) -> str:
    """Return `repr(value)` for a message, cut to `limit` characters with its length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters"
    return f"{text[:limit - 20]}...' ({size})"


def bounded(text: str, limit: int = MESSAGE_MAX) -> str:
    """Return `text`, or its start and end around `[N characters cut]` when longer."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit - 200]} [{cut} characters cut] {text[-200:]}"


class FailoverError(Exception):
    """Base of every expected error; `exit_code` is what the process exits with."""

    exit_code = EXIT_UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = bounded(redact_text(message))  # no credential in any message, wherever
        super().__init__(message)  # it goes, and no value echoed whole
        self.message = message
        self.hint = bounded(redact_text(hint)) if hint else hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(FailoverError):
    """A bad argument or input file (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The configuration cannot be used; `problems` lists every problem found (exit 2)."""

    def __init__(self, message: str, problems: list[str] | None = None,
                 *, hint: str | None = None) -> None:
        self.problems = [bounded(redact_text(p)) for p in problems or []]
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class GateRefused(FailoverError):
    """A safety gate refused to go on (exit 3)."""

    exit_code = EXIT_REFUSED


class NoTerminal(GateRefused):
    """A go/abort prompt with no terminal to ask on (exit 3; its hint names --yes)."""


class GitError(FailoverError):
    """git or Gerrit failed: fetch, push, review (exit 4)."""

    exit_code = EXIT_GIT


class VerifyError(FailoverError):
    """Deploy or DNS verification failed or timed out (exit 5)."""

    exit_code = EXIT_VERIFY


class Interrupted(FailoverError):
    """The run was interrupted (Ctrl-C or SIGTERM) and cleaned up (exit 130)."""

    exit_code = EXIT_INTERRUPTED


class OutsideError(FailoverError):
    """An outside system (SAL relay, Alertmanager, Phabricator) failed; never stops a run."""
