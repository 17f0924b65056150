"""The operator's checkout: open and validate it, fetch the remote branch, read a file at a ref,
and run git bounded (`run_git`, through failover.proc)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from failover import proc
from failover.errors import ConfigError, FailoverError, GitError, UsageError
from failover.repo.review import DEFAULT_REMOTE, GitReview, read_gitreview

if TYPE_CHECKING:
    import git  # imported where used: start-up pays only for what a command needs

GIT_TIMEOUT = 120.0
"""Default seconds a fetch or push may take before it is killed."""


GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}
"""Never let git wait for a password on the terminal."""


@dataclass(frozen=True)
class Checkout:
    """An operator's operations/dns checkout, validated, with its `.gitreview`."""

    path: Path
    review: GitReview

    @property
    def remote_ref(self) -> str:
        """Return the remote-tracking ref of the review branch, `refs/remotes/<r>/<b>`."""
        return f"refs/remotes/{self.review.remote}/{self.review.branch}"


def open_checkout(path: Path) -> Checkout:
    """Return the validated checkout at `path`.

    Raises:
        UsageError: not a git work tree, no `.gitreview`, or no `templates/` (exit 2).
        GitError: the `.gitreview` remote is not configured (exit 4).
    """
    import git

    try:
        repo = git_repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{path} is not a git checkout",
                         hint="clone operations/dns there, or fix [dns] checkout") from None
    if repo.bare:
        raise UsageError(f"{path} is a bare repository", hint="use a checkout with files")
    review = read_gitreview(path)
    if not (path / "templates").is_dir():
        raise UsageError(f"{path} does not look like operations/dns (no templates/)",
                         hint="point [dns] checkout at a clone of operations/dns")
    review = _pick_remote(repo, review)
    if review.remote not in {r.name for r in repo.remotes}:
        raise GitError(f"{path} has no remote {review.remote!r} (named by .gitreview)",
                       hint=f"add it: git remote add {review.remote} <url>, or run git review -s")
    return Checkout(path=path, review=review)


_REPOS: dict[str, git.Repo] = {}
"""The one `git.Repo` of each path this process opened (see `git_repo`)."""


def git_repo(path: Path) -> git.Repo:
    """Return this process's one `git.Repo` of the repository at `path`.

    Each `git.Repo` starts its own pair of `git cat-file --batch` processes the first time
    it reads an object: one object per repository per run, not one per call, and the
    promote's own reads go through `repo.git.<command>` or the refs' files instead.

    Raises:
        git.InvalidGitRepositoryError, git.NoSuchPathError: as `git.Repo(path)`.
    """
    import git

    key = str(path)
    found = _REPOS.get(key)
    if found is None or not os.path.isdir(found.git_dir):
        found = _REPOS[key] = git.Repo(path)
    return found


def ref_sha(checkout: Checkout, ref: str | None = None) -> str:
    """Return the commit `ref` (default: the remote-tracking ref) points at.

    Read from the ref's file (or packed-refs) by GitPython, as `repo.commit(ref).hexsha`
    would return it, without starting git's object reader for it.

    Raises:
        ValueError: no such ref.
    """
    import git

    return str(git.SymbolicReference.dereference_recursive(git_repo(checkout.path),
                                                           ref or checkout.remote_ref))


NEEDED_BY = ("`failover promote` cannot work without a clone of operations/dns there "
             "(`status` reads the zone file from it too; health, verify and check do not "
             "need it)")
"""Which commands need the checkout, as `config validate` says it."""


def checkout_error(path: Path, gerrit_url: str) -> ConfigError | None:
    """Return why `path` cannot be the checkout a promote works in (exit 2), or None.

    Missing, not a git repository, no `.gitreview` or `templates/`, no review remote: each
    named, with the fix (the clone command for a missing one).
    """
    try:
        missing = not path.exists()
    except OSError as exc:
        return ConfigError(f"[dns] checkout {path}: cannot reach it ({exc.strerror or exc})")
    if missing:
        return ConfigError(f"[dns] checkout {path} does not exist: {NEEDED_BY}",
                           hint=f"clone it: git clone {gerrit_url}/operations/dns {path}, "
                                "then `git review -s` there; or point [dns] checkout at "
                                "your clone")
    try:
        open_checkout(path)
    except FailoverError as exc:
        return ConfigError(f"[dns] checkout: {exc.message}: {NEEDED_BY}", hint=exc.hint)
    return None


def _pick_remote(repo: git.Repo, review: GitReview) -> GitReview:
    """Return `review` with the remote git-review would push to.

    `git config gitreview.remote` wins over `.gitreview`; when neither names one and there is
    no `gerrit` remote, an `origin` whose URL names the Gerrit host is used (a plain clone).
    """
    configured = repo.config_reader().get_value("gitreview", "remote", default="")
    if configured:
        return replace(review, remote=str(configured))
    names = {r.name for r in repo.remotes}
    if review.remote == DEFAULT_REMOTE and DEFAULT_REMOTE not in names and "origin" in names \
            and review.host in repo.remote("origin").url:
        return replace(review, remote="origin")
    return review


def fetch(checkout: Checkout, *, timeout: float = GIT_TIMEOUT) -> str:
    """Return the remote branch's tip after fetching it (only its remote-tracking ref moves)."""
    review = checkout.review
    repo = git_repo(checkout.path)
    url = repo.remote(review.remote).url
    refspec = f"+refs/heads/{review.branch}:{checkout.remote_ref}"
    code, output = run_git(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                            review.remote, refspec], checkout.path, timeout=timeout)
    if code != 0:
        if "couldn't find remote ref" in output:
            raise GitError(f"branch {review.branch!r} does not exist on remote "
                           f"{review.remote} ({url})",
                           hint="check defaultbranch in .gitreview")
        raise GitError(f"cannot fetch {review.branch} from {review.remote} ({url}): "
                       f"{_last_line(output) if code is not None else 'timed out'}",
                       hint="check the network and the remote URL (git remote -v)")
    return ref_sha(checkout)


def read_remote_file(checkout: Checkout, path: str, *, ref: str | None = None) -> str:
    """Return a file's text as it is on the fetched remote branch (or at `ref`).

    Bytes that are not UTF-8 (a Latin-1 comment) are kept as surrogate escapes, as read_zone
    keeps them, so the text writes back byte for byte.
    """
    import git

    spec = f"{ref or checkout.remote_ref}:{path}"
    try:
        # one `git cat-file` process, not GitPython's persistent `cat-file --batch` stream: an
        # interrupt while that stream is read left it half-read, and its __del__ then printed
        # "Exception ignored ... read of closed file" at exit
        data = git_repo(checkout.path).git.cat_file("blob", spec, stdout_as_string=False,
                                                           strip_newline_in_stdout=False)
    except git.GitCommandError as exc:
        said = str(exc.stderr)
        if "does not exist" in said or "exists on disk, but not in" in said:
            raise UsageError(f"{path} does not exist on {ref or checkout.remote_ref}") from None
        raise GitError(f"cannot read {path} at {ref or checkout.remote_ref}: "
                       f"{_last_line(said)}", hint="fetch first") from None
    return bytes(data).decode("utf-8", "surrogateescape")


def run_git(args: list[str], cwd: Path, *, timeout: float) -> tuple[int | None, str]:
    """Return (exit code, stdout and stderr lines) of `git ARGS` in `cwd`; None if timed out.

    The child is killed (and reaped) when `timeout` passes or the run is interrupted
    (Ctrl-C, SIGTERM), so no git is left pushing behind an interrupted run. Its output is
    read in this thread: no helper thread can be left holding a pipe at exit.
    """
    done = proc.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, timeout=timeout)
    return done.code, done.stdout + done.stderr


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip("'") if lines else ""
