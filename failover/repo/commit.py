"""The commit in the worktree: its message (subject, wrapped body, footers), its Change-Id, the
operator's identity, and the checks of command-line text that goes into it."""

from __future__ import annotations

import hashlib
import re
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from failover.errors import GitError, UsageError
from failover.names import BUG_RE, CHANGE_ID_RE, CONTROL_RE
from failover.repo.checkout import Checkout, _last_line, git_repo, run_git
from failover.repo.worktree import Worktree

if TYPE_CHECKING:
    import git  # imported where used: start-up pays only for what a command needs

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


CHANGE_ID_LINE_RE = re.compile(r"^Change-Id:", re.IGNORECASE | re.MULTILINE)
"""Any Change-Id footer line."""


@dataclass(frozen=True)
class CommitInfo:
    """The commit made in the worktree: its id, Change-Id and full message."""

    sha: str
    change_id: str
    message: str


BODY_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
"""A control character other than the newline that separates the body's lines."""


def build_commit_message(subject: str, body: str, *, bug: str | None, change_id: str,
                         bugs: Sequence[str] = (), signoff: str | None = None) -> str:
    """Return the message: subject, body wrapped at 72 columns, then the footers.

    The footers come last, in one block with no blank line: `Bug:` for `bug` and each of
    `bugs` (in order, once each), `Signed-off-by:` when `signoff` (a `Name <email>`) is
    given, and `Change-Id:` last, as Wikimedia's commit-message-validator wants them.

    Raises:
        UsageError: a bad task id, a multi-line subject, or a body carrying a footer line.
    """
    subject = BODY_CONTROL_RE.sub("?", subject)
    if not subject.strip() or "\n" in subject.strip():
        raise UsageError("the commit subject must be one non-empty line")
    tasks = list(dict.fromkeys(([bug] if bug is not None else []) + list(bugs)))
    for task in tasks:
        if not BUG_RE.match(task):
            raise UsageError(f"bad task id {task!r}", hint="give a Phabricator task like T12345")
    if not CHANGE_ID_RE.fullmatch(change_id):
        raise UsageError(f"bad Change-Id {change_id!r}")
    if CHANGE_ID_LINE_RE.search(body):
        raise UsageError("the commit body must not carry its own Change-Id line")
    # text read from elsewhere (a health command's output) may carry ESC, BEL, CR: shown as
    # `?`, never written into the commit (a --reason with one is refused before the run)
    body = BODY_CONTROL_RE.sub("?", body)
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
        ident = str(git_repo(checkout.path).git.var("GIT_COMMITTER_IDENT"))
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


def configured_identity(checkout: Checkout) -> tuple[str, str]:
    """Return the checkout's user.name and user.email as git's config says them ("" unset)."""
    reader = git_repo(checkout.path).config_reader()
    return (str(reader.get_value("user", "name", default="")),
            str(reader.get_value("user", "email", default="")))


def identity(checkout: Checkout) -> git.Actor:
    """Return the operator's git identity (user.name/user.email), or raise UsageError."""
    import git

    name, email = configured_identity(checkout)
    if not name or not email:
        raise UsageError("git has no user.name/user.email for the commit",
                         hint="git config --global user.name 'You'; ... user.email you@...")
    return git.Actor(name, email)


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
        base_sha, base_tree = _commit_and_tree(repo, worktree.base)
        if tree == base_tree:
            raise UsageError("nothing to commit: the worktree has no change",
                             hint="the record may already point at the target")
        author = author or identity(worktree.checkout)
        date = f"{when if when is not None else int(time.time())} +0000"
        ident = f"{author.name} <{author.email}> {date}"
        sign = signoff_identity(worktree.checkout) if signoff else None
        draft = build_commit_message(subject, body, bug=bug, bugs=bugs, signoff=sign,
                                     change_id="I" + "0" * 40)
        draft = draft.rsplit("Change-Id:", 1)[0].rstrip() + "\n"
        change_id = change_id or compute_change_id(tree, base_sha, ident, ident, draft)
        message = build_commit_message(subject, body, bug=bug, bugs=bugs, signoff=sign,
                                       change_id=change_id)
        # the tree and the parent by their ids: GitPython writes the same commit object as from
        # their names, without starting its `cat-file --batch` readers to look them up
        commit = git.Commit.create_from_tree(repo, git.Tree(repo, bytes.fromhex(tree)), message,
                                             parent_commits=[git.Commit(repo,
                                                                        bytes.fromhex(base_sha))],
                                             head=False, author=author, committer=author,
                                             author_date=date, commit_date=date)
        try:
            quiet().update_ref("--no-deref", "HEAD", commit.hexsha)
        except git.GitCommandError as exc:
            raise GitError(f"cannot record the commit in the temporary worktree: "
                           f"{_last_line(str(exc.stderr))}") from None
    return CommitInfo(sha=str(commit.hexsha), change_id=change_id, message=message)


def _commit_and_tree(repo: git.Repo, rev: str) -> tuple[str, str]:
    """Return the full ids of the commit `rev` names and of its tree (one `git rev-parse`)."""
    import git

    try:
        out = str(repo.git.rev_parse(f"{rev}^{{commit}}", f"{rev}^{{tree}}", "--"))
    except git.GitCommandError as exc:
        raise GitError(f"cannot read the commit {rev[:12]}: {_last_line(str(exc.stderr))}") \
            from None
    sha, tree = out.split()[:2]  # then the `--`, which rev-parse echoes
    return sha, tree
