"""A real gdnsd 3.8 on 127.0.0.1 high ports, serving zones from a temporary directory.

Tests, benchmarks and the promote sandbox use it as the authoritative nameservers.

Examples:
    >>> with start_gdnsd({"wikimediacloud.org": wikimediacloud_zone()}) as ns:  # doctest: +SKIP
    ...     ns.address
    '127.0.0.1:40123'
    ...     ns.set_zone("wikimediacloud.org", wikimediacloud_zone(
    ...         {"eqiad1": "cloudcontrol1004.wikimedia.org."}))
    ...     ns.reload()
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from failover.config import Nameserver, record_type_for
from sandbox.backends import free_ports

GDNSD = "gdnsd"
"""The gdnsd program (Debian package `gdnsd`)."""
GDNSDCTL = "gdnsdctl"
"""Its control program, used to reload zones."""
START_TIMEOUT = 10.0
"""Seconds gdnsd may take to answer its first query."""
COMMAND_TIMEOUT = 10.0
"""Seconds a gdnsdctl command may take."""

PRODUCTION_TARGETS: Mapping[str, str] = {
    "eqiad1": "cloudcontrol1003.wikimedia.org.",
    "codfw1dev": "cloudcontrol2001-dev.wikimedia.org.",
    "eqiad1vip": "185.15.57.24",
}
"""Default record per region: two CNAME regions shaped like production and one A-record region."""

BIG_NAME = "bigset"
"""Label (under wikimediacloud.org) holding many A records: its answer is truncated over UDP."""


class GdnsdError(RuntimeError):
    """gdnsd did not start, reload or stop as expected (a sandbox problem, not a user error)."""


def wikimediacloud_zone(targets: Mapping[str, str] | None = None, *, big_count: int = 100,
                        extra: str = "") -> str:
    """Return a `wikimediacloud.org` zone file shaped like production.

    `targets` maps a region (e.g. "eqiad1") to the target of `openstack.<region>`: a host name
    (a CNAME) or addresses separated by spaces (an A/AAAA set). `big_count` A records go under
    `bigset.wikimediacloud.org`; `extra` is appended as is.
    """
    lines = [
        "$TTL 1H",
        "@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 2024010101 12H 2H 2W 1H",
        "@ 1D IN NS ns0.wikimedia.org.",
        "@ 1D IN NS ns1.wikimedia.org.",
        "@ 1D IN NS ns2.wikimedia.org.",
        "",
    ]
    lines += [f"{BIG_NAME} 5M IN A 10.64.{i // 250}.{i % 250 + 1}" for i in range(big_count)]
    for region, target in {**PRODUCTION_TARGETS, **(targets or {})}.items():
        lines += ["", f"$ORIGIN {region}.wikimediacloud.org.", "",
                  "; Service aliases",
                  "; Primary openstack endpoint API used by openstack clients and endpoint catalog"]
        for value in target.split():
            lines.append(f"openstack  5M  IN {record_type_for(value):5}  {value}")
    return "\n".join(lines) + "\n" + extra


def free_port() -> int:
    """Return a loopback port that is free for both UDP and TCP right now."""
    try:
        return free_ports(1, udp=True)[0]
    except OSError as exc:
        raise GdnsdError("no free loopback port found for gdnsd") from exc


@dataclass
class Gdnsd:
    """One running gdnsd: its directory, its ports and the process handle."""

    workdir: Path
    ports: tuple[int, ...]
    process: subprocess.Popen[bytes] | None = None
    zones: dict[str, str] = field(default_factory=dict)
    remove_workdir: bool = False
    host: str = "127.0.0.1"
    """The loopback address it listens on (an authdns host of the sandbox: 127.53.N.I)."""

    @property
    def port(self) -> int:
        """Return the first port gdnsd listens on."""
        return self.ports[0]

    @property
    def address(self) -> str:
        """Return "HOST:PORT" of the first listener."""
        return f"{self.host}:{self.port}"

    @property
    def addresses(self) -> tuple[str, ...]:
        """Return "HOST:PORT" for every listener."""
        return tuple(f"{self.host}:{p}" for p in self.ports)

    @property
    def nameserver(self) -> Nameserver:
        """Return the first listener as a config Nameserver."""
        return Nameserver(host=self.host, port=self.port)

    @property
    def nameservers(self) -> tuple[Nameserver, ...]:
        """Return every listener as a config Nameserver."""
        return tuple(Nameserver(host=self.host, port=p) for p in self.ports)

    @property
    def log_path(self) -> Path:
        """Return the file gdnsd's stderr goes to."""
        return self.workdir / "gdnsd.log"

    def write_config(self) -> None:
        """Write DIR/config and every zone file."""
        for sub in ("zones", "run", "state"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        listen = ", ".join(self.addresses)
        (self.workdir / "config").write_text(
            "options => {\n"
            f"    listen => [ {listen} ]\n"
            f"    run_dir => {self.workdir / 'run'}\n"
            f"    state_dir => {self.workdir / 'state'}\n"
            "    zones_default_ttl => 300\n"
            "    tcp_threads => 1\n"
            "    udp_threads => 1\n"
            "}\n"
        )
        for name, text in self.zones.items():
            self.set_zone(name, text)

    def set_zone(self, name: str, text: str) -> None:
        """Write zone `name`'s file; it is served after `reload()` (or at start)."""
        self.zones[name] = text
        (self.workdir / "zones" / name).write_text(text)

    def start(self) -> None:
        """Start gdnsd in the foreground and return once it answers over TCP."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Write the config and start gdnsd in the foreground, without waiting for it."""
        self.write_config()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [GDNSD, "-c", str(self.workdir), "start"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Return once every listener answers a TCP query; raise GdnsdError if it dies first."""
        deadline = time.monotonic() + timeout
        pending = list(self.ports)
        while pending:
            if self.process is not None and self.process.poll() is not None:
                raise GdnsdError(f"gdnsd exited with {self.process.returncode}: {self._log_tail()}")
            if _answers_tcp(pending[0], self.host):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise GdnsdError(f"gdnsd did not answer on port {pending[0]} within "
                                 f"{timeout:g}s: {self._log_tail()}")
            time.sleep(0.01)

    def reload(self) -> None:
        """Reload every zone file now (synchronous); raise GdnsdError if gdnsd rejects one."""
        result = subprocess.run([GDNSDCTL, "-c", str(self.workdir), "reload-zones"],
                                capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                                check=False)
        if result.returncode != 0:
            raise GdnsdError(f"reload-zones failed ({result.returncode}): "
                             f"{(result.stderr or result.stdout).strip()}; gdnsd's log: "
                             f"{self._log_tail()}")

    def stop(self) -> None:
        """Stop gdnsd (SIGTERM, then SIGKILL) and remove the temporary directory if ours."""
        proc, self.process = self.process, None
        terminate(proc)
        if self.remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"


def terminate(proc: subprocess.Popen[bytes] | None) -> None:
    """End a sandbox server: SIGTERM, then SIGKILL if it is still there after 5 s."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _answers_tcp(port: int, host: str = "127.0.0.1") -> bool:
    """Return True if a DNS query over TCP to host:port gets an answer."""
    import dns.exception
    import dns.message
    import dns.query

    query = dns.message.make_query("wikimediacloud.org.", "SOA")
    try:
        dns.query.tcp(query, host, port=port, timeout=0.5)
    except (OSError, dns.exception.DNSException):
        return False
    return True


@contextlib.contextmanager
def start_gdnsd(zones: Mapping[str, str], workdir: Path | None = None, *,
                listeners: int = 1, ports: Sequence[int] = ()) -> Iterator[Gdnsd]:
    """Yield a running gdnsd serving `zones` ({zone name: zone text}); stop it on exit.

    `listeners` ports are picked free unless `ports` are given. Without `workdir` a short temp
    directory under /tmp is used and removed afterwards.
    """
    own = workdir is None
    path = Path(tempfile.mkdtemp(prefix="gdnsd-", dir="/tmp")) if workdir is None else workdir
    chosen = tuple(ports) or tuple(_distinct_ports(listeners))
    server = Gdnsd(workdir=path, ports=chosen, zones=dict(zones), remove_workdir=own)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports
