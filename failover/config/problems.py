"""The problems of one configuration file, collected so all are reported at once.

Each problem names the file and the key (`[regions.eqiad1.controllers.x.stats]`) and says what
is wrong; the section parsers (`failover.config.parse`, `parse_verify`, `parse_names`,
`parse_habits`) append to one `Problems` and share the checks of URLs, hosts and topics here.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from failover.config.model import STATS_SCHEMES
from failover.durations import DAY, seconds_problem
from failover.errors import shown
from failover.names import TOPIC_RE


class Problems:
    """Collects configuration problems, each prefixed with the file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}: [{key}] {message}" if key else message)

    def unknown_keys(self, table: Mapping[str, Any], where: str, known: Set[str]) -> None:
        for key in table:
            if key not in known:
                full = f"{where}.{key}" if where else key
                self.add(full, f"unknown key (known here: {', '.join(sorted(known))})")

    def get(self, table: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
        name = key.rsplit(".", 1)[-1]
        if name not in table:
            return default
        value = table[name]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            self.add(key, f"must be a {kind.__name__}, got {type(value).__name__}")
            return default
        if isinstance(value, str) and "\x00" in value:  # no path or URL can hold one
            self.add(key, "must not contain a NUL character")
            return default
        return value

    def ca_bundle(self, table: Mapping[str, Any], key: str) -> str | None:
        """Return the CA file (or directory) at `key`, `~` expanded; a missing one is a problem
        here, not a failure after the failover merged (issue 20)."""
        value: str | None = self.get(table, key, str)
        if value is None:
            return None
        expanded = os.path.expanduser(value)
        if not os.path.exists(expanded):
            self.add(key, f"{shown(value)}: no such file; the CA certificates (PEM) to trust, "
                          "e.g. \"/etc/ssl/certs/ca-certificates.crt\"")
            return None
        return expanded

    def positive(self, table: Mapping[str, Any], key: str, default: float, *,
                 most: float = DAY) -> float:
        value = self.get(table, key, float, default)
        if (problem := seconds_problem(value, most=most)) is not None:  # NaN, inf, 1e9: every
            self.add(key, problem)  # wait must end
            return default
        return float(value)

    def strings(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = self.get(table, key, list, [])
        if not all(isinstance(v, str) and v and "\x00" not in v for v in value):
            self.add(key, "must be a list of non-empty strings (without NUL characters)")
            return ()
        return tuple(value)


def table(p: Problems, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        p.add(key, f"must be a table, got {type(value).__name__}")
        return {}
    return value


def fills(pattern: str, name: str) -> bool:
    """Return True if `pattern` holds `{name}` and formats with it alone."""
    try:
        pattern.format(**{name: "x"})
    except (KeyError, IndexError, ValueError):
        return False
    return "{" + name + "}" in pattern


def only_placeholders(text: str, names: Sequence[str]) -> bool:
    """Return True if every `{...}` of `text` is one of `names` and the braces pair up."""
    try:
        return all(field in names and not spec and not conv
                   for _, field, spec, conv in string.Formatter().parse(text)
                   if field is not None)
    except ValueError:
        return False


def _reachable(p: Problems, checkout: Path) -> bool:
    """Return True when `checkout` exists; a path this user cannot enter is a config problem."""
    try:
        return checkout.exists()
    except OSError as exc:  # PermissionError: a parent directory without search permission
        p.add("dns.checkout", f"cannot reach {checkout}: {exc.strerror or exc} (a directory "
                              "on the way is not open to this user; fix its permissions or "
                              "point [dns] checkout at your own clone)")
        return False


def inside_checkout(p: Problems, key: str, zone_file: str, checkout: Path) -> None:
    """Add a problem when `zone_file` (relative, no '..') leaves `checkout` through a symlink.

    The one check of every zone file of every name: `[dns] zone_file` and each service's and
    group's `zone_file`.
    """
    if _reachable(p, checkout) \
            and not (checkout / zone_file).resolve().is_relative_to(checkout.resolve()):
        p.add(key, f"{zone_file!r} leads outside the checkout {checkout} (through a symlink)")


def topic_ok(p: Problems, key: str, topic: str) -> bool:
    """Return True if `topic` is a Gerrit topic this tool pushes; else add a problem."""
    if TOPIC_RE.match(topic):
        return True
    p.add(key, f"{topic!r} is not a usable Gerrit topic (letters, digits, ._/-)")
    return False


def sal_project_ok(p: Problems, key: str, project: str) -> bool:
    """Return True if `project` is a Cloud VPS project name or "" (none); else add a problem."""
    if project and not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", project):
        p.add(key, f"{project!r} is not a Cloud VPS project name (or \"\" for none)")
        return False
    return True


def split_url(url: str) -> SplitResult | None:
    """Return the parts of `url`, or None when it cannot be split (e.g. `http://[::1`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError:
        return None
    return parts


def check_stats_url(p: Problems, key: str, url: str) -> None:
    parts = split_url(url)
    if parts is None:
        p.add(key, f"{url!r} is not a URL (bad IPv6 brackets or port)")
    elif parts.scheme not in STATS_SCHEMES:
        p.add(key, f"{url!r}: scheme {parts.scheme or '(none)'!r} is not one of "
                   f"{', '.join(STATS_SCHEMES)}")
    elif parts.scheme in ("http", "https", "ssh") and not parts.hostname:
        p.add(key, f"{url!r} names no host")
    elif parts.scheme == "unix" and not parts.path.startswith("/"):
        p.add(key, f"{url!r}: a unix socket URL is unix:///absolute/path")
    elif parts.scheme == "ssh" and (parts.path in ("", "/")) == (
            not parts.query.startswith("url=http")):
        p.add(key, f"{url!r}: write ssh://[user@]host[:port]/path/to/haproxy.sock, or "
                   "ssh://[user@]host?url=http://127.0.0.1:9900/stats;csv (read by remote curl)")


def http_url(p: Problems, t: Mapping[str, Any], key: str, example: str) -> str | None:
    """Return the http(s) URL at `key` without a trailing slash, or None (problem added)."""
    url: str | None = p.get(t, key, str)
    parts = split_url(url) if url else None
    if url is None:
        p.add(key, f"missing; e.g. url = \"{example}\"")
    elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        p.add(key, f"{shown(url)} must be an http(s) URL such as {example}")
    elif parts.username or parts.password or parts.query or parts.fragment:
        p.add(key, "must be a plain URL (no credentials, query or fragment)" + (
            "; the Phabricator token comes from FAILOVER_PHABRICATOR_TOKEN or ~/.netrc"
            if key.startswith("phabricator.") else ""))
    else:
        return url.rstrip("/")
    return None


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
