"""failover.gerrit against the stand-in's real HTTP server (and pure parsing)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import requests

from failover import gerrit, gerrit_parse, repo
from failover.errors import GitError, UsageError
from sandbox.dnsrepo import ZONE_PATH, DnsSandbox, dns_sandbox


def client(sb: DnsSandbox, **kwargs: object) -> gerrit.GerritClient:
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("retry_delay", 0.01)
    return gerrit.GerritClient(sb.gerrit.rest_url, **kwargs)  # type: ignore[arg-type]


def push(sb: DnsSandbox, new: str = "cloudcontrol1004.wikimedia.org.") -> repo.PushResult:
    """Edit the record, commit and push it; return the change."""
    checkout = repo.open_checkout(sb.checkout)
    repo.fetch(checkout)
    with repo.change_worktree(checkout) as wt:
        zone = wt.path / ZONE_PATH
        zone.write_text(zone.read_text().replace("cloudcontrol1003.wikimedia.org.", new))
        repo.commit_change(wt, subject="wikimediacloud: fail over openstack.eqiad1", body="b")
        return repo.push_for_review(wt, checkout.review, topic="openstack-failover")


# -- pure parsing --------------------------------------------------------------------------------

def test_parse_json_strips_the_prefix() -> None:
    assert gerrit.parse_json(')]}\'\n{"a": [1]}', "u") == {"a": [1]}


@pytest.mark.parametrize("text", ['{"a": 1}', ")]}'\n{not json", ""])
def test_parse_json_without_prefix_or_malformed_is_a_git_error(text: str) -> None:
    with pytest.raises(GitError) as info:
        gerrit.parse_json(text, "http://x/r/changes/")
    assert info.value.exit_code == 4


def test_label_vote_takes_rejections_first() -> None:
    assert gerrit_parse.label_vote({"all": [{"value": 2}, {"value": 1}]}) == 2
    assert gerrit_parse.label_vote({"all": [{"value": 2}, {"value": -1}]}) == -1
    assert gerrit_parse.label_vote({}) == 0


def test_repr_and_errors_never_show_the_password() -> None:
    c = gerrit.GerritClient("http://127.0.0.1:1/r", auth=("bob", "hunter2"), timeout=0.5,
                            retries=1)
    assert "hunter2" not in repr(c) and "bob" in repr(c)
    with pytest.raises(GitError) as info:
        c.get_change("operations/dns", 1)
    assert "hunter2" not in str(info.value)
    assert "http://127.0.0.1:1/r/c/operations/dns/+/1" in str(info.value)


def test_credentials_from_env_then_netrc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine gerrit.example.org login nina password pw1\n")
    netrc.chmod(0o600)
    monkeypatch.delenv(gerrit.USER_ENV, raising=False)
    monkeypatch.delenv(gerrit.PASSWORD_ENV, raising=False)
    url = "https://gerrit.example.org/r"
    assert gerrit.credentials(url, netrc_file=str(netrc)) == ("nina", "pw1")
    assert gerrit.credentials("https://other.org/r", netrc_file=str(netrc)) is None
    assert gerrit.credentials(url, netrc_file=str(tmp_path / "none")) is None
    monkeypatch.setenv(gerrit.USER_ENV, "eve")
    with pytest.raises(UsageError):
        gerrit.credentials(url, netrc_file=str(netrc))
    monkeypatch.setenv(gerrit.PASSWORD_ENV, "pw2")
    assert gerrit.credentials(url, netrc_file=str(netrc)) == ("eve", "pw2")


# -- against the stand-in ------------------------------------------------------------------------

def test_find_and_read_a_change(repo_sandbox: DnsSandbox) -> None:
    result = push(repo_sandbox)
    c = client(repo_sandbox)
    [found] = c.find_open_changes("openstack-failover", "operations/dns", "master")
    assert (found.number, found.status, found.url) == (1, "NEW", result.url)
    assert c.find_change_by_id(found.change_id, "operations/dns") == found
    assert c.find_change_by_id("I" + "0" * 40, "operations/dns") is None
    assert c.find_open_changes("other-topic", "operations/dns", "master") == []
    repo_sandbox.gerrit.approve_and_merge(1)
    merged = c.get_change("operations/dns", 1)
    assert merged.status == "MERGED"
    assert dict(merged.labels) == {"Code-Review": 2, "Verified": 1}
    assert c.find_open_changes("openstack-failover", "operations/dns", "master") == []


def test_follow_to_merged_with_a_reviewer_thread(repo_sandbox: DnsSandbox) -> None:
    result = push(repo_sandbox)
    polls: list[str] = []
    merged_once = threading.Event()

    def on_poll(info: gerrit.ChangeInfo, elapsed: float) -> None:
        polls.append(info.status)
        if not merged_once.is_set():
            merged_once.set()
            threading.Thread(target=repo_sandbox.gerrit.approve_and_merge, args=(1,)).start()

    info = client(repo_sandbox).follow_change("operations/dns", result.number, timeout=20,
                                         interval=0.05, on_poll=on_poll)
    assert info.status == "MERGED" and polls[0] == "NEW" and polls[-1] == "MERGED"
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    assert "cloudcontrol1004.wikimedia.org." in repo.read_remote_file(checkout, ZONE_PATH)


def test_follow_with_auto_merge() -> None:
    with dns_sandbox(auto_merge_after=0.1) as sb:
        result = push(sb)
        info = client(sb).follow_change("operations/dns", result.number, timeout=20,
                                        interval=0.05)
        assert info.status == "MERGED"


def test_abandoned_change_is_an_exit_4_error(repo_sandbox: DnsSandbox) -> None:
    result = push(repo_sandbox)
    repo_sandbox.gerrit.abandon(1)
    with pytest.raises(GitError, match="abandoned") as info:
        client(repo_sandbox).follow_change("operations/dns", 1, timeout=5, interval=0.05)
    assert info.value.exit_code == 4 and result.url in str(info.value)


def test_review_timeout_names_the_change_and_how_to_resume(repo_sandbox: DnsSandbox) -> None:
    result = push(repo_sandbox)
    with pytest.raises(GitError, match="not merged after") as info:
        client(repo_sandbox).follow_change("operations/dns", 1, timeout=0.2, interval=0.05)
    assert result.url in str(info.value) and "run the same command again" in str(info.value)


def test_authenticated_requests_use_a_prefix(repo_sandbox: DnsSandbox) -> None:
    push(repo_sandbox)
    good = client(repo_sandbox, auth=("failover", "secret"))
    assert good.get_change("operations/dns", 1).status == "NEW"
    assert any(p.startswith("/r/a/changes/") for p in repo_sandbox.gerrit.requests)
    assert requests.get(f"{repo_sandbox.gerrit.rest_url}/a/changes/", timeout=5).status_code == 401
    with pytest.raises(GitError, match="401") as info:
        client(repo_sandbox, auth=("failover", "wrong")).get_change("operations/dns", 1)
    assert "wrong" not in str(info.value)


def test_missing_prefix_and_malformed_json_are_errors(repo_sandbox: DnsSandbox) -> None:
    repo_sandbox.gerrit.faults.drop_prefix = True
    with pytest.raises(GitError, match="did not answer like Gerrit"):
        client(repo_sandbox).query_changes("status:open")
    repo_sandbox.gerrit.faults.drop_prefix = False
    repo_sandbox.gerrit.faults.malformed = True
    with pytest.raises(GitError, match="malformed JSON"):
        client(repo_sandbox).query_changes("status:open")


def test_server_errors_are_retried_then_succeed(repo_sandbox: DnsSandbox,
                                                caplog: pytest.LogCaptureFixture) -> None:
    push(repo_sandbox)
    repo_sandbox.gerrit.faults.errors_500 = 2
    caplog.set_level(logging.WARNING, logger="failover.gerrit")
    assert client(repo_sandbox).get_change("operations/dns", 1).number == 1
    assert "[1/3, retrying in" in caplog.text and "[2/3, retrying in" in caplog.text
    assert sum(p.endswith("/detail") for p in repo_sandbox.gerrit.requests) == 3


def test_persistent_server_errors_name_the_change(repo_sandbox: DnsSandbox) -> None:
    result = push(repo_sandbox)
    repo_sandbox.gerrit.faults.errors_500 = -1
    with pytest.raises(GitError, match="HTTP 500") as info:
        client(repo_sandbox).get_change("operations/dns", 1)
    assert result.url in str(info.value) and "by hand" in str(info.value)


def test_hanging_server_times_out(repo_sandbox: DnsSandbox) -> None:
    repo_sandbox.gerrit.faults.hang = 1.0
    with pytest.raises(GitError, match="Timeout"):
        client(repo_sandbox, timeout=0.2, retries=2).query_changes("status:open")


def test_unknown_change_is_not_found(repo_sandbox: DnsSandbox) -> None:
    with pytest.raises(GitError, match="not found"):
        client(repo_sandbox).get_change("operations/dns", 99)


def test_connection_refused_after_stop(repo_sandbox: DnsSandbox) -> None:
    c = client(repo_sandbox, retries=2)
    repo_sandbox.gerrit.stop()
    with pytest.raises(GitError, match="ConnectionError"):
        c.query_changes("status:open")


def test_not_found_hint_names_the_rest_root(repo_sandbox: DnsSandbox) -> None:
    """A 404 names [gerrit] url (a REST root of another Gerrit is the likely cause)."""
    with pytest.raises(GitError) as info:
        client(repo_sandbox).get_change("operations/dns", 999)
    assert info.value.hint is not None and f"[gerrit] url ({repo_sandbox.gerrit.rest_url})" in \
        info.value.hint


def test_a_push_of_several_commits_is_a_relation_chain(repo_sandbox: DnsSandbox) -> None:
    """Three commits in one push: three changes, each with its parent, in order; `related`
    lists the open chain; pushing it again is `no new changes`; a new third commit is a new
    patch set of the third change only; the stand-in submits no change before its parent."""
    checkout = repo.open_checkout(repo_sandbox.checkout)
    repo.fetch(checkout)
    with repo.change_worktree(checkout) as wt:
        zone, base, shas = wt.path / ZONE_PATH, wt.base, []
        for i in (4, 5, 6):
            zone.write_text(zone.read_text() + f"; step {i}\n")
            commit = repo.commit_change(wt if not shas else
                                        type(wt)(wt.path, shas[-1], wt.checkout),
                                        subject=f"wikimediacloud: step {i}", body="b")
            shas.append(commit.sha)
        result = repo.push_for_review(wt, checkout.review, topic="t")
        assert [c.number for c in result.changes] == [1, 2, 3] and result.number == 1
        changes = repo_sandbox.gerrit.changes()
        assert [c["parent"] for c in changes] == [base, shas[0], shas[1]]
        url = f"{repo_sandbox.gerrit.rest_url}/changes/3/revisions/current/related"
        related = gerrit.parse_json(requests.get(url, timeout=5).text, url)
        assert [r["_change_number"] for r in related["changes"]] == [1, 2, 3]
        with pytest.raises(repo.PushRejected, match="no new changes"):
            repo.push_for_review(wt, checkout.review, topic="t")
        zone.write_text(zone.read_text() + "; again\n")
        repo.commit_change(type(wt)(wt.path, shas[1], wt.checkout),
                           subject="wikimediacloud: step 6", body="b",
                           change_id=changes[2]["change_id"])
        again = repo.push_for_review(wt, checkout.review, topic="t")
        assert [(c.number, c.created) for c in again.changes] == [(3, False)]
    assert [len(c["patch_sets"]) for c in repo_sandbox.gerrit.changes()] == [1, 1, 2]
    status, _ = repo_sandbox.gerrit.submit(3)
    assert status == 409  # its ancestors are not approved: Gerrit submits none of them
