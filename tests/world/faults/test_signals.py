"""Issue 15, points 5-9, 11, 12, 18: signals, the deploy's children, the audit log failing,
the JSON contract on every failure path, --no-wait on an open change, a merged patch set that
undoes the edit, and `check --timeout` bounding the whole process.

Each run is a real `failover` subprocess in the sandbox world (real HAProxy, gdnsd, git, the
Gerrit stand-in); the signals are sent to that process.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from failover.errors import EXIT_GIT, EXIT_INTERRUPTED, EXIT_USAGE
from sandbox.dnsrepo import ZONE_PATH
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.helpers import (
    Mark,
    TrickleServer,
    assert_nothing_lost,
    audit,
    configure,
    current_and_other,
    finish,
    reset_world,
    run_promote_process,
    tmp_of,
    tool_env,
    upstream_target,
    wait_for_step,
    wait_until,
)
from tests.world.faults.test_process import interrupt_at, slow_step

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.fixture(autouse=True)
def _clean(world: World) -> None:
    reset_world(world)


def one_json(stdout: str) -> dict[str, Any]:
    """Return the one JSON document `stdout` holds (fails on none, two, or a torn one)."""
    doc, end = json.JSONDecoder().raw_decode(stdout.lstrip())
    assert not stdout.lstrip()[end:].strip(), stdout
    assert isinstance(doc, dict)
    return doc


def run_json(world: World, args: list[str], **env: str) -> tuple[int, dict[str, Any], str]:
    """Run `failover ARGS --json` as a process; return its code, JSON document and stderr."""
    done = subprocess.run([sys.executable, "-m", "failover.cli", *args, "--json"],
                          env=tool_env(world, **env), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, one_json(done.stdout), done.stderr


def processes_with(word: str) -> list[int]:
    """Return the pids whose command line holds `word`."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if word.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


# -- 5: SIGHUP -----------------------------------------------------------------------------------

@pytest.mark.parametrize("step", ["review", "deploy"])
def test_sighup_is_handled_as_sigterm(world: World, step: str) -> None:
    _, target = current_and_other(world)
    with TrickleServer(b"#", gap=0.05) as trickle:
        interrupt_at(world, step, target, signal.SIGHUP, slow_step(world, step, target, trickle))


# -- 6: the deploy's process group ----------------------------------------------------------------

def test_deploy_children_end_with_the_run_on_sigterm_and_timeout(world: World) -> None:
    _, target = current_and_other(world)
    for how in ("sigterm", "timeout"):
        marker = f"7{7 if how == 'sigterm' else 8}.123"
        script = world.workdir / f"deploy-{how}.sh"
        script.write_text(f"#!/bin/sh\nsleep {marker} &\nwait\n")
        script.chmod(0o755)
        configure(world, deploy=[str(script)], deploy_timeout=1 if how == "timeout" else 60)
        mark = Mark(world)
        proc = run_promote_process(world, target)
        if how == "sigterm":
            wait_for_step(mark, "confirm-deploy", proc=proc)
            wait_until(lambda m=marker: bool(processes_with(f"sleep\0{m}")), 10, "sleep")
            proc.send_signal(signal.SIGTERM)
        code, output = finish(proc)
        expected = EXIT_INTERRUPTED if how == "sigterm" else 5
        assert_nothing_lost(mark, code, expected, "interrupted" if how == "sigterm" else "failed",
                            output)
        assert processes_with(f"sleep\0{marker}") == [], f"the deploy's child outlived {how}"
        if how == "sigterm":  # point 18: the change is merged, not open
            assert "merged and goes on with the deploy" in output, output
            assert "finds the open change" not in output, output


# -- 7: repeated SIGINTs -------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "gap"), [(3, 0.015), (8, 0.003)])
def test_repeated_sigints_give_one_json_and_a_clean_state(world: World, count: int,
                                                          gap: float) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    mark = Mark(world)
    proc = run_promote_process(world, target, "--json")
    wait_for_step(mark, "push", proc=proc)
    time.sleep(0.2)
    for _ in range(count):
        proc.send_signal(signal.SIGINT)
        time.sleep(gap)
    stdout, stderr = proc.communicate(timeout=60)
    assert_nothing_lost(mark, proc.returncode, EXIT_INTERRUPTED, "interrupted", stderr)
    doc = one_json(stdout)
    assert (doc["outcome"], doc["exit_code"]) == ("interrupted", EXIT_INTERRUPTED)
    assert doc["change"]["url"] and "finds the open change" in doc["error"]


def test_a_later_run_removes_old_empty_temp_dirs_of_its_own(world: World) -> None:
    _, target = current_and_other(world)
    old = Path(tempfile.mkdtemp(prefix="failover-wt-", dir=tmp_of(world)))
    young = Path(tempfile.mkdtemp(prefix="failover-wt-", dir=tmp_of(world)))
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    proc = run_promote_process(world, target)
    code, output = finish(proc)
    assert code == 0, output
    assert not old.exists() and "removed the empty temporary directory" in output
    assert young.exists()  # maybe a running run's, about to be filled
    young.rmdir()


# -- 8: the audit log failing after the push -----------------------------------------------------

def test_audit_log_full_after_the_start_is_a_warning(world: World) -> None:
    _, target = current_and_other(world)
    # earlier runs' lines make the log the largest file the run writes; the limit lets a
    # few more lines in, then cuts one in the middle
    lines = world.audit_path.read_text() if world.audit_path.exists() else ""
    while len(lines) < 200_000:
        lines += json.dumps({"step": "padding", "result": "done", "run": "0"}) + "\n"
    world.audit_path.write_text(lines)
    limit = len(lines.encode()) + 2500
    mark = Mark(world)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = run_promote_process(world, target, "--json", preexec=small_files)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "the run goes on without it" in stderr, stderr
    doc = one_json(stdout)
    assert (doc["outcome"], doc["exit_code"]) == ("done", 0)
    assert doc["change"]["url"] and mark.new_changes()
    assert upstream_target(world) == f"{target}.wikimedia.org."
    assert world.audit_path.read_bytes().endswith(b"\n")  # no torn line
    assert all(r["run"] for r in audit(world))
    assert len(world.audit_path.read_bytes()) <= limit


# -- 9: one JSON document on every failure path ---------------------------------------------------

@pytest.mark.parametrize("case", ["region", "controller", "bug", "missing", "directory",
                                  "state"])
def test_every_failure_gives_one_json_with_the_exit_code(world: World, case: str) -> None:
    _, target = current_and_other(world)
    config = str(world.config_path)
    args = ["promote", "eqiad1", target, "--yes", "--config", config]
    env: dict[str, str] = {}
    if case == "region":
        args[1] = "nowhere1"
    elif case == "controller":
        args[2] = "cloudcontrol9999"
    elif case == "bug":
        args += ["--bug", "12345"]
    elif case == "missing":
        args[-1] = str(world.workdir / "no-such.toml")
    elif case == "directory":
        args[-1] = str(world.workdir)
    else:  # the audit log's directory cannot be made: refused before anything is done
        variant = world.workdir / "audit-nowhere.toml"
        variant.write_text(world.config_path.read_text().replace(
            f"log = {json.dumps(str(world.audit_path))}", 'log = "/dev/null/x/audit.log"'))
        args[-1] = str(variant)
        env["XDG_STATE_HOME"] = "/dev/null/x"
    mark = Mark(world)
    code, doc, stderr = run_json(world, args, **env)
    assert code == EXIT_USAGE, stderr
    assert doc["exit_code"] == code and doc["outcome"] in ("failed", "refused"), doc
    assert doc["error"]
    assert mark.new_changes() == []


def test_no_wait_json_has_the_change_number_and_a_second_no_wait_stops(world: World) -> None:
    _, target = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    args = ["promote", "eqiad1", target, "--yes", "--no-wait"]
    code, doc, _ = run_json(world, args)
    assert code == 0 and doc["outcome"] == "stopped"
    number = world.dns.gerrit.changes()[-1]["number"]
    assert doc["change"]["number"] == number
    # 11: the change is open now; --no-wait reports it and stops instead of following it
    mark = Mark(world)
    code, doc, stderr = run_json(world, args)
    assert code == 0, stderr
    assert (doc["outcome"], doc["change"]["number"]) == ("stopped", number)
    assert "found the open change" in stderr or doc["steps"]
    assert [s["status"] for s in doc["steps"] if s["key"] == "review"] == ["skipped"]
    assert mark.new_changes() == []


# -- 12: a merged patch set that undoes the edit --------------------------------------------------

def test_merged_patch_set_that_undoes_the_edit_is_named_at_once(world: World) -> None:
    current, target = current_and_other(world)
    gerrit = world.dns.gerrit
    gerrit.auto_merge_after = None
    configure(world, verify_timeout=60)
    mark = Mark(world)
    proc = run_promote_process(world, target)
    wait_for_step(mark, "push", proc=proc)
    change = gerrit.changes()[-1]
    with tempfile.TemporaryDirectory(prefix="fo-ps2-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        ref = f"refs/changes/{change['number'] % 100:02d}/{change['number']}/1"
        git_ = ["git", "-c", "user.name=Reverter", "-c", "user.email=r@example.org"]
        subprocess.run([*git_, "clone", "--quiet", gerrit.git_url, str(work)], check=True,
                       timeout=30)
        for cmd in (["fetch", "--quiet", "origin", ref], ["checkout", "--quiet", "FETCH_HEAD"],
                    ["checkout", "HEAD~1", "--", ZONE_PATH],
                    ["commit", "--quiet", "--amend", "--no-edit", "--no-verify", "--allow-empty"],
                    ["push", "--quiet", "-o", "topic=openstack-failover", "origin",
                     "HEAD:refs/for/master"]):
            subprocess.run([*git_, *cmd], cwd=work, check=True, timeout=30,
                           capture_output=True)
    assert len(gerrit.change(change["number"])["patch_sets"]) == 2
    gerrit.approve_and_merge(change["number"])
    code, output = finish(proc, timeout=50)  # before: waited the whole verify timeout
    records = assert_nothing_lost(mark, code, EXIT_GIT, "failed", output)
    assert "what was merged does not make this failover" in output, output
    assert next(r for r in records if r["step"] == "review")["result"] == "failed"
    assert upstream_target(world) == f"{current}.wikimedia.org."


# -- 18: check --timeout bounds the whole process ------------------------------------------------

def test_check_timeout_bounds_a_config_load_that_hangs(world: World) -> None:
    fifo = world.workdir / "config.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "failover.cli", "check", "eqiad1",
                             "--timeout", "1", "--config", str(fifo)], env=tool_env(world),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, output = finish(proc, timeout=20)  # before: hung for ever on the FIFO
    assert code == 3 and output.startswith("UNKNOWN"), output
