"""The whole world of a region on 127.0.0.1, for `make demo` and the end-to-end tests.

Two controllers (a real HAProxy each, fronting small HTTP services), an operations/dns
repository behind the Gerrit stand-in with an operator's checkout, two real gdnsd serving the
rendered zone, a deploy command (the sandbox's authdns-update), and a config file for the tool.
Everything is stopped, and the temporary directory removed, when the block ends.

Examples:
    >>> with start_world() as world:                                    # doctest: +SKIP
    ...     subprocess.run(["failover", "status", "--config", str(world.config_path)],
    ...                    env=world.env)
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failover.config import DEPLOY_PLACEHOLDER, record_type_for
from failover.zone import render_template, zone_name
from sandbox.alertmanager import Alertmanager
from sandbox.authdns import start_authdns_hosts
from sandbox.conduit import Conduit
from sandbox.dnsrepo import WIKIMEDIA_PATH, ZONE_PATH, DnsSandbox, RegionRecord, dns_sandbox
from sandbox.gdnsd import Gdnsd, start_gdnsd
from sandbox.haproxy import SandboxRegion, start_region
from sandbox.recursor import Recursor, start_recursor
from sandbox.sal import SalRelay

REGION = "eqiad1"
"""The sandbox's region."""
CONTROLLERS = ("cloudcontrol1003", "cloudcontrol1004")
"""The sandbox's controllers; the record starts on the first."""
SERVICES = ("designate", "keystone_admin", "keystone_public", "glance_api", "cinder_api",
            "trove_api", "neutron", "nova_api", "placement_api", "nova_metadata", "mysql")
"""The region's services, as production's eqiad1 while the name was a CNAME (2022-2023);
`mysql` is a `listen` proxy, its servers after the first `backup`."""


@dataclass
class World:
    """A running sandbox region, its repository, nameservers and the tool's config."""

    workdir: Path
    haproxy: SandboxRegion
    dns: DnsSandbox
    gdnsd: list[Gdnsd]
    config_path: Path
    targets: dict[str, str] = field(default_factory=dict)
    """What the record points to for each controller (a host name, or an address)."""
    settings: dict[str, Any] = field(default_factory=dict)
    outside: Outside | None = None
    """The SAL relay, Alertmanager and Conduit stand-in, when started (`outside=True`)."""
    irc: dict[str, socket.socket] = field(default_factory=dict)
    """The `irc` service's candidates: a TCP listener each on 127.0.0.1 (its `tcp` health)."""
    hosts: list[Gdnsd] = field(default_factory=list)
    """The authdns hosts (`authdns_hosts=N`): a gdnsd each on 127.53.B.I port 5353."""
    recursor: Recursor | None = None
    """The PowerDNS Recursor forwarding the zones to the nameservers (`recursor=True`)."""
    deploy_delay: float = 0.3
    """Seconds the sandbox deploy waits between two hosts (when there are authdns hosts)."""
    zones: dict[str, str] = field(default_factory=dict)
    """The zones every nameserver and authdns host served at the start (what `reset` serves)."""

    def reset(self) -> None:
        """Bring the world back to how it started, for the next test of a module sharing it.

        Every HAProxy and backend up, the stand-in with no change and its first repository,
        a fresh operator checkout, every nameserver (restarted if stopped) serving the first
        zones, the recursor's cache wiped, no tool state, audit log or temp files, and the
        config rewritten without the test's overrides, an irc listener a test closed open
        again (on a new port: closed when the process ends). The outside systems
        (`outside=True`) are not reset.
        """
        self.irc = {name: sock if sock.fileno() != -1 else
                    socket.create_server(("127.0.0.1", 0)) for name, sock in self.irc.items()}
        self.haproxy.reset()
        self.dns.reset()
        for server in [*self.gdnsd, *self.hosts]:
            for old in (server.workdir / "zones").glob("*"):
                old.unlink()
            server.zones = {}
            for name, text in self.zones.items():
                server.set_zone(name, text)
            if server.process is None or server.process.poll() is not None:
                server.start()
            else:
                server.reload()
        if self.recursor is not None:
            self.recursor.control("wipe-cache", ".$")
        for name in ("state", "tmp"):
            shutil.rmtree(self.workdir / name, ignore_errors=True)
        (self.workdir / "state").mkdir(mode=0o700)
        self.audit_path.unlink(missing_ok=True)
        self.settings.clear()
        self.deploy_delay = World.deploy_delay
        self.write_config()

    @property
    def env(self) -> dict[str, str]:
        """Return the environment to run the tool in: its state (lock) kept in the sandbox."""
        extra = {"FAILOVER_PHABRICATOR_TOKEN": self.outside.conduit.token} if self.outside else {}
        return {**os.environ, "XDG_STATE_HOME": str(self.workdir / "state"),
                "FAILOVER_CONFIG": str(self.config_path), **extra}

    @property
    def audit_path(self) -> Path:
        """Return the audit log the sandbox config names."""
        return self.workdir / "audit.log"

    def deploy_argv(self, servers: list[Gdnsd] | None = None, *,
                    zone: str = ZONE_PATH) -> list[str]:
        """Return the sandbox authdns-update command for `servers` (default: all), its changes
        to `zone` shown first (the config's holds `{zone_file}`: the name's zone file)."""
        argv = [sys.executable, str(Path(__file__).with_name("authdns_update.py")),
                "--repo", self.dns.gerrit.git_url, "--zone", zone, "--yes"]
        if self.hosts and servers is None:
            argv += ["--delay", str(self.deploy_delay)]
        for g in servers or [*self.gdnsd, *self.hosts]:
            argv += ["--gdnsd", str(g.workdir)]
        return argv

    def target_of(self, controller: str) -> str:
        """Return what the record points to when `controller` is the primary."""
        return self.targets.get(controller, f"{controller}.wikimedia.org.")

    def write_config(self, **overrides: Any) -> Path:
        """Rewrite the config with `overrides` (e.g. deploy=[...], verify_timeout=2)."""
        self.settings.update(overrides)
        s = self.settings
        nameservers = ", ".join(f'"{g.address}"' for g in self.gdnsd)
        deploy = ", ".join(_q(a) for a in s.get("deploy",
                                                self.deploy_argv(zone=DEPLOY_PLACEHOLDER)))
        lines = [
            "# failover configuration of the sandbox (written by sandbox.world)",
            "[dns]", f"checkout = {_q(str(self.dns.checkout))}", f'zone_file = "{ZONE_PATH}"',
            'topic = "openstack-failover"', f"deploy = [{deploy}]",
            f"deploy_timeout = {s.get('deploy_timeout', 60)}", "",
            "[gerrit]", f'url = "{self.dns.gerrit.rest_url}"', "timeout = 5",
            f"review_timeout = {s.get('review_timeout', 60)}",
            f"poll_interval = {s.get('poll_interval', 0.2)}", "",
            "[verify]", f"nameservers = [{nameservers}]",
            f"timeout = {s.get('verify_timeout', 20)}", "query_timeout = 1",
            f"interval = {s.get('verify_interval', 0.2)}",
            *self.verify_lines(), "",
            "[haproxy]", "timeout = 2", "connect_timeout = 1", "",
            "[audit]", f"log = {_q(str(self.audit_path))}", "",
            f"[regions.{REGION}]", f'fqdn = "openstack.{REGION}.wikimediacloud.org"',
            "services = [" + ", ".join(f'"{x}"' for x in self.haproxy.services) + "]", "",
        ]
        for name, c in self.haproxy.controllers.items():
            lines += [f"[regions.{REGION}.controllers.{name}]",
                      f'target = "{self.target_of(name)}"', f'stats = "{c.stats_url}"', ""]
        lines += self.irc_config_lines() if self.irc else []
        lines += s.get("extra_config", [])  # more [services.*]/[groups.*] (the runbooks')
        if self.outside is not None:
            lines += self.outside.config_lines()
        self.config_path.write_text("\n".join(lines), encoding="utf-8")
        return self.config_path


    def verify_lines(self) -> list[str]:
        """Return [verify]'s authdns_hosts (default port 5353) and recursors (with a wipe)."""
        lines = []
        if self.hosts:
            lines.append("authdns_hosts = [" + ", ".join(f'"{h.host}"' for h in self.hosts)
                         + "]")
        if self.recursor is not None:
            wipe = ", ".join(_q(a) for a in self.recursor.wipe_argv())
            lines.append(f'recursors = [{{address = "{self.recursor.address}", '
                         f"wipe = [{wipe}]}}]")
        return lines

    def irc_config_lines(self) -> list[str]:
        """Return the `[services.irc]` section: irc.wikimedia.org in templates/wikimedia.org,
        its target relative there (`irc1001`), each candidate's health a TCP connect; the
        `irc` setting's keys (`write_config(irc={"topic": ...})`) added as strings."""
        own = [f"{key} = {_q(value)}" for key, value in self.settings.get("irc", {}).items()]
        lines = ["[services.irc]", f'zone_file = "{WIKIMEDIA_PATH}"',
                 f'fqdn = "{IRC_FQDN}"', *own, ""]
        for name, listener in self.irc.items():
            lines += [f"[services.irc.candidates.{name}]", f'target = "{name}.wikimedia.org."',
                      f'health = {{kind = "tcp", host = "127.0.0.1", port = '
                      f"{listener.getsockname()[1]}, timeout = 2}}", ""]
        return lines


IRC_FQDN = "irc.wikimedia.org"
"""The sandbox's second service: a TCP service whose record lives in templates/wikimedia.org."""
IRC_HOSTS = ("irc1001", "irc1002")
"""Its candidates; the record starts on the first."""


@dataclass
class Outside:
    """The outside systems of the sandbox: SAL relay, Alertmanager (if installed), Conduit."""

    sal: SalRelay
    conduit: Conduit
    alertmanager: Alertmanager | None

    def config_lines(self) -> list[str]:
        """Return the config's [sal], [alertmanager] and [phabricator] sections."""
        lines = ["[sal]", 'host = "127.0.0.1"', f"port = {self.sal.port}", 'project = "admin"',
                 "", "[phabricator]", f'url = "{self.conduit.url}"', "timeout = 2", ""]
        if self.alertmanager is not None:
            lines += ["[alertmanager]", f'url = "{self.alertmanager.url}"',
                      "matchers = ['instance=~\"{controller}(:[0-9]+)?\"']", "timeout = 2", ""]
        return lines


@contextmanager
def start_outside(workdir: Path) -> Iterator[Outside]:
    """Yield the SAL relay, the Conduit stand-in and (when installed) a real Alertmanager."""
    from sandbox import alertmanager

    with ExitStack() as stack:
        sal = stack.enter_context(SalRelay())
        conduit = stack.enter_context(Conduit(token="api-" + "s4ndb0x" * 4))
        am = (stack.enter_context(alertmanager.start_alertmanager(workdir / "alertmanager"))
              if alertmanager.available() else None)
        yield Outside(sal, conduit, am)


def _q(text: str) -> str:
    """Return `text` as a TOML basic string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def start_world(workdir: Path | None = None, *, auto_merge_after: float | None = 0.5,
                primary: str = CONTROLLERS[0], nameservers: int = 2,
                services: tuple[str, ...] = SERVICES,
                targets: dict[str, str] | None = None,
                outside: bool = False, irc: bool = True, authdns_hosts: int = 0,
                recursor: bool = False) -> Iterator[World]:
    """Yield a running World whose record points at `primary`; stop everything on exit.

    `targets` maps each controller to what the record points to when it is primary: host
    names (a CNAME, the default: `<controller>.wikimedia.org.`) or addresses (an A/AAAA
    record, as production's later virtual IP form).

    `outside`: also start a SAL relay, a Conduit stand-in and (when installed) Alertmanager,
    and configure them ([sal], [phabricator], [alertmanager]).

    `irc`: also configure `[services.irc]` (a TCP listener per candidate); the runbooks'
    world, production's eqiad1 config, has none.

    `authdns_hosts`: also start that many authdns hosts (a gdnsd each on its own loopback
    address, port 5353, `[verify] authdns_hosts`), deployed one after another.

    `recursor`: also start a PowerDNS Recursor forwarding the zones to the nameservers
    (`[verify] recursors` with its `rec_control wipe-cache` argv).

    `auto_merge_after`: the sandbox reviewer approves and merges each pushed change after
    that many seconds (None: only when a test calls `world.dns.gerrit.approve_and_merge`).
    """
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="fo-world-", dir="/tmp")) if own else workdir
    assert root is not None
    targets = dict(targets or {})
    first = targets.get(primary, f"{primary}.wikimedia.org.")
    records = (RegionRecord(REGION, first, rtype=record_type_for(first)),
               RegionRecord("codfw1dev", "cloudcontrol2001-dev.wikimedia.org."))
    try:
        with ExitStack() as stack:
            hap = stack.enter_context(start_region(services, CONTROLLERS, name=REGION,
                                                   workdir=_sub(root, "hap")))
            dns = stack.enter_context(dns_sandbox(_sub(root, "git"), records, ssh=True,
                                                  auto_merge_after=auto_merge_after))
            template = (dns.checkout / ZONE_PATH).read_text()
            hosts = (dns.checkout / WIKIMEDIA_PATH).read_text()
            zones = {zone_name(ZONE_PATH): render_template(template, serial=1),
                     HOSTS_ZONE: render_template(hosts, serial=1)}
            servers = [stack.enter_context(start_gdnsd(zones, _sub(root, f"ns{i}")))
                       for i in range(nameservers)]
            (root / "state").mkdir(mode=0o700, exist_ok=True)
            world = World(root, hap, dns, servers, root / "config.toml", targets, zones=zones)
            if authdns_hosts:
                world.hosts = stack.enter_context(start_authdns_hosts(
                    zones, _sub(root, "hosts"), authdns_hosts))
            if recursor:
                forwards = {zone: [g.address for g in servers] for zone in zones}
                world.recursor = stack.enter_context(start_recursor(_sub(root, "rec"), forwards))
            world.irc = {name: stack.enter_context(socket.create_server(("127.0.0.1", 0)))
                         for name in (IRC_HOSTS if irc else ())}
            if outside:
                world.outside = stack.enter_context(start_outside(_sub(root, "outside")))
            world.write_config()
            yield world
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)


HOSTS_ZONE = "wikimedia.org"
"""The zone of the controllers' host names; production's nameservers serve it too."""


def hosts_zone(controllers: tuple[str, ...], address: str = "127.0.0.1") -> str:
    """Return a wikimedia.org zone with an A record per controller at `address` (the world
    serves templates/wikimedia.org itself; tests swap this one in).

    As in production, each controller's host name resolves (at the same authoritative
    servers) to the address its HAProxy stats are read at: 127.0.0.1 in the sandbox.
    """
    lines = ["$TTL 300",
             "@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 1 12H 2H 2W 1H",
             "@ 1D IN NS ns0.wikimedia.org.", "ns0 1H IN A 127.0.0.1"]
    lines += [f"{name} 1H IN A {address}" for name in controllers]
    return "\n".join(lines) + "\n"


def _sub(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path
