"""The Gerrit stand-in: its proc-receive hook through plain `git push`, its REST, its helpers."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
import requests

from sandbox import gerrit_hook
from sandbox.dnsrepo import DnsSandbox, push_upstream_edit

CID = "I" + "c" * 40


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30,
                          check=check)




def commit(co: Path, message: str, name: str = "f.txt") -> str:
    """Commit a new file in the checkout without hooks; return its id."""
    (co / name).write_text(message)
    git(co, "add", name)
    git(co, "commit", "-q", "--no-verify", "-m", message)
    return git(co, "rev-parse", "HEAD").stdout.strip()


def push(co: Path, ref: str = "refs/for/master", *options: str) -> subprocess.CompletedProcess[str]:
    return git(co, "push", *[f"-o{o}" for o in options], "origin", f"HEAD:{ref}", check=False)


def rejected(done: subprocess.CompletedProcess[str]) -> str:
    [line] = [ln for ln in done.stderr.splitlines() if "[remote rejected]" in ln]
    return line.split("(", 1)[1].rstrip(")")


# -- pure parts ----------------------------------------------------------------------------------

def test_footer_is_the_last_paragraph_only() -> None:
    assert gerrit_hook.change_id_problem(f"s\n\nb\n\nBug: T1\nChange-Id: {CID}\n") == (CID, None)
    assert gerrit_hook.change_id_problem(f"s\n\nChange-Id: {CID}\n\nmore text\n")[1] \
        == "missing Change-Id in message footer"
    assert gerrit_hook.change_id_problem(f"Change-Id: {CID}\n")[1] \
        == "missing Change-Id in message footer"
    assert gerrit_hook.change_id_problem(f"s\n\nChange-Id: {CID}\nChange-Id: {CID}\n")[1] \
        == "multiple Change-Id lines in message footer"
    assert gerrit_hook.change_id_problem("s\n\nChange-Id: Ixyz\n")[1] \
        == "invalid Change-Id line format in message footer"


def test_options_from_ref_and_push_options() -> None:
    got = gerrit_hook.parse_options("topic=a,r=bob,t=x,hashtag=y", ["r=carol", "topic=b"])
    assert got == {"topic": ["a", "b"], "r": ["bob", "carol"], "t": ["x", "y"]}


def test_patch_set_refs_follow_gerrit() -> None:
    assert gerrit_hook.patch_set_ref(1, 1) == "refs/changes/01/1/1"
    assert gerrit_hook.patch_set_ref(123456, 3) == "refs/changes/56/123456/3"


# -- pushes through the real hook ----------------------------------------------------------------

def test_new_change_answers_like_gerrit(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    sha = commit(co, f"dns: one\n\nwhy\n\nChange-Id: {CID}")
    done = push(co, "refs/for/master%topic=tp,r=alice,t=h1", "r=bob", "t=h2")
    assert done.returncode == 0, done.stderr
    url = f"http://127.0.0.1:{repo_sandbox.gerrit.port}/r/c/operations/dns/+/1"
    remote = [ln.rstrip() for ln in done.stderr.splitlines() if ln.startswith("remote:")]
    assert remote == ["remote: Processing changes: refs: 1, new: 1, done", "remote:",
                      "remote: SUCCESS", "remote:", f"remote:   {url} dns: one [NEW]", "remote:"]
    assert "* [new reference]" in done.stderr
    change = repo_sandbox.gerrit.change(1)
    assert (change["topic"], change["reviewers"], change["hashtags"]) \
        == ("tp", ["alice", "bob"], ["h1", "h2"])
    assert git(co, "ls-remote", "origin", "refs/changes/01/1/1").stdout.split()[0] == sha
    assert git(co, "ls-remote", "origin", "refs/for/*").stdout == ""


def test_new_patch_set_keeps_the_number(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    commit(co, f"dns: one\n\nChange-Id: {CID}")
    assert push(co).returncode == 0
    git(co, "commit", "-q", "--amend", "--no-verify", "-m", f"dns: one v2\n\nChange-Id: {CID}")
    done = push(co)
    assert done.returncode == 0
    url = f"http://127.0.0.1:{repo_sandbox.gerrit.port}/r/c/operations/dns/+/1"
    remote = [ln.rstrip() for ln in done.stderr.splitlines() if ln.startswith("remote:")]
    assert remote[0] == "remote: Processing changes: refs: 1, updated: 1, done"
    assert remote[4] == f"remote:   {url} dns: one v2"
    assert [ps["ref"] for ps in repo_sandbox.gerrit.change(1)["patch_sets"]] \
        == ["refs/changes/01/1/1", "refs/changes/01/1/2"]


def test_rejections_use_gerrit_wording(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    sha = commit(co, "dns: no id\n\nwhy")
    assert rejected(push(co)) == f"commit {sha[:7]}: missing Change-Id in message footer"
    git(co, "commit", "-q", "--amend", "--no-verify", "-m",
        f"dns: two ids\n\nChange-Id: {CID}\nChange-Id: I{'d' * 40}")
    sha = git(co, "rev-parse", "HEAD").stdout.strip()
    assert rejected(push(co)) == f"commit {sha[:7]}: multiple Change-Id lines in message footer"
    git(co, "commit", "-q", "--amend", "--no-verify", "-m", f"dns: ok\n\nChange-Id: {CID}")
    assert rejected(push(co, "refs/for/production")) == "branch production not found"
    assert push(co).returncode == 0
    assert rejected(push(co)) == "no new changes"
    git(co, "reset", "-q", "--hard", "origin/master")
    assert rejected(push(co)) == "no new changes"  # already on the branch
    repo_sandbox.gerrit.set_prohibited("create change on refs/heads/master")
    commit(co, f"dns: other\n\nChange-Id: I{'e' * 40}", "g.txt")
    assert rejected(push(co)) \
        == "prohibited by Gerrit: not permitted: create change on refs/heads/master"
    repo_sandbox.gerrit.set_prohibited(None)
    repo_sandbox.gerrit.abandon(1)
    git(co, "commit", "-q", "--amend", "--no-verify", "-m", f"dns: again\n\nChange-Id: {CID}")
    url = f"http://127.0.0.1:{repo_sandbox.gerrit.port}/r/c/operations/dns/+/1"
    assert rejected(push(co)) == f"change {url} closed"
    assert len(repo_sandbox.gerrit.changes()) == 1


def test_concurrent_pushes_get_distinct_numbers(repo_sandbox: DnsSandbox, tmp_path: Path) -> None:
    clones = []
    for i in range(3):
        dest = Path(tempfile.mkdtemp(prefix="fo-cl-", dir="/tmp")) / "c"
        git(tmp_path, "clone", "-q", repo_sandbox.gerrit.git_url, str(dest))
        git(dest, "config", "user.name", "x")
        git(dest, "config", "user.email", "x@example.org")
        commit(dest, f"dns: c{i}\n\nChange-Id: I{str(i) * 40}")
        clones.append(dest)
    results: list[int] = []
    threads = [threading.Thread(target=lambda d=d: results.append(push(d).returncode))
               for d in clones]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results == [0, 0, 0]
        assert sorted(c["number"] for c in repo_sandbox.gerrit.changes()) == [1, 2, 3]
    finally:
        for d in clones:
            shutil.rmtree(d.parent, ignore_errors=True)


# -- merging and REST ----------------------------------------------------------------------------

def test_merge_fast_forwards(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    sha = commit(co, f"dns: one\n\nChange-Id: {CID}")
    push(co)
    assert repo_sandbox.gerrit.approve_and_merge(1) == sha
    assert git(co, "ls-remote", "origin", "refs/heads/master").stdout.split()[0] == sha
    assert repo_sandbox.gerrit.change(1)["status"] == "MERGED"


def test_merge_after_upstream_moved_makes_a_merge_commit(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    sha = commit(co, f"dns: one\n\nChange-Id: {CID}")
    push(co)
    other = push_upstream_edit(repo_sandbox.gerrit, "templates/other.org", "x\n")
    merged = repo_sandbox.gerrit.approve_and_merge(1)
    assert merged not in (sha, other)
    bare = Path(repo_sandbox.gerrit.git_url)
    assert git(bare, "rev-parse", f"{merged}^1", f"{merged}^2").stdout.split() == [other, sha]
    files = git(bare, "ls-tree", "-r", "--name-only", "master").stdout.split()
    assert {"f.txt", "templates/other.org"} <= set(files)


def rest(sb: DnsSandbox, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{sb.gerrit.rest_url}{path}", timeout=5, **kwargs)  # type: ignore[arg-type]


def test_rest_queries_and_ids(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    commit(co, f"dns: one\n\nChange-Id: {CID}")
    push(co, "refs/for/master%topic=tp")
    for q in (f"change:{CID}", "topic:tp+status:open", "project:operations/dns branch:master"):
        resp = rest(repo_sandbox, f"/changes/?q={q}")
        assert resp.text.startswith(")]}'\n") and '"_number": 1' in resp.text, q
    assert rest(repo_sandbox, "/changes/?q=status:merged").text == ")]}'\n[]"
    assert rest(repo_sandbox, "/changes/?q=owner:self").status_code == 400
    for ident in ("1", CID, "operations%2Fdns~1", f"operations%2Fdns~master~{CID}"):
        assert rest(repo_sandbox, f"/changes/{ident}").status_code == 200, ident
    assert '"labels"' in rest(repo_sandbox, "/changes/operations%2Fdns~1/detail").text
    assert rest(repo_sandbox, "/changes/operations%2Fdns~7/detail").status_code == 404
    assert rest(repo_sandbox, "/a/changes/1").status_code == 401
    assert rest(repo_sandbox, "/a/changes/1", auth=("failover", "secret")).status_code == 200


def test_stop_closes_the_port(repo_sandbox: DnsSandbox) -> None:
    repo_sandbox.gerrit.stop()
    with pytest.raises(requests.ConnectionError):
        rest(repo_sandbox, "/changes/?q=status:open")
