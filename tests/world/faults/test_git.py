"""Faults of git and Gerrit during a promote: each one reported with exit 4, nothing lost.

Injected in the sandbox world's real parts: the bare repository behind the Gerrit stand-in
(moved away, a pre-receive hook that kills receive-pack mid-push, corrupted state), the
stand-in's rejections (its proc-receive hook answers as Gerrit does) and its REST fault
switches (500, hang, no `)]}'` line, malformed JSON), and reviewers acting while promote waits
(abandon, merge with a different commit, never).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from failover import gerrit, repo
from failover.errors import EXIT_GIT
from sandbox.dnsrepo import push_upstream_edit
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import (
    Mark,
    assert_nothing_lost,
    checkout_snapshot,
    configure,
    current_and_other,
    git,
    promote,
    reset_world,
    served_targets,
    tmp_of,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


_helpers: list[tuple[threading.Event, threading.Thread]] = []


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry Gerrit REST after 0.1 s instead of 1 s (same code path, shorter test)."""
    real = gerrit.retry

    def quick(call: Callable[[], Any], **kwargs: Any) -> Any:
        return real(call, **{**kwargs, "delay": 0.1})

    monkeypatch.setattr(gerrit, "retry", quick)


@pytest.fixture(autouse=True)
def _clean(world: World) -> Iterator[None]:
    reset_world(world)
    yield
    for cancel, thread in _helpers:  # a reviewer thread must not act in the next test
        cancel.set()
        thread.join(timeout=10)
    _helpers.clear()


def when_pushed(world: World, mark: Mark, action: Callable[[int], object]) -> None:
    """Start a thread that runs `action(change number)` once the run has pushed its change."""
    cancel = threading.Event()

    def run() -> None:
        while not mark.new_changes():
            if cancel.wait(0.02):
                return
        action(mark.new_changes()[0]["number"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _helpers.append((cancel, thread))


# -- fetch and push ---------------------------------------------------------------------------

def test_remote_unreachable_at_fetch(run_cli: RunCli, world: World,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """git's own URL rewriting sends the fetch to a path that does not exist."""
    _, target = current_and_other(world)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "url./nonexistent/operations/dns.git.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", world.dns.gerrit.ssh_url)
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert "cannot fetch master from origin" in result.stderr
    records = assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
    assert next(r for r in records if r["step"] == "state")["result"] == "failed"


def test_push_connection_dropped_midway(run_cli: RunCli, world: World) -> None:
    """receive-pack is killed (SIGKILL) after the objects arrived, before any ref is written."""
    _, target = current_and_other(world)
    hook = Path(world.dns.gerrit.git_url) / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nkill -9 $PPID\n")
    hook.chmod(0o755)
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert "the remote end hung up unexpectedly" in result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
    assert mark.new_changes() == []
    hook.unlink()
    again = promote(run_cli, world, target)
    assert again.code == 0, again.stderr
    assert len(mark.new_changes()) == 1


def _commit(wt: repo.Worktree, message: str) -> None:
    zone = wt.path / "templates" / "wikimediacloud.org"
    zone.write_text(zone.read_text() + "; a comment\n")
    subprocess.run(["git", "-c", "core.hooksPath=/dev/null", "-c", "user.name=T",
                    "-c", "user.email=t@example.org", "commit", "-qam", message],
                   cwd=wt.path, check=True, timeout=30)


REJECTIONS = ["missing Change-Id", "multiple Change-Id", "invalid Change-Id", "no new changes",
              "branch not found", "prohibited", "closed"]


@pytest.mark.parametrize("reason", REJECTIONS)
def test_every_push_rejection_is_named_with_what_to_do(world: World, reason: str) -> None:
    checkout = repo.open_checkout(world.dns.checkout)
    repo.fetch(checkout)
    before = checkout_snapshot(world.dns.checkout)
    review = checkout.review
    cid = "I" + "ab" * 20
    with pytest.raises(repo.PushRejected) as info, repo.change_worktree(checkout) as wt:
        if reason == "missing Change-Id":
            _commit(wt, "subject\n\nbody without footer")
        elif reason == "multiple Change-Id":
            _commit(wt, f"subject\n\nbody\n\nChange-Id: {cid}\nChange-Id: I{'cd' * 20}")
        elif reason == "invalid Change-Id":
            _commit(wt, "subject\n\nbody\n\nChange-Id: Inot-hex")
        elif reason == "branch not found":
            _commit(wt, f"subject\n\nbody\n\nChange-Id: {cid}")
            review = repo.GitReview(review.host, review.port, review.project, "nope",
                                    review.remote)
        elif reason in ("prohibited", "closed"):
            _commit(wt, f"subject\n\nbody\n\nChange-Id: {cid}")
            if reason == "prohibited":
                world.dns.gerrit.set_prohibited("uploads to operations/dns")
            else:
                first = repo.push_for_review(wt, review, topic="t")
                world.dns.gerrit.abandon(first.number)
                _commit(wt, f"subject v2\n\nbody\n\nChange-Id: {cid}")
        # "no new changes": the worktree's HEAD is the remote tip itself
        repo.push_for_review(wt, review, topic="t")
    err = info.value
    assert err.exit_code == EXIT_GIT and err.hint
    expected = {"missing Change-Id": "no Change-Id footer", "multiple Change-Id": "more than one",
                "invalid Change-Id": "malformed", "no new changes": "already has this exact",
                "branch not found": "branch nope does not exist", "prohibited":
                "does not let you push", "closed": "already merged or abandoned",
                "internal error": "internal server error"}[reason]
    assert expected in err.message, err.message
    assert checkout_snapshot(world.dns.checkout) == before
    assert git(world.dns.checkout, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not list(tmp_of(world).glob("failover-wt-*"))


def test_push_prohibited_through_promote(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.set_prohibited("you are not allowed to upload")
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert "prohibited by Gerrit" in result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)


# -- Gerrit REST ------------------------------------------------------------------------------

REST_FAULTS = [
    ("errors_500", -1, "HTTP 500 (after 3 attempts)"),
    ("hang", 2.0, "ReadTimeout (after 3 attempts)"),
    ("drop_prefix", True, "did not answer like Gerrit (no )]}' line)"),
    ("malformed", True, "sent malformed JSON"),
]


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize(("switch", "value", "reason"), REST_FAULTS,
                         ids=[s for s, _, _ in REST_FAULTS])
def test_rest_fault_before_push(run_cli: RunCli, world: World, switch: str, value: object,
                                reason: str) -> None:
    _, target = current_and_other(world)
    configure(world, gerrit_timeout=0.5)
    setattr(world.dns.gerrit.faults, switch, value)
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert reason in result.stderr, result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
    assert mark.new_changes() == []


@pytest.mark.usefixtures("fast_retries")
def test_rest_errors_retried_then_the_run_goes_on(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.faults.errors_500 = 2
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert result.code == 0, result.stderr
    assert "[1/3, retrying in 0.1s]" in result.stderr
    assert len(mark.new_changes()) == 1


@pytest.mark.usefixtures("fast_retries")
def test_rest_fails_during_review_then_resume(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    configure(world, gerrit_timeout=0.5)
    mark = Mark(world)

    def break_rest(number: int) -> None:
        world.dns.gerrit.faults.errors_500 = -1

    when_pushed(world, mark, break_rest)
    result = promote(run_cli, world, target)
    url = mark.new_changes()[0]
    assert "Gerrit did not answer for" in result.stderr and f"/+/{url['number']}" in result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
    world.dns.gerrit.faults.errors_500 = 0
    world.dns.gerrit.auto_merge_after = 0.3
    again = promote(run_cli, world, target)
    assert again.code == 0, again.stderr
    assert len(mark.new_changes()) == 1, again.stdout + again.stderr
    assert mark.new_changes()[0]["status"] == "MERGED"


# -- reviewers ----------------------------------------------------------------------------------

def test_change_abandoned_while_waiting(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    mark = Mark(world)
    when_pushed(world, mark, world.dns.gerrit.abandon)
    result = promote(run_cli, world, target)
    assert "was abandoned" in result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)


def test_merged_with_a_different_commit_still_verifies(run_cli: RunCli, world: World) -> None:
    """Upstream moved while waiting: Gerrit merges with a merge commit, not the pushed one."""
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    mark = Mark(world)

    def move_then_merge(number: int) -> None:
        push_upstream_edit(world.dns.gerrit, "utils/other.txt", f"moved for {number}\n")
        world.dns.gerrit.approve_and_merge(number)

    when_pushed(world, mark, move_then_merge)
    result = promote(run_cli, world, target)
    assert_nothing_lost(mark, result.code, 0, "done", result.stderr)
    change = mark.new_changes()[0]
    tip = git(Path(world.dns.gerrit.git_url), "rev-parse", "master").strip()
    assert change["merged_revision"] == tip != change["patch_sets"][-1]["revision"]
    parents = git(Path(world.dns.gerrit.git_url), "log", "-1", "--format=%P", tip).split()
    assert len(parents) == 2
    assert served_targets(world) == [f"{target}.wikimedia.org."] * 2


def test_review_timeout_then_resume(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    configure(world, review_timeout=0.5)
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert "is not merged after 0s" in result.stderr or "is not merged after 1s" in \
        result.stderr, result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
    world.dns.gerrit.auto_merge_after = 0.3
    configure(world)
    again = promote(run_cli, world, target)
    assert again.code == 0, again.stderr
    assert len(mark.new_changes()) == 1


def test_rest_root_that_does_not_see_the_pushed_change(run_cli: RunCli, world: World) -> None:
    """The push lands but REST shows no change: looked up by Change-Id a few times, then
    exit 4 saying so; a re-run pushes a patch set of the same change, never a second one."""
    _, target = current_and_other(world)
    gerrit_ = world.dns.gerrit
    gerrit_.auto_merge_after = None
    gerrit_.faults.hidden = True
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert "does not show change I" in result.stderr and "after 5 lookups" in result.stderr
    assert "finds this change by its Change-Id" in result.stderr
    assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
    [change] = mark.new_changes()
    lookups = [p for p in gerrit_.requests if f"change:{change['change_id']}" in
               p.replace("%3A", ":")]
    assert len(lookups) >= 5
    again = promote(run_cli, world, target)
    assert again.code == EXIT_GIT, again.stderr
    assert len(mark.new_changes()) == 1 and len(gerrit_.change(change["number"])
                                                ["patch_sets"]) == 2
    gerrit_.faults.hidden = False
    gerrit_.auto_merge_after = 0.3
    last = promote(run_cli, world, target)
    assert last.code == 0, last.stderr
    assert len(mark.new_changes()) == 1 and gerrit_.change(change["number"])["status"] == \
        "MERGED"


def test_pre_push_hook_refusal_keeps_its_words(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    hook = world.dns.checkout / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho 'zone lint: tab in templates/wikimediacloud.org' >&2\n"
                    "exit 1\n")
    hook.chmod(0o755)
    try:
        mark = Mark(world)
        result = promote(run_cli, world, target)
        assert f"refused by the pre-push hook {hook}" in result.stderr
        assert "zone lint: tab in templates/wikimediacloud.org" in result.stderr
        assert "check the network" not in result.stderr
        assert_nothing_lost(mark, result.code, EXIT_GIT, "failed", result.stderr)
        assert mark.new_changes() == []
    finally:
        hook.unlink()
