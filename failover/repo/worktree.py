"""The temporary detached worktree the change is built in, and the cleaning of ones a killed
run left (only the tool's own, each by its path: never `git worktree prune`)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from failover.errors import GitError
from failover.repo.checkout import Checkout, _last_line, git_repo, ref_sha


@dataclass(frozen=True)
class Worktree:
    """A temporary detached worktree at `base` (the remote tip) where the change is built."""

    path: Path
    base: str
    checkout: Checkout


@contextmanager
def change_worktree(checkout: Checkout, *, base: str | None = None) -> Iterator[Worktree]:
    """Yield a temporary detached worktree at `base` (default: the fetched remote tip).

    The worktree and its temp directory are removed whatever happens. Only this worktree, by
    its own path: never `git worktree prune`, which drops every worktree of the operator's
    whose disk is not mounted at that moment.
    """
    import git

    repo = git_repo(checkout.path)
    base = base or ref_sha(checkout)
    tmp = Path(tempfile.mkdtemp(prefix="failover-wt-"))
    path = tmp / "dns"
    try:
        try:
            # no post-checkout hook of the operator's runs in our temporary worktree
            repo.git(c="core.hooksPath=/dev/null").worktree(
                "add", "--quiet", "--detach", str(path), base)
        except git.GitCommandError as exc:
            raise GitError(f"cannot create a worktree at {base[:12]}: "
                           f"{_last_line(str(exc.stderr))}") from None
        yield Worktree(path=path, base=base, checkout=checkout)
    finally:
        with suppress(git.GitCommandError):
            repo.git.worktree("remove", "--force", str(path))
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_worktrees(checkout: Checkout) -> list[Path]:
    """Return the temporary worktrees of earlier runs found registered, after removing them.

    A run killed outright (SIGKILL, power loss) cannot remove its worktree. Call this only
    while holding the checkout's lock: no other run can be using one then. Only worktrees
    named as `change_worktree` names them (`.../failover-wt-*/dns`) are touched, each removed
    by its path (`git worktree remove --force` also drops one whose directory is gone).
    """
    import git

    repo = git_repo(checkout.path)
    listed = repo.git.worktree("list", "--porcelain").splitlines()
    stale = [Path(ln.removeprefix("worktree ")) for ln in listed if ln.startswith("worktree ")]
    stale = [p for p in stale if p.name == "dns" and p.parent.name.startswith("failover-wt-")]
    for path in stale:
        with suppress(git.GitCommandError):
            repo.git.worktree("remove", "--force", str(path))
        shutil.rmtree(path.parent, ignore_errors=True)
    return stale


def remove_empty_temp_dirs(older_than: float = 600.0) -> list[Path]:
    """Return the empty `failover-wt-*` directories of this user in TMPDIR, after removing them.

    A run stopped between making its temporary directory and adding the worktree (a signal,
    SIGKILL) leaves it empty; a directory younger than `older_than` seconds may be a running
    run's, about to be filled, and is kept.
    """
    removed = []
    now = time.time()
    for path in Path(tempfile.gettempdir()).glob("failover-wt-*"):
        try:
            st = path.lstat()
            if (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
                    and now - st.st_mtime > older_than and not any(path.iterdir())):
                path.rmdir()
                removed.append(path)
        except OSError:
            continue
    return removed
