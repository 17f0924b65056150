"""The Gerrit stand-in's review: accounts, votes, submit rules, work in progress, submit.

State lives in the stand-in's JSON state (`sandbox.gerrit_hook`); these functions change a
state under its lock and answer `(HTTP status, body)` as Gerrit's REST does, with Gerrit's
own wording for refusals:

- votes per account, Code-Review -2..+2 and Verified -1..+1; an account without the right
  gets 403 `Applying label "Code-Review": 2 is restricted`;
- submit needs Code-Review +2 (no -2) and Verified +1 (no -1), not work in progress, and the
  right to submit: 409 `Failed to submit 1 change due to the following problems:` then
  `Change N: submit requirement 'Verified' is unsatisfied.` (or `Change N: Change N is work in
  progress`), 403 `submit not permitted`; a change whose parent is another open change is
  submitted with it (the chain), or refused when that one cannot be;
- work in progress: the `wip`/`ready` push options and POST /wip, /ready (409 `change is
  not work in progress`, `change is already work in progress`).

Examples:
    >>> with locked_state(git_dir) as state:                          # doctest: +SKIP
    ...     vote(state, change, "failover", {"Code-Review": 2})
    (200, {'labels': {'Code-Review': 2}})
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sandbox.gerrit_hook import git

LABELS = {"Code-Review": (-2, 2), "Verified": (-1, 1)}
"""The labels of operations/dns and their ranges."""
CI_ACCOUNT = "jenkins-bot"
"""The account CI votes Verified as."""
REVIEWER = "reviewer"
"""The sandbox's reviewer (the one who approves and merges in tests)."""


def default_accounts(user: str, password: str) -> dict[str, dict[str, Any]]:
    """Return the stand-in's accounts: the operator (an SRE: may +2 and submit), a
    reviewer (the same rights), a bot that writes changes, and CI (votes Verified)."""
    return {
        user: {"id": 1000, "password": password, "approve": True, "submit": True,
               "verify": False},
        REVIEWER: {"id": 1001, "password": "reviewer-secret", "approve": True,
                   "submit": True, "verify": False},
        "dns-bot": {"id": 1002, "password": "bot-secret", "approve": False, "submit": False,
                    "verify": False},
        CI_ACCOUNT: {"id": 1003, "password": "ci-secret", "approve": False, "submit": False,
                     "verify": True},
    }


def account_info(state: dict[str, Any], name: str) -> dict[str, Any]:
    """Return Gerrit's AccountInfo (with DETAILED_ACCOUNTS' username) for an account."""
    acct = state["config"]["accounts"].get(name, {})
    return {"_account_id": acct.get("id", 0), "username": name, "name": name}


def vote(state: dict[str, Any], change: dict[str, Any], account: str,
         labels: dict[str, Any]) -> tuple[int, Any]:
    """Apply `labels` as `account` on the current patch set (POST .../review)."""
    if change["status"] != "NEW":
        return 409, f"change is {change['status'].lower()}\n"
    acct = state["config"]["accounts"].get(account, {})
    for label, value in labels.items():
        if label not in LABELS:
            return 400, f'label "{label}" is not a configured label\n'
        low, high = LABELS[label]
        if not isinstance(value, int) or not low <= value <= high:
            return 400, f'label "{label}": {value} is not a valid value\n'
        allowed = acct.get("verify") if label == "Verified" else \
            (abs(value) <= 1 or acct.get("approve"))
        if not allowed:
            return 403, f'Applying label "{label}": {value} is restricted\n'
    for label, value in labels.items():
        change.setdefault("votes", {}).setdefault(label, {})[account] = value
    change["updated"] = time.time()
    return 200, {"labels": labels}


def problems(state: dict[str, Any], change: dict[str, Any]) -> list[str]:
    """Return why the change cannot be submitted (Gerrit's wording), or nothing."""
    n = change["number"]
    if change.get("wip"):
        return [f"Change {n}: Change {n} is work in progress"]
    out = []
    for label, (low, high) in LABELS.items():
        values = list(change.get("votes", {}).get(label, {}).values())
        if low in values or high not in values:
            out.append(f"Change {n}: submit requirement '{label}' is unsatisfied.")
    return out


def open_parent(state: dict[str, Any], change: dict[str, Any]) -> dict[str, Any] | None:
    """Return the open change whose current patch set is this change's parent, if any."""
    parent = change.get("parent")
    for c in state["changes"]:
        if c["status"] == "NEW" and c is not change \
                and c["patch_sets"][-1]["revision"] == parent:
            found: dict[str, Any] = c
            return found
    return None


def chain(state: dict[str, Any], change: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the change and its open ancestors, the oldest first."""
    out = [change]
    while (parent := open_parent(state, out[0])) is not None and parent not in out:
        out.insert(0, parent)
    return out


def submit(state: dict[str, Any], git_dir: Path, change: dict[str, Any],
           account: str) -> tuple[int, Any]:
    """Submit the change (and its open ancestors) as `account` (POST .../submit)."""
    if change["status"] != "NEW":
        return 409, f"change is {change['status'].lower()}\n"
    if not state["config"]["accounts"].get(account, {}).get("submit"):
        return 403, "submit not permitted\n"
    changes = chain(state, change)
    found = problems(state, change)
    if not found and any(problems(state, c) for c in changes[:-1]):
        found = [f"Change {change['number']}: depends on change that was not submitted"]
    if found:
        return 409, ("Failed to submit 1 change due to the following problems:\n"
                     + "\n".join(found) + "\n")
    for c in changes:
        try:
            merge(git_dir, c, account)
        except ValueError:  # Gerrit's words for a patch set that no longer merges
            return 409, ("Failed to submit 1 change due to the following problems:\n"
                         f"Change {c['number']}: Change could not be merged due to a path "
                         "conflict. Please rebase the change locally and upload the rebased "
                         "commit for review.\n")
    return 200, None


def merge(git_dir: Path, change: dict[str, Any], account: str) -> str:
    """Merge the current patch set into its branch (fast-forward, else a merge commit)."""
    revision = change["patch_sets"][-1]["revision"]
    branch_ref = f"refs/heads/{change['branch']}"
    tip = git(git_dir, "rev-parse", branch_ref).stdout.strip()
    merged = revision
    if git(git_dir, "merge-base", "--is-ancestor", tip, revision, check=False).returncode != 0:
        merge = git(git_dir, "merge-tree", "--write-tree", tip, revision, check=False)
        if merge.returncode != 0:  # as Gerrit: a conflicting change is not submitted
            raise ValueError(f"change {change['number']} conflicts with {change['branch']}")
        tree = merge.stdout.split()[0]
        merged = git(git_dir, "commit-tree", tree, "-p", tip, "-p", revision,
                     "-m", f"Merge \"{change['subject']}\"").stdout.strip()
    git(git_dir, "update-ref", branch_ref, merged, tip)
    change["status"], change["merged_revision"] = "MERGED", merged
    change["submitter"], change["updated"] = account, time.time()
    return str(merged)


def set_wip(state: dict[str, Any], change: dict[str, Any], account: str,
            wip: bool) -> tuple[int, Any]:
    """Mark the change work in progress, or ready for review (POST .../wip, .../ready)."""
    acct = state["config"]["accounts"].get(account, {})
    if change["owner"] != account and not acct.get("approve"):
        return 403, "not permitted: toggle work in progress state\n"
    if change["status"] != "NEW":
        return 409, f"change is {change['status'].lower()}\n"
    if wip and change.get("wip"):
        return 409, "change is already work in progress\n"
    if not wip and not change.get("wip"):
        return 409, "change is not work in progress\n"
    change["wip"] = wip
    if not wip:
        change["ready_at"] = time.time()
    change["updated"] = time.time()
    return 200, None


def labels_info(state: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Return Gerrit's LabelInfo per label: every vote, approved/rejected by whom."""
    out: dict[str, Any] = {}
    for label, (low, high) in LABELS.items():
        votes = change.get("votes", {}).get(label, {})
        info: dict[str, Any] = {"all": [{"value": v, **account_info(state, who)}
                                        for who, v in sorted(votes.items())]}
        for key, value in (("rejected", low), ("approved", high)):
            who = next((w for w, v in sorted(votes.items()) if v == value), None)
            if who is not None:
                info[key] = account_info(state, who)
        if not info["all"]:
            info["all"] = [{"value": 0, "_account_id": 1000}]
        out[label] = info
    return out


def changed_files(git_dir: Path, revision: str) -> list[str]:
    """Return the paths a commit changes against its first parent."""
    done = git(git_dir, "diff-tree", "--no-commit-id", "--name-only", "-r", revision,
               check=False)
    return [ln for ln in done.stdout.splitlines() if ln]
