"""failover.repo.history.read_history with `since`: only the commits of the window are read
(real git on a temporary repository; the flap window's gate reads no older history)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from failover.repo.history import log_argv, read_history

ZONE = "templates/wikimedia.org"
OLD = 1_600_000_000
"""A commit date long before the window (2020-09)."""
NEW = 1_700_000_000
"""A commit date inside it (2023-11)."""


def _commit(repo: Path, target: str, when: int) -> None:
    (repo / ZONE).write_text(f"$ORIGIN wikimedia.org.\nirc 5M IN CNAME {target}\n")
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{when} +0000",
           "GIT_COMMITTER_DATE": f"@{when} +0000"}
    for args in (["add", ZONE], ["-c", "user.name=H", "-c", "user.email=h@example.org",
                                 "commit", "-qm", f"irc to {target}"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, timeout=30,
                       capture_output=True)


def test_since_reads_only_the_commits_of_the_window(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "master", str(tmp_path)], check=True, timeout=30)
    (tmp_path / "templates").mkdir()
    _commit(tmp_path, "irc1001", OLD)
    _commit(tmp_path, "irc2001", NEW)
    _commit(tmp_path, "irc1001", NEW + 60)

    def subjects(since: float | None) -> list[str]:
        return [e.subject for e in read_history(tmp_path, "HEAD", ZONE,
                                                ["irc.wikimedia.org"], zone="wikimedia.org",
                                                since=since)]

    assert subjects(None) == ["irc to irc1001", "irc to irc2001", "irc to irc1001"]
    assert subjects(NEW - 1) == ["irc to irc1001", "irc to irc2001"]
    assert subjects(NEW + 3600) == []


def test_since_is_a_git_log_option() -> None:
    argv = log_argv("HEAD", [ZONE], Path("/tmp/attr"), ["irc.wikimedia.org"], since=NEW + 0.7)
    assert f"--since=@{NEW}" in argv and argv.index(f"--since=@{NEW}") < argv.index("HEAD")
    assert not any(a.startswith("--since") for a in log_argv("HEAD", [ZONE], Path("/a")))
