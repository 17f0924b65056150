"""The Gerrit stand-in reached as production's Gerrit is: git over a real OpenSSH on a port of
its own (as 29418), smart HTTP through `git http-backend`, the commit-msg hook, the server
version, and the real `git-review` pushing through it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from failover import repo
from sandbox.dnsrepo import ZONE_PATH, DnsSandbox
from sandbox.sshd import sshd_available

pytestmark = pytest.mark.skipif(not sshd_available(), reason="OpenSSH not installed")


def git(cwd: Path, *args: str, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=check, env={**os.environ, **(env or {})})


REPO_SANDBOX = {"ssh": True}
"""`repo_sandbox` over SSH (world/conftest.py)."""


def test_checkout_remote_and_gitreview_are_productions_shape(repo_sandbox: DnsSandbox) -> None:
    g = repo_sandbox.gerrit
    assert g.ssh_port is not None and g.ssh_port != g.port
    url = git(repo_sandbox.checkout, "remote", "get-url", "origin").stdout.strip()
    assert url == f"ssh://{g.sshd.user}@127.0.0.1:{g.ssh_port}/operations/dns"
    review = repo.open_checkout(repo_sandbox.checkout).review
    assert (review.host, review.port, review.project) == ("127.0.0.1", g.ssh_port,
                                                         "operations/dns.git")
    assert "-F" in git(repo_sandbox.checkout, "config", "core.sshCommand").stdout  # no ~/.ssh


def test_ssh_serves_only_the_project_and_gerrits_commands(repo_sandbox: DnsSandbox) -> None:
    g = repo_sandbox.gerrit
    ssh = ["ssh", "-F", str(g.ssh_config), "-p", str(g.ssh_port), "127.0.0.1"]
    done = subprocess.run([*ssh, "gerrit", "version"], capture_output=True, text=True,
                          timeout=30, check=False)
    assert (done.returncode, done.stdout) == (0, "gerrit version 3.10.6\n")
    other = git(repo_sandbox.checkout, "ls-remote", g.ssh_url.replace("dns", "other"), check=False)
    assert other.returncode != 0 and "Project not found: operations/other" in other.stderr
    shell = subprocess.run([*ssh, "sh", "-c", "id"], capture_output=True, text=True,
                           timeout=30, check=False)
    assert shell.returncode != 0 and "uid=" not in shell.stdout


def test_fetch_and_push_over_ssh_with_gerrits_warning(repo_sandbox: DnsSandbox) -> None:
    """A subject over 50 characters: Gerrit's warning comes before SUCCESS; the parser copes."""
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    with repo.change_worktree(checkout) as wt:
        zone = wt.path / ZONE_PATH
        zone.write_text(zone.read_text().replace("cloudcontrol1003", "cloudcontrol1004", 1))
        subject = "wikimediacloud: fail over openstack.eqiad1 to cloudcontrol1004"
        commit = repo.commit_change(wt, subject=subject, body="Why.")
        code, output = repo.run_git(["push", "origin", "HEAD:refs/for/master"], wt.path,
                                    timeout=60)
        assert code == 0, output
        warning = (f"remote: commit {commit.sha[:7]}: warning: subject >50 characters; "
                   "use shorter first paragraph")
        lines = [ln.rstrip() for ln in output.splitlines()]
        assert lines.index(warning) < lines.index("remote: SUCCESS")
        outcome = repo.parse_push_output(lines)
        assert (outcome.number, outcome.created) == (1, True)
    assert repo_sandbox.gerrit.change(1)["subject"] == subject


def test_smart_http_fetch_anonymous_push_signed_in(repo_sandbox: DnsSandbox,
                                                   tmp_path: Path) -> None:
    g = repo_sandbox.gerrit
    tip = git(tmp_path, "ls-remote", g.http_url, "refs/heads/master").stdout.split()[0]
    assert tip == git(Path(g.git_url), "rev-parse", "master").stdout.strip()
    git(tmp_path, "clone", "-q", g.http_url, "c")
    co = tmp_path / "c"
    (co / "f").write_text("x\n")
    git(co, "add", "f")
    git(co, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm",
        "dns: f\n\nChange-Id: I" + "d" * 40)
    anonymous = git(co, "push", "origin", "HEAD:refs/for/master", check=False,
                    env={"GIT_TERMINAL_PROMPT": "0"})
    assert anonymous.returncode != 0 and g.changes() == []
    signed_in = g.http_url.replace("http://", f"http://{g.user}:{g.password}@").replace(
        "/r/", "/r/a/")
    done = git(co, "push", signed_in, "HEAD:refs/for/master")
    assert f"{g.rest_url}/c/operations/dns/+/1 dns: f [NEW]" in done.stderr


def test_hook_version_and_branch_rest_like_gerrit(repo_sandbox: DnsSandbox) -> None:
    g = repo_sandbox.gerrit
    version = requests.get(f"{g.rest_url}/config/server/version", timeout=5)
    assert version.text == ")]}'\n\"3.10.6\""
    for url in (f"{g.rest_url}/tools/hooks/commit-msg",
                f"http://127.0.0.1:{g.port}/tools/hooks/commit-msg"):
        hook = requests.get(url, timeout=5)
        assert hook.status_code == 200 and hook.text.startswith("#!/bin/sh")
    tip = git(Path(g.git_url), "rev-parse", "master").stdout.strip()
    branch = requests.get(f"{g.rest_url}/projects/operations%2Fdns/branches/master", timeout=5)
    assert branch.text == ")]}'\n" + json.dumps({"ref": "refs/heads/master", "revision": tip})
    content = requests.get(f"{g.rest_url}/projects/operations%2Fdns/commits/{tip}/files/"
                           "templates%2Fwikimediacloud.org/content", timeout=5)
    assert base64.b64decode(content.text) == (repo_sandbox.checkout / ZONE_PATH).read_bytes()


def git_review() -> str | None:
    """Return git-review's path: on PATH, or beside this interpreter (the project's venv,
    which `make test` runs without putting it on PATH)."""
    return shutil.which("git-review", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


def path_with_git_review(*first: Path) -> str:
    """Return a PATH where `git review` finds git-review (after the directories in `first`)."""
    git_review_dir = str(Path(git_review() or "/usr/bin/git-review").parent)
    return ":".join([*map(str, first), git_review_dir, os.environ["PATH"]])


@pytest.mark.skipif(git_review() is None, reason="git-review not installed")
def test_git_review_pushes_through_the_standin_over_ssh(repo_sandbox: DnsSandbox,
                                                        tmp_path: Path) -> None:
    """`git review -t openstack-failover` as an operator runs it, then `--remote-hook`,
    which downloads Gerrit's commit-msg hook over scp (`scp -O`, the stand-in's sshd)."""
    g, co = repo_sandbox.gerrit, repo_sandbox.checkout
    zone = co / ZONE_PATH
    zone.write_text(zone.read_text().replace("cloudcontrol1003", "cloudcontrol1004", 1))
    git(co, "commit", "-qam", "wikimediacloud.org: fail over to cloudcontrol1004")
    done = subprocess.run(["git", "review", "-t", "openstack-failover"], cwd=co,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PATH": path_with_git_review()})
    assert done.returncode == 0, done.stdout + done.stderr
    [change] = g.changes()
    assert (change["topic"], change["status"]) == ("openstack-failover", "NEW")
    found = requests.get(f"{g.rest_url}/changes/", params={"q": "topic:openstack-failover"},
                         timeout=5)
    assert '"_number": 1' in found.text
    # the hook from the server: scp reads no ~/.ssh of ours; a wrapper gives it the config
    (co / ".git" / "hooks" / "commit-msg").unlink()
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "scp").write_text(f'#!/bin/sh\nexec /usr/bin/scp -F "{g.ssh_config}" "$@"\n')
    (shim / "scp").chmod(0o755)
    git(co, "commit", "-q", "--amend", "--no-edit", "--no-verify")
    again = subprocess.run(["git", "review", "--remote-hook", "-t", "openstack-failover"],
                           cwd=co, capture_output=True, text=True, timeout=120, check=False,
                           env={**os.environ, "PATH": path_with_git_review(shim)})
    assert again.returncode == 0, again.stdout + again.stderr
    hook = co / ".git" / "hooks" / "commit-msg"
    assert hook.read_bytes() == g.hook_file.read_bytes() and hook.stat().st_mode & stat.S_IXUSR
    assert len(g.changes()) == 1 and len(g.change(1)["patch_sets"]) == 2
