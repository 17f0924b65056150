"""The operations/dns checkout: fetch, build the change in a temporary worktree, push for review.

The operator's own working tree, index, HEAD, branches, tags and stash are never touched: the
remote is fetched (only its remote-tracking ref moves), the change is built on the remote
branch's tip in a `git worktree add --detach` under a temp directory, committed there without
hooks, pushed to `refs/for/<branch>`, and the worktree is removed whatever happens.

Push options: topic, reviewers and hashtags go as `git push -o topic=.. -o r=.. -o t=..`
(Gerrit >= 2.14 reads them) rather than git-review's `%topic=..,r=..` suffix, so a value can
never break the ref name.

Examples:
    >>> checkout = open_checkout(Path("~/src/operations/dns").expanduser())  # doctest: +SKIP
    >>> fetch(checkout)
    >>> with change_worktree(checkout) as wt:
    ...     edit(wt.path / "templates/wikimediacloud.org")
    ...     commit = commit_change(wt, subject="wikimediacloud: fail over ...", body="Why.",
    ...                            bug="T12345")
    ...     result = push_for_review(wt, checkout.review, topic="openstack-failover")
    >>> result.url
    'https://gerrit.wikimedia.org/r/c/operations/dns/+/123456'
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from failover.errors import GitError, UsageError

# GitPython is imported by the functions that use it: `status` reads .gitreview and the zone
# through Gerrit without paying for it.
if TYPE_CHECKING:
    import git

GIT_TIMEOUT = 120.0
"""Default seconds a fetch or push may take before it is killed."""
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}
"""Never let git wait for a password on the terminal."""
DEFAULT_REMOTE = "gerrit"
"""git-review's remote when .gitreview names none (`git review -s` creates it)."""
BUG_RE = re.compile(r"^T[0-9]+\Z")
"""A Phabricator task id, as the repository's `Bug:` footer wants it (`\\Z`: no newline)."""
BODY_WIDTH = 72
"""Body lines are wrapped at this width, as the repository's `.gitmessage` asks."""
TRAILER_NAMES = ("Acked-by", "Assisted-by", "Bug", "Cc", "Change-Id", "Change-Private",
                 "Closes", "Co-Authored-by", "Depends-On", "Fixes", "Hosts", "Needed-By",
                 "Reported-by", "Requested-by", "Reviewed-by", "Signed-off-by", "Suggested-by",
                 "Task", "Tested-by", "Thanks")
"""Footer names Wikimedia's commit-message-validator knows: never allowed in the body."""
TRAILER_IN_TEXT_RE = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, TRAILER_NAMES))
                                + r")[ \t]*:", re.IGNORECASE)
"""A footer name followed by a colon anywhere in a text (a reason, a body)."""
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters (ESC, BEL, CR, newline, ...): never in a text from the command line."""
CHANGE_ID_LINE_RE = re.compile(r"^Change-Id:", re.IGNORECASE | re.MULTILINE)
"""Any Change-Id footer line."""
SUCCESS_RE = re.compile(r"^(?:remote:)?\s*(https?://\S+/\+/(\d+))(?:\s+(.*?))?\s*$")
"""A change line of Gerrit's SUCCESS block: URL, number, subject and markers."""
REJECTED_RE = re.compile(r"\[remote rejected\][^(]*\((.*)\)\s*$")
"""A rejected ref in git's push output, with Gerrit's reason."""


@dataclass(frozen=True)
class GitReview:
    """What `.gitreview` says: Gerrit host and port, project, branch and remote name."""

    host: str
    port: int
    project: str
    branch: str
    remote: str

    @property
    def project_name(self) -> str:
        """Return the project without a `.git` suffix, as REST ids and URLs use it."""
        return self.project.removesuffix(".git")


@dataclass(frozen=True)
class Checkout:
    """An operator's operations/dns checkout, validated, with its `.gitreview`."""

    path: Path
    review: GitReview

    @property
    def remote_ref(self) -> str:
        """Return the remote-tracking ref of the review branch, `refs/remotes/<r>/<b>`."""
        return f"refs/remotes/{self.review.remote}/{self.review.branch}"


@dataclass(frozen=True)
class Worktree:
    """A temporary detached worktree at `base` (the remote tip) where the change is built."""

    path: Path
    base: str
    checkout: Checkout


@dataclass(frozen=True)
class CommitInfo:
    """The commit made in the worktree: its id, Change-Id and full message."""

    sha: str
    change_id: str
    message: str


@dataclass(frozen=True)
class PushOutcome:
    """What git's push output says: the change (URL, number, new or not) or a rejection."""

    url: str | None = None
    number: int | None = None
    created: bool = False
    rejected: str | None = None


@dataclass(frozen=True)
class PushResult:
    """A change pushed for review: its URL and number, and whether it is a new change."""

    url: str
    number: int
    created: bool


class PushRejected(GitError):
    """Gerrit refused the push; `reason` is its words (exit 4)."""

    def __init__(self, message: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


def read_gitreview(checkout: Path) -> GitReview:
    """Return the checkout's `.gitreview`, read as git-review reads it (UsageError if unusable)."""
    path = checkout / ".gitreview"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(), source=str(path))
    except FileNotFoundError:
        raise UsageError(f"{checkout} has no .gitreview",
                         hint="point [dns] checkout at a clone of operations/dns") from None
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not parser.has_section("gerrit"):
        raise UsageError(f"{path} has no [gerrit] section")
    sect = parser["gerrit"]
    missing = [k for k in ("host", "project") if not sect.get(k)]
    if missing:
        raise UsageError(f"{path}: [gerrit] lacks {', '.join(missing)}")
    try:
        port = int(sect.get("port", "29418"))
    except ValueError:
        raise UsageError(f"{path}: port {sect.get('port')!r} is not a number") from None
    return GitReview(host=sect["host"], port=port, project=sect["project"],
                     branch=sect.get("defaultbranch", "master"),
                     remote=sect.get("defaultremote", DEFAULT_REMOTE))


def open_checkout(path: Path) -> Checkout:
    """Return the validated checkout at `path`.

    Raises:
        UsageError: not a git work tree, no `.gitreview`, or no `templates/` (exit 2).
        GitError: the `.gitreview` remote is not configured (exit 4).
    """
    import git

    try:
        repo = git.Repo(path)
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
    import git

    review = checkout.review
    repo = git.Repo(checkout.path)
    url = repo.remote(review.remote).url
    refspec = f"+refs/heads/{review.branch}:{checkout.remote_ref}"
    try:
        repo.git.fetch("--quiet", "--no-tags", "--no-write-fetch-head", review.remote, refspec,
                       kill_after_timeout=timeout, env=GIT_ENV)
    except git.GitCommandError as exc:
        stderr = str(exc.stderr or "")
        if "couldn't find remote ref" in stderr:
            raise GitError(f"branch {review.branch!r} does not exist on remote "
                           f"{review.remote} ({url})",
                           hint="check defaultbranch in .gitreview") from None
        raise GitError(f"cannot fetch {review.branch} from {review.remote} ({url}): "
                       f"{_last_line(stderr) or 'timed out'}",
                       hint="check the network and the remote URL (git remote -v)") from None
    return str(repo.commit(checkout.remote_ref).hexsha)


def read_remote_file(checkout: Checkout, path: str, *, ref: str | None = None) -> str:
    """Return a file's text as it is on the fetched remote branch (or at `ref`).

    Bytes that are not UTF-8 (a Latin-1 comment) are kept as surrogate escapes, as read_zone
    keeps them, so the text writes back byte for byte.
    """
    import git

    repo = git.Repo(checkout.path)
    try:
        blob = repo.commit(ref or checkout.remote_ref).tree / path
        return bytes(blob.data_stream.read()).decode("utf-8", "surrogateescape")
    except KeyError:
        raise UsageError(f"{path} does not exist on {ref or checkout.remote_ref}") from None
    except (ValueError, git.BadName) as exc:
        raise GitError(f"cannot read {path} at {ref or checkout.remote_ref}: {exc}",
                       hint="fetch first") from None


@contextmanager
def change_worktree(checkout: Checkout, *, base: str | None = None) -> Iterator[Worktree]:
    """Yield a temporary detached worktree at `base` (default: the fetched remote tip).

    The worktree and its temp directory are removed whatever happens. Only this worktree, by
    its own path: never `git worktree prune`, which drops every worktree of the operator's
    whose disk is not mounted at that moment.
    """
    import git

    repo = git.Repo(checkout.path)
    base = base or str(repo.commit(checkout.remote_ref).hexsha)
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

    repo = git.Repo(checkout.path)
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


def build_commit_message(subject: str, body: str, *, bug: str | None, change_id: str,
                         bugs: Sequence[str] = (), signoff: str | None = None) -> str:
    """Return the message: subject, body wrapped at 72 columns, then the footers.

    The footers come last, in one block with no blank line: `Bug:` for `bug` and each of
    `bugs` (in order, once each), `Signed-off-by:` when `signoff` (a `Name <email>`) is
    given, and `Change-Id:` last, as Wikimedia's commit-message-validator wants them.

    Raises:
        UsageError: a bad task id, a multi-line subject, or a body carrying a footer line.
    """
    if not subject.strip() or "\n" in subject.strip():
        raise UsageError("the commit subject must be one non-empty line")
    tasks = list(dict.fromkeys(([bug] if bug is not None else []) + list(bugs)))
    for task in tasks:
        if not BUG_RE.match(task):
            raise UsageError(f"bad task id {task!r}", hint="give a Phabricator task like T12345")
    if not re.fullmatch(r"I[0-9a-f]{40}", change_id):
        raise UsageError(f"bad Change-Id {change_id!r}")
    if CHANGE_ID_LINE_RE.search(body):
        raise UsageError("the commit body must not carry its own Change-Id line")
    wrapped = wrap_body(body.strip())
    if footer := next((ln for ln in wrapped.splitlines()
                       if TRAILER_IN_TEXT_RE.match(ln.lstrip())), None):
        raise UsageError(f"the commit body must not carry a footer line: {footer!r}",
                         hint="give tasks with --bug; footers are written by failover")
    if signoff is not None and (CONTROL_RE.search(signoff) or not signoff.strip()):
        raise UsageError(f"bad Signed-off-by identity {signoff!r}")
    footers = ([f"Bug: {t}" for t in tasks]
               + ([f"Signed-off-by: {signoff.strip()}"] if signoff else [])
               + [f"Change-Id: {change_id}"])
    parts = [subject.strip(), wrapped, "\n".join(footers)]
    return "\n\n".join(p for p in parts if p) + "\n"


def wrap_body(body: str, width: int = BODY_WIDTH) -> str:
    """Return `body` with every line longer than `width` wrapped at word boundaries.

    Line breaks already there are kept; a list item (`- ...`) continues indented by two
    spaces; a word longer than the width (a URL) stays whole on its own line.

    Examples:
        >>> wrap_body("- cloudcontrol1003: " + "x " * 40, width=30).splitlines()[1]
        '  x x x x x x x x x x x x x x'
    """
    out: list[str] = []
    for line in body.splitlines():
        if len(line) <= width:
            out.append(line.rstrip())
            continue
        indent = "  " if line.startswith("- ") else ""
        out += textwrap.wrap(line, width=width, subsequent_indent=indent,
                             break_long_words=False, break_on_hyphens=False) or [""]
    return "\n".join(out)


def check_command_line_text(option: str, value: str) -> None:
    """Return None when `value` (a `--reason`, ...) may go into a commit; raise UsageError.

    Refused: control characters (newline, CR, ESC, BEL, ...), which would break the message
    or the terminal, and a footer name with its colon (`Bug:`, `Change-Id:`, ...), which
    could add or break a footer line once the text is wrapped.
    """
    if m := CONTROL_RE.search(value):
        raise UsageError(f"{option} contains a control character ({ord(m.group()):#04x})",
                         hint=f"give {option} as one line of plain text")
    if m := TRAILER_IN_TEXT_RE.search(value):
        raise UsageError(f"{option} contains a commit footer ({m.group(1)}:), which only "
                         "failover writes",
                         hint="give tasks with --bug (repeatable), and drop the footer from "
                              f"{option}")


def signoff_identity(checkout: Checkout) -> str:
    """Return `Name <email>` of git's committer identity (`git var GIT_COMMITTER_IDENT`)."""
    import git

    try:
        ident = str(git.Repo(checkout.path).git.var("GIT_COMMITTER_IDENT"))
    except git.GitCommandError as exc:
        raise UsageError(f"git has no committer identity for Signed-off-by: "
                         f"{_last_line(str(exc.stderr))}",
                         hint="git config --global user.name 'You'; ... user.email you@...") \
            from None
    m = re.fullmatch(r"(.*>) \d+ [+-]\d{4}", ident.strip())
    return m.group(1) if m else ident.strip()


SUBJECT_TOPIC_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._/-]*): \S")
"""The `topic: ` a subject starts with (one word before the colon)."""
SUBJECT_HISTORY = 200
"""How many of the file's latest subjects are read to find its topic."""


def subject_topic(checkout: Checkout, path: str, *, ref: str | None = None,
                  timeout: float = 30.0) -> str | None:
    """Return the `topic` most used in the subjects of `path`'s history at `ref`, or None.

    One `git log --format=%s -n 200 REF -- PATH`: of the subjects that start with
    `word: `, the word used most wins (a tie: the most recent). None when no subject has one.

    Examples:
        >>> subject_topic(checkout, "templates/wikimediacloud.org")       # doctest: +SKIP
        'wikimediacloud.org'
    """
    code, out = run_git(["-c", "core.hooksPath=/dev/null", "log", "--no-merges",
                         "--format=%s", f"-n{SUBJECT_HISTORY}", ref or checkout.remote_ref,
                         "--", path], checkout.path, timeout=timeout)
    if code != 0:
        return None
    topics = [m.group(1) for ln in out.splitlines() if (m := SUBJECT_TOPIC_RE.match(ln))]
    if not topics:
        return None
    counts = Counter(topics)
    best = max(counts.values())
    return next(t for t in topics if counts[t] == best)  # newest first: a tie goes to it


def compute_change_id(tree: str, parent: str, author: str, committer: str,
                      message: str) -> str:
    """Return `I<40 hex>` as Gerrit 2.x's commit-msg hook computes it.

    The 2.x hook hashes, as a git commit object (`git hash-object -t commit --stdin`), the
    text `tree T\\nparent P\\nauthor A\\ncommitter C\\n\\n<message>` where the message has its
    comment and Signed-off-by lines dropped and blank lines squeezed (`git stripspace`).
    `author`/`committer` are git idents: `Name <email> 1700000000 +0000`.

    Which and why: today's hook (Gerrit 3.x, `/tools/hooks/commit-msg`) hashes instead, as a
    blob, `git var GIT_COMMITTER_IDENT`, the parent (HEAD) and the message file. Gerrit
    checks only the form `I` + 40 hex and that it is unique in the project; it never
    recomputes it, so both are valid ids. The 2.x inputs are kept because they include the
    tree: two runs that build different edits on one parent in the same second (a retry
    after the tip moved) still get different ids, which the 3.x inputs would not promise
    when the message text is the same. A resumed run reuses the open change's id.
    """
    text = f"tree {tree}\n" + (f"parent {parent}\n" if parent else "")
    text += f"author {author}\ncommitter {committer}\n\n{_clean_message(message)}"
    data = text.encode()
    return "I" + hashlib.sha1(b"commit %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _clean_message(message: str) -> str:
    lines = [ln.rstrip() for ln in message.splitlines()
             if not ln.startswith(("Signed-off-by:", "#"))]
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def identity(checkout: Checkout) -> git.Actor:
    """Return the operator's git identity (user.name/user.email), or raise UsageError."""
    import git

    reader = git.Repo(checkout.path).config_reader()
    name = reader.get_value("user", "name", default="")
    email = reader.get_value("user", "email", default="")
    if not name or not email:
        raise UsageError("git has no user.name/user.email for the commit",
                         hint="git config --global user.name 'You'; ... user.email you@...")
    return git.Actor(str(name), str(email))


def commit_change(worktree: Worktree, *, subject: str, body: str, bug: str | None = None,
                  change_id: str | None = None, author: git.Actor | None = None,
                  when: int | None = None, bugs: Sequence[str] = (),
                  signoff: bool = False) -> CommitInfo:
    """Return the commit of every edit in the worktree, on its base, with a Change-Id.

    A new Change-Id is computed unless `change_id` is given (a new patch set of that change).
    `bugs` adds more `Bug:` footers; `signoff` adds `Signed-off-by:` from git's committer
    identity. No hook of the operator's runs: git runs here with `core.hooksPath` set to an
    empty directory (`git add` would run `post-index-change`, `update-ref` the
    `reference-transaction` hook), and the message already carries its Change-Id.

    Raises:
        UsageError: nothing changed, no git identity, or a bad message part (exit 2).
        GitError: git failed to stage or record the commit (exit 4).
    """
    import git

    repo = git.Repo(worktree.path)
    with tempfile.TemporaryDirectory(prefix="failover-nohooks-") as nohooks:
        def quiet() -> git.Git:  # GitPython keeps `-c` for the next command only
            return repo.git(c=f"core.hooksPath={nohooks}")

        try:
            quiet().add("--all")
            tree = str(quiet().write_tree())
        except git.GitCommandError as exc:
            raise GitError(f"cannot stage the edit in the temporary worktree: "
                           f"{_last_line(str(exc.stderr))}") from None
        base = repo.commit(worktree.base)
        if tree == base.tree.hexsha:
            raise UsageError("nothing to commit: the worktree has no change",
                             hint="the record may already point at the target")
        author = author or identity(worktree.checkout)
        date = f"{when if when is not None else int(time.time())} +0000"
        ident = f"{author.name} <{author.email}> {date}"
        sign = signoff_identity(worktree.checkout) if signoff else None
        draft = build_commit_message(subject, body, bug=bug, bugs=bugs, signoff=sign,
                                     change_id="I" + "0" * 40)
        draft = draft.rsplit("Change-Id:", 1)[0].rstrip() + "\n"
        change_id = change_id or compute_change_id(tree, base.hexsha, ident, ident, draft)
        message = build_commit_message(subject, body, bug=bug, bugs=bugs, signoff=sign,
                                       change_id=change_id)
        commit = git.Commit.create_from_tree(repo, tree, message, parent_commits=[base],
                                             head=False, author=author, committer=author,
                                             author_date=date, commit_date=date)
        try:
            quiet().update_ref("--no-deref", "HEAD", commit.hexsha)
        except git.GitCommandError as exc:
            raise GitError(f"cannot record the commit in the temporary worktree: "
                           f"{_last_line(str(exc.stderr))}") from None
    return CommitInfo(sha=str(commit.hexsha), change_id=change_id, message=message)


def run_git(args: list[str], cwd: Path, *, timeout: float) -> tuple[int | None, str]:
    """Return (exit code, stdout and stderr lines) of `git ARGS` in `cwd`; None if timed out.

    The child is killed (and reaped) when `timeout` passes or the run is interrupted
    (Ctrl-C, SIGTERM), so no git is left pushing behind an interrupted run. Its output is
    read in this thread: no helper thread can be left holding a pipe at exit.
    """
    proc = subprocess.Popen(["git", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", env={**os.environ, **GIT_ENV})
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException as exc:  # timeout, KeyboardInterrupt (Ctrl-C, SIGTERM)
        proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        if isinstance(exc, subprocess.TimeoutExpired):
            return None, ""
        raise
    return proc.returncode, out + err


def push_options(topic: str | None, reviewers: Iterable[str] = (),
                 hashtags: Iterable[str] = ()) -> list[str]:
    """Return the Gerrit push options of a push for review (the preview shows the same).

    Examples:
        >>> push_options("openstack-failover", ["alice"], ["failover"])
        ['topic=openstack-failover', 'r=alice', 't=failover']
    """
    return ([f"topic={topic}"] if topic else []) + [f"r={r}" for r in reviewers] \
        + [f"t={h}" for h in hashtags]


def push_for_review(worktree: Worktree, review: GitReview, *, topic: str | None = None,
                    reviewers: Iterable[str] = (), hashtags: Iterable[str] = (),
                    timeout: float = GIT_TIMEOUT) -> PushResult:
    """Return the change made by pushing the worktree's HEAD to `refs/for/<branch>`.

    Raises:
        PushRejected: Gerrit refused it (reason, what to do; exit 4).
        GitError: the push failed otherwise, or Gerrit's answer names no change.
    """
    options = push_options(topic, reviewers, hashtags)
    args = ["push", *(f"--push-option={o}" for o in options), review.remote,
            f"HEAD:refs/for/{review.branch}"]
    code, output = run_git(args, worktree.path, timeout=timeout)
    lines = [ln.replace("\x1b[K", "") for ln in output.splitlines()]
    if code != 0 and not parse_push_output(lines).rejected:
        if code is not None and (hook := _refusing_pre_push_hook(worktree.path, lines)):
            path, said = hook
            raise GitError(f"push to {review.remote} refused by the pre-push hook {path}: "
                           f"{said or f'exit {code}'}",
                           hint="fix what the hook says (it is yours, not Gerrit's); nothing "
                                "was pushed and nothing was left behind")
        reason = _last_line(output) if code is not None else f"timed out after {timeout:g}s"
        raise GitError(f"push to {review.remote} failed: {reason or f'exit {code}'}",
                       hint="check the network and credentials; nothing was left behind")
    outcome = parse_push_output(lines)
    if outcome.rejected:
        raise rejection_error(outcome.rejected, review)
    if outcome.url is None or outcome.number is None:
        raise GitError("Gerrit accepted the push but named no change",
                       hint=f"look for topic {topic} in Gerrit" if topic else None)
    return PushResult(url=outcome.url, number=outcome.number, created=outcome.created)


def _refusing_pre_push_hook(cwd: Path, lines: list[str]) -> tuple[str, str] | None:
    """Return (hook path, what it said) when the checkout's pre-push hook stopped the push.

    git runs the hook before it connects and, when the hook fails, prints the hook's own
    output then only `error: failed to push some refs`; nothing came from the remote.
    """
    if any(ln.startswith(("remote:", "To ")) for ln in lines) \
            or not any(ln.startswith("error: failed to push some refs") for ln in lines):
        return None
    try:
        found = subprocess.run(["git", "rev-parse", "--git-path", "hooks/pre-push"], cwd=cwd,
                               capture_output=True, text=True, timeout=30, check=True)
    except (subprocess.SubprocessError, OSError):
        return None
    hook = Path(found.stdout.strip())
    hook = hook if hook.is_absolute() else cwd / hook
    if not (hook.is_file() and os.access(hook, os.X_OK)):
        return None
    said = [ln.strip() for ln in lines
            if ln.strip() and not ln.startswith("error: failed to push some refs")]
    return str(hook), " / ".join(said)[-500:]


PUSHED_FILE = "failover-pushed.json"
"""In the checkout's git directory: the last change a run pushed (Change-Id, subject, URL)."""


def record_pushed(checkout: Checkout, *, change_id: str, subject: str, url: str) -> None:
    """Remember the change just pushed, so a re-run finds it by its Change-Id.

    Kept in the checkout's own git directory (shared by every user and worktree of it), as
    the change belongs to the repository, not to one user's state.
    """
    import json

    import git

    path = Path(git.Repo(checkout.path).common_dir) / PUSHED_FILE
    data = {"change_id": change_id, "subject": subject, "url": url,
            "project": checkout.review.project_name, "branch": checkout.review.branch}
    tmp = path.with_name(f"{PUSHED_FILE}.{os.getpid()}.tmp")
    with suppress(OSError):
        tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def last_pushed(checkout: Checkout, subject: str) -> dict[str, str] | None:
    """Return the change an earlier run pushed with this subject to this branch, or None."""
    import json

    import git

    path = Path(git.Repo(checkout.path).common_dir) / PUSHED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:10000])
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("subject") != subject \
            or data.get("project") != checkout.review.project_name \
            or data.get("branch") != checkout.review.branch \
            or not re.fullmatch(r"I[0-9a-f]{40}", str(data.get("change_id", ""))):
        return None
    return {k: str(v) for k, v in data.items()}


def parse_push_output(lines: Iterable[str]) -> PushOutcome:
    """Return the change (URL, number, [NEW]) or the rejection reason in git push output."""
    for line in lines:
        line = line.rstrip()
        if m := REJECTED_RE.search(line):
            return PushOutcome(rejected=m.group(1))
        if m := SUCCESS_RE.match(line):
            rest = m.group(3) or ""
            return PushOutcome(url=m.group(1), number=int(m.group(2)),
                               created=rest.endswith("[NEW]"))
    return PushOutcome()


def rejection_error(reason: str, review: GitReview) -> PushRejected:
    """Return the error for Gerrit's rejection `reason`, saying what to do about it."""
    branch = review.branch
    known = [
        ("missing Change-Id", "the commit has no Change-Id footer Gerrit accepts",
         "this is a bug in failover (it writes one); report it with the message"),
        ("multiple Change-Id", "the commit message has more than one Change-Id line",
         "check commit-msg hooks and commit templates that add Change-Id lines"),
        ("invalid Change-Id", "the commit's Change-Id line is malformed",
         "this is a bug in failover; report it with the message"),
        ("no new changes", "Gerrit already has this exact commit",
         "the change was pushed before: find it by topic in Gerrit and follow it"),
        (f"branch {branch} not found", f"branch {branch} does not exist in Gerrit",
         "check defaultbranch in .gitreview"),
        ("prohibited by Gerrit", "Gerrit does not let you push for review here",
         f"check your account's permissions on {review.project_name}"),
        ("closed", "the change with this Change-Id is already merged or abandoned",
         "restore it in Gerrit, or run again to push a new change"),
    ]
    for key, what, hint in known:
        if key in reason:
            return PushRejected(f"Gerrit rejected the push: {what} ({reason})", reason,
                                hint=hint)
    return PushRejected(f"Gerrit rejected the push: {reason}", reason,
                        hint="read the reason; nothing was left behind locally")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip("'") if lines else ""
