"""The Gerrit stand-in's shared state and its `proc-receive` hook.

git hands every push to `refs/for/*` of the stand-in's bare repository to this program
(`receive.procReceiveRefs=refs/for`), which answers as Gerrit does: it checks the Change-Id
footer, creates `refs/changes/NN/N/P`, and writes Gerrit's `remote:` lines. The state (the
changes) lives in a JSON file in the bare repository, read and written under an fcntl lock
because the hook (a separate process) and the stand-in's HTTP server share it.

Run as `python -m sandbox.gerrit_hook` with GIT_DIR set (git does that for hooks).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

STATE_FILE = "gerrit-standin.json"
"""The state file's name inside the bare repository."""
LOCK_FILE = "gerrit-standin.lock"
"""The lock file's name inside the bare repository (flock'ed, never removed)."""
ZERO_OID = "0" * 40
"""The object id git sends for a ref that does not exist."""
CHANGE_ID_RE = re.compile(r"^I[0-9a-f]{40}$")
"""A valid Change-Id value."""
FOOTER_RE = re.compile(r"^([A-Za-z0-9-]+):\s*(.*)$")
"""A footer line: `Key: value`."""
GIT_TIMEOUT = 30.0
"""Seconds any git command the hook runs may take."""
SUBJECT_WARN_LENGTH = 50
"""Gerrit warns about a subject longer than this."""


# -- state -----------------------------------------------------------------------------------

def empty_state(project: str, url: str) -> dict[str, Any]:
    """Return a fresh state: no changes, numbering from 1."""
    return {"config": {"project": project, "url": url, "prohibited": None,
                       "accounts": {}, "ci_after": None},
            "next_number": 1, "changes": []}


def pusher(state: dict[str, Any]) -> str:
    """Return the account a push comes from: smart HTTP's signed-in user, a local push's
    GERRIT_STANDIN_USER (a test's bot), else the stand-in's own user (SSH's one key)."""
    return os.environ.get("REMOTE_USER") or os.environ.get("GERRIT_STANDIN_USER") \
        or str(state["config"].get("user") or "failover")


def patch_id(git_dir: Path, revision: str) -> str:
    """Return git's patch-id of a commit's diff (equal for a trivial rebase)."""
    diff = subprocess.run(["git", "--git-dir", str(git_dir), "show", "--format=", revision],
                          capture_output=True, timeout=GIT_TIMEOUT, check=True).stdout
    done = subprocess.run(["git", "--git-dir", str(git_dir), "patch-id", "--stable"],
                          input=diff, capture_output=True, timeout=GIT_TIMEOUT, check=True)
    return done.stdout.decode().split(" ", 1)[0]


@contextmanager
def locked_state(git_dir: Path, *, write: bool = True) -> Iterator[dict[str, Any]]:
    """Yield the state under an exclusive lock; write it back (atomically) when `write`."""
    with open(git_dir / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state: dict[str, Any] = json.loads((git_dir / STATE_FILE).read_text())
            yield state
            if write:
                tmp = git_dir / f"{STATE_FILE}.tmp"
                tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
                os.replace(tmp, git_dir / STATE_FILE)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_state(git_dir: Path, state: dict[str, Any]) -> None:
    """Write a whole state (used once, when the stand-in is created)."""
    with open(git_dir / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            (git_dir / STATE_FILE).write_text(json.dumps(state, indent=1, sort_keys=True))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def change_url(state: dict[str, Any], change: dict[str, Any]) -> str:
    """Return a change's web URL, as Gerrit prints it: `<root>/c/<project>/+/<number>`."""
    return f"{state['config']['url']}/c/{change['project']}/+/{change['number']}"


def patch_set_ref(number: int, patch_set: int) -> str:
    """Return Gerrit's ref for a patch set: `refs/changes/NN/N/P` (NN: last two digits)."""
    return f"refs/changes/{number % 100:02d}/{number}/{patch_set}"


GERRIT_IDENT = {"GIT_AUTHOR_NAME": "Gerrit Code Review",
                "GIT_AUTHOR_EMAIL": "gerrit@sandbox.invalid",
                "GIT_COMMITTER_NAME": "Gerrit Code Review",
                "GIT_COMMITTER_EMAIL": "gerrit@sandbox.invalid"}
"""Who the stand-in's own commits (merges) are by, as Gerrit's server identity."""


def git(git_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Return the result of one git command run against the bare repository."""
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True,
                          text=True, timeout=GIT_TIMEOUT, check=check,
                          env={**os.environ, **GERRIT_IDENT})


# -- commit message footers (as Gerrit reads them) ---------------------------------------------

def footer_lines(message: str) -> list[tuple[str, str]]:
    """Return the (key, value) footers of the message's last paragraph (none for one paragraph)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip("\n")) if p.strip()]
    if len(paragraphs) < 2:
        return []
    found = []
    for line in paragraphs[-1].splitlines():
        m = FOOTER_RE.match(line)
        if m and "://" not in m.group(1):
            found.append((m.group(1), m.group(2).strip()))
    return found


def change_id_problem(message: str) -> tuple[str | None, str | None]:
    """Return (change_id, None) for a valid footer, or (None, Gerrit's reason without prefix)."""
    ids = [v for k, v in footer_lines(message) if k.lower() == "change-id"]
    if not ids:
        return None, "missing Change-Id in message footer"
    if len(ids) > 1:
        return None, "multiple Change-Id lines in message footer"
    if not CHANGE_ID_RE.match(ids[0]):
        return None, "invalid Change-Id line format in message footer"
    return ids[0], None


def commit_warnings(sha: str, message: str) -> list[str]:
    """Return Gerrit's warnings about a commit message, as its commit validators word them.

    Gerrit warns (and still takes the change) when the subject is longer than 50
    characters: `commit 1234abc: warning: subject >50 characters; use shorter first paragraph`.
    """
    out = []
    subject = message.split("\n", 1)[0]
    if len(subject) > SUBJECT_WARN_LENGTH:
        out.append(f"commit {sha[:7]}: warning: subject >{SUBJECT_WARN_LENGTH} characters; "
                   "use shorter first paragraph")
    return out


# -- push options ------------------------------------------------------------------------------

def parse_options(ref_options: str, push_options: list[str]) -> dict[str, list[str]]:
    """Return the options of a push: `%topic=t,r=a` in the ref name plus `-o k=v` options."""
    found: dict[str, list[str]] = {}
    items = [o for o in ref_options.split(",") if o] + list(push_options)
    for item in items:
        key, _, value = item.partition("=")
        key = {"hashtag": "t", "reviewer": "r"}.get(key, key)
        found.setdefault(key, []).append(value)
    return found


# -- pkt-line ----------------------------------------------------------------------------------

def read_pkt(stream: IO[bytes]) -> bytes | None:
    """Return one pkt-line's payload, or None for a flush packet."""
    head = stream.read(4)
    if len(head) != 4:
        raise EOFError("unexpected end of the pkt-line stream")
    size = int(head, 16)
    if size == 0:
        return None
    data = stream.read(size - 4)
    return data[:-1] if data.endswith(b"\n") else data


def read_until_flush(stream: IO[bytes]) -> list[bytes]:
    """Return every payload up to the next flush packet."""
    out = []
    while (pkt := read_pkt(stream)) is not None:
        out.append(pkt)
    return out


def write_pkt(stream: IO[bytes], data: bytes | None) -> None:
    """Write one pkt-line (or a flush packet for None)."""
    if data is None:
        stream.write(b"0000")
    else:
        stream.write(f"{len(data) + 5:04x}".encode() + data + b"\n")
    stream.flush()


# -- handling one ref update -------------------------------------------------------------------

def handle_command(git_dir: Path, new: str, ref: str, push_options: list[str],
                   messages: list[str]) -> str | None:
    """Return None when the push to `ref` is accepted (a change or patch set made), else why not.

    Every commit the push brings that the branch does not have becomes a change (or a new
    patch set of the change of its Change-Id), the oldest first, each with its parent: a push
    of several commits is a relation chain, as Gerrit makes it. A commit that already is a
    change's current patch set is left as it is. Appends Gerrit's `remote:` lines for the
    client to `messages`.
    """
    rest = ref.removeprefix("refs/for/")
    branch, _, ref_options = rest.partition("%")
    branch = branch.removeprefix("refs/heads/")
    options = parse_options(ref_options, push_options)
    if new == ZERO_OID:
        return "cannot delete references/for"
    if git(git_dir, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
           check=False).returncode != 0:
        return f"branch {branch} not found"
    with locked_state(git_dir) as state:
        prohibited = state["config"].get("prohibited")
        if prohibited:
            return f"prohibited by Gerrit: not permitted: {prohibited}"
        known = {ps["revision"] for c in state["changes"] for ps in c["patch_sets"]}
        commits = git(git_dir, "rev-list", "--reverse", new, "--not", f"refs/heads/{branch}",
                      check=False).stdout.split()
        commits = [sha for sha in commits if sha not in known]
        if not commits:
            return "no new changes"
        pending: list[tuple[str, str, str]] = []
        for sha in commits:  # every commit checked before any change is made
            message = git(git_dir, "cat-file", "commit", sha).stdout.split("\n\n", 1)[-1]
            change_id, problem = change_id_problem(message)
            if problem or change_id is None:
                return f"commit {sha[:7]}: {problem}"
            change = _change_of(state, change_id, branch)
            if change is not None and change["status"] != "NEW":
                return f"change {change_url(state, change)} closed"
            pending.append((sha, change_id, message))
        made = [_patch_set(git_dir, state, sha, change_id, message, branch, options)
                for sha, change_id, message in pending]
        created = sum(1 for _, is_new in made if is_new)
        counts = ", ".join(f"{what}: {n}" for what, n in (("new", created),
                                                            ("updated", len(made) - created))
                           if n)
        messages.append(f"Processing changes: refs: 1, {counts}, done")
        for sha, _, message in pending:
            messages += commit_warnings(sha, message)
        messages += ["", "SUCCESS", ""]
        messages += [f"  {change_url(state, c)} {c['subject']}{' [WIP]' if c['wip'] else ''}"
                     f"{' [NEW]' if is_new else ''}" for c, is_new in made]
        messages.append("")
    return None


def _change_of(state: dict[str, Any], change_id: str, branch: str) -> dict[str, Any] | None:
    """Return the change of `change_id` on `branch` of the project, if there is one."""
    project = state["config"]["project"]
    return next((c for c in state["changes"] if c["change_id"] == change_id
                 and c["project"] == project and c["branch"] == branch), None)


def _patch_set(git_dir: Path, state: dict[str, Any], new: str, change_id: str, message: str,
               branch: str, options: dict[str, list[str]]) -> tuple[dict[str, Any], bool]:
    """Make commit `new` a new change or a new patch set; return (the change, created)."""
    change = _change_of(state, change_id, branch)
    now = time.time()
    created = change is None
    if change is None:
        change = {"number": state["next_number"], "change_id": change_id,
                  "project": state["config"]["project"], "branch": branch, "status": "NEW",
                  "topic": None, "reviewers": [], "hashtags": [], "votes": {},
                  "patch_sets": [], "created": now, "merged_revision": None,
                  "owner": pusher(state), "wip": False, "submitter": None}
        state["next_number"] += 1
        state["changes"].append(change)
        name, _, email = git(git_dir, "log", "-1", "--format=%an%x00%ae",
                             new).stdout.strip().partition("\0")
        change["author"] = {"name": name, "email": email}
    if options.get("topic"):
        change["topic"] = options["topic"][-1]
    change["reviewers"] = sorted({*change["reviewers"], *options.get("r", [])})
    change["hashtags"] = sorted({*change["hashtags"], *options.get("t", [])})
    change["subject"] = message.split("\n", 1)[0]
    change["updated"] = now
    if "wip" in options or "work-in-progress" in options:
        change["wip"] = True
    elif "ready" in options:
        change["wip"] = False
    # Gerrit keeps votes across a trivial rebase (the same diff), drops them otherwise
    if change["patch_sets"] and patch_id(git_dir, change["patch_sets"][-1]["revision"]) \
            != patch_id(git_dir, new):
        change["votes"] = {}
    change["parent"] = (git(git_dir, "rev-parse", f"{new}^", check=False).stdout.strip()
                        or None)
    ps_number = len(change["patch_sets"]) + 1
    ps_ref = patch_set_ref(change["number"], ps_number)
    git(git_dir, "update-ref", ps_ref, new)
    change["patch_sets"].append({"number": ps_number, "revision": new, "ref": ps_ref,
                                 "created": now})
    return change, created


def main() -> int:
    """Speak the proc-receive protocol on stdin/stdout; return the hook's exit code."""
    git_dir = Path(os.environ.get("GIT_DIR", ".")).resolve()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    read_until_flush(stdin)  # version=1\0<capabilities>
    write_pkt(stdout, b"version=1\0push-options")
    write_pkt(stdout, None)
    commands = [c.decode().split(" ", 2) for c in read_until_flush(stdin)]
    push_options = [o.decode() for o in read_until_flush(stdin)]
    messages: list[str] = []
    results = []
    for _old, new, ref in commands:
        try:
            reason = handle_command(git_dir, new, ref, push_options, messages)
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            reason = f"internal server error: {exc}"
        results.append(f"ok {ref}" if reason is None else f"ng {ref} {reason}")
    for line in messages:
        print(line, file=sys.stderr)
    sys.stderr.flush()
    for result in results:
        write_pkt(stdout, result.encode())
    write_pkt(stdout, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
