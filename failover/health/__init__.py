"""A service candidate's health, one reader per kind: tcp, http, command, haproxy, none.

`read_health(cfg, candidate)` returns a `HealthResult`; no reader raises for an unreachable
or failing candidate (that is a verdict, with its reason), and each is bounded by the
health's `timeout` (haproxy: `[haproxy] timeout`).

Examples:
    >>> read_health(cfg, Candidate("irc1001", {}, Health("tcp", host="127.0.0.1", port=6667)))
    ...                                                                  # doctest: +SKIP
    HealthResult(name='irc1001', kind='tcp', healthy=True, detail='connected to 127.0.0.1:6667')
"""

from __future__ import annotations

import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from failover.config import Candidate, Config, Health

BODY_CAP = 1024 * 1024
"""How much of an http health answer's body is read for `contains`."""
OUTPUT_CAP = 4096
"""How much of a command health's stdout (and of its stderr) is kept: its first line is shown."""


@dataclass(frozen=True)
class HealthResult:
    """One candidate's health verdict: healthy or why not, and what was checked."""

    name: str
    kind: str
    healthy: bool
    detail: str
    checked: str = ""
    """What was checked (`tcp irc1001.wikimedia.org:6667`)."""
    ms: float = 0.0

    @property
    def reachable(self) -> bool:
        """Return True when the check could say healthy (a `none` check is never unhealthy)."""
        return self.healthy

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as JSON-able data."""
        return {"kind": self.kind, "healthy": self.healthy, "detail": self.detail,
                "checked": self.checked, "ms": round(self.ms, 1)}


def read_health(cfg: Config, candidate: Candidate) -> HealthResult:
    """Return the candidate's health, as its `health` kind reads it."""
    h = candidate.health
    started = time.monotonic()
    healthy, detail = _READERS[h.kind](cfg, candidate.name, h)
    from failover.redact import redact_text  # a command's output may quote a URL too

    return HealthResult(candidate.name, h.kind, healthy, redact_text(detail), h.describe(),
                        (time.monotonic() - started) * 1000)


def read_all(cfg: Config, candidates: Sequence[Candidate]) -> dict[str, HealthResult]:
    """Return every candidate's health, read at the same time, in config order."""
    with ThreadPoolExecutor(max_workers=max(1, len(candidates))) as pool:
        results = list(pool.map(lambda c: read_health(cfg, c), candidates))
    return {r.name: r for r in results}


def tcp_health(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Connect to host:port within the timeout; healthy when the connection is accepted."""
    try:
        with socket.create_connection((h.host or "", h.port or 0), timeout=h.timeout):
            return True, f"connected to {h.host}:{h.port}"
    except TimeoutError:
        return False, f"no answer from {h.host}:{h.port} within {h.timeout:g}s"
    except OSError as exc:
        return False, f"cannot connect to {h.host}:{h.port}: {exc.strerror or exc}"


def http_health(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """GET the URL (TLS verified, no redirects followed); healthy when the status is the
    expected one and the body holds `contains` (when given). The one HTTP client
    (failover.httpget): headers and body within the health's timeout, whatever the pace."""
    import ssl

    from failover import httpget
    from failover.names import redact_url

    url = h.url or ""
    shown = redact_url(url)
    connect = min(h.timeout / 2, 5.0)  # connect + whole answer within `timeout` in all
    cap = BODY_CAP if h.contains else 0  # without `contains` the status is enough
    try:
        answer = httpget.get(url, connect_timeout=connect, timeout=h.timeout - connect,
                             max_bytes=cap, ca_bundle=h.ca_bundle, auth=_url_auth(url),
                             truncate=True)
    except httpget.Overdue:
        return False, f"no complete answer from {shown} within {h.timeout:g}s"
    except ValueError:
        return False, f"cannot GET {shown}: the port is not a number"
    except httpget.FetchError as exc:
        if isinstance(exc.cause, ssl.SSLError):
            return False, f"TLS verification of {shown} failed: {_first_line(exc.cause)}"
        if isinstance(exc.cause, TimeoutError):
            return False, f"no answer from {shown} within {h.timeout:g}s"
        return False, f"cannot GET {shown}: {_first_line(exc.cause)}"
    status, body = answer.status, answer.body
    if status != h.status:
        return False, f"{shown} answered {status}, expected {h.status}"
    if h.contains and h.contains.encode() not in body:
        return False, f"{shown} answered {status} but its body lacks {h.contains!r}"
    return True, f"{shown} answered {status}" + (f" with {h.contains!r}" if h.contains else "")


def _url_auth(url: str) -> tuple[str, str] | None:
    """Return (user, password) of a URL's userinfo (sent as basic auth, as requests did)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def command_health(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Run the argv (no shell) within the timeout; healthy when it exits 0. Its first
    output line (a monitoring plugin's verdict) is the detail."""
    from failover import proc

    argv = list(h.argv)
    try:  # the one bounded runner: own process group, ended as a group on timeout/Ctrl-C
        done = proc.run(argv, timeout=h.timeout, group=True, grace=1.0,
                        max_output=OUTPUT_CAP)
    except FileNotFoundError:
        return False, f"command not found: {argv[0]}"
    except PermissionError:
        return False, f"command is not executable: {argv[0]}"
    except OSError as exc:  # ENOEXEC (no #!), E2BIG, ...: the kernel would not run it
        return False, f"cannot run {argv[0]}: {exc.strerror or exc}"
    if done.timed_out:
        return False, f"command still running after {h.timeout:g}s; killed: {argv[0]}"
    out = done.stdout + done.stderr
    first = out.strip().splitlines()[:1]
    said = f": {printable(first[0])[:200]}" if first else ""
    if done.code != 0:
        return False, f"exit {done.code}{said}"
    return True, f"exit 0{said}"


_VERDICT_RE = re.compile(r"^(exit -?[0-9]+: )((?:[A-Za-z0-9_.-]+ ){0,3}?"
                         r"(?:OK|WARNING|CRITICAL|UNKNOWN))\b")


def command_verdict(detail: str) -> str:
    """Return a command health's detail as its verdict: `exit 0: TCP OK` for a monitoring
    plugin's `exit 0: TCP OK - 0.001 second response time ...|time=...` (the timing figures
    and performance data left out); any other output without its performance data.

    Examples:
        >>> command_verdict("exit 0: TCP OK - 0.000 second response time on 127.0.0.1 port 22")
        'exit 0: TCP OK'
        >>> command_verdict("exit 1: unreachable|t=3")
        'exit 1: unreachable'
    """
    m = _VERDICT_RE.match(detail)
    if m:
        return m.group(1) + m.group(2)
    return detail.split("|", 1)[0].rstrip()


def haproxy_health(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """Read the candidate's HAProxy stats and judge the listed services (as a region's)."""
    from failover.config import Controller, Region
    from failover.haproxy import read_controller_health

    ctl = Controller(name=name, target="", stats=h.stats or "", ca_bundle=h.ca_bundle)
    region = Region(name=name, fqdn="", services=h.services, controllers=(ctl,))
    read = read_controller_health(cfg, region, ctl)
    if not read.reachable:
        return False, read.error or "HAProxy did not answer"
    up = sum(1 for s in read.services.values() if s.healthy)
    if not read.healthy:
        return False, f"{up}/{len(read.services)} services UP; failing: {', '.join(read.failing)}"
    return True, f"{up}/{len(read.services)} services UP"


def none_health(cfg: Config, name: str, h: Health) -> tuple[bool, str]:
    """No check configured: said so, never refused for it."""
    return True, "not checked (health kind none)"


def printable(text: str) -> str:
    """Return `text` with each control character (ESC, BEL, CR, ...) shown as `?`: a health's
    output goes to terminals and into the commit message (issue 20)."""
    from failover.names import CONTROL_RE

    return CONTROL_RE.sub("?", text)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


_READERS = {"tcp": tcp_health, "http": http_health, "command": command_health,
            "haproxy": haproxy_health, "none": none_health}
