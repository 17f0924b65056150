"""The stand-in's review (votes per account, submit rules, permissions, work in progress,
the patch, chains) through failover.gerrit's client, over REST with basic auth (issue 23)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from failover import gerrit, repo
from failover.errors import GitError
from sandbox.dnsrepo import ZONE_PATH, DnsSandbox, dns_sandbox

PROJECT = "operations/dns"


@pytest.fixture
def sb() -> Iterator[DnsSandbox]:
    with dns_sandbox() as sandbox:
        yield sandbox


def client(sb: DnsSandbox, user: str = "failover",
           password: str = "secret") -> gerrit.GerritClient:  # noqa: S107
    return gerrit.GerritClient(sb.gerrit.rest_url, auth=(user, password), timeout=5.0,
                               retry_delay=0.01)


def push(sb: DnsSandbox, *extra: str, new: str = "cloudcontrol1004.wikimedia.org.",
         ref: str = "HEAD") -> repo.PushResult:
    checkout = repo.open_checkout(sb.checkout)
    repo.fetch(checkout)
    with repo.change_worktree(checkout) as wt:
        zone = wt.path / ZONE_PATH
        zone.write_text(zone.read_text().replace("cloudcontrol1003.wikimedia.org.", new))
        repo.commit_change(wt, subject="wikimediacloud: fail over openstack.eqiad1", body="b")
        return repo.push_for_review(wt, checkout.review, topic="openstack-failover",
                                    extra=extra)


def test_votes_per_account_and_the_submit_rules(sb: DnsSandbox) -> None:
    number = push(sb).number
    me = client(sb)
    with pytest.raises(GitError) as info:
        me.submit(PROJECT, number)
    assert info.value.exit_code == 4
    assert "Failed to submit 1 change due to the following problems" in str(info.value)
    assert f"Change {number}: submit requirement 'Code-Review' is unsatisfied." \
        in str(info.value)
    me.review(PROJECT, number, {"Code-Review": 2})
    with pytest.raises(GitError, match="submit requirement 'Verified' is unsatisfied"):
        me.submit(PROJECT, number)
    assert me.get_change(PROJECT, number, more=True).submittable is False
    sb.gerrit.set_ci(0.0)
    change = sb.gerrit.change(number)
    for _ in range(100):
        change = sb.gerrit.change(number)
        if change["votes"].get("Verified"):
            break
        import time
        time.sleep(0.05)
    info2 = me.get_change(PROJECT, number, more=True)
    assert info2.submittable is True and dict(info2.labels) == {"Code-Review": 2, "Verified": 1}
    me.submit(PROJECT, number)
    merged = sb.gerrit.change(number)
    assert merged["status"] == "MERGED" and merged["submitter"] == "failover"
    assert me.get_change(PROJECT, number, more=True).submitter == "failover"


def test_an_account_without_rights_is_refused_in_gerrits_words(sb: DnsSandbox) -> None:
    number = push(sb).number
    bot = client(sb, "dns-bot", "bot-secret")
    with pytest.raises(GitError) as info:
        bot.review(PROJECT, number, {"Code-Review": 2})
    assert 'Applying label "Code-Review": 2 is restricted' in str(info.value)
    bot.review(PROJECT, number, {"Code-Review": 1})  # anyone may +1
    with pytest.raises(GitError, match=r"HTTP 403.*submit not permitted"):
        bot.submit(PROJECT, number)
    with pytest.raises(GitError, match='"Verified": 1 is restricted'):
        client(sb).review(PROJECT, number, {"Verified": 1})
    assert sb.gerrit.change(number)["status"] == "NEW"


def test_work_in_progress_cannot_be_submitted_until_ready(sb: DnsSandbox) -> None:
    pushed = push(sb, "wip")
    change = sb.gerrit.change(pushed.number)
    assert change["wip"] is True
    me = client(sb)
    assert me.get_change(PROJECT, pushed.number).wip is True
    assert [c.number for c in me.query_changes("is:wip topic:openstack-failover")] \
        == [pushed.number]
    sb.gerrit.review(pushed.number, "reviewer", {"Code-Review": 2})  # voting on WIP is fine
    sb.gerrit.review(pushed.number, "jenkins-bot", {"Verified": 1})
    status, body = sb.gerrit.submit(pushed.number, "reviewer")
    assert status == 409 and f"Change {pushed.number}: Change {pushed.number} is work in " \
        "progress" in body
    with pytest.raises(GitError, match="change is already work in progress"):
        me.set_wip(PROJECT, pushed.number)
    me.set_ready(PROJECT, pushed.number)
    assert me.get_change(PROJECT, pushed.number, more=True).submittable is True
    with pytest.raises(GitError, match="change is not work in progress"):
        me.set_ready(PROJECT, pushed.number)


def test_the_patch_the_owner_and_queries(sb: DnsSandbox, monkeypatch: pytest.MonkeyPatch) \
        -> None:
    monkeypatch.setenv("GERRIT_STANDIN_USER", "dns-bot")  # a local push, as the bot
    number = push(sb).number
    me = client(sb)
    text = me.patch(PROJECT, number)
    assert "-openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org." in text
    assert "+openstack  5M  IN CNAME  cloudcontrol1004.wikimedia.org." in text
    raw = sb.gerrit.rest_url + f"/changes/{number}/revisions/current/patch"
    import urllib.request

    with urllib.request.urlopen(raw, timeout=5) as resp:  # noqa: S310 (loopback)
        assert base64.b64decode(resp.read()).startswith(b"From ")
    info = me.get_change(PROJECT, number, more=True)
    assert info.owner == "dns-bot" and info.parent
    assert [c.number for c in me.query_changes(f"owner:dns-bot file:{ZONE_PATH}")] == [number]
    assert me.query_changes("owner:failover") == []
    assert me.find_change(str(number), PROJECT).number == number
    assert me.find_change(info.url, PROJECT).number == number
    assert me.find_change(info.change_id, PROJECT).number == number


def test_a_chain_is_submitted_together_or_not_at_all(sb: DnsSandbox) -> None:
    first = push(sb)
    checkout = repo.open_checkout(sb.checkout)
    # the second change sits on the first's commit (a relation chain)
    revision = sb.gerrit.change(first.number)["patch_sets"][-1]["revision"]
    import subprocess

    subprocess.run(["git", "fetch", "-q", sb.gerrit.git_url,
                    sb.gerrit.change(first.number)["patch_sets"][-1]["ref"]],
                   cwd=sb.checkout, check=True, timeout=30)
    with repo.change_worktree(checkout) as wt:
        subprocess.run(["git", "checkout", "-q", revision], cwd=wt.path, check=True, timeout=30)
        zone = wt.path / ZONE_PATH
        zone.write_text(zone.read_text().replace("cloudcontrol1004.wikimedia.org.",
                                                 "cloudcontrol1003.wikimedia.org."))
        message = "Revert \"fail over\"\n\nChange-Id: I" + "5" * 40 + "\n"
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q",
                        "--no-verify", "-am", message], cwd=wt.path, check=True, timeout=30)
        second = repo.push_for_review(wt, checkout.review, extra=("wip",))
    assert sb.gerrit.change(second.number)["parent"] == revision
    for n in (first.number, second.number):
        sb.gerrit.review(n, "reviewer", {"Code-Review": 2})
        sb.gerrit.review(n, "jenkins-bot", {"Verified": 1})
    client(sb).set_ready(PROJECT, second.number)
    sb.gerrit.review(first.number, "reviewer", {"Code-Review": -2})
    status, body = sb.gerrit.submit(second.number, "reviewer")
    assert status == 409 and "depends on change that was not submitted" in body
    sb.gerrit.review(first.number, "reviewer", {"Code-Review": 2})
    assert sb.gerrit.submit(second.number, "reviewer")[0] == 200
    assert [sb.gerrit.change(n)["status"] for n in (first.number, second.number)] \
        == ["MERGED", "MERGED"]
