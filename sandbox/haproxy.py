"""Real HAProxy processes on 127.0.0.1, one per controller, shaped like production.

Each controller's HAProxy has `<service>_frontend` / `<service>_backend` for every HTTP service
and a `listen <service>` proxy for the TCP ones (`mysql`, as production's Galera: one primary
server, the others `backup`), each backend listing one tiny backend per controller, its server
named after that controller (as production lists every controller in every backend); a
`listen stats` with `stats uri /stats`; the stats socket as production's (`mode 666 level
user`: readable by anyone, changes nothing) and a second, admin-level socket for the tests'
fault injection (`set server`, `set weight`). For tests and `make demo`.

Examples:
    >>> with start_region(["nova_api", "glance_api"]) as sandbox:     # doctest: +SKIP
    ...     sandbox.stop_backend("nova_api", "cloudcontrol1003")
    ...     sandbox.wait_server_status("cloudcontrol1004", "nova_api", "cloudcontrol1003", "DOWN")
    ...     cfg_path = sandbox.write_config()
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from failover.config import DEFAULT_SERVICES, HaproxyConfig
from failover.errors import FailoverError
from failover.haproxy import StatRow, StatsReadError, parse_stats_csv, socket_command
from sandbox.backends import TinyBackend, free_ports

CONTROLLERS = ("cloudcontrol1003", "cloudcontrol1004")
"""The sandbox's controllers, named as eqiad1's."""

HAPROXY = "haproxy"
"""The HAProxy binary (Debian package: /usr/sbin/haproxy)."""

LISTEN_SERVICES = ("mysql",)
"""Services that are one `listen <service>` proxy (TCP) rather than a frontend/backend pair."""

POLL = 0.02
"""Seconds between two probes of a stats socket while waiting for a state."""

_PROBE = HaproxyConfig(connect_timeout=1.0, timeout=2.0)


class SandboxError(FailoverError):
    """A sandbox process did not start or did not reach the awaited state in time."""


@dataclass
class SandboxController:
    """One controller's HAProxy: its files, its ports and its process."""

    name: str
    stats_port: int
    socket_path: str
    config_path: Path
    log_path: Path
    frontend_ports: dict[str, int]
    process: subprocess.Popen[bytes] | None = None
    admin_socket_path: str = ""

    @property
    def stats_url(self) -> str:
        """Return the CSV stats URL, as a controller's `stats` config key takes it."""
        return f"http://127.0.0.1:{self.stats_port}/stats;csv"

    @property
    def socket_url(self) -> str:
        """Return the (user-level, as production's) stats socket as a `unix://` stats URL."""
        return f"unix://{self.socket_path}"


def proxy_name(service: str) -> str:
    """Return the name of the proxy holding `service`'s servers: `listen` or `_backend`."""
    return service if service in LISTEN_SERVICES else f"{service}_backend"


def render_haproxy_config(controller: SandboxController, services: Sequence[str],
                          backends: dict[tuple[str, str], TinyBackend],
                          controllers: Sequence[str], backup_service: str | None) -> str:
    """Return an HAProxy config for one controller, shaped like production's."""
    lines = [
        "global",
        f"    stats socket {controller.socket_path} mode 666 level user",
        f"    stats socket {controller.admin_socket_path} mode 600 level admin",
        "    stats timeout 30s",
        "    maxconn 2000",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 1s",
        "    timeout client 10s",
        "    timeout server 10s",
        # a check every 2 s while a server is steady, every 250 ms once one failed (so a
        # stopped backend is DOWN within ~2.3 s) and 500 ms while DOWN (back UP within 0.5 s):
        # the steady checks of a region's 44 servers were a tenth of a CPU core at 500 ms, for
        # every region of every test worker
        "    default-server inter 2s fastinter 250ms downinter 500ms fall 2 rise 1",
        "",
        "listen stats",
        f"    bind 127.0.0.1:{controller.stats_port}",
        "    stats enable",
        "    stats uri /stats",
        "",
    ]
    for service in services:
        if service in LISTEN_SERVICES:
            lines += _listen_section(controller, service, backends, controllers, backup_service)
            continue
        lines += [
            f"frontend {service}_frontend",
            f"    bind 127.0.0.1:{controller.frontend_ports[service]}",
            f"    default_backend {service}_backend",
            "",
            f"backend {service}_backend",
            "    balance leastconn",
            "    option httpchk GET /healthcheck",
            "    http-check expect status 200",
            "    stick-table type ip size 256k expire 30m",
            "    stick on src",
        ]
        for i, name in enumerate(controllers):
            port = backends[(service, name)].port
            # As production's Galera: the first controller is the primary, the others backups.
            role = " backup" if service == backup_service and i > 0 else ""
            lines.append(f"    server {name} 127.0.0.1:{port} check{role}")
        lines.append("")
    return "\n".join(lines)


def _listen_section(controller: SandboxController, service: str,
                    backends: dict[tuple[str, str], TinyBackend], controllers: Sequence[str],
                    backup_service: str | None) -> list[str]:
    """Return a TCP `listen` proxy, as production's Galera `mysql` (checked over HTTP)."""
    lines = [f"listen {service}", f"    bind 127.0.0.1:{controller.frontend_ports[service]}",
             "    mode tcp", "    option httpchk GET /healthcheck",
             "    http-check expect status 200"]
    for i, name in enumerate(controllers):
        role = " backup" if service == backup_service and i > 0 else ""
        lines.append(f"    server {name} 127.0.0.1:{backends[(service, name)].port} check{role}")
    return [*lines, ""]


@dataclass
class SandboxRegion:
    """A running sandbox region: every controller's HAProxy and every tiny backend."""

    name: str
    services: tuple[str, ...]
    workdir: Path
    controllers: dict[str, SandboxController]
    backends: dict[tuple[str, str], TinyBackend]
    backup_service: str | None
    timeout: float = 10.0
    _stopped: set[str] = field(default_factory=set)

    # --- processes -------------------------------------------------------------------------

    def start_haproxy(self, controller: str) -> None:
        """Start the controller's HAProxy and return once its stats socket answers."""
        c = self.controllers[controller]
        if c.process is not None and c.process.poll() is None:
            return
        with c.log_path.open("ab") as log:
            c.process = subprocess.Popen([_haproxy_binary(), "-db", "-f", str(c.config_path)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while True:
            if c.process.poll() is not None:
                raise SandboxError(f"haproxy for {controller} exited with {c.process.returncode}:"
                                   f" {self._log_tail(c)}")
            with contextlib.suppress(StatsReadError):
                if "Name: HAProxy" in socket_command(c.admin_socket_path, "show info", _PROBE):
                    return
            if time.monotonic() > deadline:
                raise SandboxError(f"haproxy for {controller} not answering after "
                                   f"{self.timeout:g}s: {self._log_tail(c)}")
            time.sleep(POLL)

    def stop_haproxy(self, controller: str) -> None:
        """Stop the controller's HAProxy: SIGTERM, then SIGKILL after 5 s."""
        c = self.controllers[controller]
        process, c.process = c.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def stop_backend(self, service: str, controller: str) -> None:
        """Stop the tiny backend of `service` on `controller` (its port then refuses)."""
        self.backends[(service, controller)].stop()

    def start_backend(self, service: str, controller: str) -> None:
        """Start again the tiny backend of `service` on `controller`, on the same port."""
        self.backends[(service, controller)].start()

    def close(self) -> None:
        """Stop every HAProxy and backend; never raises for an already stopped one."""
        for name in self.controllers:
            with contextlib.suppress(Exception):
                self.stop_haproxy(name)
        for backend in self.backends.values():
            with contextlib.suppress(Exception):
                backend.stop()

    @staticmethod
    def _log_tail(c: SandboxController) -> str:
        try:
            lines = c.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(empty log)"

    # --- admin socket and stats ------------------------------------------------------------

    def admin(self, controller: str, command: str) -> str:
        """Return the answer of the controller's admin socket to `command`."""
        return socket_command(self.controllers[controller].admin_socket_path, command, _PROBE)

    def set_server_state(self, controller: str, service: str, server: str, state: str) -> None:
        """Put `server` of `service`'s backend in `state` (maint, drain, ready) on one HAProxy."""
        self._admin_quiet(controller, f"set server {proxy_name(service)}/{server} state {state}")

    def set_weight(self, controller: str, service: str, server: str, weight: str) -> None:
        """Set `server`'s weight in `service`'s backend on one HAProxy ("0", "100%", ...)."""
        self._admin_quiet(controller, f"set weight {proxy_name(service)}/{server} {weight}")

    def _admin_quiet(self, controller: str, command: str) -> None:
        """Run an admin command that answers nothing when it works; raise with its answer."""
        answer = self.admin(controller, command)
        if answer.strip():
            raise SandboxError(f"{controller}: {command}: {answer.strip()}")

    def rows(self, controller: str) -> list[StatRow]:
        """Return the controller's `show stat` rows, read from its socket."""
        return parse_stats_csv(self.admin(controller, "show stat"))

    def server(self, controller: str, service: str, server: str) -> StatRow:
        """Return the stats row of `server` in `service`'s backend on one HAProxy."""
        for row in self.rows(controller):
            if row.pxname == proxy_name(service) and row.svname == server:
                return row
        raise SandboxError(f"{proxy_name(service)}/{server} is not in {controller}'s stats")

    def wait_for(self, controllers: Iterable[str], what: str,
                 ready: Callable[[list[StatRow]], bool]) -> None:
        """Return once `ready(rows)` holds on every given controller, probing its socket."""
        deadline = time.monotonic() + self.timeout
        for name in controllers:
            while not ready(self.rows(name)):
                if time.monotonic() > deadline:
                    raise SandboxError(f"{name}: not {what} after {self.timeout:g}s")
                time.sleep(POLL)

    def wait_server_status(self, controller: str, service: str, server: str,
                           status: str) -> None:
        """Return once `server` of `service` shows `status` (e.g. "UP 1/2", "DOWN", "MAINT")."""
        proxy = proxy_name(service)
        self.wait_for([controller], f"{proxy}/{server} {status}", lambda rows: any(
            r.pxname == proxy and r.svname == server and r.status == status for r in rows))

    def wait_checked(self, controllers: Iterable[str] | None = None) -> None:
        """Return once every server is checked: L7OK for running backends, DOWN for stopped.

        Servers put in MAINT or DRAIN keep that state; no server may be mid-way (`UP 1/2`).
        """
        def settled(rows: list[StatRow]) -> bool:
            for r in rows:
                if r.kind != "server":
                    continue
                running = self.backends[(r.pxname.removesuffix("_backend"), r.svname)].running
                if "/" in r.status:  # a check counter: the state is changing
                    return False
                if r.state == "MAINT":  # no checks run in maintenance
                    continue
                if running and (r.check_status != "L7OK" or r.state == "DOWN"):
                    return False
                if not running and r.state != "DOWN":
                    return False
            return True

        self.wait_for(controllers or self.running_controllers(), "checked", settled)

    def running_controllers(self) -> list[str]:
        """Return the controllers whose HAProxy is running."""
        return [n for n, c in self.controllers.items()
                if c.process is not None and c.process.poll() is None]

    def reset(self) -> None:
        """Bring everything back: every HAProxy and backend running, servers ready, checked."""
        for backend in self.backends.values():
            backend.start()
        for name in self.controllers:
            self.start_haproxy(name)
            for service in self.services:
                for server in self.controllers:
                    self.set_server_state(name, service, server, "ready")
                    self.set_weight(name, service, server, "100%")
        self.wait_checked()

    # --- configuration ---------------------------------------------------------------------

    def config_toml(self, stats: str = "http", timeout: float = 2.0,
                    connect_timeout: float = 1.0) -> str:
        """Return a whole failover config for this region; `stats` is "http" or "unix"."""
        lines = [
            "# failover configuration for the sandbox (written by sandbox.haproxy)",
            "[dns]", f'checkout = "{self.workdir / "dns"}"', "",
            "[haproxy]", f"timeout = {timeout}", f"connect_timeout = {connect_timeout}", "",
            f"[regions.{self.name}]",
            f'fqdn = "openstack.{self.name}.wikimediacloud.org"',
            "services = [" + ", ".join(f'"{s}"' for s in self.services) + "]", "",
        ]
        for name, c in self.controllers.items():
            url = c.stats_url if stats == "http" else c.socket_url
            lines += [f"[regions.{self.name}.controllers.{name}]",
                      f'target = "{name}.wikimedia.org."', f'stats = "{url}"', ""]
        return "\n".join(lines)

    def write_config(self, path: Path | None = None, stats: str = "http",
                     timeout: float = 2.0) -> Path:
        """Return the path of a config file written for this region (default: in workdir)."""
        path = path or self.workdir / f"config-{stats}.toml"
        path.write_text(self.config_toml(stats, timeout), encoding="utf-8")
        return path


@contextlib.contextmanager
def start_region(services: Sequence[str] = DEFAULT_SERVICES,
                 controllers: Sequence[str] = CONTROLLERS, *, name: str = "eqiad1",
                 workdir: Path | None = None,
                 backup_service: str | None = "mysql") -> Iterator[SandboxRegion]:
    """Yield a running SandboxRegion, every server checked L7OK; stop everything on exit.

    Arguments:
        services: the region's services, one frontend/backend pair each (a `listen`
            proxy for those in LISTEN_SERVICES).
        controllers: one HAProxy per controller; each backend lists them all.
        workdir: where configs, sockets and logs go (default: a short new dir under /tmp,
            removed on exit); socket paths must stay under 97 characters.
        backup_service: the service whose backend has all but the first controller as
            `backup` servers (as production's mysql, the default), or None.
    """
    own = workdir is None
    work = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="fo-hap-", dir="/tmp"))
    # the backends' ports from the worker's own block (below the kernel's ephemeral range):
    # a backend stopped by a test is started again on its port, which a kernel-picked port
    # could meanwhile be as the source port of any process's outgoing connection
    pairs = [(s, c) for s in services for c in controllers]
    backends = {(s, c): TinyBackend(s, c, port)
                for (s, c), port in zip(pairs, free_ports(len(pairs)), strict=True)}
    members = {
        c: SandboxController(
            name=c, stats_port=0, socket_path=str(work / f"{c}.sock"),
            config_path=work / f"{c}.cfg", log_path=work / f"{c}.log", frontend_ports={},
            admin_socket_path=str(work / f"{c}-admin.sock"))
        for c in controllers
    }
    sandbox = SandboxRegion(name, tuple(services), work, members, backends,
                            backup_service if backup_service in services else None)
    try:
        for backend in backends.values():   # first, so they cannot take the ports picked below
            backend.start()
        for c in members.values():
            _start_on_free_ports(sandbox, c, services, backends, controllers)
        sandbox.wait_checked()
        yield sandbox
    finally:
        sandbox.close()
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _start_on_free_ports(sandbox: SandboxRegion, c: SandboxController, services: Sequence[str],
                         backends: dict[tuple[str, str], TinyBackend],
                         controllers: Sequence[str], tries: int = 3) -> None:
    """Start `c`'s HAProxy on newly picked ports; pick again when another process took one."""
    for attempt in range(1, tries + 1):
        ports = iter(free_ports(len(services) + 1))
        c.stats_port, c.frontend_ports = next(ports), {s: next(ports) for s in services}
        c.config_path.write_text(render_haproxy_config(
            c, services, backends, controllers, sandbox.backup_service), encoding="utf-8")
        try:
            sandbox.start_haproxy(c.name)
            return
        except SandboxError as exc:
            if "Address already in use" not in str(exc) or attempt == tries:
                raise


def _haproxy_binary() -> str:
    return shutil.which(HAPROXY) or f"/usr/sbin/{HAPROXY}"


def haproxy_available() -> bool:
    """Return True when the haproxy binary is on PATH or in /usr/sbin (tests skip without it)."""
    return Path(_haproxy_binary()).exists()
