"""Read HAProxy stats (HTTP `;csv` or the stats socket), parse the CSV, judge health per service.

Examples:
    >>> health = read_region_health(cfg, cfg.region("eqiad1"))          # doctest: +SKIP
    >>> health.controllers["cloudcontrol1004"].services["nova_api"].cell
    'UP 2/2'
    >>> health.healthy
    True
"""

from __future__ import annotations

import csv
import io
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from failover.config import Config, Controller, HaproxyConfig, Region, redact_url

USABLE_STATES = ("UP", "no check")
"""Server states that take new sessions. DRAIN and NOLB serve existing sessions only."""

CHUNK = 65536
"""Bytes read at a time from an HTTP body or the stats socket."""


class StatsParseError(ValueError):
    """The text is not HAProxy stats CSV (HTML, empty, no `# pxname` header, cut lines)."""


class StatsReadError(Exception):
    """The stats could not be read; the message is the one-line reason shown to people."""


@dataclass(frozen=True, slots=True)
class StatRow:
    """One line of `show stat`: a frontend, a backend, or one server of a backend."""

    pxname: str
    svname: str
    kind: str  # "frontend", "backend", "server" (listeners are skipped)
    status: str
    active: bool
    backup: bool
    scur: int
    check_status: str
    lastchg: int | None

    @property
    def state(self) -> str:
        """Return the status without its check counter: `UP 1/2` gives `UP`."""
        return "no check" if self.status == "no check" else self.status.split(" ", 1)[0]

    @property
    def usable(self) -> bool:
        """Return True when this server takes new sessions (UP, UP n/m going down, no check)."""
        return self.state in USABLE_STATES


@dataclass(frozen=True)
class StatsSnapshot:
    """What one read of a controller's stats gave: the rows, `show info` fields, the time taken."""

    rows: tuple[StatRow, ...]
    info: Mapping[str, str] = field(default_factory=dict)
    fetch_ms: float = 0.0


@dataclass(frozen=True)
class ServiceHealth:
    """The verdict for one service (`<service>_frontend` + `<service>_backend`) on one HAProxy."""

    name: str
    healthy: bool
    servers_up: int
    servers_total: int
    backup_only: bool
    detail: str
    cell: str
    sessions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the service's JSON document (issue 2's keys, plus `sessions`)."""
        return {"healthy": self.healthy, "servers_up": self.servers_up,
                "servers_total": self.servers_total, "backup_only": self.backup_only,
                "detail": self.detail, "sessions": self.sessions}


@dataclass(frozen=True)
class ControllerHealth:
    """One controller's HAProxy: reachable or why not, and every listed service's verdict."""

    name: str
    reachable: bool
    error: str | None
    services: Mapping[str, ServiceHealth]
    fetch_ms: float = 0.0
    source: str = ""
    version: str | None = None

    @property
    def healthy(self) -> bool:
        """Return True when HAProxy answered and every listed service is healthy."""
        return self.reachable and all(s.healthy for s in self.services.values())

    @property
    def failing(self) -> list[str]:
        """Return the names of the services that are not healthy, in config order."""
        return [n for n, s in self.services.items() if not s.healthy]

    @property
    def sessions(self) -> dict[str, int]:
        """Return the current client sessions (frontend scur) per service."""
        return {n: s.sessions for n, s in self.services.items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the controller's JSON document (issue 2's keys, plus fetch time and source)."""
        return {"reachable": self.reachable, "healthy": self.healthy, "error": self.error,
                "services": {n: s.to_dict() for n, s in self.services.items()},
                "fetch_ms": round(self.fetch_ms, 1), "stats": self.source,
                "version": self.version}


@dataclass(frozen=True)
class RegionHealth:
    """Every read controller of a region, in config order."""

    region: str
    controllers: Mapping[str, ControllerHealth]

    @property
    def healthy(self) -> bool:
        """Return True when every controller read is healthy."""
        return bool(self.controllers) and all(c.healthy for c in self.controllers.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the `failover health --json` document."""
        return {"region": self.region,
                "controllers": {n: c.to_dict() for n, c in self.controllers.items()}}


# --- parsing ---------------------------------------------------------------------------------

_KINDS = {"0": "frontend", "1": "backend", "2": "server"}


def parse_stats_csv(text: str) -> list[StatRow]:
    """Return the frontend, backend and server rows of HAProxy stats CSV, read by its header.

    Raises:
        StatsParseError: empty text, HTML, no `# pxname` header, or a line cut short.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise StatsParseError("empty answer, not HAProxy CSV")
    if stripped.startswith("<"):
        raise StatsParseError("an HTML page, not HAProxy CSV (does the URL end in ';csv'?)")
    if not stripped.startswith("# pxname"):
        first = stripped.splitlines()[0][:60] if stripped.splitlines() else ""
        raise StatsParseError(f"not HAProxy CSV: no '# pxname' header (starts {first!r})")
    try:
        lines = list(csv.reader(io.StringIO(stripped, newline=""), strict=True))
    except csv.Error as exc:
        raise StatsParseError(f"HAProxy CSV malformed or cut short: {exc}") from None
    header = [h.strip() for h in lines[0]]
    header[0] = header[0].removeprefix("#").strip()
    col = {name: i for i, name in enumerate(header) if name}
    for needed in ("pxname", "svname", "status"):
        if needed not in col:
            raise StatsParseError(f"HAProxy CSV header has no {needed!r} column")
    width = max(col.values()) + 1
    at = [col.get(name) for name in _COLUMNS]
    rows = []
    for number, fields in enumerate(lines[1:], start=2):
        if len(fields) < width:
            if not fields or fields == [""]:
                continue
            raise StatsParseError(f"line {number} is cut short: {len(fields)} fields, "
                                  f"header has {len(header)}")
        px, sv, status, act, bck, scur, check, lastchg, kind = (
            fields[i].strip() if i is not None else "" for i in at)
        kind = _KINDS.get(kind) or _kind_of(kind, sv, number)
        if kind == "listener":
            continue
        rows.append(StatRow(px, sv, kind, status, bool(_int(act, "act", number)),
                            bool(_int(bck, "bck", number)), _int(scur, "scur", number) or 0,
                            check, _int(lastchg, "lastchg", number)))
    return rows


_COLUMNS = ("pxname", "svname", "status", "act", "bck", "scur", "check_status", "lastchg", "type")


def _kind_of(kind: str, svname: str, number: int) -> str:
    """Return the row kind when the `type` column is absent, empty, or a listener (3)."""
    if kind == "3":
        return "listener"  # only with `option socket-stats`
    if kind:
        raise StatsParseError(f"line {number}: unknown proxy type {kind[:10]!r}")
    return {"FRONTEND": "frontend", "BACKEND": "backend"}.get(svname, "server")


def _int(value: str, name: str, number: int) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise StatsParseError(f"line {number}: {name} is not a number: {value[:20]!r}")
    return int(value)


def parse_show_info(text: str) -> dict[str, str]:
    """Return the `Key: value` fields of `show info` (Name, Version, Uptime_sec, ...)."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            info[key.strip()] = value.strip()
    return info


# --- judging ---------------------------------------------------------------------------------

def judge_service(service: str, rows: Sequence[StatRow],
                  haproxy_cfg: HaproxyConfig) -> ServiceHealth:
    """Return the verdict for `service`: OPEN frontend and at least one usable backend server."""
    fe_name = haproxy_cfg.frontend_pattern.format(service=service)
    be_name = haproxy_cfg.backend_pattern.format(service=service)
    frontend = next((r for r in rows if r.pxname == fe_name and r.kind == "frontend"), None)
    backend = next((r for r in rows if r.pxname == be_name and r.kind == "backend"), None)
    servers = [r for r in rows if r.pxname == be_name and r.kind == "server"]
    if frontend is None and backend is None:
        return ServiceHealth(service, False, 0, 0, False,
                             f"{fe_name} and {be_name} are not in the stats", "missing")
    up = [s for s in servers if s.usable]
    backup_only = bool(up) and not any(s.active for s in up)
    notes = [_server_note(s) for s in servers if s.status != "UP" or s.backup]
    problems = []
    if frontend is None:
        problems.append(f"{fe_name} is not in the stats")
    elif frontend.status != "OPEN":
        problems.append(f"frontend {frontend.status or 'without status'}")
    if backend is None:
        problems.append(f"{be_name} is not in the stats")
    elif not up:
        problems.append("no server takes new sessions")
    healthy = not problems
    if backup_only:
        notes.insert(0, "running on backup only")
    detail = "; ".join(problems + [n for n in notes if n])
    if not detail:
        detail = f"all {len(servers)} servers UP"
    return ServiceHealth(service, healthy, len(up), len(servers), backup_only, detail,
                         _cell(healthy, frontend, backend, servers, up, backup_only),
                         frontend.scur if frontend else 0)


def _server_note(s: StatRow) -> str:
    role = f"server {s.svname}" + (" (backup)" if s.backup else "")
    check = f", check {s.check_status}" if s.check_status and s.state not in ("UP", "MAINT") else ""
    if s.state == "DRAIN":
        return f"{role} DRAIN: serves existing sessions, takes no new ones"
    if s.state == "NOLB":
        return f"{role} NOLB: takes no new sessions"
    if s.state == "UP" and s.status != "UP":
        return f"{role} {s.status}: failing checks{check}"
    if s.state == "UP":
        return ""
    return f"{role} {s.status}{check}"


def _cell(healthy: bool, frontend: StatRow | None, backend: StatRow | None,
          servers: Sequence[StatRow],
          up: Sequence[StatRow], backup_only: bool) -> str:
    counts = f"{len(up)}/{len(servers)}"
    if healthy:
        return f"UP {counts}" + (" backup only" if backup_only else "")
    if frontend is None or backend is None:
        return "missing " + ("frontend" if frontend is None else "backend")
    if frontend.status != "OPEN":
        return f"frontend {frontend.status or '?'}"
    states = {s.state for s in servers}
    if len(states) == 1 and states & {"MAINT", "DRAIN", "NOLB"}:
        return states.pop()
    return f"DOWN {counts}"


def judge_controller(controller: Controller, services: Iterable[str], snapshot: StatsSnapshot,
                     haproxy_cfg: HaproxyConfig) -> ControllerHealth:
    """Return the controller's health from one stats snapshot, for the listed services."""
    judged = {s: judge_service(s, snapshot.rows, haproxy_cfg) for s in services}
    return ControllerHealth(controller.name, True, None, judged, snapshot.fetch_ms,
                            redact_url(controller.stats), snapshot.info.get("Version"))


def unreachable(controller: Controller, services: Iterable[str], reason: str,
                fetch_ms: float = 0.0) -> ControllerHealth:
    """Return the health of a controller whose stats could not be read, for `reason`."""
    judged = {s: ServiceHealth(s, False, 0, 0, False, f"unreachable: {reason}", "unreachable")
              for s in services}
    return ControllerHealth(controller.name, False, reason, judged, fetch_ms,
                            redact_url(controller.stats))


# --- reading ---------------------------------------------------------------------------------

def read_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> StatsSnapshot:
    """Return the parsed stats of one controller, read over HTTP(S) or its stats socket.

    Raises:
        StatsReadError: the stats could not be read or are not HAProxy's; the message says why.
    """
    started = time.monotonic()
    scheme = urlsplit(controller.stats).scheme
    info: dict[str, str] = {}
    if scheme in ("http", "https"):
        text = read_http_stats(controller, haproxy_cfg)
    elif scheme == "unix":
        path = unquote(urlsplit(controller.stats).path)
        info = parse_show_info(socket_command(path, "show info", haproxy_cfg))
        if info.get("Name") != "HAProxy":
            raise StatsReadError(f"socket {path} is not HAProxy's stats socket "
                                 "(no 'Name: HAProxy' in its answer to 'show info')")
        text = socket_command(path, "show stat", haproxy_cfg)
    elif scheme == "ssh":
        text = read_ssh_stats(controller, haproxy_cfg)
    else:
        raise StatsReadError(f"stats URL scheme {scheme!r} is not supported")
    try:
        rows = parse_stats_csv(text)
    except StatsParseError as exc:
        raise StatsReadError(str(exc)) from None
    return StatsSnapshot(tuple(rows), info, (time.monotonic() - started) * 1000)


def read_ssh_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> str:
    """Return `show stat` read through SSH; not supported yet, so always raises StatsReadError."""
    raise StatsReadError("ssh:// stats are not supported yet; use an http(s):// or "
                         "unix:// stats URL (e.g. through an SSH tunnel)")


def _http_auth(url: str) -> tuple[str, tuple[str, str] | None]:
    """Return the URL without userinfo, and basic auth from it or the environment (else None)."""
    parts = urlsplit(url)
    if parts.username is not None:
        bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        return bare, (unquote(parts.username), unquote(parts.password or ""))
    user = os.environ.get("FAILOVER_STATS_USER")
    if user:
        return url, (user, os.environ.get("FAILOVER_STATS_PASSWORD", ""))
    return url, None  # requests then looks in ~/.netrc


def read_http_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> str:
    """Return the body of the controller's `stats;csv` URL, bounded in time and size.

    Raises:
        StatsReadError: refused, timed out, TLS failure, HTTP error status, or too large.
    """
    import requests

    url, auth = _http_auth(controller.stats)
    deadline = time.monotonic() + haproxy_cfg.connect_timeout + haproxy_cfg.timeout
    verify: bool | str = controller.ca_bundle or True
    try:
        with requests.Session() as session, session.get(
                url, auth=auth, verify=verify, stream=True, allow_redirects=False,
                timeout=(haproxy_cfg.connect_timeout, haproxy_cfg.timeout)) as resp:
            if resp.status_code != 200:
                raise StatsReadError(_http_status_reason(resp.status_code, resp.reason))
            body = bytearray()
            for chunk in resp.iter_content(CHUNK):
                body += chunk
                if len(body) > haproxy_cfg.max_bytes:
                    raise StatsReadError(f"answer larger than {haproxy_cfg.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise StatsReadError("answer not complete after "
                                         f"{haproxy_cfg.connect_timeout + haproxy_cfg.timeout:g}s")
    except requests.exceptions.RequestException as exc:
        raise StatsReadError(_requests_reason(exc, haproxy_cfg)) from None
    return body.decode("utf-8", errors="replace")


def _http_status_reason(code: int, reason: str | None) -> str:
    text = f"HTTP {code} {reason or ''}".rstrip()
    if code in (401, 403):
        return (f"{text}: check the credentials (user:password in the stats URL, "
                "FAILOVER_STATS_USER/FAILOVER_STATS_PASSWORD, or ~/.netrc)")
    if 300 <= code < 400:
        return f"{text}: redirected; put the final stats URL in the config"
    return text


def _requests_reason(exc: Exception, haproxy_cfg: HaproxyConfig) -> str:
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timeout after {haproxy_cfg.connect_timeout:g}s connecting"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "Read timed out" in text:
        return f"timeout after {haproxy_cfg.timeout:g}s waiting for an answer"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {_last_reason(text)}"
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name does not resolve"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection failed: {_last_reason(text)}"
    return f"{type(exc).__name__}: {_last_reason(text)}"


def _last_reason(text: str) -> str:
    """Return the innermost reason of a nested urllib3 message, on one line."""
    inner = text.rsplit("(Caused by ", 1)[-1].rstrip(")")
    return " ".join(inner.split())[:200]


def socket_command(path: str, command: str, haproxy_cfg: HaproxyConfig) -> str:
    """Return HAProxy's answer to `command` on the stats socket at `path`, read to EOF.

    Raises:
        StatsReadError: no socket there, nobody listening, no permission, timeout, or too large.
    """
    deadline = time.monotonic() + haproxy_cfg.connect_timeout + haproxy_cfg.timeout
    data = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(haproxy_cfg.connect_timeout)
        try:
            sock.connect(path)
        except FileNotFoundError:
            raise StatsReadError(f"socket {path} does not exist") from None
        except ConnectionRefusedError:
            raise StatsReadError(f"nothing listens on socket {path} (connection refused)") \
                from None
        except PermissionError:
            raise StatsReadError(f"permission denied on socket {path}") from None
        except TimeoutError:
            raise StatsReadError(f"timeout after {haproxy_cfg.connect_timeout:g}s connecting "
                                 f"to socket {path}") from None
        except OSError as exc:
            raise StatsReadError(f"cannot connect to socket {path}: {exc.strerror}") from None
        try:
            sock.settimeout(haproxy_cfg.timeout)
            sock.sendall(command.encode() + b"\n")
            while chunk := sock.recv(CHUNK):
                data += chunk
                if len(data) > haproxy_cfg.max_bytes:
                    raise StatsReadError(f"answer larger than {haproxy_cfg.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError
        except TimeoutError:
            raise StatsReadError(f"timeout after {haproxy_cfg.timeout:g}s waiting for "
                                 f"socket {path} to answer {command!r}") from None
        except OSError as exc:
            raise StatsReadError(f"socket {path}: {exc.strerror or exc}") from None
    return data.decode("utf-8", errors="replace")


def read_controller_health(cfg: Config, region: Region, controller: Controller) -> ControllerHealth:
    """Return one controller's health; an unreadable HAProxy gives an unreachable verdict."""
    started = time.monotonic()
    try:
        snapshot = read_stats(controller, cfg.haproxy)
    except StatsReadError as exc:
        return unreachable(controller, region.services, str(exc),
                           (time.monotonic() - started) * 1000)
    return judge_controller(controller, region.services, snapshot, cfg.haproxy)


def read_region_health(cfg: Config, region: Region, only: str | None = None) -> RegionHealth:
    """Return the health of the region's controllers (or only `only`), all read concurrently.

    Raises:
        UsageError: `only` is not a controller of the region.
    """
    controllers = [region.controller(only)] if only else list(region.controllers)
    # Each read bounds itself; this cap also covers what no socket timeout bounds (a name
    # resolution that hangs): such a controller is reported without waiting for it.
    cap = 2 * (cfg.haproxy.connect_timeout + cfg.haproxy.timeout) + 1.0
    pool = ThreadPoolExecutor(max_workers=len(controllers) or 1, thread_name_prefix="haproxy")
    try:
        futures = [pool.submit(read_controller_health, cfg, region, c) for c in controllers]
        wait(futures, timeout=cap)
        results = [f.result() if f.done() else
                   unreachable(c, region.services, f"no answer after {cap:g}s", cap * 1000)
                   for c, f in zip(controllers, futures, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return RegionHealth(region.name, {c.name: c for c in results})


def read_regions_health(cfg: Config, regions: Sequence[Region]) -> dict[str, RegionHealth]:
    """Return the health of every region given, keyed by name; regions are read concurrently."""
    with ThreadPoolExecutor(max_workers=len(regions) or 1, thread_name_prefix="region") as pool:
        futures = {r.name: pool.submit(read_region_health, cfg, r) for r in regions}
        return {name: f.result() for name, f in futures.items()}
