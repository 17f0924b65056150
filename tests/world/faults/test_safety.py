"""Issue 15, data loss and safety: faults found on an unlucky day, each against the real parts.

An operator's worktree on a disk not mounted during a run (never pruned), a dangling target
(refused before the push), credentials inside messages (redacted everywhere), a lock per
checkout (not per state dir), mixed A/AAAA targets, config and audit paths that are FIFOs or
devices, and a TOML nested too deep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World
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
    tmp_of,
    tool_env,
    wait_for_step,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


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


# -- 3: no credential in any message, JSON document, log or audit line --------------------------

def test_token_in_the_checkout_remote_is_never_shown(run_cli: RunCli, world: World) -> None:
    """A remote `http://bot:TOKEN@...` that fails the fetch: the token is nowhere (with -v)."""
    checkout = world.dns.checkout
    original = git(checkout, "remote", "get-url", "origin").strip()
    rest = world.dns.gerrit.rest_url.split("/r")[0]  # its /nogit/ serves no git
    git(checkout, "remote", "set-url", "origin", rest.replace("://", "://bot:T0KEN5ECRET@")
        + "/nogit/operations/dns")
    try:
        mark = Mark(world)
        result = promote(run_cli, world, current_and_other(world)[1], "--json", "-v")
        lines = [str(r) for r in mark.records()]
    finally:
        git(checkout, "remote", "set-url", "origin", original)
    assert result.code == 4, result.stderr
    assert "cannot fetch master from origin (http://bot:***@127.0.0.1:" in result.stderr
    assert "bot:***@" in result.stdout  # the JSON error names the remote, redacted
    for text in (result.stdout, result.stderr, *lines):
        assert "T0KEN5ECRET" not in text


def test_bad_urls_with_passwords_are_not_echoed(run_cli: RunCli, world: World) -> None:
    """Config validation names the bad URLs with their passwords hidden, in every command."""
    secrets = ("PW1SECRET", "PW2SECRET", "PW3SECRET", "PW4SECRET")
    path = world.workdir / "bad-urls.toml"
    text = world.config_path.read_text()
    for name, url in (("cloudcontrol1003", f"http://admin:{secrets[0]}@127.0.0.1:99999/stats;csv"),
                      ("cloudcontrol1004", f"ftp://admin:{secrets[1]}@127.0.0.1/stats")):
        old = world.haproxy.controllers[name].stats_url
        text = text.replace(f'stats = "{old}"', f'stats = "{url}"')
    text = text.replace(f'url = "{world.dns.gerrit.rest_url}"',
                        f'url = "http://u:{secrets[2]}@127.0.0.1:99999/r"')
    text += ('[regions.codfw1dev]\nfqdn = "openstack.codfw1dev.wikimediacloud.org"\n'
             '[regions.codfw1dev.controllers.a]\ntarget = "a.wikimedia.org."\n'
             f'stats = "http://u:{secrets[3]}@[::1:bad/"\n'
             '[regions.codfw1dev.controllers.b]\ntarget = "b.wikimedia.org."\n'
             'stats = "unix:///run/haproxy.sock"\n')
    path.write_text(text)
    runs = [run_cli("config", "validate", "--config", str(path)),
            run_cli("config", "validate", "--json", "--config", str(path)),
            run_cli("status", "--config", str(path)),
            run_cli("check", "eqiad1", "--config", str(path)),
            run_cli("promote", "eqiad1", "cloudcontrol1004", "--dry-run", "--json", "-v",
                    "--config", str(path))]
    assert [r.code for r in runs] == [2, 2, 2, 3, 2], runs
    shown = "".join(r.stdout + r.stderr for r in runs)
    assert "http://admin:***@127.0.0.1:99999/stats;csv" in shown
    assert "ftp://admin:***@127.0.0.1/stats" in shown and "http://u:***@[::1:bad/" in shown
    assert "http://u:***@127.0.0.1:99999/r" in shown
    for secret in secrets:
        assert secret not in shown


# -- 16: an audit log that is a FIFO ----------------------------------------------------------

def test_audit_log_fifo_does_not_hang_the_run(world: World) -> None:
    """`[audit] log` naming a FIFO without a reader: refused at once, never blocked on."""
    fifo = world.workdir / "audit.fifo"
    os.mkfifo(fifo)
    config = world.workdir / "fifo-audit.toml"
    config.write_text(world.config_path.read_text().replace(str(world.audit_path), str(fifo)))
    try:
        proc = run_promote_process(world, current_and_other(world)[1], "--dry-run", "--config",
                                   str(config))
        code, output = finish(proc, timeout=30)  # it used to block for ever, even on SIGTERM
    finally:
        fifo.unlink()
    assert f"audit log {fifo} is not a regular file" in output, output
    assert code in (0, 2), output  # refused (exit 2), or a warning where the log is optional


# -- 2: a dangling target, or one that is not the host whose stats were read --------------------

@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_dangling_target_is_refused_before_the_push(run_cli: RunCli, world: World,
                                                    dry_run: bool) -> None:
    """`cloudcontrol1099.wikimedia.org.` (a typo, a retired host) has no A/AAAA at the servers."""
    _, other = current_and_other(world)
    text = world.config_path.read_text()
    world.config_path.write_text(text.replace(f'target = "{other}.wikimedia.org."',
                                              'target = "cloudcontrol1099.wikimedia.org."'))
    mark = Mark(world)
    result = promote(run_cli, world, other, *(["--dry-run"] if dry_run else []))
    if dry_run:
        assert result.code == 3, result.stderr
        assert mark.records()[-1]["result"] == "refused"
    else:
        assert_nothing_lost(mark, result.code, 3, "refused", result.stderr)
    assert "its target cloudcontrol1099.wikimedia.org. does not resolve" in result.stderr
    assert mark.new_changes() == []


def test_target_of_another_host_than_the_stats_is_refused(run_cli: RunCli,
                                                          world: World) -> None:
    """The target resolves, but to another address than the HAProxy that was read."""
    from sandbox.world import HOSTS_ZONE, hosts_zone

    now, other = current_and_other(world)
    for g in world.gdnsd:
        g.set_zone(HOSTS_ZONE, hosts_zone((now,)) + f"{other} 1H IN A 192.0.2.99\n")
        g.reload()
    try:
        mark = Mark(world)
        result = promote(run_cli, world, other)
        assert_nothing_lost(mark, result.code, 3, "refused", result.stderr)
        assert (f"its target {other}.wikimedia.org. resolves to 192.0.2.99, none of the stats "
                "host's addresses (127.0.0.1: 127.0.0.1)") in result.stderr
    finally:
        for g in world.gdnsd:
            g.set_zone(HOSTS_ZONE, hosts_zone((now, other)))
            g.reload()


@contextlib.contextmanager
def hosts_zone_with(world: World, text: str) -> Iterator[None]:
    """Serve `text` as the hosts zone (wikimedia.org) at every gdnsd, then the sandbox's again."""
    from sandbox.world import CONTROLLERS, HOSTS_ZONE, hosts_zone

    for g in world.gdnsd:
        g.set_zone(HOSTS_ZONE, text)
        g.reload()
    try:
        yield
    finally:
        for g in world.gdnsd:
            g.set_zone(HOSTS_ZONE, hosts_zone(CONTROLLERS))
            g.reload()


def test_check_and_verify_say_the_name_points_at_a_dangling_target(run_cli: RunCli,
                                                                   world: World) -> None:
    """The name points at a controller whose host name has no A/AAAA (a retired host)."""
    from sandbox.world import hosts_zone

    now, other = current_and_other(world)
    config = str(world.config_path)
    with hosts_zone_with(world, hosts_zone((other,))):
        r = run_cli("check", "eqiad1", "--config", config,
                    "--state-file", str(world.workdir / "check-state.json"))
        assert r.code == 2, r.stdout
        assert r.stdout.startswith(f"CRITICAL - openstack.eqiad1 -> {now}.wikimedia.org. which "
                                   "does not resolve (no A or AAAA record at "), r.stdout
        r = run_cli("verify", "eqiad1", "--config", config)
        assert f"{now}'s target {now}.wikimedia.org. does not resolve" in r.stdout, r.stdout
        assert r.code == 0, r.stdout  # they agree: said, not a failure without --expect
        r = run_cli("verify", "eqiad1", "--config", config, "--expect", now, "--once",
                    "--json")
        assert r.code == 5, r.stdout + r.stderr
        doc = json.loads(r.stdout)
        assert doc["target_problem"].startswith(f"{now}'s target {now}.wikimedia.org. does "
                                                "not resolve")
        assert "the expected target does not serve" in r.stderr
    r = run_cli("verify", "eqiad1", "--config", config, "--expect", now, "--once", "--json")
    assert r.code == 0 and json.loads(r.stdout)["target_problem"] is None, r.stdout + r.stderr


def test_check_says_a_standby_target_of_another_host(run_cli: RunCli, world: World) -> None:
    """The standby's host name resolves, but not to the host whose stats are read: WARNING."""
    from sandbox.world import hosts_zone

    now, other = current_and_other(world)
    with hosts_zone_with(world, hosts_zone((now,)) + f"{other} 1H IN A 192.0.2.99\n"):
        r = run_cli("check", "eqiad1", "--config", str(world.config_path),
                    "--state-file", str(world.workdir / "check-state.json"))
    assert r.code == 1, r.stdout
    assert (f"standby {other}'s target {other}.wikimedia.org. resolves to 192.0.2.99, none of "
            "the stats host's addresses (127.0.0.1: 127.0.0.1)") in r.stdout, r.stdout
