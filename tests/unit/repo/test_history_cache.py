"""failover.repo.history's cache and split read, on real git repositories built here.

What a read at a commit returns is compared with the read at `HEAD`/a branch name, which
never uses the cache (only a full commit name does). A cache file written by hand (valid,
but with an empty text) shows whether a read used it: used, the commits it covers are
missing from the answer; not used, the answer is whole.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from failover.errors import GitError
from failover.repo import history_cache
from failover.repo.history import HistoryEntry, log_argv, read_history
from failover.repo.history_cache import (
    HistoryCache,
    git_common_dir,
    linear_descent,
    split_point,
)

ZONE = "templates/wikimedia.org"
RECORDS = ["irc.wikimedia.org"]


def git(repo: Path, *args: str, when: int = 1_700_000_000) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{when} +0000",
           "GIT_COMMITTER_DATE": f"@{when} +0000", "GIT_AUTHOR_NAME": "H",
           "GIT_AUTHOR_EMAIL": "h@example.org", "GIT_COMMITTER_NAME": "H",
           "GIT_COMMITTER_EMAIL": "h@example.org"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, timeout=30,
                          capture_output=True, text=True).stdout.strip()


def commit(repo: Path, target: str, when: int, other: str = "www") -> str:
    """Commit the zone with irc at `target` (and an unrelated line); return the commit."""
    filler = "".join(f"; {n}\n" for n in range(4))  # two branches' changes merge cleanly
    (repo / ZONE).write_text(f"$ORIGIN wikimedia.org.\nirc 5M IN CNAME {target}\n{filler}"
                             f"www 5M IN CNAME {other}\n")
    git(repo, "add", ZONE)
    git(repo, "commit", "-qm", f"irc to {target} ({other})", when=when)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "dns"
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True, timeout=30)
    (path / "templates").mkdir()
    return path


def read(repo: Path, ref: str, **kw: object) -> list[tuple[str, str]]:
    found: list[HistoryEntry] = read_history(repo, ref, ZONE, RECORDS, zone="wikimedia.org",
                                             **kw)  # type: ignore[arg-type]
    return [(e.sha, e.subject) for e in found]


def cache_of(repo: Path) -> HistoryCache:
    cache = HistoryCache.at(repo, log_argv("TIP", [ZONE], Path("ATTRIBUTES"), RECORDS))
    assert cache is not None
    return cache


def plant(repo: Path, tip: str) -> None:
    """Write a valid cache saying that nothing changed the records up to `tip`."""
    cache_of(repo).store(tip, b"")


def test_a_read_writes_the_cache_and_the_next_one_reads_it(repo: Path) -> None:
    shas = [commit(repo, f"irc{n}", 1_700_000_000 + n) for n in range(3)]
    whole = read(repo, "HEAD")
    assert [s for s, _ in whole] == shas[::-1]
    assert read(repo, shas[-1]) == whole
    cached = cache_of(repo).load()
    assert cached is not None and cached.tip == shas[-1]
    assert cache_of(repo).path.parent == repo / ".git" / "failover" / "history"
    assert read(repo, shas[-1]) == whole


def test_a_tip_descending_in_one_line_reads_only_the_new_commits(repo: Path) -> None:
    old = commit(repo, "irc1", 1_700_000_000)
    plant(repo, old)
    new = [commit(repo, f"irc{n}", 1_700_000_000 + n) for n in range(2, 5)]
    # the planted (empty) cache was used: the commit it covers is not in the answer
    assert [s for s, _ in read(repo, new[-1])] == new[::-1]
    cached = cache_of(repo).load()
    assert cached is not None and cached.tip == new[-1]


def test_a_tip_that_does_not_descend_from_the_cached_one_reads_everything(repo: Path) -> None:
    first = commit(repo, "irc1", 1_700_000_000)
    gone = commit(repo, "irc2", 1_700_000_100)
    plant(repo, gone)
    git(repo, "reset", "-q", "--hard", first)  # the branch rewritten: `gone` is not below
    tip = commit(repo, "irc3", 1_700_000_200)
    assert [s for s, _ in read(repo, tip)] == [tip, first]
    assert read(repo, tip) == read(repo, "master")


def test_a_merge_between_the_cached_tip_and_the_new_one_reads_everything(repo: Path) -> None:
    base = commit(repo, "irc1", 1_700_000_000)
    plant(repo, base)
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "irc2", 1_700_000_100)
    git(repo, "checkout", "-q", "master")
    commit(repo, "irc1", 1_700_000_200, other="www2")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side", when=1_700_000_300)
    tip = git(repo, "rev-parse", "HEAD")
    assert not linear_descent(repo, tip, base, 10)
    assert read(repo, tip) == read(repo, "master")
    assert base in [s for s, _ in read(repo, tip)]


def test_an_unknown_cached_tip_or_a_damaged_file_is_not_used(repo: Path) -> None:
    tip = commit(repo, "irc1", 1_700_000_000)
    plant(repo, "0" * 40)
    assert read(repo, tip) == read(repo, "master")
    path = cache_of(repo).path
    body = b"\x1e" + tip.encode() + b"\x1fnothing of irc"
    path.write_bytes(f"failover-history-cache 1 {tip} {hashlib.sha256(b'').hexdigest()}\n"
                     .encode() + body)  # a text that is not the one its sum was taken of
    assert cache_of(repo).load() is None
    assert read(repo, tip) == read(repo, "master")
    path.write_bytes(b"failover-history-cache 1 " + tip.encode())  # cut short
    assert cache_of(repo).load() is None and read(repo, tip) == read(repo, "master")


def test_a_limited_read_uses_the_cache_and_stops_early(repo: Path) -> None:
    shas = [commit(repo, f"irc{n}", 1_700_000_000 + n) for n in range(4)]
    assert read(repo, shas[-1], limit=1) == read(repo, "master")[:1]
    read(repo, shas[-1])
    plant(repo, shas[-1])
    assert read(repo, shas[-1], limit=1) == []  # the (empty) cache at the tip: no git run


def test_since_and_branch_names_never_touch_the_cache(repo: Path) -> None:
    tip = commit(repo, "irc1", 1_700_000_000)
    read(repo, "master")
    read(repo, tip, since=1_600_000_000)
    assert not cache_of(repo).path.exists()


def test_an_unknown_commit_is_a_git_error_and_writes_nothing(repo: Path) -> None:
    commit(repo, "irc1", 1_700_000_000)
    with pytest.raises(GitError, match=r"cannot read the history of templates/wikimedia\.org"):
        read(repo, "1" * 40)
    assert not cache_of(repo).path.exists()


def test_two_gits_side_by_side_read_what_one_reads(repo: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_cache, "MIN_SPLIT", 2)
    monkeypatch.setattr(history_cache, "spare_core", lambda: True)
    for n in range(10):
        commit(repo, f"irc{n % 3}", 1_500_000_000 + n, other=f"old{n}")
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "irc7", 1_600_000_000, other="old9")
    git(repo, "checkout", "-q", "master")
    commit(repo, "irc0", 1_600_000_050, other="new")  # not irc: the merge is clean
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side", when=1_600_000_100)
    merge = git(repo, "rev-parse", "HEAD")
    shas = [commit(repo, f"irc{n % 3}", 1_700_000_000 + n, other=f"w{n}") for n in range(3)]
    # 15 first parents: halfway is 7, but the line above B must hold no merge: B is the merge
    assert split_point(repo, shas[-1], 10) == merge
    assert read(repo, shas[-1]) == read(repo, "master")
    assert len(read(repo, shas[-1])) == 14  # 10 + the side's + 3 (the merge shows none)
    monkeypatch.setattr(history_cache, "MIN_SPLIT", 4)  # 3 commits above the merge: too few
    assert split_point(repo, shas[-1], 10) is None
    monkeypatch.setattr(history_cache, "MIN_SPLIT", 2)
    monkeypatch.setattr(history_cache, "spare_core", lambda: False)  # a busy machine: one git
    assert split_point(repo, shas[-1], 10) is None


def test_the_cache_of_a_linked_worktree_is_the_main_git_dir(repo: Path, tmp_path: Path) -> None:
    commit(repo, "irc1", 1_700_000_000)
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt"))
    assert git_common_dir(tmp_path / "wt") == (repo / ".git").resolve()
    assert git_common_dir(tmp_path) is None


def test_crlf_and_latin1_lines_read_the_same_from_git_and_from_the_cache(repo: Path) -> None:
    """The cache is read as git's pipe is (UTF-8 with surrogate escapes, universal newlines)."""
    shas = []
    for n, target in enumerate(("irc1", "irc2", "irc3")):
        (repo / ZONE).write_bytes(b"$ORIGIN wikimedia.org.\r\n; caf\xe9\r\n"
                                  + f"irc 5M IN CNAME {target} ; x\r\n".encode())
        git(repo, "add", ZONE)
        git(repo, "commit", "-qm", f"irc to {target}", when=1_700_000_000 + n)
        shas.append(git(repo, "rev-parse", "HEAD"))

    def full(ref: str) -> list[HistoryEntry]:
        return read_history(repo, ref, ZONE, RECORDS, zone="wikimedia.org")

    uncached = full("master")
    assert [e.changes[0].after for e in uncached] == [("irc3.wikimedia.org.",),
                                                      ("irc2.wikimedia.org.",),
                                                      ("irc1.wikimedia.org.",)]
    assert full(shas[1]) == uncached[1:]  # git, streamed, kept
    assert full(shas[2]) == uncached  # git for the last commit, then the kept text
    assert full(shas[2]) == uncached  # the kept text alone
