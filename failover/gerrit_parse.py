"""Gerrit's answers, parsed: a change's JSON into a ChangeInfo, votes, change numbers, the
`)]}'` line. Pure: no network (`failover.gerrit` is the client that fetches them).

Examples:
    >>> label_vote({"all": [{"value": 2}, {"value": -1}]})
    -1
    >>> parse_json(XSSI_PREFIX + chr(10) + '{"a": 1}', "https://gerrit.example/r/changes/")
    {'a': 1}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from failover.errors import GitError

XSSI_PREFIX = ")]}'"
"""The line Gerrit puts before every JSON body."""


@dataclass(frozen=True)
class ChangeInfo:
    """A change as Gerrit reports it; `labels` maps a label to its deciding vote."""

    number: int
    project: str
    branch: str
    change_id: str
    subject: str
    status: str
    topic: str | None = None
    current_revision: str | None = None
    labels: Mapping[str, int] = field(default_factory=dict)
    url: str = ""
    mergeable: bool | None = None
    """Gerrit's `mergeable` when it says (False: the patch set conflicts with the branch)."""
    wip: bool = False
    """Work in progress: nobody can submit it until it is marked ready."""
    owner: str | None = None
    """The owner's username (DETAILED_ACCOUNTS)."""
    parent: str | None = None
    """The current patch set's first parent (CURRENT_REVISION)."""
    submittable: bool | None = None
    """Whether Gerrit would submit it now (SUBMITTABLE; None: not asked)."""
    submitter: str | None = None
    created: str = ""
    """Gerrit's UTC timestamp of the change's creation, as sent."""
    owner_name: str = ""
    """The owner's full name (else username, e-mail) as Gerrit sends it (DETAILED_ACCOUNTS)."""


def change_info(d: Mapping[str, Any], url_of: Callable[[str, int], str]) -> ChangeInfo:
    """Return the ChangeInfo of a Gerrit ChangeInfo JSON object; `url_of(project, number)`
    gives its web URL.

    Raises:
        GitError: a field is missing or malformed (Gerrit's REST root is not what it seems).
    """
    try:
        project, number = str(d["project"]), int(d["_number"])
        return ChangeInfo(
            number=number, project=project, branch=str(d["branch"]),
            change_id=str(d["change_id"]), subject=str(d.get("subject", "")),
            status=str(d["status"]), topic=d.get("topic"),
            current_revision=d.get("current_revision"),
            labels={k: label_vote(v) for k, v in dict(d.get("labels") or {}).items()},
            url=url_of(project, number),
            mergeable=d["mergeable"] if isinstance(d.get("mergeable"), bool) else None,
            wip=bool(d.get("work_in_progress")),
            owner=_username(d.get("owner")), submitter=_username(d.get("submitter")),
            parent=_parent(d), submittable=d.get("submittable"),
            created=str(d.get("created") or ""), owner_name=_owner(d.get("owner")))
    except KeyError as exc:
        raise GitError(f"Gerrit sent a change without {exc}") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # e.g. a label
        # that is no object, a number that is infinity
        raise GitError(f"Gerrit sent a malformed change: {type(exc).__name__}: {exc}",
                       hint="check [gerrit] url: it should be Gerrit's REST root") from None


def _owner(owner: Any) -> str:
    """Return an AccountInfo's name, username or e-mail ("" when Gerrit sent only the id)."""
    if not isinstance(owner, Mapping):
        return ""
    return str(owner.get("name") or owner.get("username") or owner.get("email") or "")


def _username(account: Any) -> str | None:
    """Return an AccountInfo's username (else its name), or None."""
    if not isinstance(account, dict):
        return None
    name = account.get("username") or account.get("name")
    return str(name) if name else None


def _parent(d: Mapping[str, Any]) -> str | None:
    """Return the current revision's first parent from a ChangeInfo's `revisions`, if given."""
    revisions = d.get("revisions")
    current = d.get("current_revision")
    if not isinstance(revisions, dict) or current not in revisions:
        return None
    parents = (revisions[current].get("commit") or {}).get("parents") or []
    return str(parents[0]["commit"]) if parents and parents[0].get("commit") else None


def post_what(path: str) -> str:
    """Return what a POST to `path` does, as errors name it (the vote, the submit, ...)."""
    tail = path.rsplit("/", 1)[-1]
    return {"review": "the vote", "submit": "the submit", "ready": "marking ready",
            "wip": "marking work in progress"}.get(tail, "the request")


def change_number(ident: str) -> int | None:
    """Return the number of a change given as `123456` or its URL (`.../+/123456[/..]`).

    Examples:
        >>> change_number("https://gerrit.wikimedia.org/r/c/operations/dns/+/1234/2")
        1234
        >>> change_number("1234"), change_number("I" + "0" * 40)
        (1234, None)
    """
    import re

    if ident.isdigit() and len(ident) < 10:
        return int(ident)
    m = re.fullmatch(r"https?://[^\s]+/(?:c/[^\s]+/\+|\#/c)/(\d{1,9})(?:/\d*)?/?", ident)
    return int(m.group(1)) if m else None


def label_vote(label: Mapping[str, Any]) -> int:
    """Return the deciding vote of a LabelInfo: the lowest if negative, else the highest."""
    votes = [int(a.get("value", 0)) for a in label.get("all", []) if a.get("value") is not None]
    if label.get("rejected") or (votes and min(votes) < 0):
        return min(votes, default=-1)
    return max(votes, default=0)


def parse_json(text: str, url: str) -> Any:
    """Return the JSON of a Gerrit answer after its `)]}'` line (GitError without it)."""
    head, _, body = text.partition("\n")
    if head.strip() != XSSI_PREFIX:
        raise GitError(f"{url} did not answer like Gerrit (no )]}}' line)",
                       hint="check [gerrit] url: it should be the REST root, e.g. .../r")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise GitError(f"{url} sent malformed JSON: {exc}") from None
