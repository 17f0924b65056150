"""Replay operations/dns flips through the CLI: `failover promote` in a world at each parent.

    python3 -m benchmarks.replay PATH_TO_OPERATIONS_DNS --cli [--since DATE] [--until DATE]
        [--limit N] [--time-limit SECONDS] [--workers N] [--rare-first] [--commit SHA ...]

For each flip commit (as `benchmarks.replay` considers them), a world (sandbox.realrepo:
the real repository with its history behind the Gerrit stand-in, an operator clone, gdnsd
serving the zone on the repository's own config) is reset to the commit's parent: the stand-in's
branch moved (its objects borrowed from the clone), the operator clone fetched, the parent's
zone served in this process with one reload; gdnsd restarts only when the repository's config
changed. The config the commit implies is written (one record or several to one target:
`[services.replay]`; several to their own targets: `[groups.replay]`; `standby = "none"` where
a commented line names the target, which the human left as it was), then `failover promote
replay new` runs as a process, `--dry-run` first, then for real (`--yes`). Compared: the
human's file byte for byte, one commit touching only that file, commit-message-validator (when
installed), every nameserver answering the new target(s), and, where the human's next change
of the record's lines was its revert (`next_change_is_revert`), the failback (`promote replay
old`) written as `Revert "..."`.

`--workers N`: N worlds side by side, commit i in world i % N (each goes forward in time).
`--rare-first`: the commits of several records and the reverted ones first, so that a run cut
short by `--time-limit` has every shape. Each commit's JSON line gives its seconds per phase
(reset, dry-run, promote, compare, failback).

Shapes: `service (1 record)`, `service (N records)`, `group`, `several files` (one promote
changes one zone file: not expressible).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.replay import (
    ENCODING,
    Blobs,
    Commit,
    Flip,
    flips,
    record_changes,
)
from failover.config import normalize_target
from failover.zone import RecordChange, ZoneRecord

PROMOTE_TIMEOUT = 300.0
"""Seconds one `failover promote` may take."""
FAILOVER = [sys.executable, "-m", "failover.cli"]


@dataclass
class Result:
    """What the CLI replay made of one commit."""

    commit: Commit
    shape: str
    ok: bool
    cause: str = ""
    seconds: float = 0.0
    failback: str = ""  # "", "revert", or why not
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (reset, config, dry-run, promote, compare, failback)."""


def _tool() -> list[str]:
    exe = shutil.which("failover") or str(Path(sys.executable).with_name("failover"))
    return [exe] if Path(exe).exists() else FAILOVER


def plan_commit(commit: Commit, blobs: Blobs) -> tuple[str, str, list[RecordChange],
                                                       list[ZoneRecord]] | str:
    """Return (shape, path, changes, records) for a flip commit, or why it is not expressible."""
    if not commit.simple or not commit.files:
        return "not a flip"
    found_files: list[tuple[str, str, list[Flip]]] = []
    for fc in commit.files:
        old = blobs.read(fc.old).decode(ENCODING, "surrogateescape")
        found = flips(old.split("\n"),
                      blobs.read(fc.new).decode(ENCODING, "surrogateescape").split("\n"))
        if found is None:
            return "not a flip"
        found_files.append((fc.path, old, found))
    if len(found_files) != 1:
        return "several files: one promote changes one zone file"
    path, old, found = found_files[0]
    changes, recs, why = record_changes(path, old, found)
    if why:
        return why
    if len(changes) == 1:
        shape = "service (1 record)"
    elif len({normalize_target(c.target) for c in changes}) == 1 and \
            len({normalize_target(r.absolute_target) for r in recs}) == 1:
        shape = "service (N records)"
    else:
        shape = "group"
    return shape, path, changes, recs


def _q(text: str) -> str:
    return json.dumps(text)


def leaves_commented(path: str, old: str, changes: Sequence[RecordChange]) -> bool:
    """Return True when the tool, left to its default, would swap a commented standby live
    (a commented line of a record names its new target): the human's flip edited the live
    line instead and left that commented line as it was (a flip changes record lines in
    place), so the config it implies says `standby = "none"`."""
    from failover.promote.standby import standby_edits
    from failover.zone import ZoneError

    try:
        return standby_edits(old, {c.name: c.target for c in changes}, path=path) is not None
    except ZoneError:
        return False


def config_sections(shape: str, path: str, changes: Sequence[RecordChange],
                    recs: Sequence[ZoneRecord], *, standby_none: bool = False) -> list[str]:
    """Return the `[services.replay]` or `[groups.replay]` the commit implies (`standby_none`:
    with `standby = "none"`, see `leaves_commented`)."""
    names = [c.name.rstrip(".") for c in changes]
    standby = ['standby = "none"'] if standby_none else []
    if shape.startswith("service"):
        lines = ["[services.replay]", f"zone_file = {_q(path)}",
                 "records = [" + ", ".join(_q(n) for n in names) + "]", *standby]
        for side, target in (("old", recs[0].absolute_target), ("new", changes[0].target)):
            lines += [f"[services.replay.candidates.{side}]", f"target = {_q(target)}",
                      'health = {kind = "none"}']
        return lines
    lines = ["[groups.replay]", f"zone_file = {_q(path)}", 'sides = ["old", "new"]',
             *standby, "[groups.replay.members]"]
    lines += [f"{_q(n)} = {{old = {_q(r.absolute_target)}, new = {_q(c.target)}}}"
              for n, c, r in zip(names, changes, recs, strict=True)]
    return lines


def run_promote(env: dict[str, str], side: str, *extra: str) -> tuple[int, dict[str, object],
                                                                      str]:
    """Run `failover promote replay SIDE --json ...`; return (exit code, JSON, stderr)."""
    done = subprocess.run([*_tool(), "promote", "replay", side, "--json", *extra],
                          env=env, capture_output=True, text=True, timeout=PROMOTE_TIMEOUT,
                          check=False, stdin=subprocess.DEVNULL)
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        doc = {}
    return done.returncode, doc, done.stderr


def answers(ports: Sequence[int], name: str, rtype: str) -> list[str]:
    """Return what each nameserver answers for `name` `rtype` (normalized)."""
    import dns.message
    import dns.query

    out = []
    for port in ports:
        try:
            reply = dns.query.udp(dns.message.make_query(name, rtype), "127.0.0.1", port=port,
                                  timeout=2)
            rrs = [rr for rr in reply.answer if dns.rdatatype.to_text(rr.rdtype) == rtype]
            out.append(normalize_target(rrs[0][0].to_text()) if rrs else "none")
        except Exception as exc:  # a benchmark reports, never stops
            out.append(f"error {exc}")
    return out


def validator() -> str | None:
    """Return commit-message-validator's path when installed (PATH or .venv-tools)."""
    here = Path(__file__).resolve().parents[1] / ".venv-tools" / "bin" / \
        "commit-message-validator"
    return shutil.which("commit-message-validator") or (str(here) if here.exists() else None)


def next_change_is_revert(repo: Path, commit: Commit, path: str, lines: Sequence[str]) -> bool:
    """Return True when the human's next change of the record(s) was the revert of `commit`:
    for each of the lines `commit` wrote, the first later commit of `path` that added or
    removed that line (git's pickaxe, by content: a commit that only moves it does not count)
    is titled `Revert "<commit's subject>"`."""
    revert = f'Revert "{commit.subject}"'

    def log(*args: str) -> list[str]:
        return subprocess.run(["git", "-C", str(repo), "log", "--reverse", "--format=%s", *args,
                               f"{commit.sha}..HEAD", "--", path], capture_output=True,
                              text=True, timeout=120, check=False).stdout.splitlines()

    if revert not in log():
        return False
    return all(log(f"-S{line}")[:1] == [revert] for line in lines)


def human_lines(commit: Commit, blobs: Blobs, recs: Sequence[ZoneRecord]) -> list[str]:
    """Return the lines the human's commit wrote for `recs` (their line numbers stay: a flip
    changes lines in place)."""
    new = blobs.read(commit.files[0].new).decode(ENCODING, "surrogateescape").split("\n")
    return [new[r.line - 1] for r in recs]


class _Clock:
    """Seconds per phase of one commit's replay."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = round(self.phases.get(phase, 0.0) + now - self.last, 2)
        self.last = now


def replay_one(world: object, repo: Path, commit: Commit, blobs: Blobs, git_dir: str,
               ports: Sequence[int]) -> Result | None:
    """Replay one commit through the CLI in `world` (a sandbox.realrepo.RealWorld)."""
    from sandbox.realrepo import RealWorld

    assert isinstance(world, RealWorld)
    planned = plan_commit(commit, blobs)
    if planned == "not a flip":
        return None
    start = time.perf_counter()
    if isinstance(planned, str):
        return Result(commit, "not expressible", False, planned)
    shape, path, changes, recs = planned
    clock = _Clock()
    result = Result(commit, shape, False, phases=clock.phases)
    parent = subprocess.run(["git", "-C", str(repo), "rev-parse", f"{commit.sha}~1"],
                            capture_output=True, text=True, timeout=60,
                            check=True).stdout.strip()
    # the config first (its hosts are the Netbox stand-ins'), then one reload as the parent
    # is served
    old = blobs.read(commit.files[0].old).decode(ENCODING, "surrogateescape")
    world.write_config(config_sections(shape, path, changes, recs,
                                       standby_none=leaves_commented(path, old, changes)),
                       zone_file=path, reload=False)
    world.reset_to(repo, parent, zone_file=path)
    clock.mark("reset")
    env = world.env
    code, _, err = run_promote(env, "new", "--dry-run")
    clock.mark("dry-run")
    if code != 0:
        result.cause = f"dry-run exit {code}: {_last(err)}"
    else:
        code, _, err = run_promote(env, "new", "--yes", "--reason", "replay")
        clock.mark("promote")
        if code != 0:
            result.cause = f"exit {code}: {_last(err)}"
        else:
            result.cause = _compare(repo, commit, parent, path, git_dir, changes, ports)
            result.ok = not result.cause
            clock.mark("compare")
    if result.ok and next_change_is_revert(repo, commit, path,
                                           human_lines(commit, blobs, recs)):
        subject = _git(git_dir, "log", "-1", "--format=%s")
        code, _, err = run_promote(env, "old", "--yes", "--reason", "replay failback")
        back = _git(git_dir, "log", "-1", "--format=%s")
        result.failback = "revert" if code == 0 and back == f'Revert "{subject}"' else \
            f"failback not a revert (exit {code}: {back or _last(err)})"
        clock.mark("failback")
    result.seconds = time.perf_counter() - start
    return result


def _compare(repo: Path, commit: Commit, parent: str, path: str, git_dir: str,
             changes: Sequence[RecordChange], ports: Sequence[int]) -> str:
    """Return why the tool's merged change differs from the human's ("" when it does not)."""
    human = subprocess.run(["git", "-C", str(repo), "show", f"{commit.sha}:{path}"],
                           capture_output=True, timeout=60, check=True).stdout
    ours = subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{path}"],
                          capture_output=True, timeout=60, check=True).stdout
    if ours != human:
        return "file differs from the human's"
    if _git(git_dir, "rev-list", "--count", f"{parent}..HEAD") != "1":
        return "not exactly one commit"
    if _git(git_dir, "diff", "--name-only", "HEAD~1", "HEAD").split() != [path]:
        return "the commit touches other files"
    tool = validator()
    if tool is not None:
        message = _git(git_dir, "log", "-1", "--format=%B")
        with tempfile.NamedTemporaryFile("w", suffix="-COMMIT_EDITMSG") as fh:
            fh.write(message)
            fh.flush()  # --gerrit: Gerrit's rules, whatever remote the current directory has
            done = subprocess.run([tool, "validate", "--gerrit", "--commit-msg-filename",
                                   fh.name], capture_output=True, text=True, timeout=60,
                                  check=False)
        if done.returncode != 0:
            return f"commit-message-validator: {_last(done.stdout + done.stderr)}"
    for c in changes:
        got = answers(ports, c.name, c.rtype or "CNAME")
        if got != [normalize_target(c.target)] * len(ports):
            return f"nameservers answer {got} for {c.name}, not {c.target}"
    return ""


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()


def _last(text: str) -> str:
    """Return the last line of `text` that is not a hint (the error itself), shortened."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    said = [ln for ln in lines if not ln.startswith("hint:")] or lines
    return said[-1][:300] if said else "(no output)"


def run(repo: Path, commits: Sequence[Commit], *, time_limit: float | None = None,
        out: object = sys.stdout, workers: int = 1) -> list[Result]:
    """Replay `commits` (oldest first) in `workers` worlds (commit i in world i % workers,
    each going forward in time); stop starting new ones after `time_limit` seconds. Print
    one JSON line per commit as it goes; return the results in `commits`' order."""
    from contextlib import ExitStack

    from sandbox.realrepo import start_real_world

    start = time.perf_counter()
    shares = [list(commits[i::workers]) for i in range(max(1, workers))]
    shares = [share for share in shares if share]
    done: dict[str, Result] = {}
    lock = threading.Lock()

    def work(world: object, share: Sequence[Commit]) -> None:
        from sandbox.realrepo import RealWorld

        assert isinstance(world, RealWorld)
        ports = [g.port for g in world.gdnsd]
        git_dir = str(world.dns.gerrit.git_dir)
        blobs = Blobs(repo)
        try:
            for commit in share:
                if time_limit is not None and time.perf_counter() - start > time_limit:
                    break
                res = _replay_guarded(world, repo, commit, blobs, git_dir, ports)
                if res is None:
                    continue
                with lock:
                    done[commit.sha] = res
                    print(json.dumps({"commit": commit.sha, "shape": res.shape, "ok": res.ok,
                                      "cause": res.cause, "failback": res.failback,
                                      "seconds": round(res.seconds, 1),
                                      "phases": res.phases}), file=out, flush=True)
        finally:
            blobs.close()

    with ExitStack() as stack:  # worlds started one after another (their free ports)
        worlds = [stack.enter_context(start_real_world(clone=repo, commit=f"{share[0].sha}~1",
                                                       zones=(), deploy_only=True, ssh=False))
                  for share in shares]
        threads = [threading.Thread(target=work, args=(w, share), daemon=True)
                   for w, share in zip(worlds, shares, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return [done[c.sha] for c in commits if c.sha in done]


def _replay_guarded(world: object, repo: Path, commit: Commit, blobs: Blobs, git_dir: str,
                    ports: Sequence[int]) -> Result | None:
    """Replay one commit; an error of the world is this commit's miss, not the run's end."""
    begun = time.perf_counter()
    try:
        return replay_one(world, repo, commit, blobs, git_dir, ports)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        return Result(commit, "error", False, f"{type(exc).__name__}: {_last(str(exc))}",
                      time.perf_counter() - begun)


def print_summary(results: Sequence[Result], elapsed: float, *, first: int = 10) -> None:
    """Print counts per shape, failbacks, the first misses with cause, and the time."""
    shapes = Counter(r.shape for r in results)
    ok = Counter(r.shape for r in results if r.ok)
    print(f"commits replayed through the CLI: {len(results)}")
    for shape, n in sorted(shapes.items()):
        print(f"  {shape}: {ok[shape]}/{n} reproduced")
    backs = [r for r in results if r.failback]
    print(f"failbacks as Revert: {sum(r.failback == 'revert' for r in backs)}/{len(backs)}")
    print(f"run time: {elapsed:.1f} s")
    misses = [r for r in results if not r.ok or (r.failback and r.failback != "revert")]
    for r in misses[:first]:
        print(f"  miss {r.commit.sha[:12]} {r.commit.date[:10]} {r.commit.subject[:60]!r}: "
              f"{r.cause or r.failback}")


def rare_first(repo: Path, commits: Sequence[Commit]) -> list[Commit]:
    """Return `commits` (oldest first) with those of several records and those a human
    reverted before the others, each part oldest first: a run cut short by `--time-limit`
    has replayed every shape and the failbacks."""
    later = subprocess.run(["git", "-C", str(repo), "log", "--format=%s", "HEAD"],
                           capture_output=True, text=True, timeout=120, check=False).stdout
    reverts = set(later.splitlines())
    blobs = Blobs(repo)
    try:
        def rank(commit: Commit) -> int:
            planned = plan_commit(commit, blobs)
            multi = not isinstance(planned, str) and planned[0] != "service (1 record)"
            return 0 if multi else 1 if f'Revert "{commit.subject}"' in reverts else 2
        return sorted(commits, key=rank)
    finally:
        blobs.close()


def main(repo: Path, commits: Sequence[Commit], *, time_limit: float | None,
         workers: int = 1, rare: bool = False) -> int:
    """Run the CLI replay over `commits` (newest first as `replay.commits` yields them)."""
    os.environ.setdefault("COLUMNS", "200")
    start = time.perf_counter()
    ordered = list(reversed(commits))
    if rare:
        ordered = rare_first(repo, ordered)
    results = run(repo, ordered, time_limit=time_limit, workers=workers)
    print_summary(results, time.perf_counter() - start)
    return 0
