"""A cache of the history's git output, per git command and tip, in the checkout's git dir.

`failover history` spends most of its time in git diffing every version of the zone file
(2,211 of templates/wikimedia.org). What git wrote for one command (`log_argv`: the file, the
pickaxe of the records' first labels, the format) at one tip never changes: a commit's diff
against its parent is fixed by the two trees. So the output is kept, with the tip it was read
at, in `<git common dir>/failover/history/<key>.log`, and the next read at a tip that
descends from it asks git only for the commits in between (`git log TIP ^CACHED`), written
before the kept text.

Never wrong:
- `git log TIP ^CACHED` followed by `git log CACHED` is `git log TIP` only when the commits in
  between are one straight line down to CACHED (no merge: git's walk then reaches CACHED
  alone, as a walk started there): `linear_descent` checks exactly that (one `git rev-list
  --parents`), and anything else (a merge, a rewound or rewritten branch, a CACHED commit that
  is gone) reads the whole history again and replaces the file;
- the key is a hash of the whole git command but the tip (every option that shapes the text,
  and this format's version), so another name, pickaxe or option has its own file;
- the file carries the sha256 of its text: a file cut short or changed is not used;
- it is written to a temporary file renamed over the old one: a reader sees the old or the new
  file, never half of one; failing to read or write it only costs the time saved.

`split_point` is the other half of the speed: where a whole read may be cut in two gits
running side by side (`git log TIP ^B` and `git log B`), B on the straight line of first
parents from the tip, so that the two outputs, one after the other, are `git log TIP`; only
when a core is spare (`spare_core`).

Examples:
    >>> cache = HistoryCache.at(Path("/srv/dns"), ["git", "log", "-p", "..."])  # doctest: +SKIP
    >>> cache.load()
    Cached(tip='487d4443...', body=b'\\x1e487d...')
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_VERSION = "1"
"""Part of every key: a change of what the file holds makes the old files unused."""

MAGIC = "failover-history-cache"
"""The first word of a cache file's first line."""

CACHE_DIR = Path("failover") / "history"
"""Under the checkout's git common dir (shared by its worktrees)."""

MIN_SPLIT = 500
"""Fewest first-parent commits on each side of a split: below, one git does it alone."""


@dataclass(frozen=True)
class Cached:
    """What a cache file holds: the tip the text was read at, and git's text (bytes)."""

    tip: str
    body: bytes


@dataclass(frozen=True)
class HistoryCache:
    """The cache file of one git command in one checkout."""

    path: Path

    @classmethod
    def at(cls, checkout: Path, command: Sequence[str]) -> HistoryCache | None:
        """Return the cache of `command` (the git argv, its tip left out) in `checkout`'s
        git dir, None when the git dir is not found (no cache then)."""
        common = git_common_dir(Path(checkout))
        if common is None:
            return None
        key = hashlib.sha256("\0".join([CACHE_VERSION, *command]).encode(
            "utf-8", "surrogateescape")).hexdigest()[:32]
        return cls(common / CACHE_DIR / f"{key}.log")

    def load(self) -> Cached | None:
        """Return the cached tip and text, None when there is none or it is not whole."""
        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        head, newline, body = data.partition(b"\n")
        words = head.decode("ascii", "replace").split(" ")
        if not newline or len(words) != 4 or words[:2] != [MAGIC, CACHE_VERSION]:
            return None
        if hashlib.sha256(body).hexdigest() != words[3] or not is_sha(words[2]):
            return None
        return Cached(tip=words[2], body=body)

    def store(self, tip: str, body: bytes) -> None:
        """Write `body` as read at `tip`, atomically; a failure is ignored (no cache)."""
        head = f"{MAGIC} {CACHE_VERSION} {tip} {hashlib.sha256(body).hexdigest()}\n"
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(head.encode("ascii") + body)
                os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)


def is_sha(text: str) -> bool:
    """Return True when `text` is a full object name (40 or 64 lower-case hex digits)."""
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def git_common_dir(checkout: Path) -> Path | None:
    """Return the git dir shared by `checkout`'s worktrees (`.git` of a clone, a linked
    worktree's common dir, a bare repository itself), found without running git."""
    dot = checkout / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        try:
            said = dot.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not said.startswith("gitdir:"):
            return None
        gitdir = (checkout / said.removeprefix("gitdir:").strip()).resolve()
        try:
            common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return gitdir if gitdir.is_dir() else None
        return (gitdir / common).resolve()
    if (checkout / "HEAD").is_file() and (checkout / "objects").is_dir():
        return checkout
    return None


def _rev_list(checkout: Path, args: list[str], timeout: float) -> list[list[str]] | None:
    """Return `git rev-list --parents ARGS` as [commit, parent...] rows, None on failure."""
    from failover.repo.checkout import GIT_ENV

    try:
        done = subprocess.run(["git", "rev-list", "--parents", *args], cwd=checkout,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, **GIT_ENV, "GIT_FLUSH": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [line.split() for line in done.stdout.decode("ascii", "replace").splitlines()]


def linear_descent(checkout: Path, tip: str, base: str, timeout: float) -> bool:
    """Return True when the commits of `tip ^base` are one line of single-parent commits
    from `tip` down to a child of `base` (so `base` is an ancestor and the walk from `tip`
    reaches it alone); False otherwise or when git cannot say."""
    if tip == base:
        return True
    rows = _rev_list(checkout, [tip, f"^{base}", "--"], timeout)
    if not rows or rows[0][0] != tip:
        return False
    for row, below in zip(rows, [*(r[0] for r in rows[1:]), base], strict=True):
        if len(row) != 2 or row[1] != below:
            return False
    return True


def spare_core() -> bool:
    """Return True when a core is free (the load average below the cores but one): two gits
    side by side then take about half the wall time of one; on a busy machine they take the
    same, and the split's own `git rev-list` is paid for nothing."""
    cores = os.cpu_count() or 1
    try:
        return cores >= 2 and os.getloadavg()[0] <= cores - 1
    except OSError:
        return False


def split_point(checkout: Path, tip: str, timeout: float) -> str | None:
    """Return the commit B halfway down `tip`'s first parents, where `git log tip ^B` and
    `git log B` cut the walk in two (the commits above B: single-parent, in one line); None
    when no core is spare, the line is too short or git cannot say."""
    if not spare_core():
        return None
    rows = _rev_list(checkout, ["--first-parent", tip, "--"], timeout)
    if not rows or rows[0][0] != tip:
        return None
    straight = next((i for i, row in enumerate(rows) if len(row) != 2), len(rows))
    at = min(len(rows) // 2, straight)
    if at < MIN_SPLIT or len(rows) - at < MIN_SPLIT:
        return None
    return rows[at][0]
