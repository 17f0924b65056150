"""Credentials never shown: every URL's password (or token user) replaced by `***`, anywhere.

Applied centrally: to every FailoverError's message, hint and problems, to the CLI's one error
report, to every JSON document written, to the check's plugin output, to every log record and
to every audit line. It works on any text, so a URL inside a message (git's error, a bad URL
echoed by config validation) is redacted too, even one that does not parse.

Examples:
    >>> redact_text("cannot fetch from http://bot:TOKEN@gerrit/r/x: refused")
    'cannot fetch from http://bot:***@gerrit/r/x: refused'
    >>> redact_text("'https://ghp_abc@github.com/x'")
    "'https://***@github.com/x'"
"""

from __future__ import annotations

import re
from typing import Any

_USERINFO_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^\s/?#'\"<>\\]*)@")
"""A URL's scheme and userinfo: up to the last `@` before the path (passwords may hold `@`)."""


def _hide(match: re.Match[str]) -> str:
    scheme, info = match.group("scheme"), match.group("info")
    user, colon, _ = info.partition(":")
    if colon:
        return f"{scheme}{user}:***@"
    if "ssh" in scheme.lower():  # ssh://user@host: a login name, never a secret
        return match.group(0)
    return f"{scheme}***@"  # a user-only userinfo of http(s), ftp, ... is often a token


def redact_text(text: str) -> str:
    """Return `text` with the credentials of every URL in it replaced by `***`."""
    if "@" not in text or "://" not in text:
        return text
    return _USERINFO_RE.sub(_hide, text)


def redact_value(value: Any) -> Any:
    """Return `value` (str, list, tuple, dict, nested) with every string redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
