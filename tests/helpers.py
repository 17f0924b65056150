"""Helpers shared by the fault, bad-input and security tests (tests/test_faults_*.py, ...).

The central one is `assert_nothing_lost`: after a fault, the operator's checkout is exactly as
before (files, index, HEAD, refs, stash, worktrees), no temporary worktree or branch is left,
the audit log ends with the run's outcome, and the exit code is the documented one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.message

from failover.zone import current_target
from sandbox.backends import free_ports
from sandbox.dnsrepo import ZONE_PATH
from sandbox.gerrit import Faults
from sandbox.world import World

FQDN = "openstack.eqiad1.wikimediacloud.org"
"""The sandbox region's API name."""
C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
"""The sandbox's controllers."""


def git(path: Path, *args: str) -> str:
    """Return git's stdout for `args` run in `path` (raises on failure)."""
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True,
                          check=True, timeout=30).stdout


def checkout_snapshot(path: Path) -> dict[str, Any]:
    """Return what must not change in the operator's checkout (remote-tracking refs may)."""
    files = {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
             if p.is_file() and ".git" not in p.relative_to(path).parts}
    refs = [ln for ln in git(path, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
            if not ln.startswith("refs/remotes/")]
    # the ahead/behind line follows the remote-tracking ref, which a fetch moves on purpose
    status = [ln for ln in git(path, "status", "--porcelain=v2", "--branch").splitlines()
              if not ln.startswith("# branch.ab ")]
    return {"files": files, "status": status,
            "head": git(path, "rev-parse", "HEAD"), "refs": refs,
            "stash": git(path, "stash", "list"), "worktrees": git(path, "worktree", "list"),
            "index": (path / ".git" / "index").read_bytes()}


def audit(world: World, start: int = 0) -> list[dict[str, Any]]:
    """Return the records of the world's audit log, those from byte `start` on."""
    try:
        with world.audit_path.open("rb") as log:
            log.seek(start)
            text = log.read().decode()
    except FileNotFoundError:
        return []
    # a line being appended by a running promote may be read half-written: only whole lines
    return [json.loads(line) for line in text.split("\n")[:-1]]


def audit_end(world: World) -> int:
    """Return the byte offset just after the audit log's last whole line (0: no log)."""
    try:
        return world.audit_path.read_bytes().rfind(b"\n") + 1
    except FileNotFoundError:
        return 0


def tmp_of(world: World) -> Path:
    """Return the TMPDIR the tool runs with in these tests (its temp worktrees go there)."""
    path = world.workdir / "tmp"
    path.mkdir(exist_ok=True)
    return path


def tool_env(world: World, **extra: str) -> dict[str, str]:
    """Return the environment for a `failover` subprocess in `world` (own TMPDIR, no creds)."""
    env = {k: v for k, v in world.env.items()
           if k not in ("FAILOVER_GERRIT_USER", "FAILOVER_GERRIT_PASSWORD", "FAILOVER_STATS_USER",
                        "FAILOVER_STATS_PASSWORD", "FAILOVER_DEBUG")}
    return {**env, "TMPDIR": str(tmp_of(world)), "COLUMNS": "200", **extra}


class Mark:
    """Where a run starts: the checkout's snapshot, the audit length, the changes in Gerrit."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.snapshot = checkout_snapshot(world.dns.checkout)
        self.audit_start = audit_end(world)
        """Where the run's records begin: the polls read the new lines only, not the log a
        shared world's earlier tests wrote (parsed again every 20 ms, that cost seconds of
        CPU a module)."""
        self.changes = len(world.dns.gerrit.changes())

    def records(self) -> list[dict[str, Any]]:
        """Return the audit records written since the mark."""
        return audit(self.world, self.audit_start)

    def new_changes(self) -> list[dict[str, Any]]:
        """Return the Gerrit changes made since the mark."""
        return self.world.dns.gerrit.changes()[self.changes:]


def tool_traceback(output: str) -> bool:
    """Return True if `output` holds a traceback through the tool's own code.

    In-process runs share stderr with the sandbox's servers, whose threads may print their
    own tracebacks (a client that gave up on a hanging answer): those are not the tool's.
    """
    return bool(re.search(r'File "[^"]*/failover/(?!sandbox/)', output)) or (
        "Traceback" in output and "socketserver.py" not in output)


def assert_nothing_lost(mark: Mark, code: int, expected_code: int, outcome: str,
                        output: str = "") -> list[dict[str, Any]]:
    """Assert the documented exit code and that the fault lost and left nothing; return records.

    Checks: the exit code, no traceback in `output`, the operator's checkout identical (files,
    index, HEAD, branches, tags, stash, worktrees), no temporary worktree registered or left
    in the tool's TMPDIR, no stale lock file, and an audit log ending with the `record` line
    of this run carrying `outcome` and the exit code.
    """
    world = mark.world
    assert code == expected_code, f"exit {code}, expected {expected_code}:\n{output}"
    assert not tool_traceback(output), output
    assert checkout_snapshot(world.dns.checkout) == mark.snapshot
    worktrees = git(world.dns.checkout, "worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 1, worktrees
    assert not list(tmp_of(world).glob("failover-wt-*")), list(tmp_of(world).iterdir())
    assert not (world.dns.checkout / ".git" / "failover.lock").exists(), "a lock file is left"
    records = mark.records()
    assert records, "no audit record written"
    last = records[-1]
    assert last["step"] == "record", last
    assert (last["result"], last["exit_code"]) == (outcome, expected_code), last
    assert len({r["run"] for r in records if r["step"] == "record"}) == \
        sum(1 for r in records if r["step"] == "record")
    return records


# -- the world: configuration, state, reset ---------------------------------------------------

def upstream_target(world: World) -> str:
    """Return the record's target on the stand-in's master."""
    text = subprocess.run(["git", "--git-dir", world.dns.gerrit.git_url, "show",
                           f"master:{ZONE_PATH}"], capture_output=True, text=True, check=True,
                          timeout=30).stdout
    return current_target(text, FQDN, path=ZONE_PATH)


def current_and_other(world: World) -> tuple[str, str]:
    """Return (the controller the record points at upstream, the other one)."""
    now = upstream_target(world).split(".")[0]
    return now, (C4 if now == C3 else C3)


def served_targets(world: World, fqdn: str = FQDN) -> list[str]:
    """Return what each running gdnsd answers for `fqdn` (default: the region's name)."""
    return [_ask_cname(g.port, fqdn) for g in world.gdnsd]


def _ask_cname(port: int, fqdn: str = FQDN) -> str:
    import dns.query

    reply = dns.query.udp(dns.message.make_query(fqdn, "CNAME"), "127.0.0.1", port=port,
                          timeout=2)
    return str(reply.answer[0][0].target) if reply.answer else "none"


def configure(world: World, *, stats: dict[str, str] | None = None,
              nameservers: list[str] | None = None, gerrit_timeout: float | None = None,
              haproxy_timeouts: tuple[float, float] | None = None,
              extra: dict[str, list[str]] | None = None, **overrides: Any) -> Path:
    """Rewrite the world's config: defaults with `overrides`, stats URLs, nameservers, ...

    `extra` maps a table name (e.g. "gerrit") to lines added to it.
    """
    world.settings.clear()  # each call describes the whole config: no earlier override stays
    path = world.write_config(**overrides)
    text = path.read_text()
    for name, url in (stats or {}).items():
        old = world.haproxy.controllers[name].stats_url
        text = text.replace(f'stats = "{old}"', f'stats = "{url}"')
    if nameservers is not None:
        text = re.sub(r"(?m)^nameservers = .*$",
                      "nameservers = [" + ", ".join(f'"{n}"' for n in nameservers) + "]", text)
    if gerrit_timeout is not None:
        text = text.replace("timeout = 5\n", f"timeout = {gerrit_timeout}\n", 1)
    if haproxy_timeouts is not None:
        connect, read = haproxy_timeouts
        text = text.replace("[haproxy]\ntimeout = 2\nconnect_timeout = 1\n",
                            f"[haproxy]\ntimeout = {read}\nconnect_timeout = {connect}\n", 1)
    for table, lines in (extra or {}).items():
        text = text.replace(f"[{table}]\n", f"[{table}]\n" + "".join(ln + "\n" for ln in lines),
                            1)
    path.write_text(text)
    return path


def without_regions(text: str) -> str:
    """Return the config `text` without its [regions.*] tables."""
    return re.sub(r"(?ms)^\[regions\.[^\n]*\n.*?(?=^\[(?!regions\.)|\Z)", "", text)


def deploy_all(world: World) -> None:
    """Serve the stand-in's master on every gdnsd (the sandbox authdns-update)."""
    subprocess.run(world.deploy_argv(), check=True, capture_output=True, timeout=60)


def reset_world(world: World) -> None:
    """Bring a shared world back to a clean state between tests: no faults, served = merged."""
    gerrit = world.dns.gerrit
    # A commit is identified by its content and its time in whole seconds: the same edit
    # made again within the second a previous change was pushed would be that same commit,
    # and Gerrit answers "no new changes". Runs of an operator are seconds apart.
    last = max((ps["created"] for c in gerrit.changes() for ps in c["patch_sets"]), default=0)
    wait_until(lambda: int(time.time()) > int(last), 2, "the next second")
    gerrit.faults = Faults()
    gerrit.auto_merge_after = 0.3
    gerrit.set_prohibited(None)
    gerrit.user, gerrit.password = "failover", "secret"
    for change in gerrit.changes():
        if change["status"] == "NEW":
            gerrit.abandon(change["number"])
    for hook in ("pre-receive",):
        (Path(gerrit.git_url) / "hooks" / hook).unlink(missing_ok=True)
    if len(world.haproxy.running_controllers()) != len(world.haproxy.controllers) or any(
            not b.running for b in world.haproxy.backends.values()):
        world.haproxy.reset()
    for g in world.gdnsd:
        if g.process is None or g.process.poll() is not None:
            g.start()
            g.wait_ready()
    world.settings.clear()
    world.write_config()
    if served_targets(world) != [upstream_target(world)] * len(world.gdnsd):
        deploy_all(world)


@contextlib.contextmanager
def shared_world_env(world: World) -> Iterator[None]:
    """Within the block, the in-process tool runs with the world's state dir, no credentials."""
    with pytest_monkeypatch() as mp:
        mp.setenv("XDG_STATE_HOME", str(world.workdir / "state"))
        for name in ("FAILOVER_GERRIT_USER", "FAILOVER_GERRIT_PASSWORD", "FAILOVER_STATS_USER",
                     "FAILOVER_STATS_PASSWORD"):
            mp.delenv(name, raising=False)
        yield


@contextlib.contextmanager
def pytest_monkeypatch() -> Iterator[Any]:
    """Yield a pytest MonkeyPatch usable outside a function-scoped fixture."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        yield mp


# -- processes ----------------------------------------------------------------------------------

def promote(run_cli: Callable[..., Any], world: World, target: str, *args: str) -> Any:
    """Return the CliResult of `failover promote eqiad1 TARGET --yes ARGS`, run in-process.

    Its temporary worktree goes to the world's own TMPDIR (checked for leftovers), for this
    call only: pytest's own temp dirs must not follow.
    """
    with pytest_monkeypatch() as mp:
        mp.setattr(tempfile, "tempdir", str(tmp_of(world)))
        return run_cli("promote", "eqiad1", target, "--yes", *args, "--config",
                       str(world.config_path))


def run_promote_process(world: World, target: str, *args: str, env: dict[str, str] | None = None,
                        preexec: Callable[[], None] | None = None,
                        **popen: Any) -> subprocess.Popen[str]:
    """Return a running `failover promote eqiad1 TARGET --yes ARGS` subprocess in `world`."""
    return subprocess.Popen(
        [sys.executable, "-m", "failover.cli", "promote", "eqiad1", target, "--yes", *args],
        env=env or tool_env(world), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, preexec_fn=preexec, **popen)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    """Return (exit code, stdout + stderr) of `proc`, killing it if it outlives `timeout`."""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out + err


def wait_for_step(mark: Mark, step: str, timeout: float = 90,
                  proc: subprocess.Popen[str] | None = None) -> None:
    """Return once the audit log (since `mark`) says `step` is done (`timeout`: room for a
    loaded machine, where a run's start alone can take tens of seconds; it ends at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["step"] == step and r["result"] == "done" for r in mark.records()):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended before {step}: {finish(proc)}")
        time.sleep(0.02)
    raise AssertionError(f"step {step} not reached")


def wait_until(check: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    """Return once `check()` is true, probing every 20 ms; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached after {timeout}s")
        time.sleep(0.02)


# -- misbehaving servers ----------------------------------------------------------------------

class TrickleServer:
    """An HTTP server that answers 200 and then sends its body one byte every `gap` seconds.

    Each byte comes well within any socket timeout, so only a deadline on the whole read
    bounds it. `length` None sends no Content-Length (the body never ends). `in_headers`:
    the headers never end (one more header byte every `gap` seconds).
    """

    def __init__(self, body: bytes, gap: float = 0.05, length: int | None = None, *,
                 in_headers: bool = False) -> None:
        self.body, self.gap, self.length, self.in_headers = body, gap, length, in_headers
        self.accepted = 0
        """Connections accepted so far."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def url(self, path: str = "/stats;csv") -> str:
        """Return the URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            t = threading.Thread(target=self._trickle, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _trickle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            if self.in_headers:
                conn.sendall((head + "X-Slow: ").encode())
                while not self._stop.wait(self.gap):
                    conn.sendall(b"a")
                return
            if self.length is not None:
                head += f"Content-Length: {self.length}\r\n"
            conn.sendall((head + "Connection: close\r\n\r\n").encode())
            i = 0
            while not self._stop.wait(self.gap):
                conn.sendall(self.body[i % len(self.body):i % len(self.body) + 1])
                i += 1
                if self.length is not None and i >= self.length:
                    return

    def __enter__(self) -> TrickleServer:
        t = threading.Thread(target=self._serve, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.sock.close()


Answer = Callable[[dns.message.Message, bool], "bytes | dns.message.Message | None"]
"""How a FakeDns answers one query (query, over TCP?): a message, raw bytes, or silence."""


class FakeDns:
    """A tiny DNS server on 127.0.0.1 (UDP and TCP, one port) answering through `answer`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        # a port free for TCP and UDP (the worker's own block under xdist): a UDP port the
        # kernel picked may be a TCP connection's port at that moment
        self.port = free_ports(1, udp=True)[0]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        for s in (self.udp, self.tcp):
            s.settimeout(0.1)
        self.queries: list[tuple[str, bool]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]

    @property
    def address(self) -> str:
        """Return `127.0.0.1:PORT`, as [verify] nameservers takes it."""
        return f"127.0.0.1:{self.port}"

    def _reply(self, data: bytes, tcp: bool) -> bytes | None:
        query = dns.message.from_wire(data)
        self.queries.append((query.question[0].name.to_text(), tcp))
        out = self.answer(query, tcp)
        if isinstance(out, dns.message.Message):
            return out.to_wire()
        return out

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            with contextlib.suppress(Exception):
                if (wire := self._reply(data, False)) is not None:
                    self.udp.sendto(wire, peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            with conn, contextlib.suppress(Exception):
                conn.settimeout(2)
                size = int.from_bytes(conn.recv(2), "big")
                data = b""
                while len(data) < size:
                    data += conn.recv(size - len(data))
                if (wire := self._reply(data, True)) is not None:
                    conn.sendall(len(wire).to_bytes(2, "big") + wire)

    def __enter__(self) -> FakeDns:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.udp.close()
        self.tcp.close()


def cname_answer(query: dns.message.Message, target: str, *, aa: bool = True,
                 rcode: int = 0) -> dns.message.Message:
    """Return a reply to `query` holding `FQDN CNAME target` (AA as asked, rcode as given)."""
    import dns.flags
    import dns.rcode
    import dns.rrset

    reply = dns.message.make_response(query)
    if rcode:
        reply.set_rcode(dns.rcode.Rcode(rcode))
    else:
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "CNAME",
                                                target))
    if aa:
        reply.flags |= dns.flags.AA
    return reply


def short_tmp(prefix: str) -> Path:
    """Return a new short directory under /tmp (socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def env_without(*names: str) -> dict[str, str]:
    """Return os.environ without `names`."""
    return {k: v for k, v in os.environ.items() if k not in names}
