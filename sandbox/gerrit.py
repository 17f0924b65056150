"""A Gerrit stand-in on 127.0.0.1: a bare repository with a proc-receive hook, and REST.

Pushes to `refs/for/<branch>` go through `sandbox.gerrit_hook` (Gerrit's answers and
rejections); a small HTTP server serves the REST endpoints `failover.gerrit` uses, under `/r/`
(anonymous) and `/r/a/` (HTTP basic auth), every JSON body prefixed with `)]}'`. Test helpers
approve and merge or abandon a change; fault switches make the REST side fail on purpose.

Examples:
    >>> with start_gerrit(Path(tempfile.mkdtemp(dir="/tmp"))) as gerrit:   # doctest: +SKIP
    ...     seed_upstream(gerrit)                       # sandbox.dnsrepo
    ...     gerrit.approve_and_merge(1)

Over 400 lines on purpose: the stand-in's REST server, its state (changes, patch sets,
labels, faults) and its reviewer are one Gerrit as tests see it; its transports (SSH, the
proc-receive hook) are already their own modules (gerrit_ssh.py, gerrit_hook.py).
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sandbox import gerrit_review as rules
from sandbox.backends import free_port
from sandbox.gerrit_hook import (
    STATE_FILE,
    change_url,
    empty_state,
    git,
    locked_state,
    write_state,
)

XSSI_PREFIX = b")]}'\n"
"""What Gerrit puts before every JSON body."""
HOOK_SCRIPT = """#!{python} -S
import sys
sys.path.insert(0, {root!r})
from sandbox.gerrit_hook import main
sys.exit(main())
"""
"""The proc-receive hook written into the bare repository (runs this interpreter; `-S`: it
needs the standard library only, and starts faster without the site packages)."""
GERRIT_VERSION = "3.10.6"
"""The version the stand-in reports (REST /config/server/version, `gerrit version`)."""
GIT_HTTP_SERVICES = ("info/refs", "git-upload-pack", "git-receive-pack")
"""The smart HTTP paths under a project's URL that `git http-backend` serves."""
HTTP_BACKEND_TIMEOUT = 60.0
"""Seconds one `git http-backend` request may take."""


@dataclass
class Faults:
    """Switches that make the REST side misbehave (mutable on purpose, for tests)."""

    errors_500: int = 0
    """Answer this many next requests with 500 (-1: every request)."""
    hang: float = 0.0
    """Seconds to sleep before answering."""
    drop_prefix: bool = False
    """Send JSON without the `)]}'` line."""
    malformed: bool = False
    """Send a body that is not JSON."""
    hidden: bool = False
    """REST shows no change (a REST root of another Gerrit, or an index late after a push)."""


class GerritStandin:
    """The running stand-in: `git_url` to push to, `rest_url` for REST, helpers for tests."""

    def __init__(self, workdir: Path, project: str = "operations/dns", *,
                 user: str = "failover", password: str = "secret",  # noqa: S107
                 auto_merge_after: float | None = None, ssh: bool = False) -> None:
        self.workdir = workdir.resolve()
        self.project = project
        self.git_dir = (workdir / f"{project}.git").resolve()
        self.user, self.password = user, password
        self.auto_merge_after = auto_merge_after
        self.merge_after_poll = False
        """With `auto_merge_after`: merge a change only once its detail has been answered
        (the run has seen it open), so a transcript's "waiting for review" line does not
        depend on how fast a loaded machine polls."""
        self._initial = (user, password, auto_merge_after)
        self.faults = Faults()
        self.requests: list[str] = []
        self.answered: list[str] = []
        """The paths of the requests answered, in order, each once its answer is sent."""
        self._faults_lock = threading.Lock()
        self._stop = threading.Event()
        self._seen: tuple[tuple[int, int, int], float, dict[str, Any]] | None = None
        """The ticker's last reading of the state: the file's (inode, mtime, size), when, what."""
        self._create_repo()
        self.hook_file = self.workdir / "commit-msg"
        self._write_commit_msg_hook()
        self.sshd: Any = None
        """The stand-in's own sshd (a `sandbox.sshd.SandboxSshd`) when `ssh`."""
        if ssh:
            self._start_sshd()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        state = empty_state(project, self.rest_url)
        state["config"]["user"] = user
        state["config"]["accounts"] = rules.default_accounts(user, password)
        write_state(self.git_dir, state)
        self._threads = [threading.Thread(target=self._server.serve_forever,
                                          kwargs={"poll_interval": 0.05}, daemon=True),
                         threading.Thread(target=self._ticker, daemon=True)]
        for t in self._threads:
            t.start()

    @property
    def stopping(self) -> threading.Event:
        """Return the event set when the stand-in stops."""
        return self._stop

    @property
    def git_url(self) -> str:
        """Return the bare repository's path, usable as a git remote URL."""
        return str(self.git_dir)

    @property
    def rest_url(self) -> str:
        """Return the REST root, `http://127.0.0.1:PORT/r`."""
        return f"http://127.0.0.1:{self.port}/r"

    @property
    def ssh_port(self) -> int | None:
        """Return the port the stand-in serves git over SSH on (Gerrit's 29418), if it does."""
        return int(self.sshd.port) if self.sshd is not None else None

    @property
    def ssh_url(self) -> str:
        """Return the project's SSH URL, `ssh://USER@127.0.0.1:PORT/<project>`, as Gerrit's."""
        if self.sshd is None:
            raise RuntimeError("the stand-in was started without ssh")
        return f"ssh://{self.sshd.user}@127.0.0.1:{self.sshd.port}/{self.project}"

    @property
    def ssh_command(self) -> str:
        """Return a GIT_SSH_COMMAND (`ssh -F config`) that reaches the stand-in with its key."""
        if self.sshd is None:
            raise RuntimeError("the stand-in was started without ssh")
        return f"ssh -F {shlex.quote(str(self.ssh_config))}"

    @property
    def ssh_config(self) -> Path:
        """Return the ssh client config for the stand-in (its host key known, its key)."""
        return Path(self.sshd.workdir) / "git.ssh_config"

    @property
    def http_url(self) -> str:
        """Return the project's anonymous smart HTTP URL, `<rest_url>/<project>`."""
        return f"{self.rest_url}/{self.project}"

    def _write_commit_msg_hook(self) -> None:
        from sandbox.dnsrepo import COMMIT_MSG_HOOK

        self.hook_file.write_text(COMMIT_MSG_HOOK)
        self.hook_file.chmod(0o755)

    def _start_sshd(self) -> None:
        """Start a real OpenSSH server whose every session runs `gerrit_ssh` (forced command)."""
        from sandbox.sshd import SandboxSshd, ssh_keygen

        work = self.workdir / "gerrit-ssh"
        work.mkdir(parents=True, exist_ok=True)
        host_key = ssh_keygen(work / "host_key", "gerrit-standin-host")
        client_key = ssh_keygen(work / "client_key", "gerrit-standin-client")
        script = Path(__file__).with_name("gerrit_ssh.py")
        command = " ".join(shlex.quote(a) for a in (
            sys.executable, "-I", "-S", str(script), str(self.git_dir), self.project,
            str(self.hook_file), GERRIT_VERSION))
        key = Path(f"{client_key}.pub").read_text().strip()
        (work / "authorized_keys").write_text(
            f'command="{command}",no-port-forwarding,no-X11-forwarding,'
            f"no-agent-forwarding,no-pty {key}\n")
        self.sshd = SandboxSshd(work, free_port(), getpass.getuser(), host_key, client_key)
        self.sshd.start()
        self.sshd.client_config("git")

    def _create_repo(self) -> None:
        self.git_dir.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", "-b", "master", str(self.git_dir)],
                       check=True, timeout=30, capture_output=True)
        git(self.git_dir, "config", "receive.procReceiveRefs", "refs/for")
        git(self.git_dir, "config", "receive.advertisePushOptions", "true")
        hook = self.git_dir / "hooks" / "proc-receive"
        root = str(Path(__file__).resolve().parents[1])
        hook.write_text(HOOK_SCRIPT.format(python=sys.executable, root=root))
        hook.chmod(0o755)

    # -- helpers for tests and the demo -------------------------------------------------------

    def refs(self) -> dict[str, str]:
        """Return every ref of the bare repository and the commit it names."""
        out = git(self.git_dir, "for-each-ref", "--format=%(refname) %(objectname)").stdout
        return dict(line.split(" ", 1) for line in out.splitlines())

    def reset(self, refs: dict[str, str]) -> None:
        """Bring the stand-in back to `refs` (from `refs()`) with no change, no fault, its
        first credentials and reviewer delay, and its sshd running: a test's world reused by
        the next test instead of a new one started."""
        with locked_state(self.git_dir) as state:
            for ref in set(self.refs()) - set(refs):
                git(self.git_dir, "update-ref", "-d", ref)
            for ref, sha in refs.items():
                git(self.git_dir, "update-ref", ref, sha)
            user, password, _ = self._initial
            state.clear()
            state.update(empty_state(self.project, self.rest_url))
            state["config"]["user"] = user  # the accounts as at the start: votes, rights
            state["config"]["accounts"] = rules.default_accounts(user, password)
        self.user, self.password, self.auto_merge_after = self._initial
        self.merge_after_poll = False
        with self._faults_lock:
            self.faults = Faults()
        self.requests.clear()
        self.answered.clear()
        for hook in ("pre-receive", "update", "post-receive"):  # a test's slow or failing push
            (self.git_dir / "hooks" / hook).unlink(missing_ok=True)
        if self.sshd is not None:
            self.sshd.start()

    def set_prohibited(self, what: str | None) -> None:
        """Make every push fail with `prohibited by Gerrit: not permitted: <what>` (None: off)."""
        with locked_state(self.git_dir) as state:
            state["config"]["prohibited"] = what

    def changes(self) -> list[dict[str, Any]]:
        """Return every change record (copies)."""
        with locked_state(self.git_dir, write=False) as state:
            return list(state["changes"])

    def change(self, number: int) -> dict[str, Any]:
        """Return one change record, or raise KeyError."""
        for c in self.changes():
            if c["number"] == number:
                return c
        raise KeyError(number)

    def change_url(self, number: int) -> str:
        """Return a change's web URL."""
        with locked_state(self.git_dir, write=False) as state:
            return change_url(state, _find(state, number))

    def approve_and_merge(self, number: int) -> str:
        """Vote Code-Review+2 (the reviewer) Verified+1 (CI) and merge the current patch set
        (even work in progress: a test's shortcut); return the new tip.

        Fast-forwards the branch when it can, otherwise writes a merge commit (status MERGED
        with a different commit), as Gerrit's submit does.
        """
        with locked_state(self.git_dir) as state:
            change = _find(state, number)
            if change["status"] != "NEW":
                raise ValueError(f"change {number} is {change['status']}")
            change["votes"] = {"Code-Review": {rules.REVIEWER: 2},
                               "Verified": {rules.CI_ACCOUNT: 1}}
            return rules.merge(self.git_dir, change, rules.REVIEWER)

    def review(self, number: int, account: str, labels: dict[str, int]) -> tuple[int, Any]:
        """Vote as `account` (e.g. the reviewer's Code-Review +2); return (status, body)."""
        with locked_state(self.git_dir) as state:
            return rules.vote(state, _find(state, number), account, labels)

    def submit(self, number: int, account: str = rules.REVIEWER) -> tuple[int, Any]:
        """Submit as `account`; return Gerrit's (status, body): 200, 403 or 409."""
        with locked_state(self.git_dir) as state:
            return rules.submit(state, self.git_dir, _find(state, number), account)

    def set_account(self, name: str, **rights: Any) -> None:
        """Add or change an account (`password`, `approve`, `submit`, `verify`)."""
        with locked_state(self.git_dir) as state:
            accounts = state["config"]["accounts"]
            acct = accounts.setdefault(name, {"id": 1000 + len(accounts), "password": "x",
                                              "approve": False, "submit": False,
                                              "verify": False})
            acct.update(rights)

    def set_ci(self, after: float | None) -> None:
        """Make CI vote Verified +1 on each patch set `after` seconds old (None: no CI)."""
        with locked_state(self.git_dir) as state:
            state["config"]["ci_after"] = after

    def abandon(self, number: int) -> None:
        """Mark a change ABANDONED."""
        with locked_state(self.git_dir) as state:
            change = _find(state, number)
            change["status"] = "ABANDONED"
            change["updated"] = time.time()

    def take_fault(self) -> Faults:
        """Return the faults for one request, counting down `errors_500`."""
        with self._faults_lock:
            now = Faults(**vars(self.faults))
            if self.faults.errors_500 > 0:
                self.faults.errors_500 -= 1
            return now

    def _ticker_state(self) -> dict[str, Any]:
        """Return the state as the ticker last read it, read again when the file changed (a
        write replaces it) or half a second passed: the ticker looks 20 times a second, and
        parsing a module's whole history of changes each time cost a tenth of a CPU core."""
        st = (self.git_dir / STATE_FILE).stat()
        key, now = (st.st_ino, st.st_mtime_ns, st.st_size), time.monotonic()
        if self._seen is None or self._seen[0] != key or now - self._seen[1] > 0.5:
            with locked_state(self.git_dir, write=False) as state:
                self._seen = (key, now, state)
        return self._seen[2]

    def _ci(self) -> None:
        """Vote Verified +1 as CI on every open patch set old enough (when CI is on)."""
        state = self._ticker_state()
        after = state["config"].get("ci_after")
        due = [c["number"] for c in state["changes"] if after is not None
               and c["status"] == "NEW" and rules.CI_ACCOUNT not in
               c.get("votes", {}).get("Verified", {})
               and time.time() - c["patch_sets"][-1]["created"] >= after]
        for number in due:
            self.review(number, rules.CI_ACCOUNT, {"Verified": 1})

    def _ticker(self) -> None:
        while not self._stop.wait(0.05):
            self._ci()
            if self.auto_merge_after is None:
                continue
            state = self._ticker_state()
            # never work in progress, never before its parent change (a chain)
            due = [c["number"] for c in state["changes"] if c["status"] == "NEW"
                   and not c.get("wip") and rules.open_parent(state, c) is None
                   and time.time() - max(c["patch_sets"][-1]["created"],
                                         c.get("ready_at") or 0) >= self.auto_merge_after]
            for number in due:
                if self.merge_after_poll and not self._polled(number):
                    continue
                try:
                    self.approve_and_merge(number)
                except ValueError:  # abandoned or merged meanwhile, or in conflict
                    continue

    def _polled(self, number: int) -> bool:
        """Whether a change's detail has been answered (a run's poll of its review)."""
        return any(re.search(rf"~{number}/detail(?:\?|$)", path) for path in list(self.answered))

    def stop(self) -> None:
        """Stop the HTTP server and the auto-merge ticker (again: nothing)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self.sshd is not None:
            self.sshd.stop()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)


@contextmanager
def start_gerrit(workdir: Path, project: str = "operations/dns",
                 **kwargs: Any) -> Iterator[GerritStandin]:
    """Yield a running stand-in for `project` under `workdir`; stop it afterwards."""
    standin = GerritStandin(workdir, project, **kwargs)
    try:
        yield standin
    finally:
        standin.stop()


def _find(state: dict[str, Any], number: int) -> dict[str, Any]:
    for c in state["changes"]:
        if c["number"] == number:
            found: dict[str, Any] = c  # the record itself: callers change it
            return found
    raise KeyError(number)


# -- REST ----------------------------------------------------------------------------------------

def change_info(state: dict[str, Any], c: dict[str, Any], *, detail: bool,
                options: tuple[str, ...] = (), git_dir: Path | None = None) -> dict[str, Any]:
    """Return Gerrit's ChangeInfo JSON for a change record (with labels when `detail`);
    `options` are the `o=` ones (CURRENT_REVISION, CURRENT_FILES, SUBMITTABLE, LABELS,
    DETAILED_ACCOUNTS)."""
    info: dict[str, Any] = {
        "id": f"{quote(c['project'], safe='')}~{c['branch']}~{c['change_id']}",
        "project": c["project"], "branch": c["branch"], "change_id": c["change_id"],
        "subject": c["subject"], "status": c["status"], "_number": c["number"],
        "current_revision": c["patch_sets"][-1]["revision"], "hashtags": c["hashtags"],
        "created": _ts(c["created"]), "updated": _ts(c["updated"]),
    }
    if c["topic"]:
        info["topic"] = c["topic"]
    if c.get("wip"):
        info["work_in_progress"] = True
    info["owner"] = rules.account_info(state, c.get("owner") or state["config"].get("user"))
    if c.get("author"):  # the account's full name: the uploader's, as its commits give it
        info["owner"]["name"] = c["author"]["name"]
    if c.get("submitter"):
        info["submitter"] = rules.account_info(state, c["submitter"])
    if detail or "LABELS" in options:
        info["labels"] = rules.labels_info(state, c)
    if detail:
        info["reviewers"] = {"REVIEWER": [{"username": r} for r in c["reviewers"]]}
    if "SUBMITTABLE" in options:
        info["submittable"] = c["status"] == "NEW" and not rules.problems(state, c)
    if {"CURRENT_REVISION", "CURRENT_FILES"} & set(options):
        ps = c["patch_sets"][-1]
        revision: dict[str, Any] = {"_number": ps["number"], "ref": ps["ref"], "commit": {
            "parents": [{"commit": c["parent"]}] if c.get("parent") else []}}
        if "CURRENT_FILES" in options and git_dir is not None:
            revision["files"] = {f: {} for f in rules.changed_files(git_dir, ps["revision"])}
        info["revisions"] = {ps["revision"]: revision}
    return info


def _mergeable(git_dir: Path, c: dict[str, Any]) -> bool:
    """Return whether the current patch set merges into its branch without a conflict."""
    tip = git(git_dir, "rev-parse", f"refs/heads/{c['branch']}").stdout.strip()
    return git(git_dir, "merge-tree", "--write-tree", tip, c["patch_sets"][-1]["revision"],
               check=False).returncode == 0


def _ts(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S.000000000", time.gmtime(t))


def _matches(state: dict[str, Any], c: dict[str, Any], query: str,
             git_dir: Path | None = None) -> bool:
    for term in query.split():
        negate = term.startswith("-")
        key, _, value = term.lstrip("-").partition(":")
        value = value.strip('"')
        if key == "owner" and value == "self":  # the stand-in knows no caller here
            raise ValueError("Must be signed-in to use owner:self")
        if key in ("file", "path"):  # path: exact path, as Gerrit's without a leading ^
            files = rules.changed_files(git_dir, c["patch_sets"][-1]["revision"]) \
                if git_dir else []
            if (value in files) == negate:
                return False
            continue
        ok = {
            "change": value in (c["change_id"], str(c["number"])),
            "topic": c["topic"] == value,
            "project": c["project"] == value,
            "branch": c["branch"] == value,
            "status": (c["status"] == "NEW") if value == "open" else
            (c["status"] != "NEW") if value == "closed" else c["status"] == value.upper(),
            "is": (c["status"] == "NEW") if value == "open" else bool(c.get("wip"))
            if value == "wip" else c["status"] == value.upper(),
            "owner": c.get("owner") == value,
        }.get(key)
        if ok is None:
            raise ValueError(f"Unsupported operator {key}")
        if ok == negate:
            return False
    return True


def _lookup(state: dict[str, Any], ident: str) -> list[dict[str, Any]]:
    parts = [unquote(p) for p in ident.split("~")]
    out = []
    for c in state["changes"]:
        if len(parts) == 1:
            ok = parts[0] in (str(c["number"]), c["change_id"])
        elif len(parts) == 2:
            ok = parts == [c["project"], str(c["number"])]
        else:
            ok = parts == [c["project"], c["branch"], c["change_id"]]
        if ok:
            out.append(c)
    return out


def _handler_for(standin: GerritStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            standin.requests.append(self.path)
            fault = standin.take_fault()
            if fault.hang and standin.stopping.wait(fault.hang):
                return  # stopped while hanging: answer nothing
            if fault.errors_500:
                self._send(500, b"Internal server error\n", "text/plain")
                return
            url = urlsplit(self.path)
            if url.path == "/tools/hooks/commit-msg":  # where git-review looks (urljoin)
                self._send(200, standin.hook_file.read_bytes(), "application/octet-stream")
                return
            routed = self._route(url.path)
            if routed is None:
                return
            path, authed = routed
            if self._git_http(path, url.query, authed=authed):
                return
            if path == "/tools/hooks/commit-msg":
                self._send(200, standin.hook_file.read_bytes(), "application/octet-stream")
                return
            if path == "/accounts/self":  # who the credentials are; anonymous: Gerrit's 403
                if not authed:
                    self._send(403, b"Authentication required\n", "text/plain")
                    return
                account = {"_account_id": 1000000, "name": standin.user,
                           "username": standin.user}
                self._send(200, XSSI_PREFIX + json.dumps(account).encode(), "application/json")
                return
            if path == "/config/server/version":
                self._send(200, XSSI_PREFIX + json.dumps(GERRIT_VERSION).encode(),
                           "application/json")
                return
            if path.startswith("/projects/"):
                status, body = self._project(path.removeprefix("/projects/"))
                if isinstance(body, bytes):  # a file's content, base64 as Gerrit sends it
                    self._send(status, body, "text/plain")
                    return
            elif not path.startswith("/changes/"):
                self._send(404, b"Not found\n", "text/plain")
                return
            elif fault.hidden:
                rest = path.removeprefix("/changes/")
                status, body = (200, []) if rest == "" else (404, f"Not found: {rest}\n")
            else:
                status, body = self._answer(path.removeprefix("/changes/"), url.query)
            if isinstance(body, bytes):  # a patch, base64 as Gerrit sends it
                self._send(status, body, "text/plain")
                return
            if isinstance(body, str):
                self._send(status, body.encode(), "text/plain")
            elif fault.malformed:
                self._send(200, XSSI_PREFIX + b"{not json", "application/json")
            else:
                data = json.dumps(body).encode()
                self._send(status, data if fault.drop_prefix else XSSI_PREFIX + data,
                           "application/json")

        def _answer(self, rest: str, query: str) -> tuple[int, Any]:
            options = tuple(parse_qs(query).get("o", []))
            gd = standin.git_dir
            with locked_state(gd, write=False) as state:
                if rest == "":
                    q = parse_qs(query).get("q", [""])[0]
                    try:
                        found = [c for c in state["changes"] if _matches(state, c, q, gd)]
                    except ValueError as exc:
                        return 400, f"{exc}\n"
                    return 200, [change_info(state, c, detail=False, options=options,
                                             git_dir=gd) for c in found]
                ident, _, tail = rest.partition("/")
                found = _lookup(state, ident)
                if len(found) != 1 or tail not in ("", "detail", "revisions/current/patch",
                                                   "revisions/current/related"):
                    return 404, f"Not found: {unquote(ident)}\n"
                c = found[0]
                if tail == "revisions/current/patch":  # format-patch text, base64 as Gerrit
                    patch = subprocess.run(
                        ["git", "--git-dir", str(gd), "format-patch", "-1", "--stdout",
                         c["patch_sets"][-1]["revision"]], capture_output=True, timeout=30,
                        check=True).stdout
                    return 200, base64.b64encode(patch)
                if tail == "revisions/current/related":
                    return 200, {"changes": [
                        {"_change_number": r["number"], "change_id": r["change_id"],
                         "status": r["status"], "_revision_number": len(r["patch_sets"]),
                         "commit": {"commit": r["patch_sets"][-1]["revision"],
                                    "parents": [{"commit": r.get("parent")}]}}
                        for r in rules.chain(state, c)]}
                info = change_info(state, c, detail=tail == "detail", options=options,
                                   git_dir=gd)
                if tail == "detail" and c["status"] == "NEW":
                    info["mergeable"] = _mergeable(gd, c)
                return 200, info

        def _route(self, raw: str) -> tuple[str, bool] | None:
            """Return the path under the REST root and whether it is `/a/` (authenticated);
            None when authentication failed (the 401 is sent)."""
            path = raw.removeprefix("/r")
            if not path.startswith("/a/"):
                return path, False
            if not self._authorized():
                self._unauthorized()
                return None
            return path[2:], True

        def do_POST(self) -> None:
            standin.requests.append(self.path)
            url = urlsplit(self.path)
            routed = self._route(url.path)
            if routed is None:
                return
            path, authed = routed
            if self._git_http(path, url.query, authed=authed):
                return
            if not path.startswith("/changes/"):
                self._send(404, b"Not found\n", "text/plain")
                return
            if not authed:  # Gerrit: writes need a signed-in user
                self._send(401, b"Unauthorized\n", "text/plain")
                return
            fault = standin.take_fault()
            if fault.errors_500:
                self._send(500, b"Internal server error\n", "text/plain")
                return
            status, body = self._act(path.removeprefix("/changes/"))
            if isinstance(body, str):
                self._send(status, body.encode(), "text/plain")
            else:
                self._send(status, XSSI_PREFIX + json.dumps(body).encode(), "application/json")

        def _act(self, rest: str) -> tuple[int, Any]:
            """Answer POST .../revisions/current/review, .../submit, .../wip, .../ready."""
            length = int(self.headers.get("Content-Length") or 0)
            try:
                data = json.loads(self.rfile.read(length) or b"{}") if length else {}
            except ValueError:
                return 400, "Invalid JSON\n"
            ident, _, tail = rest.partition("/")
            with locked_state(standin.git_dir) as state:
                found = _lookup(state, ident)
                if len(found) != 1:
                    return 404, f"Not found: {unquote(ident)}\n"
                c = found[0]
                if tail == "revisions/current/review":
                    return rules.vote(state, c, self.who, dict(data.get("labels") or {}))
                if tail == "submit":
                    status, body = rules.submit(state, standin.git_dir, c, self.who)
                    return (status, change_info(state, c, detail=False)) if status == 200 \
                        else (status, body)
                if tail in ("wip", "ready"):
                    status, body = rules.set_wip(state, c, self.who, tail == "wip")
                    return (status, "") if status == 200 else (status, body)
            return 404, "Not found\n"

        def _project(self, rest: str) -> tuple[int, Any]:
            """Answer GET /projects/P/branches/B and .../{branches/B,commits/C}/files/F/content."""
            parts = rest.split("/")
            if len(parts) < 3 or parts[1] not in ("branches", "commits") \
                    or unquote(parts[0]) != standin.project:
                return 404, f"Not found: {unquote(parts[0])}\n"
            branch = unquote(parts[2]).removeprefix("refs/heads/")
            name = f"refs/heads/{branch}" if parts[1] == "branches" else branch
            done = git(standin.git_dir, "rev-parse", "--verify", "--quiet",
                       f"{name}^{{commit}}", check=False)
            if done.returncode != 0:
                return 404, f"Not found: {branch}\n"
            revision = done.stdout.strip()
            if len(parts) == 3 and parts[1] == "branches":
                return 200, {"ref": f"refs/heads/{branch}", "revision": revision}
            if len(parts) == 3:  # a CommitInfo: its parents
                parents = git(standin.git_dir, "rev-parse", f"{revision}^@").stdout.split()
                return 200, {"commit": revision, "parents": [{"commit": p} for p in parents]}
            if len(parts) != 6 or parts[3] != "files" or parts[5] != "content":
                return 404, "Not found\n"
            blob = subprocess.run(["git", "--git-dir", str(standin.git_dir), "cat-file", "blob",
                                   f"{revision}:{unquote(parts[4])}"], capture_output=True,
                                  timeout=30, check=False)
            if blob.returncode != 0:
                return 404, f"Not found: {unquote(parts[4])}\n"
            return 200, base64.b64encode(blob.stdout)

        def _git_http(self, path: str, query: str, *, authed: bool) -> bool:
            """Serve smart HTTP for the project with `git http-backend`; False: not a git URL."""
            for name in (f"/{standin.project}.git/", f"/{standin.project}/"):
                if path.startswith(name) and path.removeprefix(name) in GIT_HTTP_SERVICES:
                    service = path.removeprefix(name)
                    break
            else:
                return False
            if "git-receive-pack" in (service, parse_qs(query).get("service", [""])[0]) \
                    and not authed:
                self._unauthorized()  # Gerrit takes pushes over HTTP only from a signed-in user
                return True
            self._run_http_backend(f"/{standin.git_dir.name}/{service}", query, authed)
            return True

        def _run_http_backend(self, path_info: str, query: str, authed: bool) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked()
            else:
                body = self.rfile.read(length) if length else b""
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "GIT_PROJECT_ROOT": str(standin.git_dir.parent), "GIT_HTTP_EXPORT_ALL": "1",
                   "PATH_INFO": path_info, "QUERY_STRING": query,
                   "REQUEST_METHOD": self.command, "CONTENT_TYPE":
                   self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                   "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                   "REMOTE_ADDR": self.client_address[0]}
            if authed:
                env["REMOTE_USER"] = self.who or standin.user
            try:
                done = subprocess.run(["git", "http-backend"], input=body, capture_output=True,
                                      env=env, timeout=HTTP_BACKEND_TIMEOUT, check=False)
            except subprocess.TimeoutExpired:
                self._send(500, b"git http-backend timed out\n", "text/plain")
                return
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.split()[0])
                elif key:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _read_chunked(self) -> bytes:
            data = b""
            while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data

        def _unauthorized(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="Gerrit Code Review"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        who = ""
        """The signed-in account of an `/a/` request."""

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
            with locked_state(standin.git_dir, write=False) as state:
                acct = state["config"]["accounts"].get(user)
            # the operator's HTTP password is the stand-in's `password` (a test changes it
            # there); every other account's is in the state's accounts
            want = standin.password if user == standin.user else (acct or {}).get("password")
            if acct is None or want != password:
                return False
            self.who = user
            return True

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{ctype}; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            standin.answered.append(self.path)

    return Handler
