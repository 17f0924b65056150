"""`make sandbox`: the sandbox world kept up until Ctrl-C, to type failover commands against it.

Starts what `make demo` starts (two real HAProxy, operations/dns behind the Gerrit stand-in
over SSH, gdnsd, the sandbox's authdns-update, the SAL relay, Conduit and Alertmanager
stand-ins: all on 127.0.0.1), prints the config's path and what to try, and waits. Ctrl-C
(or SIGTERM) stops everything and removes the temporary directory.

Run: python -m sandbox.up
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from sandbox.world import CONTROLLERS, IRC_HOSTS, REGION, World, start_world

OLD, NEW = CONTROLLERS
TRY = (
    ("where each name points, and each candidate's health", "failover status"),
    ("HAProxy's per-service health on both controllers", f"failover health {REGION}"),
    ("the whole plan, nothing changed",
     f"failover promote {REGION} {NEW} --dry-run --bug T12345 --reason test"),
    ("the real failover (type go at each prompt; the sandbox reviewer merges in 1 s)",
     f"failover promote {REGION} {NEW} --bug T12345 --reason test --silence 1h"),
    ("every nameserver's answer", f"failover verify {REGION} --once"),
    ("the monitoring check", f"failover check {REGION}"),
    ("a service: irc.wikimedia.org", f"failover promote irc {IRC_HOSTS[1]} --dry-run"),
    ("the configuration as read", "failover config show"),
)
"""What to try, each with why."""


def instructions(world: World) -> str:
    """Return what the operator reads once the world is up: where it is and what to type."""
    venv_bin = Path(sys.executable).parent
    exports = (f"export FAILOVER_CONFIG={world.config_path}"
               f" XDG_STATE_HOME={world.workdir / 'state'}")
    if world.outside is not None:
        exports += f" FAILOVER_PHABRICATOR_TOKEN={world.outside.conduit.token}"
    lines = [
        "The sandbox is up, everything on 127.0.0.1:",
        f"  config:            {world.config_path}",
        f"  operations/dns:    {world.dns.checkout} (the operator's checkout)",
        f"  Gerrit stand-in:   {world.dns.gerrit.rest_url}",
        f"  nameservers:       {', '.join(g.address for g in world.gdnsd)}",
        f"  audit log:         {world.audit_path}",
        "",
        "In another terminal:",
        f"  {exports}",
        f'  export PATH="{venv_bin}:$PATH"   # this project\'s failover (its .venv)',
        "",
        "Then try:",
    ]
    width = max(len(cmd) for _, cmd in TRY)
    lines += [f"  {cmd.ljust(width)}   # {why}" for why, cmd in TRY]
    lines += ["", f"Ctrl-C here stops everything and removes {world.workdir}."]
    return "\n".join(lines)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Keep the world up until Ctrl-C or SIGTERM; return 0 once it is stopped and removed."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir: Path | None = None
    print("starting the sandbox (HAProxy, gdnsd, sshd, the Gerrit stand-in) ...", flush=True)
    try:
        with start_world(auto_merge_after=1.0, outside=True) as world:
            workdir = world.workdir
            print(instructions(world), flush=True)
            forever = threading.Event()
            while not forever.wait(3600):
                pass
    except KeyboardInterrupt:
        pass
    where = f" and removed {workdir}" if workdir is not None else ""
    print(f"\nstopped every sandbox server{where}", flush=True)
    return 0 if workdir is None or not os.path.exists(workdir) else 1


if __name__ == "__main__":
    sys.exit(main())
