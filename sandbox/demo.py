"""`make demo`: a whole failover in the local sandbox, step by step, as an operator runs it.

Starts the sandbox world on 127.0.0.1 (two real HAProxy with their backends, operations/dns
behind the Gerrit stand-in over SSH and smart HTTP, two real gdnsd, the sandbox's
authdns-update), then runs: `failover status`, `failover promote --dry-run`, the real promote
(the sandbox reviewer approves and merges the change), `failover verify`, `failover check`,
a failover back after a backend on the new primary fails, and a second service (irc, a TCP
service with a relative target in templates/wikimedia.org) failed over and back. Everything
is stopped and removed at the end, also on Ctrl-C.

Run: python -m sandbox.demo
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys

from rich.console import Console

from sandbox.world import CONTROLLERS, IRC_HOSTS, REGION, SERVICES, World, start_world

WIDTH = max(80, min(shutil.get_terminal_size((100, 24)).columns, 110))
"""One width for the demo's rules and every panel and table the tool prints (its COLUMNS)."""
console = Console(width=WIDTH)
OLD, NEW = CONTROLLERS
TITLE_ROOM = 70
"""The longest section title: a rule of 80 columns shows it whole."""


def step(title: str, why: str) -> None:
    """Print a step's heading (a rule the width of the tool's panels) and what it shows."""
    assert len(title) <= TITLE_ROOM, f"section title longer than {TITLE_ROOM}: {title}"
    console.rule(f"[bold]{title}")
    console.print(f"[dim]{why}[/]")


def failover(world: World, *args: str) -> int:
    """Run `failover ARGS...` as the operator would, output straight to the terminal."""
    argv = [sys.executable, "-m", "failover.cli", *args]
    console.print(f"[bold cyan]$ failover {shlex.join(args)}[/]", highlight=False)
    env = {**world.env, "COLUMNS": str(WIDTH), "TMUX": "demo"}
    code = subprocess.run(argv, timeout=300, check=False, env=env,
                          stdin=subprocess.DEVNULL).returncode
    console.print(f"[dim](exit {code})[/]")
    return code


def show_outside(world: World) -> None:
    """Show what the SAL relay received, Alertmanager's silences and the task's comments."""
    out = world.outside
    if out is None:
        return
    console.print("[bold]The SAL relay received:[/]")
    for line in out.sal.wait_for(2):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    if out.alertmanager is not None:
        import requests

        answer = requests.get(f"{out.alertmanager.url}/api/v2/silences", timeout=5).json()
        console.print(f"[bold]Alertmanager ({out.alertmanager.url}) holds:[/]")
        for s in answer:
            matchers = ", ".join(f"{m['name']}{'=~' if m['isRegex'] else '='}\"{m['value']}\""
                                 for m in s["matchers"])
            console.print(f"  {s['id']} {s['status']['state']} {matchers} until {s['endsAt']}"
                          f" by {s['createdBy']}: {s['comment']}", highlight=False,
                          soft_wrap=True)
    for task, text in out.conduit.comments:
        console.print(f"[bold]Comment on {task} (Conduit stand-in):[/]")
        console.print("  " + text.replace("\n", "\n  "), highlight=False, soft_wrap=True)


def demo(world: World) -> int:
    """Walk through a failover and a failback; return 0 when every step did what it should."""
    console.print(f"config: {world.config_path} (FAILOVER_CONFIG is set for every command)")
    bad = 0
    step("1. Where does the name point? Can each controller serve?",
         "Both nameservers answer the CNAME to cloudcontrol1003; both HAProxy are healthy.")
    bad += failover(world, "status") != 0

    step("2. Preview the failover (the week before)",
         "--dry-run reads everything, builds the change in a temporary worktree and shows the "
         "diff, the commit message, the push, the deploy and the nameservers; it pushes, "
         "deploys and changes nothing.")
    silence = ["--silence", "2h"] if world.outside and world.outside.alertmanager else []
    bad += failover(world, "promote", REGION, NEW, "--dry-run", "--bug", "T12345",
                    "--reason", "cloudcontrol1003 maintenance", *silence) != 0

    step("3. The failover",
         "Pushed to the Gerrit stand-in, approved and merged by the sandbox reviewer, deployed "
         "to both gdnsd by the sandbox authdns-update, verified at every nameserver.")
    bad += failover(world, "promote", REGION, NEW, "--yes", "--bug", "T12345",
                    "--reason", "cloudcontrol1003 maintenance", *silence) != 0
    show_outside(world)

    step("4. Verify, as after any DNS change",
         "Every nameserver answers the new target; the monitoring check (NRPE) says OK.")
    bad += failover(world, "verify", REGION, "--expect", NEW, "--once") != 0
    bad += failover(world, "check", REGION) != 0

    step("5. Running it again: nothing to do", f"The name already points at {NEW}: exit 0.")
    bad += failover(world, "promote", REGION, NEW, "--yes") != 0

    step(f"6. nova_api fails on {NEW}: fail back to {OLD}",
         f"HAProxy marks {NEW}'s nova_api server DOWN on both controllers; {OLD} still serves "
         "it (UP 1/2), so it can take the traffic back.")
    world.haproxy.stop_backend("nova_api", NEW)
    for controller in (OLD, NEW):  # each HAProxy notices at its own next check
        world.haproxy.wait_server_status(controller, "nova_api", NEW, "DOWN")
    bad += failover(world, "health", REGION) != 0
    bad += failover(world, "promote", REGION, OLD, "--yes", "--bug", "T12345",
                    "--reason", f"nova_api down on {NEW}") != 0
    bad += failover(world, "status") != 0

    step("7. A service: irc.wikimedia.org",
         "A [services.irc] name in templates/wikimedia.org, its target written relative "
         "(`irc  5M  IN CNAME    irc1001`), each candidate's health a TCP connect: the same "
         "steps; the edit keeps the relative form. The failback is written as Gerrit's Revert.")
    bad += failover(world, "status", "irc") != 0
    bad += failover(world, "promote", "irc", IRC_HOSTS[1], "--yes", "--bug", "T12345",
                    "--reason", f"{IRC_HOSTS[0]} reboot") != 0
    bad += failover(world, "verify", "irc", "--expect", IRC_HOSTS[1], "--once") != 0
    bad += failover(world, "promote", "irc", IRC_HOSTS[0], "--yes", "--reason",
                    f"{IRC_HOSTS[0]} is back") != 0
    console.print("[bold]The failback's commit, as merged:[/]")
    console.print(subprocess.run(["git", "--git-dir", str(world.dns.gerrit.git_dir), "log", "-1",
                                  "--format=%B"], capture_output=True, text=True, timeout=30,
                                 check=False).stdout.strip(), highlight=False)

    step("8. The audit log", "One JSON line per step and outcome, for every run.")
    lines = world.audit_path.read_text().splitlines()
    console.print(f"{len(lines)} lines in {world.audit_path}; the last one:")
    console.print_json(lines[-1])
    return 1 if bad else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Run the demo; return its exit code (130 on Ctrl-C, after cleaning up)."""
    # Ctrl-C and SIGTERM both unwind through the cleanup, even when started in the background
    # (where the shell leaves SIGINT ignored and Python would not see it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        step("Starting the sandbox",
             f"Two real HAProxy with {len(SERVICES) * len(CONTROLLERS)} tiny HTTP backends, "
             "operations/dns served by the Gerrit stand-in over SSH (real OpenSSH) and smart "
             "HTTP with an operator's checkout of it, two real gdnsd: all on 127.0.0.1.")
        with start_world(auto_merge_after=1.0, outside=True) as world:
            code = demo(world)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: everything stopped[/]")
        return 130
    console.rule("[bold]Done: every server stopped, temporary directory removed")
    if code:
        console.print("[red]a step did not do what it should: see above[/]")
    console.print("To type the commands yourself against the same world: make sandbox")
    return code


if __name__ == "__main__":
    sys.exit(main())
