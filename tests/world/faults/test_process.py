"""Faults of the promote process itself: signals at every step, concurrency, a killed run,
a full disk. Each run is a real `failover promote` subprocess in the sandbox world.

To stop a run at a given step reliably, that step's component is made slow: the target's
stats trickle (health), Gerrit's REST hangs (state), `gdnsd checkconf` sleeps first (prepare),
a pre-receive hook sleeps (push), nobody reviews (review), the deploy command sleeps (deploy),
a nameserver stays stale (verify). The signal comes once the step before is in the audit log.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from failover.errors import EXIT_INTERRUPTED, EXIT_REFUSED
from failover.zone import edit_record
from failover.zone.check import render_template
from sandbox.dnsrepo import ZONE_PATH, push_upstream_edit
from sandbox.haproxy import haproxy_available
from sandbox.world import CONTROLLERS, HOSTS_ZONE, World, hosts_zone
from tests.conftest import RunCli
from tests.helpers import (
    FQDN,
    Mark,
    TrickleServer,
    assert_nothing_lost,
    audit,
    configure,
    current_and_other,
    deploy_all,
    finish,
    git,
    promote,
    reset_world,
    run_promote_process,
    tmp_of,
    tool_env,
    upstream_target,
    wait_for_step,
    wait_until,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

SLOW_GDNSD = """#!{python}
import os, sys, time
time.sleep(10)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""
"""A `gdnsd` found first on PATH that sleeps before running the real one (slow prepare)."""

SETTLE = {"state": 1.0, "prepare": 2.0, "review": 2.0, "deploy": 2.0, "verify": 2.0}
"""Seconds from the step before's `done` to the signal: time for a loaded machine to get into
the step, well within how long it is slow (health and push, 3 s: 0.2 s)."""

BEFORE = {"health": "lock", "state": "health", "prepare": "state", "push": "confirm-push",
          "review": "push", "deploy": "confirm-deploy", "verify": "deploy"}
"""The step whose `done` record says the next one is running."""


@pytest.fixture(autouse=True)
def _clean(world: World) -> None:
    reset_world(world)


def receive_pack_running(world: World) -> bool:
    """Return True while a git receive-pack of the stand-in's repository is alive."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"receive-pack" in a for a in args) and \
                any(world.dns.gerrit.git_url.encode() in a for a in args):
            return True
    return False


def slow_step(world: World, step: str, target: str, trickle: TrickleServer) -> dict[str, str]:
    """Make `step` of a promote to `target` slow; return extra environment for the run."""
    env: dict[str, str] = {}
    if step == "health":
        # slow for 3 s: the signal comes ~0.2 s after the step starts, later on a loaded machine
        configure(world, stats={target: trickle.url()}, haproxy_timeouts=(0.5, 3.0))
    elif step == "state":
        world.dns.gerrit.faults.hang = 5.0
    elif step == "prepare":
        bin_dir = world.workdir / "slowbin"
        bin_dir.mkdir(exist_ok=True)
        wrapper = bin_dir / "gdnsd"
        wrapper.write_text(SLOW_GDNSD.format(python=sys.executable,
                                             real=shutil.which("gdnsd") or "/usr/sbin/gdnsd"))
        wrapper.chmod(0o755)
        env["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    elif step == "push":
        hook = Path(world.dns.gerrit.git_url) / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\nsleep 3\n")  # as long as the slow health step, same reason
        hook.chmod(0o755)
    elif step == "review":
        world.dns.gerrit.auto_merge_after = None
    elif step == "deploy":
        configure(world, deploy=[sys.executable, "-c", "import time; time.sleep(30)"])
    elif step == "verify":
        configure(world, deploy=world.deploy_argv(world.gdnsd[:1]), verify_timeout=30)
    return env


def interrupt_at(world: World, step: str, target: str, signum: int,
                 env: dict[str, str]) -> None:
    """Run a promote, send `signum` while `step` runs; assert exit 130 and nothing lost."""
    mark = Mark(world)
    proc = run_promote_process(world, target, env=tool_env(world, **env))
    try:
        if step == "review":  # a resumed run skips the push: its state says so
            wait_until(lambda: any(r["result"] == "done" and (
                r["step"] == "push" or "resume review" in r.get("summary", ""))
                for r in mark.records()), 90, "review")
        else:
            wait_for_step(mark, BEFORE[step], proc=proc)
        time.sleep(SETTLE.get(step, 0.2))  # into the slow step (each is slow for seconds)
        proc.send_signal(signum)
    except BaseException as exc:
        raise AssertionError(f"{exc!r}: {finish(proc)}") from None
    code, output = finish(proc)
    assert "Run the same command again to resume" in output, output
    records = assert_nothing_lost(mark, code, EXIT_INTERRUPTED, "interrupted", output)
    assert [r["step"] for r in records if r["result"] == "interrupted"] == [step, "record"]
    if step == "push":  # the server may finish a push whose client is gone: let it
        wait_until(lambda: not receive_pack_running(world), 10, "receive-pack done")


SECOND_MODULE = ("prepare", "push", "review", "deploy", "verify")
"""The steps test_process_more.py interrupts, in a world of its own: under `--dist loadfile`
the two halves run on two workers."""


@pytest.mark.parametrize("step", [s for s in BEFORE if s not in SECOND_MODULE])
def test_sigint_and_sigterm_at_every_step_then_resume(run_cli: RunCli, world: World,
                                                      step: str) -> None:
    _, target = current_and_other(world)
    mark = Mark(world)
    with TrickleServer(b"# pxname,svname,status,\n", gap=0.05) as trickle:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if step == "push" and signum == signal.SIGTERM:  # the first run may have pushed
                reset_world(world)
                _, target = current_and_other(world)
                mark = Mark(world)
            env = slow_step(world, step, target, trickle)
            interrupt_at(world, step, target, signum, env)
            if step == "push":
                world.dns.gerrit.auto_merge_after = 0.3
                (Path(world.dns.gerrit.git_url) / "hooks" / "pre-receive").unlink()
                again = promote(run_cli, world, target)
                assert again.code == 0, again.stderr
                assert len(mark.new_changes()) == 1
    world.dns.gerrit.faults.hang = 0.0
    world.dns.gerrit.auto_merge_after = 0.3
    configure(world)
    again = promote(run_cli, world, target)
    assert again.code == 0, again.stdout + again.stderr
    assert len(mark.new_changes()) == 1, "a second change was pushed"
    assert upstream_target(world) == f"{target}.wikimedia.org."


def test_two_promotes_at_once(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    first_mark = Mark(world)
    first = run_promote_process(world, target)
    try:
        wait_for_step(first_mark, "push", proc=first)
        mark = Mark(world)
        second = promote(run_cli, world, target)
        assert second.code == EXIT_REFUSED
        assert f"pid {first.pid}" in second.stderr
        assert mark.records()[-1]["result"] == "refused"
        assert len(first_mark.new_changes()) == 1
        world.dns.gerrit.approve_and_merge(first_mark.new_changes()[0]["number"])
    finally:
        code, output = finish(first)
    assert_nothing_lost(first_mark, code, 0, "done", output)


def test_lock_and_worktree_left_by_a_killed_run_are_taken_over(run_cli: RunCli,
                                                                world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    mark = Mark(world)
    proc = run_promote_process(world, target)
    wait_for_step(mark, "push", proc=proc)
    proc.kill()
    finish(proc)
    assert list(tmp_of(world).glob("failover-wt-*"))  # SIGKILL: nothing could clean up
    world.dns.gerrit.auto_merge_after = 0.3
    before_kill = mark.snapshot
    mark = Mark(world)
    mark.snapshot = before_kill  # the checkout must come back to what it was before both
    result = promote(run_cli, world, target)
    assert "removed the temporary worktree" in result.stdout + result.stderr
    records = assert_nothing_lost(mark, result.code, 0, "done", result.stderr)
    lock = next(r for r in records if r["step"] == "lock")
    assert lock["summary"].startswith("took over a stale lock of ") and f"pid {proc.pid}" in \
        lock["summary"]
    assert len(world.dns.gerrit.changes()) - mark.changes == 0  # resumed the killed run's change


def test_disk_full_when_writing_the_zone(world: World) -> None:
    """RLIMIT_FSIZE: the edited zone is a few bytes too big to be written; nothing else is."""
    current, target = current_and_other(world)
    # Padding in a Jinja comment: the template grows, the rendered zone (checked by gdnsd in
    # /tmp) does not; the target's longer name makes the edited template the largest file.
    tmpl = git(Path(world.dns.gerrit.git_url), "show", f"master:{ZONE_PATH}")
    push_upstream_edit(world.dns.gerrit, ZONE_PATH,
                       "{# " + "padding " * 2000 + "#}\n" + tmpl.split("\n", 1)[1])
    deploy_all(world)
    long_target = f"{target}.a-much-longer-name-for-this-test.wikimedia.org."
    path = configure(world)
    path.write_text(path.read_text().replace(f'target = "{target}.wikimedia.org."',
                                             f'target = "{long_target}"'))
    for g in world.gdnsd:  # the longer name resolves, as a real host name must (issue 15.2)
        g.set_zone(HOSTS_ZONE, hosts_zone(CONTROLLERS)
                   + f"{long_target.removesuffix('.wikimedia.org.')} 1H IN A 127.0.0.1\n")
        g.reload()
    text = git(Path(world.dns.gerrit.git_url), "show", f"master:{ZONE_PATH}")
    new = edit_record(text, FQDN, long_target, path=ZONE_PATH).new_text
    limit = len(new.encode()) - 1
    assert len(text.encode()) <= limit and len(render_template(new).encode()) < limit
    world.audit_path.rename(world.audit_path.with_suffix(".before-disk-full"))
    mark = Mark(world)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = run_promote_process(world, target, preexec=small_files)
    code, output = finish(proc)
    assert "File too large; the file was left as it was" in output, output
    records = assert_nothing_lost(mark, code, 1, "failed", output)
    assert next(r for r in records if r["step"] == "prepare")["result"] == "failed"
    assert upstream_target(world) == f"{current}.wikimedia.org."
    assert mark.new_changes() == []
    assert audit(world)  # the log itself was written under the limit
