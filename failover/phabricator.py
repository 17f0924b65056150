"""A comment on the Phabricator task, through Conduit's `maniphest.edit`.

The call is Conduit's plain form: `POST <url>/api/maniphest.edit` with `api.token`,
`objectIdentifier=T12345` and `transactions[0][type]=comment`, `transactions[0][value]=...`;
the answer is Conduit's envelope `{"result", "error_code", "error_info"}` (HTTP 200 also for
errors). The token comes from FAILOVER_PHABRICATOR_TOKEN, else ~/.netrc (the password of the
URL's host), and is never shown: Phabricator quotes a bad token in its error_info, so every
error text is scrubbed of it.

wmflib.phabricator is not used here: it wraps the `phabricator` package, which retries a POST
up to three times (a slow Phabricator could get the same comment four times, and the run wait
four timeouts), reads ~/.arcrc and ./.arcconfig when imported (a broken one fails the import),
and wants a bot config file with a user name; one form-encoded POST with one deadline is all
this needs.

Examples:
    >>> client = ConduitClient("https://phabricator.example.org", token="api-...")  # doctest: +SKIP
    >>> client.comment("T12345", "failover promote eqiad1 cloudcontrol1004: done")
"""

from __future__ import annotations

import json
import os

from failover.errors import OutsideError
from failover.outside import bounded_request

TOKEN_ENV = "FAILOVER_PHABRICATOR_TOKEN"  # noqa: S105 (a variable name)
"""The environment variable holding the Conduit API token."""


def phabricator_token(url: str, *, netrc_file: str | None = None) -> str | None:
    """Return the Conduit token from the environment, else ~/.netrc for the URL's host."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    from failover.httpget import netrc_entry

    entry = netrc_entry(url, netrc_file)
    return entry[1] if entry and entry[1] else None


class ConduitClient:
    """Calls Phabricator's Conduit API with a token; one bounded POST per call."""

    def __init__(self, url: str, *, token: str, timeout: float = 10.0,
                 ca_bundle: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.ca_bundle = ca_bundle

    def __repr__(self) -> str:
        return f"ConduitClient({self.url!r}, token=***)"

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def call(self, method: str, params: dict[str, str]) -> object:
        """Return the `result` of Conduit `method`; raise OutsideError on any error."""
        try:
            status, text = bounded_request(
                "POST", f"{self.url}/api/{method}", timeout=self.timeout,
                ca_bundle=self.ca_bundle, data={"api.token": self._token, **params})
        except OutsideError as exc:
            raise OutsideError(self._scrub(exc.message)) from None
        if status != 200:
            raise OutsideError(f"Phabricator {method}: HTTP {status}")
        try:
            envelope = json.loads(text)
        except ValueError:
            raise OutsideError(f"Phabricator {method}: answer is not Conduit JSON") from None
        if not isinstance(envelope, dict) or "result" not in envelope:
            raise OutsideError(f"Phabricator {method}: answer is not Conduit's envelope")
        if envelope.get("error_code"):
            info = self._scrub(str(envelope.get("error_info") or ""))[:300]
            raise OutsideError(f"Phabricator {method}: {envelope['error_code']}: {info}")
        return envelope["result"]

    def comment(self, task: str, text: str) -> None:
        """Add the comment `text` to `task` (T12345)."""
        self.call("maniphest.edit", {"objectIdentifier": task,
                                     "transactions[0][type]": "comment",
                                     "transactions[0][value]": text})
