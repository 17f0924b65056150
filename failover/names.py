"""The rules for names: regions, controllers, hosts, topics, record targets; and redact_url.

Every name from the config or the command line is checked with a full match against these.

Examples:
    >>> normalize_target("CloudControl1004.Wikimedia.org")
    'cloudcontrol1004.wikimedia.org.'
    >>> record_type_for("2001:db8::1")
    'AAAA'
"""

from __future__ import annotations

import functools
import ipaddress
import re

from failover.errors import UsageError
from failover.redact import redact_text

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
"""Region and controller names: one lower-case DNS label."""

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\.?\Z)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?\Z"
)
"""A host name or fully qualified domain name (trailing dot optional)."""

TOPIC_RE = re.compile(r"^[A-Za-z0-9._/-]{1,100}\Z")
"""A Gerrit topic or hashtag as this tool will push it."""

HOST_PLACEHOLDER = "{host}"
"""Stands for each target host of a set in a health check's host, URL or argv."""

BUG_RE = re.compile(r"^T[0-9]+\Z")
"""A Phabricator task id, as the repository's `Bug:` footer wants it (`\\Z`: no newline)."""

CHANGE_ID_RE = re.compile(r"I[0-9a-f]{40}")
"""A Gerrit Change-Id (fullmatch): `I` and 40 hex digits."""

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters (ESC, BEL, CR, newline, ...): never in a text from the command line."""

SUBJECT_TOPIC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
"""A commit subject's `topic` (before `: `), as `[dns] subject_topic` may set it (fullmatch)."""


def validate_name(value: str, what: str) -> str:
    """Return `value` if it is a valid region or controller name, else raise UsageError."""
    if not NAME_RE.match(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise UsageError(
            f"invalid {what} name {shown!r}",
            hint=f"a {what} name is one lower-case DNS label: letters, digits and '-'",
        )
    return value


@functools.lru_cache(maxsize=4096)  # a verify round compares the same few targets 1000s of times
def normalize_target(target: str) -> str:
    """Return a record target in comparable form: lower-case absolute name, or canonical IP."""
    try:
        return str(ipaddress.ip_address(target))
    except ValueError:
        return target.lower().rstrip(".") + "."


def record_type_for(target: str) -> str:
    """Return CNAME, A or AAAA: the record type that can point at `target`."""
    try:
        return "A" if ipaddress.ip_address(target).version == 4 else "AAAA"
    except ValueError:
        return "CNAME"


def redact_url(url: str) -> str:
    """Return `url` with any password replaced by `***`, for output and logs (any text too)."""
    return redact_text(url)
