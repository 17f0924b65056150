"""Where the history's `git log -p` text comes from: the cache, git, or two gits side by side.

`log_lines` yields the text of `git log ... TIP -- FILE` (the command `argv_for` builds) line
by line, as text mode would (UTF-8, surrogate escapes, universal newlines), from:
- the cache alone, when it was read at TIP;
- git for the commits since the cached tip, then the cache (`history_cache.linear_descent`);
- else one git streamed as it writes (a `--limit` read stops it once it has enough), or, for
  a whole read, two gits running side by side over the two halves of the first-parent line
  (`history_cache.split_point`), the older half read beside the parse of the newer.
What a read took whole is written back to the cache; a read stopped early is not.

A whole read runs git with `GIT_FLUSH=0`: to a pipe git otherwise writes each commit as
soon as it has it (a `--limit` read wants that), in thousands of small writes and reads.

Examples:
    >>> lines = log_lines(Path("/srv/dns"), "487d...", build, cache=None, split=False,
    ...                   timeout=60, what="templates/x at 487d")          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from failover.repo.history_cache import HistoryCache, linear_descent, split_point

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

ArgvFor = Callable[[list[str]], list[str]]
"""Builds the `git log` argv for the given revisions (`[tip]`, `[tip, "^base"]`)."""


def log_lines(checkout: Path, tip: str, argv_for: ArgvFor, *, cache: HistoryCache | None,
              whole: bool, timeout: float, what: str) -> Generator[str, None, None]:
    """Yield the lines of `git log` at `tip` (see the module); close it to stop early.

    `whole`: the caller reads every line (no `--limit`): git may buffer, and split.

    Raises:
        GitError: git failed or took over `timeout` (`what` names the file and the tip).
    """
    cached = cache.load() if cache is not None else None
    if cached is not None and cached.tip == tip:
        yield from text_lines(cached.body)
        return
    if cache is not None and cached is not None and \
            linear_descent(checkout, tip, cached.tip, timeout):
        body = _run(checkout, argv_for([tip, f"^{cached.tip}"]), timeout, what) + cached.body
        cache.store(tip, body)
        yield from text_lines(body)
        return
    base = split_point(checkout, tip, timeout) if whole and cache is not None else None
    sink = bytearray()
    if base is None:
        yield from _stream(checkout, [argv_for([tip])], timeout, what, sink, buffered=whole)
    else:
        yield from _stream(checkout, [argv_for([tip, f"^{base}"]), argv_for([base])],
                           timeout, what, sink, buffered=True)
    if cache is not None:
        cache.store(tip, bytes(sink))


def text_lines(body: bytes) -> Iterator[str]:
    """Yield the lines of git's bytes as a text-mode pipe gives them."""
    yield from io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", errors="surrogateescape")


def _run(checkout: Path, argv: list[str], timeout: float, what: str) -> bytes:
    """Return what `argv` wrote, whole."""
    sink = bytearray()
    for _ in _stream(checkout, [argv], timeout, what, sink, buffered=True):
        pass
    return bytes(sink)


def _stream(checkout: Path, argvs: list[list[str]], timeout: float, what: str,
            sink: bytearray, *, buffered: bool) -> Iterator[str]:
    """Yield the lines the gits of `argvs` write, one git's after the other's (all running
    at once, the later ones read whole in threads), keeping the bytes in `sink`; `buffered`:
    git writes in full buffers rather than commit by commit."""
    from failover.repo.checkout import GIT_ENV

    env = {**os.environ, **GIT_ENV, **({"GIT_FLUSH": "0"} if buffered else {})}
    children: list[subprocess.Popen[bytes]] = []
    later: list[_Drain] = []
    timer = threading.Timer(timeout, _kill, [children])
    timer.daemon = True
    try:
        for argv in argvs:
            children.append(subprocess.Popen(
                argv, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL, env=env, bufsize=0))
        timer.start()
        later += [_Drain(child) for child in children[1:]]
        first = children[0]
        assert first.stdout is not None
        yield from io.TextIOWrapper(io.BufferedReader(_Tee(first.stdout, sink)),
                                    encoding="utf-8", errors="surrogateescape")
        _check(first, timeout, what)
        for child, drain in zip(children[1:], later, strict=True):
            body = drain.result()
            sink += body
            yield from text_lines(body)
            _check(child, timeout, what)
    finally:
        timer.cancel()
        _kill(children)
        for drain in later:
            drain.result()
        for child in children:
            for pipe in (child.stdout, child.stderr):
                if pipe is not None:
                    pipe.close()
            child.wait()


def _check(child: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    """Raise GitError when `child` (its output read whole) did not exit 0."""
    from failover.errors import GitError

    assert child.stderr is not None
    stderr = child.stderr.read().decode("utf-8", "replace")
    code = child.wait()
    if code != 0:
        said = stderr.strip().splitlines()[-1:] or [f"exit {code} (killed after {timeout:g}s?)"]
        raise GitError(f"cannot read the history of {what}: {said[0]}",
                       hint="fetch the checkout (git fetch) and check [dns] checkout")


def _kill(children: list[subprocess.Popen[bytes]]) -> None:
    """Kill the gits still running."""
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(OSError):
                child.kill()


class _Tee(io.RawIOBase):
    """A raw reader of a pipe that keeps a copy of every byte read."""

    def __init__(self, raw: IO[bytes], sink: bytearray) -> None:
        self._raw, self._sink = raw, sink

    def readable(self) -> bool:
        """Return True (a reader)."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Read what the pipe has (at most `buffer`'s size) into `buffer`, keep a copy."""
        view = memoryview(buffer).cast("B")
        data = os.read(self._raw.fileno(), len(view))
        view[:len(data)] = data
        self._sink += data
        return len(data)


class _Drain:
    """Reads a git's stdout whole in a thread, while the caller reads another git."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        self._out, self._data = child.stdout, b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._data = self._out.read()

    def result(self) -> bytes:
        """Return everything read, once the git closed its stdout."""
        self._thread.join()
        return self._data
