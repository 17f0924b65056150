"""Alert silences for the old primary through Alertmanager's API v2.

A planned failover is followed by maintenance on the old primary: `--silence 2h` silences its
alerts before the push (`POST /api/v2/silences`), and expires the silence again
(`DELETE /api/v2/silence/{id}`) if the run fails before the change is pushed. A resumed run
finds its own silence (same matchers, `createdBy` and comment, still active) instead of
creating a second one. Matchers come from `[alertmanager] matchers`, `{controller}` replaced
by the old primary's name.

Examples:
    >>> parse_duration("1h30m")
    5400.0
    >>> parse_matcher('instance=~"{controller}(:[0-9]+)?"', controller="cloudcontrol1003")
    {'name': 'instance', 'value': 'cloudcontrol1003(:[0-9]+)?', 'isRegex': True, 'isEqual': True}
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from failover.errors import OutsideError, UsageError
from failover.outside import bounded_request

DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
"""A silence duration as Alertmanager's own tools write it: 2h, 90m, 1h30m, 1d."""
MAX_SILENCE = 30 * 86400.0
"""The longest silence accepted (a typo such as 200h should not hide alerts for weeks)."""
MATCHER_RE = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"'
                        r"|([^\s\"]*))\s*$")
"""One matcher: label, operator (= != =~ !~), value (quoted or bare)."""


def parse_duration(text: str) -> float:
    """Return the seconds `text` (e.g. `2h`, `1h30m`) stands for.

    Raises:
        UsageError: not a duration, zero, or longer than 30 days.
    """
    m = DURATION_RE.match(text.strip()) if text.strip() else None
    if m is None:
        raise UsageError(f"bad --silence duration {text!r}",
                         hint="write it as Alertmanager does: 2h, 90m, 1h30m, 1d")
    if any(len(g) > 9 for g in m.groups() if g):  # no 30 days has so many digits (and int()
        total = MAX_SILENCE + 1  # refuses over 4300 of them): the same answer as for 31d
    else:
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
        total = float(weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds)
    if not 0 < total <= MAX_SILENCE:
        shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
        raise UsageError(f"--silence {shown}: must be more than 0s and at most 30d",
                         hint="silence the old primary for the maintenance window, e.g. 2h")
    return total


def parse_matcher(text: str, *, controller: str) -> dict[str, Any]:
    """Return the API v2 matcher for `text`, `{controller}` replaced by `controller`.

    Raises:
        UsageError: not `label<op>"value"`, or a regex that does not compile.
    """
    m = MATCHER_RE.match(text)
    if m is None:
        raise UsageError(f"matcher {text!r} is not label=\"value\" (operators = != =~ !~)")
    name, op, quoted, bare = m.groups()
    value = (re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
    value = value.replace("{controller}", controller)
    if not value:
        raise UsageError(f"matcher {text!r} has an empty value")
    if "~" in op:
        try:
            re.compile(value)
        except re.error as exc:
            raise UsageError(f"matcher {text!r}: bad regular expression ({exc})") from None
    return {"name": name, "value": value, "isRegex": "~" in op, "isEqual": op in ("=", "=~")}


def matcher_text(matcher: dict[str, Any]) -> str:
    """Return a matcher as people write it: `instance=~"cloudcontrol1003(:[0-9]+)?"`."""
    op = {(True, False): "=", (False, False): "!=", (True, True): "=~",
          (False, True): "!~"}[(bool(matcher["isEqual"]), bool(matcher["isRegex"]))]
    return f'{matcher["name"]}{op}{json.dumps(matcher["value"])}'


def iso(ts: float) -> str:
    """Return `ts` as Alertmanager's UTC timestamp (RFC 3339, milliseconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


@dataclass(frozen=True)
class Silence:
    """A silence as Alertmanager holds it (id None: not created, as in a dry-run)."""

    id: str | None
    url: str | None
    starts_at: str
    ends_at: str
    matchers: tuple[dict[str, Any], ...]
    created_by: str
    comment: str
    reused: bool = False
    extended_from: str | None = None
    """The end an earlier silence had before this run extended it (None: not extended)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the silence as JSON-able data (`id`, `url`, `ends_at`, ...)."""
        return {"id": self.id, "url": self.url, "ends_at": self.ends_at,
                "starts_at": self.starts_at, "matchers": [matcher_text(m) for m in self.matchers],
                "created_by": self.created_by, "comment": self.comment, "reused": self.reused,
                "extended_from": self.extended_from}

    def ends(self) -> float | None:
        """Return when the silence ends (epoch seconds), None when Alertmanager's text is not
        a timestamp."""
        from datetime import datetime

        try:
            return datetime.fromisoformat(self.ends_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None


class AlertmanagerClient:
    """Creates, finds and expires silences through one Alertmanager's API v2."""

    def __init__(self, url: str, *, timeout: float = 5.0, ca_bundle: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.ca_bundle = ca_bundle

    def silence_url(self, silence_id: str) -> str:
        """Return the silence's page in Alertmanager's web UI."""
        return f"{self.url}/#/silences/{silence_id}"

    def _call(self, method: str, path: str, *, payload: Any = None,
              params: list[tuple[str, str]] | None = None) -> Any:
        status, text = bounded_request(method, f"{self.url}{path}", timeout=self.timeout,
                                       ca_bundle=self.ca_bundle, json=payload, params=params)
        if status >= 300:
            first = " ".join(text.split())[:200] or "(empty answer)"
            raise OutsideError(f"Alertmanager {method} {path}: HTTP {status}: {first}")
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise OutsideError(f"Alertmanager {method} {path}: answer is not JSON") from None

    def create(self, matchers: Sequence[dict[str, Any]], *, seconds: float, created_by: str,
               comment: str) -> Silence:
        """Return the silence created now for `seconds`."""
        now = time.time()
        starts, ends = iso(now), iso(now + seconds)
        answer = self._call("POST", "/api/v2/silences", payload={
            "matchers": list(matchers), "startsAt": starts, "endsAt": ends,
            "createdBy": created_by, "comment": comment})
        sid = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not sid:
            raise OutsideError("Alertmanager POST /api/v2/silences: no silenceID in the answer")
        return Silence(sid, self.silence_url(sid), starts, ends, tuple(matchers), created_by,
                       comment)

    def find(self, matchers: Sequence[dict[str, Any]], *, created_by: str,
             comment: str) -> Silence | None:
        """Return the active (or pending) silence with exactly these matchers, author, comment."""
        params = [("filter", matcher_text(m)) for m in matchers]
        answer = self._call("GET", "/api/v2/silences", params=params)
        want = sorted(json.dumps(m, sort_keys=True) for m in matchers)
        for s in answer if isinstance(answer, list) else ():
            if not isinstance(s, dict) or s.get("status", {}).get("state") not in (
                    "active", "pending"):
                continue
            mine = sorted(json.dumps({k: m.get(k) for k in ("name", "value", "isRegex",
                                                             "isEqual")}, sort_keys=True)
                          for m in s.get("matchers", []))
            if mine == want and s.get("createdBy") == created_by \
                    and s.get("comment") == comment and isinstance(s.get("id"), str):
                return Silence(s["id"], self.silence_url(s["id"]), str(s.get("startsAt")),
                               str(s.get("endsAt")), tuple(matchers), created_by, comment,
                               reused=True)
        return None

    def extend(self, silence: Silence, *, seconds: float) -> Silence:
        """Return `silence` ending `seconds` from now: Alertmanager updates it in place (or,
        when it cannot, expires it and answers the new one's id)."""
        assert silence.id is not None
        ends = iso(time.time() + seconds)
        answer = self._call("POST", "/api/v2/silences", payload={
            "id": silence.id, "matchers": list(silence.matchers), "startsAt": silence.starts_at,
            "endsAt": ends, "createdBy": silence.created_by, "comment": silence.comment})
        sid = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not sid:
            raise OutsideError("Alertmanager POST /api/v2/silences: no silenceID in the answer")
        return Silence(sid, self.silence_url(sid), silence.starts_at, ends, silence.matchers,
                       silence.created_by, silence.comment, extended_from=silence.ends_at)

    def expire(self, silence_id: str) -> None:
        """Expire the silence `silence_id` now."""
        self._call("DELETE", f"/api/v2/silence/{silence_id}")
