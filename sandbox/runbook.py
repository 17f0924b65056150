"""Keep the runbooks true: parse their console blocks, run the commands, compare the output.

In a ```console block of a runbook, `$ failover ...` is a command (a trailing backslash goes on
the next line; `2>/dev/null` and `| jq ARGS` allowed); the lines after it are its output, with
a last `(exit N)` line for a non-zero exit code, `...` for any lines left out, and `> go` /
`> abort` for what is typed at a prompt. `<!-- sandbox: NAME -->` outside the blocks names the
setup to run before the next command. runbooks/README.md explains it for the runbooks' editors.

Both sides are normalised before comparing: the sandbox's own values (addresses, paths, deploy
command) are first replaced with production's, then what varies between runs becomes a
placeholder (`<n>s`, `I<change-id>`, ...), and runs of spaces and box lines collapse.

Examples:
    >>> commands = parse_runbook(Path("runbooks/emergency-failover.md").read_text())
    >>> run = run_in_process(commands[0], env=world_env)          # doctest: +SKIP
    >>> problems = compare(commands[0], run, substitutions)        # doctest: +SKIP

Slightly over 400 lines: parsing, running and comparing runbook blocks share one set of
conventions (documented above), kept together for the runbooks' editors.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

MARKER_RE = re.compile(r"<!--\s*sandbox:\s*([\w-]+)\s*-->")
EXIT_RE = re.compile(r"^\(exit (\d+)\)$")
JQ_TIMEOUT = 10.0
"""Seconds jq may take."""


class RunbookError(ValueError):
    """A runbook breaks the conventions (a `$` line that is not `failover`, no sandbox mark)."""


@dataclass(frozen=True)
class Command:
    """One `$ failover ...` of a runbook, what it expects, and the setups to run before it."""

    text: str
    line: int
    args: tuple[str, ...]
    expected: tuple[str, ...]
    exit_code: int = 0
    answers: tuple[str, ...] = ()
    keep_stderr: bool = True
    jq: tuple[str, ...] | None = None
    setups: tuple[str, ...] = ()


@dataclass
class Run:
    """What one command gave: its exit code and its output as the operator's terminal shows it."""

    code: int
    output: str


@dataclass
class _Block:
    lines: list[tuple[int, str]] = field(default_factory=list)


def parse_runbook(text: str) -> list[Command]:
    """Return every command of the runbook's console blocks, in order.

    Raises:
        RunbookError: a `$` line that is not a failover command, or a command before any
            `<!-- sandbox: NAME -->` mark.
    """
    commands: list[Command] = []
    pending: list[str] = []
    seen_marker = False
    fence: str | None = None
    block: _Block | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[:3]
                block = _Block() if stripped[3:].strip() == "console" else None
                continue
            for name in MARKER_RE.findall(line):
                pending.append(name)
                seen_marker = True
            continue
        if stripped.startswith(fence) and stripped.strip("`") == "":
            if block is not None:
                for cmd in _commands(block.lines):
                    if not seen_marker:
                        raise RunbookError(f"line {cmd.line}: command before any "
                                           "<!-- sandbox: NAME --> mark")
                    commands.append(_with_setups(cmd, tuple(pending)))
                    pending = []
            fence, block = None, None
            continue
        if block is not None:
            block.lines.append((number, line))
    if fence is not None:
        raise RunbookError("a code block is not closed")
    return commands


def _with_setups(cmd: Command, setups: tuple[str, ...]) -> Command:
    return Command(cmd.text, cmd.line, cmd.args, cmd.expected, cmd.exit_code, cmd.answers,
                   cmd.keep_stderr, cmd.jq, setups)


def _commands(lines: list[tuple[int, str]]) -> Iterator[Command]:
    i = 0
    while i < len(lines):
        number, line = lines[i]
        if not line.startswith("$ "):
            if line.strip():
                raise RunbookError(f"line {number}: output before any `$ failover` command")
            i += 1
            continue
        text = line[2:]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1].rstrip() + " " + lines[i][1].strip()
        i += 1
        expected: list[str] = []
        while i < len(lines) and not lines[i][1].startswith("$ "):
            expected.append(lines[i][1])
            i += 1
        yield _command(number, text, expected)


def _command(number: int, text: str, expected: list[str]) -> Command:
    words = shlex.split(text)
    jq: tuple[str, ...] | None = None
    if "|" in words:
        at = words.index("|")
        words, rest = words[:at], words[at + 1:]
        if not rest or rest[0] != "jq" or "|" in rest:
            raise RunbookError(f"line {number}: only `| jq ARGS` may follow a command")
        jq = tuple(rest[1:])
    keep_stderr = "2>/dev/null" not in words
    words = [w for w in words if w != "2>/dev/null"]
    if not words or words[0] != "failover":
        raise RunbookError(f"line {number}: console blocks hold only `$ failover ...` commands "
                           f"(put other commands in a bash block): {text}")
    while expected and not expected[-1].strip():
        expected.pop()
    code = 0
    if expected and (m := EXIT_RE.match(expected[-1].strip())):
        code = int(m.group(1))
        expected.pop()
    answers = tuple(e.strip()[2:].strip() for e in expected if e.strip().startswith("> "))
    return Command(text, number, tuple(words[1:]), tuple(expected), code, answers,
                   keep_stderr, jq)


# -- normalising and comparing ------------------------------------------------------------------

PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r) for p, r in (
        (r"\bI[0-9a-f]{40}\b", "I<change-id>"),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
        (r"\b[0-9a-f]{40}\b", "<sha>"),
        (r"\bcommit [0-9a-f]{7,40}\b", "commit <sha>"),
        (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?: ?(?:UTC|GMT|[A-Z]{3,4})"
         r"|[+-]\d\d:?\d\d|Z)?", "<time>"),
        (r"\[\d\d:\d\d:\d\d\]", "[<time>]"),
        (r"\b\d+(?:\.\d+)?( ?)ms\b", r"<n>\1ms"),
        (r"\b\d+(?:\.\d+)?s\b", "<n>s"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<port>"),
        (r'"rtt_ms": \d+(?:\.\d+)?', '"rtt_ms": <n>'),
        (r"/\+/\d+\b", "/+/<n>"),
        (r"\bpid \d+\b", "pid <pid>"),
        (r"locks/[0-9a-f]{16}\.lock", "locks/<hash>.lock"),
        (r"/tmp/[\w.-]+", "<tmp>"),
        (r"([─━═])\1+", r"\1"),
        (r"[ \t]+", " "),
    ))
"""What varies between runs, and the placeholder it becomes (applied to both sides)."""


def substitute(text: str, substitutions: Sequence[tuple[str, str]]) -> str:
    """Return `text` with each sandbox string replaced by its production value (longest first)."""
    for old, new in sorted(substitutions, key=lambda s: -len(s[0])):
        if old:
            text = text.replace(old, new)
    return text


def normalise(line: str) -> str:
    """Return `line` with what varies made a placeholder, spaces and box lines collapsed."""
    for pattern, placeholder in PLACEHOLDERS:
        line = pattern.sub(placeholder, line)
    return line.strip()


def match_lines(expected: Sequence[str], actual: Sequence[str]) -> int | None:
    """Return None when `actual` matches `expected` (`...` skips lines), else the index of the
    first expected line that could not be matched."""
    best = [0]

    def walk(e: int, a: int) -> bool:
        best[0] = max(best[0], e)
        if e == len(expected):
            return a == len(actual)
        if expected[e] == "...":
            return any(walk(e + 1, k) for k in range(a, len(actual) + 1))
        return a < len(actual) and expected[e] == actual[a] and walk(e + 1, a + 1)

    return None if walk(0, 0) else min(best[0], max(len(expected) - 1, 0))


def compare(cmd: Command, run: Run, substitutions: Sequence[tuple[str, str]]) -> list[str]:
    """Return what differs between the command's expected output and `run` (empty: none)."""
    problems = []
    if run.code != cmd.exit_code:
        problems.append(f"exit code {run.code}, the runbook says {cmd.exit_code}")
    expected = [n for n in (normalise(x) for x in cmd.expected) if n]
    actual = [n for n in (normalise(x) for x in substitute(run.output, substitutions)
                          .splitlines()) if n]
    at = match_lines(expected, actual)
    if at is not None:
        problems.append(f"output differs at expected line {at + 1}: {expected[at]!r}"
                        if expected else "the runbook shows no output")
    return problems


SHOWN_AS_PLACEHOLDERS = ("I<change-id>", "<uuid>", "<sha>", "commit <sha>", "<time>", "[<time>]",
                         "pid <pid>", "locks/<hash>.lock", "<tmp>")
"""The placeholders `shown` writes (durations, rtts and change numbers stay as examples)."""


def shown(run: Run, substitutions: Sequence[tuple[str, str]]) -> str:
    """Return the run's output as a runbook would show it: substituted, what is unique to the
    run as a placeholder, panels narrowed and table columns straight."""
    text = substitute(run.output, substitutions)
    for pattern, placeholder in PLACEHOLDERS:
        if placeholder in SHOWN_AS_PLACEHOLDERS:
            text = pattern.sub(placeholder, text)
    lines = text.splitlines()
    text = "\n".join(realign_tables(compact_boxes([ln.rstrip() for ln in lines])))
    return text + (f"\n(exit {run.code})" if run.code else "")


def _boxes(lines: list[str], first: str, inner: str, last: str,
           redraw: Callable[[list[str]], list[str]]) -> list[str]:
    """Return `lines` with each box (a `first` line, `inner` lines, a `last` line) redrawn."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i + 1
        while lines[i].startswith(first) and j < len(lines) and lines[j][:1] in tuple(inner):
            j += 1
        if not lines[i].startswith(first) or j >= len(lines) or not lines[j].startswith(last):
            out.append(lines[i])
            i += 1
            continue
        out += redraw(lines[i:j + 1])
        i = j + 1
    return out


def compact_boxes(lines: list[str]) -> list[str]:
    """Return `lines` with each Rich panel (╭ │ ╰) narrowed to its widest content."""
    def redraw(box: list[str]) -> list[str]:
        body = [ln[1:].rstrip().removesuffix("│").rstrip() for ln in box[1:-1]]
        title = box[0].strip("╭╮─")
        width = max([len(b) for b in body] + [len(title) + 1])
        return (["╭" + ("─" + title).ljust(width + 1, "─") + "╮"]
                + ["│" + b.ljust(width) + " │" for b in body] + ["╰" + "─" * (width + 1) + "╯"])

    return _boxes(lines, "╭", "│", "╰", redraw)


TABLE_BORDERS = {"┏": ("┏", "━", "┳", "┓"), "┡": ("┡", "━", "╇", "┩"),
                 "└": ("└", "─", "┴", "┘")}
"""A Rich table's border lines: first character -> (left, line, joint, right)."""


def realign_tables(lines: list[str]) -> list[str]:
    """Return `lines` with each Rich table's columns re-padded to their widest cell.

    Substituting production's values for the sandbox's changes the width of some cells; this
    puts the columns straight again (right-aligned cells stay right-aligned).
    """
    def redraw(table: list[str]) -> list[str]:
        rows = [ln[1:-1].split(ln[0]) for ln in table if ln[0] in "┃│"]
        if not rows or len({len(r) for r in rows}) != 1:
            return table
        widths = [max(len(r[k].strip()) for r in rows) for k in range(len(rows[0]))]
        out = []
        for ln in table:
            if ln[0] in TABLE_BORDERS:
                left, bar, joint, right = TABLE_BORDERS[ln[0]]
                out.append(left + joint.join(bar * (w + 2) for w in widths) + right)
                continue
            out.append(ln[0] + ln[0].join(
                " " + (c.strip().rjust(w) if len(c) - len(c.lstrip()) > 1 else
                       c.strip().ljust(w)) + " "
                for c, w in zip(ln[1:-1].split(ln[0]), widths, strict=True)) + ln[0])
        return out

    return _boxes(lines, "┏", "┃┡│", "└", redraw)


# -- running ------------------------------------------------------------------------------------

@contextmanager
def environment(env: Mapping[str, str | None]) -> Iterator[None]:
    """Within the block os.environ has `env` (None: unset); restored afterwards."""
    saved = {k: os.environ.get(k) for k in env}
    try:
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _redirected(out: int, err: int) -> Iterator[None]:
    """Within the block fds 1 and 2 (and sys.stdout/err, unbuffered) write to `out`/`err`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = os.dup(1), os.dup(2)
    saved_files = sys.stdout, sys.stderr
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  write_through=True)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved_files
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        os.close(saved_fds[0])
        os.close(saved_fds[1])


class Keyboard(io.StringIO):
    """What the operator types at the terminal: a tty that echoes each line as it is read."""

    def isatty(self) -> bool:
        """Return True: the go/abort prompt asks only on a terminal."""
        return True

    def readline(self, size: int = -1, /) -> str:  # type: ignore[override]
        """Return the next typed line, echoed to stderr as a terminal shows it."""
        line = super().readline(size)
        sys.stderr.write(line)
        return line


def run_in_process(cmd: Command, env: Mapping[str, str | None]) -> Run:
    """Return what `failover ARGS` gives, run through cli.main in this process.

    Both output streams go to one file in the order written (as on a terminal), the deploy
    command's output too; with `2>/dev/null` stderr is dropped, with `| jq` stdout goes to jq.
    The go/abort prompt is the real one; it reads the command's `> ANSWER` lines from a
    Keyboard given as stdin (end of input after them, as when nobody types).
    """
    from failover import cli, render

    code = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        separate = cmd.jq is not None or not cmd.keep_stderr
        saved_argv, saved_stdin = sys.argv, sys.stdin
        sys.argv = ["failover", *cmd.args]
        sys.stdin = Keyboard("".join(f"{a}\n" for a in cmd.answers))
        render.stdout_console.cache_clear()
        render.stderr_console.cache_clear()
        try:
            with environment(env), _redirected(out.fileno(), (err if separate else out)
                                                .fileno()):
                try:
                    cli.main()
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None
                                                                       else 1)
        finally:
            sys.argv, sys.stdin = saved_argv, saved_stdin
            render.stdout_console.cache_clear()
            render.stderr_console.cache_clear()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read() if separate else b""
    text = stderr.decode() if cmd.keep_stderr else ""
    if cmd.jq is None:
        return Run(code, text + stdout.decode())
    done = subprocess.run(["jq", *cmd.jq], input=stdout, capture_output=True,
                          timeout=JQ_TIMEOUT, check=False)
    return Run(code, text + done.stdout.decode() + done.stderr.decode())
