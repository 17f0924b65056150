"""Gerrit REST: find a change, read its status and labels, follow it until merged.

Anonymous requests go to `<url>/changes/...`; with credentials (FAILOVER_GERRIT_USER and
FAILOVER_GERRIT_PASSWORD, else ~/.netrc for the Gerrit host) to `<url>/a/changes/...` with
HTTP basic auth. Every JSON answer starts with Gerrit's `)]}'` line, which is stripped.
Network errors and 5xx answers are retried a few times with backoff, then reported with the
change's URL so the operator can go on by hand.

Examples:
    >>> client = GerritClient("https://gerrit.wikimedia.org/r", timeout=10)  # doctest: +SKIP
    >>> client.get_change("operations/dns", 123456).status
    'NEW'
    >>> client.follow_change("operations/dns", 123456, timeout=3600, interval=10).status
    'MERGED'
"""

from __future__ import annotations

import json
import logging
import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from failover import httpget
from failover.errors import GitError, UsageError

# ChangeInfo and parse_json are this client's vocabulary too (`from failover.gerrit import ...`)
from failover.gerrit_parse import ChangeInfo as ChangeInfo
from failover.gerrit_parse import change_info, change_number, post_what
from failover.gerrit_parse import parse_json as parse_json
from failover.names import redact_url
from failover.retry import Poller

logger = logging.getLogger(__name__)

RETRIES = 3
"""Attempts for one request when the network or the server fails."""
RETRY_DELAY = 1.0
"""Seconds before the first retry; doubled each time."""
MAX_ANSWER = 16 * 1024 * 1024
"""The most bytes read from one answer (a zone file's content is ~100 KiB)."""
USER_ENV, PASSWORD_ENV = "FAILOVER_GERRIT_USER", "FAILOVER_GERRIT_PASSWORD"
"""Environment variables holding the Gerrit HTTP credentials."""

T = TypeVar("T")


class _Retryable(Exception):
    """A failure worth another attempt (connection, timeout, 5xx)."""


def retry(call: Callable[[], T], *, what: str, tries: int = RETRIES,
          delay: float = RETRY_DELAY, backoff: float = 2.0) -> T:
    """Return `call()`, retrying on _Retryable with backoff, logging `[n/N, retrying in Xs]`."""
    for attempt in Poller(delay=delay, factor=backoff, tries=tries):
        try:
            return call()
        except _Retryable as exc:
            if attempt.last:
                raise
            logger.warning("[%d/%d, retrying in %.1fs] %s: %s", attempt.number, tries,
                           attempt.pause, what, exc)
    raise AssertionError("unreachable")


def credentials(url: str, *, netrc_file: str | None = None) -> tuple[str, str] | None:
    """Return (user, password) from the environment, else ~/.netrc for the URL's host, or None."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password:
        return user, password
    if user or password:
        raise UsageError(f"set both {USER_ENV} and {PASSWORD_ENV}, or neither")
    entry = httpget.netrc_entry(url, netrc_file)
    return entry if entry and entry[0] and entry[1] else None


class GerritClient:
    """Reads changes from Gerrit's REST API (anonymous, or /a/ with basic auth)."""

    def __init__(self, base_url: str, *, auth: tuple[str, str] | None = None,
                 timeout: float = 10.0, ca_bundle: str | None = None,
                 retries: int = RETRIES, retry_delay: float = RETRY_DELAY) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries, self.retry_delay = retries, retry_delay
        self._ca_bundle = ca_bundle or None  # None: the system's CA store; never unverified
        self._auth = auth

    def __repr__(self) -> str:
        who = f"{self._auth[0]}:***" if self._auth else "anonymous"
        return f"GerritClient({self.base_url!r}, auth={who})"

    def change_url(self, project: str, number: int) -> str:
        """Return the change's web URL: `<url>/c/<project>/+/<number>`."""
        return f"{self.base_url}/c/{project}/+/{number}"

    # Read with the standard library (failover.httpget says why not requests: its import cost
    # `status` and `promote` ~100 ms of start-up). As with requests: TLS verified, basic auth,
    # HTTPS_PROXY; the names of the failures (ConnectionError, ConnectTimeout, ReadTimeout)
    # are requests' ones, which operators and the runbooks know. Unlike requests, a redirect
    # is reported (with where it points) rather than followed, and the answer is capped.
    def _fetch(self, url: str, data: bytes | None = None) -> httpget.Answer:
        """Return one answer to a GET (a POST of `data`) of `url`; _Retryable for network
        errors and 5xx."""
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        try:
            answer = httpget.get(url, connect_timeout=self.timeout, timeout=self.timeout,
                                 max_bytes=MAX_ANSWER, ca_bundle=self._ca_bundle,
                                 auth=self._auth, headers=headers, proxy=True,
                                 method="GET" if data is None else "POST", data=data)
        except httpget.FetchError as exc:
            if isinstance(exc.cause, ssl.SSLError) and not exc.connected:
                raise  # the handshake failed: no retry; _get reports a certificate problem
            if isinstance(exc.cause, TimeoutError):
                raise _Retryable("ReadTimeout" if exc.connected else "ConnectTimeout") from None
            raise _Retryable("ConnectionError") from None
        except httpget.Overdue:
            raise _Retryable("ReadTimeout") from None
        if answer.status >= 500:
            raise _Retryable(f"HTTP {answer.status}")
        return answer

    def _get(self, path: str,
             params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None, *,
             change_url: str | None = None, raw: bool = False,
             post: Mapping[str, Any] | None = None) -> Any:
        root = f"{self.base_url}/a" if self._auth else self.base_url
        url = f"{root}/{path}" + (f"?{urlencode(params, doseq=True)}" if params else "")
        where = change_url or url
        data = None if post is None else json.dumps(post).encode()
        try:
            resp = retry(lambda: self._fetch(url, data), what=f"{'POST' if data else 'GET'} "
                         f"{url}", tries=self.retries, delay=self.retry_delay)
        except _Retryable as exc:
            raise GitError(f"Gerrit did not answer for {where}: {exc} "
                           f"(after {self.retries} attempts)",
                           hint=f"check {where} in a browser and continue by hand") from None
        except httpget.FetchError as exc:  # TLS: certificate, host name, handshake
            reason = " ".join(str(exc.cause).split())[:200]
            raise GitError(f"TLS error talking to Gerrit at {url}: {reason}",
                           hint="if Gerrit's certificate comes from a private CA, set [gerrit] "
                                "ca_bundle to it (CA bundle); verification is never turned "
                                "off") from None
        except httpget.TooLarge:
            raise GitError(f"Gerrit's answer for {where} is larger than {MAX_ANSWER} bytes",
                           hint="check [gerrit] url: it should be Gerrit's REST root") from None
        except ValueError as exc:  # e.g. a port that is no number
            raise GitError(f"cannot reach Gerrit for {where}: {type(exc).__name__}",
                           hint="check [gerrit] url and the CA bundle") from None
        if resp.status == 401:
            raise GitError(f"Gerrit refused the credentials (401) for {url}",
                           hint=f"check {USER_ENV}/{PASSWORD_ENV} or ~/.netrc "
                                "(the HTTP password from Gerrit's settings)")
        if resp.status == 404:
            raise GitError(f"not found in Gerrit: {where}",
                           hint=f"check [gerrit] url ({self.base_url}): it must be the REST root "
                                "of the Gerrit that the checkout's .gitreview names")
        if 300 <= resp.status < 400:
            raise GitError(f"Gerrit answered HTTP {resp.status} for {url}, redirecting to "
                           f"{redact_url(resp.location or '?')}",
                           hint="set [gerrit] url to the address it redirects to")
        if post is not None and resp.status in (204, 200) and not resp.text().strip():
            return None
        if post is not None and resp.status in (400, 403, 409):  # Gerrit's refusal: its words
            said = " ".join(resp.text().split())[:400]
            raise GitError(f"Gerrit refused {post_what(path)} of {where} "
                           f"(HTTP {resp.status}): {said}",
                           hint="the change stays open for review in Gerrit; see "
                                f"{where}")
        if resp.status != 200:
            raise GitError(f"Gerrit answered HTTP {resp.status} for {url}: "
                           f"{resp.text().strip()[:200]}")
        return resp.text() if raw else parse_json(resp.text(), url)

    def whoami(self) -> str:
        """Return the user the credentials log in as (GET /a/accounts/self).

        Raises:
            GitError: Gerrit refused the credentials (401), or did not answer.
        """
        data = self._get("accounts/self")
        who = data.get("username") or data.get("name") if isinstance(data, dict) else None
        if not who:
            raise GitError("Gerrit's answer for accounts/self is not an account")
        return str(who)

    def server_version(self) -> str:
        """Return Gerrit's version (GET /config/server/version: anonymous when no credentials)."""
        return str(self._get("config/server/version"))

    def query_changes(self, query: str, *, change_url: str | None = None) -> list[ChangeInfo]:
        """Return the changes matching a Gerrit search query (e.g. `topic:x status:open`).

        `change_url`, when the query looks for a change already pushed, is named in errors.
        """
        data = self._get("changes/", {"q": query}, change_url=change_url)
        if not isinstance(data, list):
            raise GitError(f"Gerrit's answer to {query!r} is not a list of changes")
        return [self._info(d) for d in data]

    def find_change_by_id(self, change_id: str, project: str, *,
                          change_url: str | None = None) -> ChangeInfo | None:
        """Return the change with this Change-Id in `project`, or None."""
        found = self.query_changes(f"change:{change_id} project:{project}",
                                   change_url=change_url)
        return found[0] if found else None

    def find_open_changes(self, topic: str, project: str, branch: str) -> list[ChangeInfo]:
        """Return the open changes of `topic` on `project`'s `branch`."""
        return self.query_changes(f"topic:{topic} project:{project} branch:{branch} status:open")

    def find_open_changes_on(self, path: str, project: str, branch: str) -> list[ChangeInfo]:
        """Return the open changes of `project`'s `branch` that touch the file `path`."""
        return self.query_changes(f'project:{project} branch:{branch} status:open path:"{path}"')

    def open_changes_touching(self, path: str, project: str,
                              branch: str) -> list[ChangeInfo]:
        """Return the open changes touching `path`, with their owner and current revision."""
        query = f'project:{project} branch:{branch} status:open path:"{path}"'
        data = self._get("changes/", [("q", query), ("o", "CURRENT_REVISION"),
                                      ("o", "DETAILED_ACCOUNTS")])
        if not isinstance(data, list):
            raise GitError(f"Gerrit's answer to {query!r} is not a list of changes")
        return [self._info(d) for d in data]

    def commit_parent(self, project: str, revision: str) -> str:
        """Return a commit's first parent (GET /projects/P/commits/C)."""
        data = self._get(f"projects/{quote(project, safe='')}/commits/{quote(revision, safe='')}")
        parents = data.get("parents") if isinstance(data, dict) else None
        parent = parents[0].get("commit") if isinstance(parents, list) and parents and \
            isinstance(parents[0], dict) else None
        if not isinstance(parent, str) or not parent:
            raise GitError(f"Gerrit's answer for commit {revision} of {project} has no parent")
        return parent

    def get_change(self, project: str, number: int, *, more: bool = False) -> ChangeInfo:
        """Return one change with its labels (GET /changes/<project>~<number>/detail);
        `more`: also its parent and whether it is submittable."""
        url = self.change_url(project, number)
        params = {"o": ["CURRENT_REVISION", "SUBMITTABLE", "DETAILED_ACCOUNTS"]} if more \
            else None
        data = self._get(f"changes/{quote(project, safe='')}~{number}/detail", params,
                         change_url=url)
        if not isinstance(data, dict):
            raise GitError(f"Gerrit's answer for {url} is not a change")
        return self._info(data)

    def find_change(self, ident: str, project: str) -> ChangeInfo:
        """Return the change `ident` names: a number, a change URL or a Change-Id.

        Raises:
            UsageError: `ident` is none of those (exit 2).
            GitError: Gerrit does not know it (exit 4).
        """
        from failover.names import CHANGE_ID_RE

        number = change_number(ident)
        if number is not None:
            return self.get_change(project, number, more=True)
        if not CHANGE_ID_RE.fullmatch(ident):
            raise UsageError(f"--change {ident!r} is not a change number, URL or Change-Id",
                             hint="give e.g. 123456, https://gerrit.wikimedia.org/r/c/"
                                  "operations/dns/+/123456 or I0123...(40 hex digits)")
        found = self.find_change_by_id(ident, project)
        if found is None:
            raise GitError(f"Gerrit has no change {ident} in {project}",
                           hint="check the Change-Id (or give the change's number)")
        return self.get_change(project, found.number, more=True)

    def _change_path(self, project: str, number: int, tail: str) -> str:
        return f"changes/{quote(project, safe='')}~{number}/{tail}"

    def patch(self, project: str, number: int) -> str:
        """Return the current patch set as `git format-patch` text (GET .../patch, base64)."""
        import base64
        import binascii

        url = self.change_url(project, number)
        text = self._get(self._change_path(project, number, "revisions/current/patch"),
                         change_url=url, raw=True)
        try:
            return base64.b64decode(str(text).strip(), validate=True).decode("utf-8",
                                                                             "replace")
        except (binascii.Error, ValueError):
            raise GitError(f"Gerrit sent the patch of {url} in a form that is not base64",
                           hint="check [gerrit] url: it should be Gerrit's REST root") from None

    def review(self, project: str, number: int, labels: Mapping[str, int],
               message: str | None = None) -> None:
        """Vote `labels` on the current patch set (POST .../revisions/current/review)."""
        body: dict[str, Any] = {"labels": dict(labels)}
        if message:
            body["message"] = message
        self._get(self._change_path(project, number, "revisions/current/review"),
                  change_url=self.change_url(project, number), post=body)

    def submit(self, project: str, number: int) -> None:
        """Submit the change (POST .../submit); Gerrit's 403/409 is a GitError (exit 4)."""
        self._get(self._change_path(project, number, "submit"),
                  change_url=self.change_url(project, number), post={})

    def set_ready(self, project: str, number: int) -> None:
        """Mark a work-in-progress change ready for review (POST .../ready)."""
        self._get(self._change_path(project, number, "ready"),
                  change_url=self.change_url(project, number), post={})

    def set_wip(self, project: str, number: int) -> None:
        """Mark a change work in progress (POST .../wip)."""
        self._get(self._change_path(project, number, "wip"),
                  change_url=self.change_url(project, number), post={})

    def branch_revision(self, project: str, branch: str) -> str:
        """Return the commit at the tip of `branch` as Gerrit has it (GET .../branches/BRANCH)."""
        data = self._get(f"projects/{quote(project, safe='')}/branches/{quote(branch, safe='')}")
        revision = data.get("revision") if isinstance(data, dict) else None
        if not isinstance(revision, str) or not revision:
            raise GitError(f"Gerrit's answer for branch {branch} of {project} has no revision")
        return revision

    def file_content(self, project: str, revision: str, path: str) -> bytes:
        """Return a file's bytes at a commit (GET /projects/.../commits/.../files/.../content).

        Read at the commit `branch_revision` gave, so the text is that revision's even when
        the branch moves in between. Gerrit sends the bytes base64-encoded.
        """
        import base64
        import binascii

        text = self._get(f"projects/{quote(project, safe='')}/commits/{quote(revision, safe='')}"
                         f"/files/{quote(path, safe='')}/content", raw=True)
        try:
            return base64.b64decode(str(text).strip(), validate=True)
        except (binascii.Error, ValueError):
            raise GitError(f"Gerrit sent {path} of {project} in a form that is not base64",
                           hint="check [gerrit] url: it should be Gerrit's REST root") from None

    def follow_change(self, project: str, number: int, *, timeout: float, interval: float = 10.0,
                      max_interval: float = 60.0,
                      on_poll: Callable[[ChangeInfo, float], None] | None = None) -> ChangeInfo:
        """Return the change once MERGED, polling with backoff; `on_poll(info, elapsed)` each time.

        Raises:
            GitError: the change was abandoned, or `timeout` seconds passed (exit 4).
        """
        url = self.change_url(project, number)
        poller = Poller(delay=interval, factor=1.5, cap=max_interval, timeout=timeout)
        for attempt in poller:
            info = self.get_change(project, number)
            elapsed = attempt.elapsed
            if on_poll:
                on_poll(info, elapsed)
            if info.status == "MERGED":
                return info
            if info.status == "ABANDONED":
                raise GitError(f"change {url} was abandoned",
                               hint="restore it in Gerrit and run again, or start over")
            if attempt.last:
                break
        raise GitError(f"change {url} is not merged after {timeout:.0f}s "
                       f"(status {info.status})",
                       hint="get it reviewed and run the same command again: it "
                            "finds this change and goes on from there")

    def _info(self, d: Mapping[str, Any]) -> ChangeInfo:
        return change_info(d, self.change_url)
