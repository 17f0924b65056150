"""failover.repo against real git repositories and the Gerrit stand-in (real proc-receive hook)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover import repo
from failover.errors import GitError, UsageError
from sandbox.dnsrepo import COMMIT_MSG_HOOK, ZONE_PATH, DnsSandbox, dns_sandbox

OLD, NEW = "cloudcontrol1003.wikimedia.org.", "cloudcontrol1004.wikimedia.org."


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd` and return its stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30,
                          check=check)
    return done.stdout


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fo-repo-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)




def edit_record(wt: repo.Worktree, old: str = OLD, new: str = NEW) -> None:
    """Change the eqiad1 target in the worktree's zone (stands in for failover.zone)."""
    path = wt.path / ZONE_PATH
    path.write_text(path.read_text().replace(old, new))


def snapshot(checkout: Path) -> dict[str, str]:
    """Return everything of the operator's checkout that must not change."""
    files = {str(p.relative_to(checkout)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(checkout.rglob("*")) if p.is_file() and ".git" not in p.parts}
    return {
        "files": repr(files),
        "status": git(checkout, "status", "--porcelain", "--untracked-files=all"),
        "index": git(checkout, "ls-files", "--stage"),
        "head": git(checkout, "rev-parse", "HEAD")
        + git(checkout, "symbolic-ref", "-q", "HEAD", check=False),
        "refs": git(checkout, "for-each-ref", "refs/heads", "refs/tags"),
        "stash": git(checkout, "stash", "list"),
        "worktrees": git(checkout, "worktree", "list", "--porcelain"),
    }


def push_change(sb: DnsSandbox, *, new: str = NEW, change_id: str | None = None,
                when: int | None = None) -> tuple[repo.CommitInfo, repo.PushResult]:
    """Fetch, edit, commit and push one change from the sandbox checkout."""
    checkout = repo.open_checkout(sb.checkout)
    repo.fetch(checkout, timeout=30)
    with repo.change_worktree(checkout) as wt:
        edit_record(wt, OLD, new)
        commit = repo.commit_change(wt, subject="wikimediacloud: fail over openstack.eqiad1",
                                    body="Why.", bug="T12345", change_id=change_id, when=when)
        return commit, repo.push_for_review(wt, checkout.review, topic="openstack-failover",
                                            reviewers=["alice"], hashtags=["failover"])


# -- .gitreview and the checkout ---------------------------------------------------------------

def test_read_gitreview_defaults_like_git_review(tmp_path: Path) -> None:
    (tmp_path / ".gitreview").write_text("[gerrit]\nhost=gerrit.example.org\n"
                                         "project=operations/dns.git\n")
    review = repo.read_gitreview(tmp_path)
    assert review == repo.GitReview("gerrit.example.org", 29418, "operations/dns.git",
                                    "master", "gerrit")
    assert review.project_name == "operations/dns"


def test_remote_as_git_review_picks_it(workdir: Path) -> None:
    """gitreview.remote wins; without defaultremote, a plain clone's origin serves."""
    with dns_sandbox(workdir) as repo_sandbox:
        gitreview = repo_sandbox.checkout / ".gitreview"
        gitreview.write_text(gitreview.read_text().replace("defaultremote=origin\n", ""))
        git(repo_sandbox.checkout, "remote", "set-url", "origin",
            f"file://127.0.0.1{repo_sandbox.gerrit.git_url}")
        assert repo.open_checkout(repo_sandbox.checkout).review.remote == "origin"
        git(repo_sandbox.checkout, "remote", "add", "gerrit", repo_sandbox.gerrit.git_url)
        assert repo.open_checkout(repo_sandbox.checkout).review.remote == "gerrit"
        git(repo_sandbox.checkout, "config", "gitreview.remote", "origin")
        assert repo.open_checkout(repo_sandbox.checkout).review.remote == "origin"


@pytest.mark.parametrize("text", ["", "[other]\nhost=x\n", "[gerrit]\nhost=x\n",
                                  "[gerrit]\nhost=x\nproject=p\nport=abc\n", "not ini"])
def test_read_gitreview_refuses_unusable_files(tmp_path: Path, text: str) -> None:
    (tmp_path / ".gitreview").write_text(text)
    with pytest.raises(UsageError):
        repo.read_gitreview(tmp_path)


def test_not_a_git_checkout_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a git checkout") as info:
        repo.open_checkout(tmp_path)
    assert info.value.exit_code == 2


def test_checkout_without_gitreview_or_templates_is_a_usage_error(repo_sandbox: DnsSandbox) -> None:
    (repo_sandbox.checkout / ".gitreview").rename(repo_sandbox.checkout / "gitreview.off")
    with pytest.raises(UsageError, match=r"no \.gitreview"):
        repo.open_checkout(repo_sandbox.checkout)
    (repo_sandbox.checkout / "gitreview.off").rename(repo_sandbox.checkout / ".gitreview")
    shutil.rmtree(repo_sandbox.checkout / "templates")
    with pytest.raises(UsageError, match="operations/dns") as info:
        repo.open_checkout(repo_sandbox.checkout)
    assert info.value.exit_code == 2


def test_missing_remote_says_how_to_add_it(repo_sandbox: DnsSandbox) -> None:
    git(repo_sandbox.checkout, "remote", "rename", "origin", "upstream")
    with pytest.raises(GitError, match="no remote 'origin'") as info:
        repo.open_checkout(repo_sandbox.checkout)
    assert info.value.exit_code == 4
    assert "git remote add origin" in str(info.value)


def test_unreachable_remote_is_a_git_error(repo_sandbox: DnsSandbox, workdir: Path) -> None:
    git(repo_sandbox.checkout, "remote", "set-url", "origin", str(workdir / "does-not-exist.git"))
    with pytest.raises(GitError, match="cannot fetch master from origin") as info:
        repo.fetch(repo.open_checkout(repo_sandbox.checkout), timeout=30)
    assert info.value.exit_code == 4
    assert "does-not-exist.git" in str(info.value)


def test_unknown_branch_is_named(repo_sandbox: DnsSandbox) -> None:
    gitreview = repo_sandbox.checkout / ".gitreview"
    gitreview.write_text(gitreview.read_text().replace("defaultbranch=master",
                                                       "defaultbranch=production"))
    with pytest.raises(GitError, match="branch 'production' does not exist on remote origin"):
        repo.fetch(repo.open_checkout(repo_sandbox.checkout), timeout=30)


def test_read_remote_file_gives_the_fetched_tip(repo_sandbox: DnsSandbox) -> None:
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    text = repo.read_remote_file(checkout, ZONE_PATH)
    assert f"openstack  5M  IN CNAME  {OLD}" in text
    assert text == (repo_sandbox.checkout / ZONE_PATH).read_text()
    with pytest.raises(UsageError, match="does not exist"):
        repo.read_remote_file(checkout, "templates/nope.org")


# -- the commit message and the Change-Id --------------------------------------------------------

CID = "I" + "a" * 40


def test_commit_message_has_footers_last_without_blank_lines() -> None:
    msg = repo.build_commit_message("wikimediacloud: fail over", "Reason.\n\nHealth: ok.",
                                    bug="T12345", change_id=CID)
    assert msg == ("wikimediacloud: fail over\n\nReason.\n\nHealth: ok.\n\n"
                   f"Bug: T12345\nChange-Id: {CID}\n")
    assert repo.build_commit_message("s", "b", bug=None, change_id=CID).endswith(
        f"b\n\nChange-Id: {CID}\n")


@pytest.mark.parametrize("bug", ["12345", "T", "t123", "T12 ", "https://phabricator/T1"])
def test_bad_task_ids_are_refused(bug: str) -> None:
    with pytest.raises(UsageError, match="T12345"):
        repo.build_commit_message("s", "b", bug=bug, change_id=CID)


def test_body_with_its_own_change_id_is_refused() -> None:
    with pytest.raises(UsageError):
        repo.build_commit_message("s", f"b\n\nChange-Id: {CID}", bug=None, change_id=CID)


def test_change_id_is_git_commit_hash_of_the_hook_input(tmp_path: Path) -> None:
    tree, parent = "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "1" * 40
    ident = "Ops Person <ops@example.org> 1700000000 +0000"
    message = "s: x\n\nbody\n# comment\nSigned-off-by: A <a@b>\n\n\n"
    text = f"tree {tree}\nparent {parent}\nauthor {ident}\ncommitter {ident}\n\ns: x\n\nbody"
    git(tmp_path, "init", "-q")
    expected = subprocess.run(["git", "hash-object", "-t", "commit", "--stdin"], cwd=tmp_path,
                              input=text, capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    got = repo.compute_change_id(tree, parent, ident, ident, message)
    assert got == "I" + expected
    assert re.fullmatch(r"I[0-9a-f]{40}", got)
    assert got == repo.compute_change_id(tree, parent, ident, ident, message)
    assert got != repo.compute_change_id(tree, parent, ident, ident, "s: y\n\nbody")


def test_commit_msg_hook_leaves_our_message_alone(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "A")
    git(tmp_path, "config", "user.email", "a@example.org")
    hook = tmp_path / ".git" / "hooks" / "commit-msg"
    hook.write_text(COMMIT_MSG_HOOK)
    hook.chmod(0o755)
    ours = repo.build_commit_message("s: x", "why", bug="T1", change_id=CID)
    (tmp_path / "f").write_text("1")
    git(tmp_path, "add", "f")
    git(tmp_path, "commit", "-q", "-m", ours)
    assert git(tmp_path, "log", "-1", "--format=%B").rstrip("\n") + "\n" == ours
    (tmp_path / "f").write_text("2")
    git(tmp_path, "commit", "-q", "-a", "-m", "s: no id\n\nwhy")
    added = git(tmp_path, "log", "-1", "--format=%B")
    assert len(re.findall(r"^Change-Id: I[0-9a-f]{40}$", added, re.M)) == 1


# -- the whole change, pushed for review ---------------------------------------------------------

def test_change_is_pushed_for_review(repo_sandbox: DnsSandbox) -> None:
    commit, result = push_change(repo_sandbox)
    assert result.created and result.number == 1
    assert result.url == f"{repo_sandbox.gerrit.rest_url}/c/operations/dns/+/1"
    assert commit.message.count("Change-Id:") == 1
    assert commit.message.endswith(f"Bug: T12345\nChange-Id: {commit.change_id}\n")
    change = repo_sandbox.gerrit.change(1)
    assert (change["change_id"], change["topic"]) == (commit.change_id, "openstack-failover")
    assert (change["reviewers"], change["hashtags"]) == (["alice"], ["failover"])
    bare = Path(repo_sandbox.gerrit.git_url)
    assert git(bare, "rev-parse", "refs/changes/01/1/1").strip() == commit.sha
    diff = git(bare, "diff", "--unified=0", "master", commit.sha)
    assert [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")] \
        == [f"-openstack  5M  IN CNAME  {OLD}", f"+openstack  5M  IN CNAME  {NEW}"]


def test_second_push_of_the_change_is_a_new_patch_set(repo_sandbox: DnsSandbox) -> None:
    first, one = push_change(repo_sandbox)
    second, two = push_change(repo_sandbox, new="cloudcontrol1005.wikimedia.org.",
                              change_id=first.change_id)
    assert (two.number, two.created) == (one.number, False)
    assert second.sha != first.sha
    assert [ps["revision"] for ps in repo_sandbox.gerrit.change(1)["patch_sets"]] \
        == [first.sha, second.sha]
    assert len(repo_sandbox.gerrit.changes()) == 1


def test_operator_checkout_is_untouched_even_dirty(repo_sandbox: DnsSandbox) -> None:
    co = repo_sandbox.checkout
    git(co, "branch", "mine")
    git(co, "tag", "v1")
    (co / "templates" / "wikimedia.org").write_text("stashed edit\n")
    git(co, "stash", "-q")
    (co / ZONE_PATH).write_text("local unstaged edit\n")
    (co / "utils" / "new.py").write_text("staged\n")
    git(co, "add", "utils/new.py")
    (co / "untracked.txt").write_text("x\n")
    before = snapshot(co)
    push_change(repo_sandbox, when=1700000000)
    with pytest.raises(repo.PushRejected, match="no new changes"):
        push_change(repo_sandbox, when=1700000000)
    assert snapshot(co) == before


def test_detached_checkout_is_fine_and_untouched(repo_sandbox: DnsSandbox) -> None:
    git(repo_sandbox.checkout, "checkout", "-q", "--detach", "HEAD")
    before = snapshot(repo_sandbox.checkout)
    _, result = push_change(repo_sandbox)
    assert result.created
    assert snapshot(repo_sandbox.checkout) == before


def test_failed_push_leaves_no_worktree_and_no_branch(repo_sandbox: DnsSandbox) -> None:
    repo_sandbox.gerrit.set_prohibited("create change on refs/heads/master")
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    branches = git(repo_sandbox.checkout, "for-each-ref", "refs/heads")
    with pytest.raises(repo.PushRejected) as info, repo.change_worktree(checkout) as wt:
        edit_record(wt)
        repo.commit_change(wt, subject="s: x", body="b")
        repo.push_for_review(wt, checkout.review, topic="t")
    assert info.value.exit_code == 4
    assert "prohibited by Gerrit: not permitted: create change on refs/heads/master" \
        in str(info.value)
    assert not wt.path.parent.exists()
    assert git(repo_sandbox.checkout, "worktree", "list").count("\n") == 1
    assert git(repo_sandbox.checkout, "for-each-ref", "refs/heads") == branches


def test_unchanged_worktree_is_refused(repo_sandbox: DnsSandbox) -> None:
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    with pytest.raises(UsageError, match="nothing to commit"), repo.change_worktree(checkout) as wt:
        repo.commit_change(wt, subject="s: x", body="b")


def test_hanging_remote_is_killed_after_the_timeout(repo_sandbox: DnsSandbox) -> None:
    # git runs a local remote's upload-pack through the shell: make it hang
    git(repo_sandbox.checkout, "config", "remote.origin.uploadpack", "sleep 30; git-upload-pack")
    checkout = repo.open_checkout(repo_sandbox.checkout)
    with pytest.raises(GitError, match="cannot fetch master from origin") as info:
        repo.fetch(checkout, timeout=0.5)
    assert info.value.exit_code == 4


def test_hanging_push_is_killed_and_leaves_nothing(repo_sandbox: DnsSandbox) -> None:
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    git(repo_sandbox.checkout, "config", "remote.origin.receivepack", "sleep 30; git-receive-pack")
    with pytest.raises(GitError, match="push to origin failed") as info, \
            repo.change_worktree(checkout) as wt:
        edit_record(wt)
        repo.commit_change(wt, subject="s: x", body="b")
        repo.push_for_review(wt, checkout.review, topic="t", timeout=0.5)
    assert info.value.exit_code == 4
    assert not wt.path.parent.exists()
    assert repo_sandbox.gerrit.changes() == []


# -- the commit (moved from the commit-message tests: they need the Gerrit stand-in) ----------

def commit_with_subject(work: Path, subject: str, n: int) -> None:
    zone = work / "templates" / "wikimediacloud.org"
    zone.write_text(zone.read_text() + f"; {n}\n")
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q",
                    "--no-verify", "-am", subject], cwd=work, check=True, timeout=30)


def test_subject_topic_is_the_one_the_history_uses_most(repo_sandbox: DnsSandbox) -> None:
    checkout = repo.open_checkout(repo_sandbox.checkout)
    work = repo_sandbox.checkout
    for n, subject in enumerate(["wikimediacloud.org: a", "wikimediacloud: b",
                                 "Revert \"wikimediacloud.org: a\"", "wikimediacloud.org: c",
                                 "Move the thing", "wikimediacloud: d",
                                 "wikimediacloud.org: f"]):
        commit_with_subject(work, subject, n)
    assert repo.subject_topic(checkout, "templates/wikimediacloud.org", ref="HEAD") == \
        "wikimediacloud.org"
    commit_with_subject(work, "wikimediacloud: e", 9)  # 3 to 3: the most recent wins
    assert repo.subject_topic(checkout, "templates/wikimediacloud.org", ref="HEAD") == \
        "wikimediacloud"
    assert repo.subject_topic(checkout, "templates/none.org", ref="HEAD") is None


# -- no hook of the operator's runs during the commit -------------------------------------------

def test_a_failing_reference_transaction_hook_does_not_stop_the_commit(
        repo_sandbox: DnsSandbox, tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    ran = tmp_path / "ran"
    for name in ("reference-transaction", "post-index-change", "pre-commit", "commit-msg"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {ran}\necho 'hook says no' >&2\nexit 1\n")
        hook.chmod(0o755)
    subprocess.run(["git", "config", "core.hooksPath", str(hooks)], cwd=repo_sandbox.checkout,
                   check=True, timeout=30)
    commit, result = push_change(repo_sandbox)
    assert result.created and commit.message.count("Change-Id:") == 1
    assert not ran.exists()  # none of them ran: before, update-ref failed with exit 1


def test_git_failing_during_the_commit_is_a_git_error(repo_sandbox: DnsSandbox) -> None:
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout, timeout=30)
    with repo.change_worktree(checkout) as wt:
        edit_record(wt, OLD, NEW)
        gitfile = (wt.path / ".git").read_text().split(":", 1)[1].strip()
        (Path(gitfile) / "index.lock").write_text("")  # another git holds the index
        with pytest.raises(GitError, match="cannot stage the edit"):
            repo.commit_change(wt, subject="s: x", body="why", bug="T1")
