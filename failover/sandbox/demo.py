"""`make demo`: the tool run against the sandbox's real HAProxy, step by step.

Starts two HAProxy (eqiad1's controllers, production's services) with tiny backends on
127.0.0.1 in a temp dir, writes a config there, runs `failover health` and `failover status`
as an operator would, breaks things, shows them again, and cleans everything up (also on Ctrl-C).

Run: python -m failover.sandbox.demo
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from failover.config import DEFAULT_SERVICES
from failover.sandbox.haproxy import CONTROLLERS, SandboxRegion, start_region

console = Console()
PRIMARY, STANDBY = CONTROLLERS


def step(title: str, why: str) -> None:
    """Print a step's heading and what it shows."""
    console.rule(f"[bold]{title}")
    console.print(f"[dim]{why}[/]")


def failover(*args: str) -> int:
    """Run `failover ARGS...` as the operator would, output straight to the terminal."""
    argv = [sys.executable, "-m", "failover.cli", *args]
    console.print(f"[bold cyan]$ failover {' '.join(args)}[/]")
    code = subprocess.run(argv, timeout=60, check=False).returncode
    console.print(f"[dim](exit {code})[/]")
    return code


def demo(sandbox: SandboxRegion) -> None:
    """Walk through the steps against a running sandbox."""
    config = str(sandbox.write_config(stats="http"))
    console.print(f"config written to {config}")
    for name, c in sandbox.controllers.items():
        console.print(f"  {name}: stats {c.stats_url}, admin socket {c.socket_path}")

    step("1. Both controllers healthy",
         "Each HAProxy lists both controllers in every backend; glance_api has the second "
         "one as a backup server. Exit 0: both could take the region's traffic.")
    failover("health", "eqiad1", "--config", config)

    step("2. Status: one line per controller", "Informational, always exit 0.")
    failover("status", "--config", config)

    step(f"3. nova_api stopped on {PRIMARY}, glance_api's primary too",
         "HAProxy marks those servers DOWN after two failed checks: the services still run "
         "on the other controller (glance_api only on its backup). Still healthy.")
    sandbox.stop_backend("nova_api", PRIMARY)
    sandbox.stop_backend("glance_api", PRIMARY)
    sandbox.wait_checked()
    failover("health", "eqiad1", "--config", config)

    step(f"4. designate in maintenance on {STANDBY}'s HAProxy",
         "Both designate servers put in MAINT through the admin socket: no server takes "
         "new sessions there, so that controller is not healthy (exit 3).")
    for server in CONTROLLERS:
        sandbox.set_server_state(STANDBY, "designate", server, "maint")
    failover("health", "eqiad1", STANDBY, "--config", config)

    step(f"5. HAProxy on {PRIMARY} stopped",
         "An HAProxy that does not answer is reported unreachable with the reason; the other "
         "is still read (both are read at the same time, each with a timeout).")
    sandbox.stop_haproxy(PRIMARY)
    failover("status", "--config", config)
    failover("health", "eqiad1", PRIMARY, "--config", config, "--json")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Run the demo; return its exit code (130 on Ctrl-C, after cleaning up)."""
    # Ctrl-C and SIGTERM both unwind through the cleanup below, even when started in the
    # background (where the shell leaves SIGINT ignored and Python would not see it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="fo-demo-", dir="/tmp"))
    try:
        step("Starting the sandbox",
             f"Two real HAProxy ({', '.join(CONTROLLERS)}) and {2 * len(DEFAULT_SERVICES)} "
             f"tiny HTTP backends on 127.0.0.1, in {workdir}")
        with start_region(DEFAULT_SERVICES, CONTROLLERS, workdir=workdir) as sandbox:
            demo(sandbox)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: everything stopped[/]")
        return 130
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    console.rule("[bold]Done: every HAProxy and backend stopped, temp dir removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
