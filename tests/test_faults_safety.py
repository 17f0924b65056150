"""Issue 15, data loss and safety: faults found on an unlucky day, each against the real parts.

An operator's worktree on a disk not mounted during a run (never pruned), a dangling target
(refused before the push), credentials inside messages (redacted everywhere), a lock per
checkout (not per state dir), mixed A/AAAA targets, config and audit paths that are FIFOs or
devices, and a TOML nested too deep.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from failover.sandbox.haproxy import haproxy_available
from failover.sandbox.world import World, start_world
from tests.conftest import RunCli
from tests.helpers import (
    Mark,
    assert_nothing_lost,
    current_and_other,
    finish,
    git,
    promote,
    reset_world,
    run_promote_process,
    shared_world_env,
    tmp_of,
    tool_env,
    wait_for_step,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with start_world(auto_merge_after=0.3) as w, shared_world_env(w):
        yield w


@pytest.fixture(autouse=True)
def _clean(world: World) -> Iterator[None]:
    reset_world(world)
    yield


# -- 1: the operator's worktrees are never pruned -----------------------------------------------

def test_operator_worktree_on_unmounted_disk_survives_a_dry_run(run_cli: RunCli,
                                                                world: World) -> None:
    """A worktree whose disk is away during the run keeps its registration and its index."""
    checkout = world.dns.checkout
    usb = world.workdir / "usb"
    wt = usb / "feature"
    git(checkout, "worktree", "add", "-q", str(wt), "-b", "feature-usb")
    try:
        git(wt, "-c", "user.name=Op", "-c", "user.email=op@example.org", "commit", "-q",
            "--allow-empty", "-m", "wip")
        git(wt, "checkout", "-q", "--detach")
        (wt / "new-file").write_text("staged\n")
        git(wt, "add", "new-file")
        usb.rename(world.workdir / "usb-unmounted")  # the disk is not mounted now
        _, target = current_and_other(world)
        result = promote(run_cli, world, target, "--dry-run")
        assert result.code == 0, result.stderr
        (world.workdir / "usb-unmounted").rename(usb)  # mounted again
        assert "new-file" in git(wt, "status", "--porcelain")
        assert str(wt) in git(checkout, "worktree", "list")
        assert (checkout / ".git" / "worktrees" / "feature").is_dir()
    finally:
        if (world.workdir / "usb-unmounted").exists():
            (world.workdir / "usb-unmounted").rename(usb)
        for args in (("worktree", "remove", "--force", str(wt)), ("worktree", "prune"),
                     ("branch", "-q", "-D", "feature-usb")):  # the test's own clean-up
            subprocess.run(["git", *args], cwd=checkout, capture_output=True, timeout=30)
        shutil.rmtree(usb, ignore_errors=True)


def test_own_worktree_whose_directory_is_gone_is_still_removed(run_cli: RunCli,
                                                               world: World) -> None:
    """A killed run's worktree in a TMPDIR wiped since (reboot) is unregistered by its path."""
    checkout = world.dns.checkout
    left = tmp_of(world) / "failover-wt-killed" / "dns"
    git(checkout, "worktree", "add", "-q", "--detach", str(left), "origin/master")
    shutil.rmtree(left.parent)
    _, target = current_and_other(world)
    result = promote(run_cli, world, target, "--dry-run")
    assert result.code == 0, result.stderr
    assert str(left) not in git(checkout, "worktree", "list")
    assert "failover-wt-killed" in result.stdout + result.stderr


# -- 4: one lock per checkout, whatever the state dir -----------------------------------------

def test_two_runs_with_different_state_dirs_on_one_checkout(world: World) -> None:
    """The second run (another XDG_STATE_HOME) is refused; the first's worktree is untouched."""
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    first_mark = Mark(world)
    first = run_promote_process(world, target)
    try:
        wait_for_step(first_mark, "push", proc=first)
        live = list(tmp_of(world).glob("failover-wt-*"))
        assert live, "the first run has no worktree"
        other_state = world.workdir / "state-other"
        second = run_promote_process(world, target,
                                     env=tool_env(world, XDG_STATE_HOME=str(other_state)))
        code, output = finish(second)
        assert code == 3, output
        assert "another failover holds the lock of this checkout" in output
        assert f"pid {first.pid}" in output and ".git/failover.lock" in output
        assert "removed the temporary worktree" not in output
        assert all(p.exists() for p in live), "the live worktree was removed"
        assert len(first_mark.new_changes()) == 1
        world.dns.gerrit.approve_and_merge(first_mark.new_changes()[0]["number"])
    finally:
        code, output = finish(first)
    records = first_mark.records()
    assert sum(1 for r in records if r["step"] == "deploy" and r["result"] == "done") == 1
    assert_nothing_lost(first_mark, code, 0, "done", output)
