"""The runbooks stay true: every `$ failover ...` they show is run against the sandbox world.

Each runbook (runbooks/*.md) gets one sandbox world (real HAProxy, gdnsd, git and the Gerrit
stand-in: sandbox.world). Before a command, the `<!-- sandbox: NAME -->` marks seen
since the previous one run the setups below of that NAME, which put the world in the state the
section describes. The command runs in-process through cli.main; its exit code and output are
compared with the runbook by sandbox.runbook (conventions in runbooks/README.md).

To see what the commands print now (substituted and compacted, ready to paste into a runbook):
    RUNBOOK_SHOW=/tmp/runbooks.out pytest tests/test_runbooks.py
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from failover.lock import FailoverLock
from failover.zone import current_target, render_template, zone_name
from sandbox.authdns_update import merged_template
from sandbox.dnsrepo import (
    DB_MASTERS,
    M1_PROXIES,
    WIKIMEDIA_PATH,
    WMNET_PATH,
    ZONE_PATH,
    RegionRecord,
    push_upstream_edit,
    wikimedia_template,
    wmnet_template,
    zone_template,
)
from sandbox.gdnsd import Gdnsd
from sandbox.gerrit import Faults
from sandbox.gerrit_hook import locked_state
from sandbox.haproxy import haproxy_available
from sandbox.runbook import (
    Command,
    RunbookError,
    compact_boxes,
    compare,
    environment,
    match_lines,
    normalise,
    parse_runbook,
    realign_tables,
    run_in_process,
    shown,
    substitute,
)
from sandbox.world import REGION, Outside, World, start_outside, start_world

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
FQDN = f"openstack.{REGION}.wikimediacloud.org"
AUTO_MERGE = 0.4
"""Seconds after which the sandbox reviewer merges a pushed change (when one is on duty)."""
PRODUCTION_NAMESERVERS = ("208.80.154.238", "208.80.153.231", "198.35.27.27")
PRODUCTION_DEPLOY = "ssh dns1004.wikimedia.org sudo -i authdns-update"
NO_FLAP_WINDOW = ["[safety]", "flap_window = 0", ""]
"""The setups' upstream commits are seconds old, and a runbook fails back within minutes: the
flap window (tests/world/test_others.py) is not what the runbooks show."""


class Sandbox:
    """A world and the state the runbook's current section wants it in."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.tmux = True
        self.lock: FailoverLock | None = None
        self.stop_thread = threading.Event()
        self.thread: threading.Thread | None = None
        self.outside: Outside | None = None
        """The SAL relay, Alertmanager and Conduit: configured by the services' setups only."""
        self.listeners: dict[str, socket.socket] = {}
        """A TCP listener per service candidate or group side (its `tcp` health)."""

    def env(self) -> dict[str, str | None]:
        """Return the environment a command runs in (the operator's, with the sandbox config)."""
        w = self.world
        return {"FAILOVER_CONFIG": str(w.config_path), "XDG_STATE_HOME": str(w.workdir / "state"),
                "COLUMNS": "500", "TMUX": "/tmp/tmux-0/default,1,0" if self.tmux else None,
                "STY": None, "FAILOVER_DEBUG": None, "FAILOVER_GERRIT_USER": None,
                "FAILOVER_GERRIT_PASSWORD": None, "TMPDIR": str(w.workdir),
                "FAILOVER_PHABRICATOR_TOKEN": w.outside.conduit.token if w.outside else None}

    def substitutions(self) -> list[tuple[str, str]]:
        """Return the sandbox's strings and production's, for the output as a runbook shows it."""
        w = self.world
        subs = [(w.dns.gerrit.rest_url, "https://gerrit.wikimedia.org/r"),
                (" ".join(w.settings.get("deploy", w.deploy_argv())), PRODUCTION_DEPLOY),
                *[(" ".join(w.deploy_argv(zone=path)), PRODUCTION_DEPLOY)  # a name's own zone
                  for path in (WMNET_PATH, WIKIMEDIA_PATH) if "deploy" not in w.settings],
                (str(w.workdir / "state"), "~/.local/state"),
                (str(w.config_path), "~/.config/failover/config.toml"),
                (str(w.dns.checkout), "~/src/operations/dns")]
        for g, ns in zip(w.gdnsd, PRODUCTION_NAMESERVERS, strict=True):
            subs += [(g.address, ns), (f'"address": "127.0.0.1",\n      "port": {g.port},',
                                       f'"address": "{ns}",\n      "port": 53,')]
        subs += [(c.stats_url, f"http://{name}.wikimedia.org:9900/stats;csv")
                 for name, c in w.haproxy.controllers.items()]
        if w.outside is not None:
            subs += [(w.outside.conduit.url, "https://phabricator.wikimedia.org")]
            if w.outside.alertmanager is not None:
                subs += [(w.outside.alertmanager.url, "https://alertmanager-eqiad.wikimedia.org")]
        import getpass
        import socket

        user, host = getpass.getuser(), socket.gethostname()
        subs += [(f"{user}@{host}", "<user>@<host>"), (f"go from {user}", "go from <user>"),
                 (f"--force by {user}", "--force by <user>")]
        return subs

    # -- pieces of state ----------------------------------------------------------------------

    def point_master_at(self, target: str) -> None:
        """Make the upstream zone template's record point at `target` (a commit on master)."""
        gerrit = self.world.dns.gerrit
        if current_target(merged_template(gerrit.git_url, "master", ZONE_PATH), FQDN,
                          path=ZONE_PATH) == target:
            return
        text = zone_template((RegionRecord(REGION, target),
                              RegionRecord("codfw1dev", "cloudcontrol2001-dev.wikimedia.org.")))
        # the zone file's own topic: the topic a promote's subject takes from this history
        # stays `wikimediacloud.org` however many setups ran before
        push_upstream_edit(gerrit, ZONE_PATH, text,
                           message=f"wikimediacloud.org: point {FQDN} at {target} (sandbox)")

    def deploy(self, servers: list[Gdnsd] | None = None, path: str = ZONE_PATH) -> None:
        """Serve the upstream template's rendering on `servers` (default: every nameserver)."""
        text = render_template(merged_template(self.world.dns.gerrit.git_url, "master",
                                               path), serial=int(time.time()))
        for g in self.world.gdnsd if servers is None else servers:
            g.set_zone(zone_name(path), text)
            g.reload()

    def put_template(self, path: str, text: str, why: str) -> None:
        """Make the upstream `path` hold `text` (a commit on master when it differs), serve it
        on every nameserver, and bring the operator's checkout up to date."""
        gerrit = self.world.dns.gerrit
        try:
            now = merged_template(gerrit.git_url, "master", path)
        except subprocess.CalledProcessError:  # not in the repository yet
            now = None
        if now != text:
            push_upstream_edit(gerrit, path, text, message=f"{why} (sandbox)")
        self.deploy(path=path)
        subprocess.run(["git", "pull", "--quiet", "--ff-only"], cwd=self.world.dns.checkout,
                       check=True, timeout=30, capture_output=True)

    def port(self, name: str) -> int:
        """Return the port of `name`'s TCP listener (opened on first use, kept open)."""
        if name not in self.listeners:
            self.listeners[name] = socket.create_server(("127.0.0.1", 0))
        return int(self.listeners[name].getsockname()[1])

    def tcp_health(self, name: str) -> str:
        """Return the inline `tcp` health of `name`'s listener, as a config value."""
        return f'{{kind = "tcp", host = "127.0.0.1", port = {self.port(name)}, timeout = 2}}'

    def with_services(self) -> None:
        """Configure what the services' runbooks use: irc (irc1001, irc1002), m1-master
        (dbproxy1024, dbproxy1022), the db-masters group (eqiad, codfw), a TCP listener as the
        health of each; the SAL relay, Alertmanager and the Phabricator stand-in."""
        w = self.world
        w.irc = {name: self.listeners.get(name) or socket.create_server(("127.0.0.1", 0))
                 for name in ("irc1001", "irc1002")}
        self.listeners.update(w.irc)
        lines = [*NO_FLAP_WINDOW, "[services.m1-master]", f'zone_file = "{WMNET_PATH}"',
                 'fqdn = "m1-master.eqiad.wmnet"', ""]
        for proxy in M1_PROXIES:
            lines += [f"[services.m1-master.candidates.{proxy}]",
                      f'target = "{proxy}.eqiad.wmnet."', f"health = {self.tcp_health(proxy)}",
                      ""]
        lines += ["[groups.db-masters]", f'zone_file = "{WMNET_PATH}"',
                  'sides = ["eqiad", "codfw"]', "", "[groups.db-masters.members]"]
        lines += [f'"{s}-master.{dc}.wmnet" = {{eqiad = "{e}.eqiad.wmnet.", '
                  f'codfw = "{c}.codfw.wmnet."}}'
                  for dc in ("eqiad", "codfw") for s, (e, c) in DB_MASTERS.items()]
        lines += ["", "[groups.db-masters.health]",
                  f"eqiad = {self.tcp_health('db-eqiad')}",
                  f"codfw = {self.tcp_health('db-codfw')}", ""]
        w.outside = self.outside
        w.write_config(extra_config=lines)

    def reset(self, primary: str = C3) -> None:
        """Bring the world back: the name on `primary` everywhere, all healthy, nothing open."""
        w = self.world
        self.stop_thread.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.stop_thread = threading.Event()
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.tmux = True
        gerrit = w.dns.gerrit
        gerrit.auto_merge_after = AUTO_MERGE
        gerrit.merge_after_poll = True  # the transcripts' "waiting for review" line, under load too
        gerrit.faults = Faults()
        gerrit.set_prohibited(None)
        for change in gerrit.changes():
            if change["status"] == "NEW":
                gerrit.abandon(change["number"])
        w.settings.clear()
        w.irc, w.outside = {}, None  # the services' runbooks add them back
        w.write_config(extra_config=NO_FLAP_WINDOW)
        for g in w.gdnsd:
            if g.process is None or g.process.poll() is not None:
                g.start()
        last = subprocess.run(["git", "--git-dir", str(gerrit.git_dir), "log", "-1", "--format=%s",
                               "master", "--", ZONE_PATH], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()
        if not last.endswith("(sandbox)"):  # a runbook starts anew: its promote never reverts
            self.point_master_at("cloudcontrol1005.wikimedia.org.")  # an earlier runbook's
        self.point_master_at(f"{primary}.wikimedia.org.")
        self.deploy()
        subprocess.run(["git", "pull", "--quiet", "--ff-only"], cwd=w.dns.checkout, check=True,
                       timeout=30, capture_output=True)
        w.haproxy.reset()
        state = w.workdir / "state" / "failover"
        for leftover in [w.dns.checkout / ".git" / "failover.lock", state / "check-state.json"]:
            leftover.unlink(missing_ok=True)

    def maint(self, controller: str, service: str) -> None:
        """Put every server of `service` in maintenance on `controller`'s HAProxy."""
        for server in (C3, C4):
            self.world.haproxy.set_server_state(controller, service, server, "maint")
        self.world.haproxy.wait_server_status(controller, service, C4, "MAINT")

    def in_background(self, every: Callable[[], bool]) -> None:
        """Call `every()` every 0.05 s in a thread until it returns True or the next reset
        (or the next `in_background`: one such thread at a time)."""
        self.stop_thread.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.stop_thread = stop = threading.Event()

        def loop() -> None:
            while not stop.wait(0.05):
                if every():
                    return

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()


SETUPS: dict[str, Callable[[Sandbox], None]] = {}
"""Every setup, by the name a runbook's mark uses."""
KEEPS_STATE = {"no-tmux", "reviewer-approves", "change-restored", "deploy-fixed",
               "nameserver-caught-up", "reverted-in-gerrit", "codfw-side-down"}
"""Setups that change one thing and keep the rest (all others reset the world first)."""


def setup(name: str) -> Callable[[Callable[[Sandbox], None]], Callable[[Sandbox], None]]:
    """Register a setup under the name a runbook's `<!-- sandbox: NAME -->` mark uses."""
    def register(fn: Callable[[Sandbox], None]) -> Callable[[Sandbox], None]:
        SETUPS[name] = fn
        return fn
    return register


@setup("healthy")
def _healthy(sb: Sandbox) -> None:
    """The name on cloudcontrol1003 everywhere; both HAProxy healthy; a reviewer on duty."""
    sb.reset(C3)


@setup("no-tmux")
def _no_tmux(sb: Sandbox) -> None:
    """(Keeps the state.) The operator is not inside tmux or screen."""
    sb.tmux = False


@setup("failed-over")
def _failed_over(sb: Sandbox) -> None:
    """The name on cloudcontrol1004 everywhere; both HAProxy healthy."""
    sb.reset(C4)


@setup("in-maintenance")
def _in_maintenance(sb: Sandbox) -> None:
    """The name on cloudcontrol1004; cloudcontrol1003's HAProxy stopped for its maintenance."""
    sb.reset(C4)
    sb.world.haproxy.stop_haproxy(C3)


@setup("primary-haproxy-down")
def _primary_haproxy_down(sb: Sandbox) -> None:
    """The name on cloudcontrol1003, whose HAProxy is down; cloudcontrol1004 healthy."""
    sb.reset(C3)
    sb.world.haproxy.stop_haproxy(C3)


@setup("target-partly-unhealthy")
def _target_partly_unhealthy(sb: Sandbox) -> None:
    """cloudcontrol1003's HAProxy down; on cloudcontrol1004 designate has no server up."""
    sb.reset(C3)
    sb.world.haproxy.stop_haproxy(C3)
    sb.maint(C4, "designate")


@setup("both-haproxy-down")
def _both_down(sb: Sandbox) -> None:
    """Neither controller's HAProxy answers."""
    sb.reset(C3)
    sb.world.haproxy.stop_haproxy(C3)
    sb.world.haproxy.stop_haproxy(C4)


@setup("primary-unhealthy")
def _primary_unhealthy(sb: Sandbox) -> None:
    """The name on cloudcontrol1003, whose HAProxy has no nova_api server up."""
    sb.reset(C3)
    sb.maint(C3, "nova_api")


@setup("standby-unhealthy")
def _standby_unhealthy(sb: Sandbox) -> None:
    """The name on cloudcontrol1003; the standby cloudcontrol1004 has no nova_api server up."""
    sb.reset(C3)
    sb.maint(C4, "nova_api")


@setup("no-reviewer")
def _no_reviewer(sb: Sandbox) -> None:
    """As healthy, but nobody reviews: pushed changes stay open."""
    sb.reset(C3)
    sb.world.dns.gerrit.auto_merge_after = None


@setup("review-timeout-1s")
def _review_timeout(sb: Sandbox) -> None:
    """As no-reviewer, with [gerrit] review_timeout = 1."""
    _no_reviewer(sb)
    sb.world.write_config(review_timeout=1)


@setup("reviewer-approves")
def _reviewer_approves(sb: Sandbox) -> None:
    """(Keeps the state.) A reviewer merges every open change once the next run follows it.

    The merge waits for an event, not a delay: the answer to the run's first poll of the
    change (its review step, GET .../detail). The run's state step, before it, has then read
    the change open and the zone at the fetched tip unchanged (`resume review`), and the
    review step shows it NEW once, then merged. Changes pushed later merge as in `healthy`.
    """
    gerrit = sb.world.dns.gerrit
    gerrit.auto_merge_after = None
    waiting = {c["number"] for c in gerrit.changes() if c["status"] == "NEW"}
    seen = len(gerrit.answered)

    def merge_once_followed() -> bool:
        polled = gerrit.answered[seen:]
        for number in sorted(waiting):
            if any(re.search(rf"~{number}/detail(?:\?|$)", path) for path in polled):
                waiting.discard(number)
                with contextlib.suppress(ValueError):  # abandoned or merged meanwhile
                    gerrit.approve_and_merge(number)
        if not waiting:
            gerrit.auto_merge_after = AUTO_MERGE
        return not waiting

    if not merge_once_followed():
        sb.in_background(merge_once_followed)
    sb.world.write_config(review_timeout=60)


@setup("reviewer-abandons")
def _reviewer_abandons(sb: Sandbox) -> None:
    """As healthy, but the reviewer abandons the change a moment after it is pushed."""
    sb.reset(C3)
    gerrit = sb.world.dns.gerrit
    gerrit.auto_merge_after = None

    def abandon_new() -> bool:
        new = [c for c in gerrit.changes() if c["status"] == "NEW"
               and time.time() - c["patch_sets"][-1]["created"] > AUTO_MERGE]
        for change in new:
            gerrit.abandon(change["number"])
        return bool(new)

    sb.in_background(abandon_new)


@setup("change-restored")
def _change_restored(sb: Sandbox) -> None:
    """(Keeps the state.) Someone restores the abandoned change in Gerrit; a reviewer merges."""
    with locked_state(sb.world.dns.gerrit.git_dir) as state:
        # the reviewer's: the last one abandoned (an earlier section's, abandoned by its reset,
        # stays so: restored too, it would be an older open change the promote must stop for)
        abandoned = [c for c in state["changes"] if c["status"] == "ABANDONED"]
        if abandoned:
            change = max(abandoned, key=lambda c: c["number"])
            change["status"], change["updated"] = "NEW", time.time()
    _reviewer_approves(sb)


@setup("deploy-fails")
def _deploy_fails(sb: Sandbox) -> None:
    """As healthy, but the deploy command fails (a nameserver directory is missing)."""
    sb.reset(C3)
    w = sb.world
    argv = w.deploy_argv()
    at = argv.index("--gdnsd")  # the missing one first: no nameserver gets the new zone
    w.write_config(deploy=[*argv[:at], "--gdnsd", str(w.workdir / "missing"), *argv[at:]])


@setup("deploy-fixed")
def _deploy_fixed(sb: Sandbox) -> None:
    """(Keeps the state.) The deploy command works again."""
    sb.world.settings.pop("deploy", None)
    sb.world.write_config()


@setup("stale-nameserver")
def _stale_nameserver(sb: Sandbox) -> None:
    """As healthy, but the deploy misses the third nameserver; [verify] timeout = 1."""
    sb.reset(C3)
    w = sb.world
    w.write_config(deploy=w.deploy_argv(w.gdnsd[:2]), verify_timeout=1)


@setup("nameserver-caught-up")
def _caught_up(sb: Sandbox) -> None:
    """(Keeps the state.) authdns-update run by hand: every nameserver serves the merged zone."""
    sb.deploy()
    sb.world.settings.pop("deploy", None)
    sb.world.write_config()


@setup("nameservers-disagree")
def _disagree(sb: Sandbox) -> None:
    """The change to cloudcontrol1004 is merged; the third nameserver still serves the old one."""
    sb.reset(C3)
    sb.point_master_at(f"{C4}.wikimedia.org.")
    sb.deploy(sb.world.gdnsd[:2])


@setup("nameservers-disagree-for-20-minutes")
def _disagree_long(sb: Sandbox) -> None:
    """As nameservers-disagree, first seen by the check 20 minutes ago."""
    _disagree(sb)
    state = sb.world.workdir / "state" / "failover" / "check-state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({REGION: {"since": time.time() - 1200}}))


@setup("unknown-target")
def _unknown_target(sb: Sandbox) -> None:
    """The name points at cloudcontrol1005, a controller the config does not know."""
    sb.reset(C3)
    sb.point_master_at("cloudcontrol1005.wikimedia.org.")
    sb.deploy()


@setup("nameservers-down")
def _nameservers_down(sb: Sandbox) -> None:
    """No nameserver answers (every gdnsd stopped)."""
    sb.reset(C3)
    for g in sb.world.gdnsd:
        g.stop()


@setup("reverted-in-gerrit")
def _reverted(sb: Sandbox) -> None:
    """(Keeps the rest.) A revert merged upstream by hand and deployed: back on cloudcontrol1003."""
    sb.point_master_at(f"{C3}.wikimedia.org.")
    sb.deploy()


@setup("irc-on-irc1001")
def _irc_on_irc1001(sb: Sandbox) -> None:
    """The services configured (irc, m1-master, db-masters; SAL, Alertmanager, Phabricator);
    irc.wikimedia.org on irc1001 everywhere; every candidate healthy; a reviewer on duty."""
    sb.reset(C3)
    sb.with_services()
    sb.put_template(WIKIMEDIA_PATH, wikimedia_template(irc="irc1001"),
                    "wikimedia.org: irc to irc1001")


@setup("db-on-eqiad")
def _db_on_eqiad(sb: Sandbox) -> None:
    """The services configured (as irc-on-irc1001); in templates/wmnet every sN-master alias
    on eqiad's master, m1-master on dbproxy1024; every candidate and side healthy."""
    sb.reset(C3)
    sb.with_services()
    sb.put_template(WMNET_PATH, wmnet_template(0), "wmnet: DB masters on eqiad")


@setup("codfw-side-down")
def _codfw_side_down(sb: Sandbox) -> None:
    """(Keeps the state.) The codfw side's health check fails (its listener closed)."""
    sb.listeners.pop("db-codfw").close()


@setup("config-broken")
def _config_broken(sb: Sandbox) -> None:
    """As healthy, but [verify] timeout is written as a string in the config."""
    sb.reset(C3)
    path = sb.world.config_path
    text = path.read_text()
    assert "\ntimeout = 20\n" in text
    path.write_text(text.replace("\ntimeout = 20\n", '\ntimeout = "15m"\n'))


@setup("lock-held")
def _lock_held(sb: Sandbox) -> None:
    """As healthy, while another promote of the same checkout runs (it holds the lock)."""
    sb.reset(C3)
    sb.lock = FailoverLock.for_checkout(sb.world.dns.checkout,
                                        f"promote {REGION} {C4}").acquire()


@setup("stale-lock")
def _stale_lock(sb: Sandbox) -> None:
    """As healthy, with the lock file a killed promote left behind (nobody holds it)."""
    sb.reset(C3)
    lock = FailoverLock.for_checkout(sb.world.dns.checkout, f"promote {REGION} {C4}")
    lock.acquire()
    fd = lock._fd  # close it without removing the file, as the kernel does for a killed run
    lock._fd = None
    assert fd is not None
    os.close(fd)


# -- the tests ----------------------------------------------------------------------------------

def runbook_paths() -> list[Path]:
    return sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")


SECOND_MODULE = {"planned-maintenance.md", "stuck-failover.md", "verify-dns-change.md",
                 "db-masters-switchover.md"}
"""The runbooks tests/world/test_runbooks_more.py runs, in a world of its own: under
`--dist loadfile` the two halves run on two workers (together they set the suite's floor)."""


def module_paths(*, second: bool) -> list[Path]:
    """Return the runbooks of this module (or, `second`, of test_runbooks_more.py)."""
    return [p for p in runbook_paths() if (p.name in SECOND_MODULE) == second]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One world for every runbook: each runbook starts with a setup that resets it."""
    if not haproxy_available():
        pytest.skip("haproxy not installed")
    with start_world(auto_merge_after=AUTO_MERGE, nameservers=3, irc=False) as world, \
            start_outside(world.workdir / "outside") as outside:
        sb = Sandbox(world)
        sb.outside = outside
        try:
            yield sb
        finally:
            sb.stop_thread.set()
            if sb.lock is not None:
                sb.lock.release()
            for listener in sb.listeners.values():
                listener.close()


@pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")
@pytest.mark.timeout(300)  # the longest runbook takes about a minute on a quiet machine
@pytest.mark.parametrize("path", module_paths(second=False), ids=lambda p: p.name)
def test_runbook_commands_give_what_the_runbook_shows(path: Path, sandbox: Sandbox) -> None:
    commands = parse_runbook(path.read_text(encoding="utf-8"))
    assert commands, f"{path.name} shows no command"
    assert commands[0].setups[0] not in KEEPS_STATE, \
        f"{path.name} must start with a setup that resets the world, not {commands[0].setups[0]}"
    failures = []
    show = os.environ.get("RUNBOOK_SHOW")
    for cmd in commands:
        start = time.monotonic()
        for name in cmd.setups:
            assert name in SETUPS, f"{path.name}:{cmd.line}: no sandbox setup named {name!r}"
            with environment(sandbox.env()):
                SETUPS[name](sandbox)
        ready = time.monotonic()
        run = run_in_process(cmd, sandbox.env())
        subs = sandbox.substitutions()
        failures += [f"{path.name}:{cmd.line}: $ {cmd.text}: {p}" for p in compare(cmd, run, subs)]
        if show:
            with open(show, "a", encoding="utf-8") as fh:
                fh.write(f"### {path.name}:{cmd.line} {cmd.setups} setup {ready - start:.2f}s,"
                         f" run {time.monotonic() - ready:.2f}s\n$ {cmd.text}\n"
                         f"{shown(run, subs)}\n\n")
    assert not failures, "\n".join(failures)


def test_every_setup_a_runbook_names_exists_and_every_setup_is_used() -> None:
    used = {name for p in runbook_paths() for c in parse_runbook(p.read_text()) for name in
            c.setups}
    assert used <= set(SETUPS), used - set(SETUPS)
    assert set(SETUPS) <= used, f"setups no runbook uses: {set(SETUPS) - used}"


def test_readme_lists_every_runbook() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for p in runbook_paths():
        assert f"({p.name})" in index, p.name


# -- the conventions themselves (pure logic) ------------------------------------------------------

BOOK = """\
# A runbook
<!-- sandbox: healthy -->
```console
$ failover status
eqiad1  openstack.eqiad1.wikimediacloud.org -> cloudcontrol1003
...
$ failover promote eqiad1 cloudcontrol1004 \\
    --bug T1
==> Push the change to origin for review?
> abort
(exit 3)
```
```bash
tmux new -s failover
```
<!-- sandbox: no-tmux -->
```console
$ failover verify eqiad1 --once --json 2>/dev/null | jq -r '.servers[] | .verdict'
matches
```
"""


def test_parse_reads_commands_outputs_exit_codes_answers_and_setups() -> None:
    first, second, third = parse_runbook(BOOK)
    assert first.args == ("status",) and first.setups == ("healthy",)
    assert first.expected[-1] == "..." and first.exit_code == 0
    assert second.args == ("promote", "eqiad1", "cloudcontrol1004", "--bug", "T1")
    assert second.exit_code == 3 and second.answers == ("abort",) and second.setups == ()
    assert third.setups == ("no-tmux",) and not third.keep_stderr
    assert third.args == ("verify", "eqiad1", "--once", "--json")
    assert third.jq == ("-r", ".servers[] | .verdict") and third.expected == ("matches",)


@pytest.mark.parametrize("bad", [
    "<!-- sandbox: healthy -->\n```console\n$ ls -l\n```\n",
    "```console\n$ failover status\n```\n",
    "<!-- sandbox: healthy -->\n```console\n$ failover status | grep x\n```\n",
    "<!-- sandbox: healthy -->\n```console\noutput first\n$ failover status\n```\n",
    "<!-- sandbox: healthy -->\n```console\n$ failover status\n",
])
def test_parse_refuses_what_breaks_the_conventions(bad: str) -> None:
    with pytest.raises(RunbookError):
        parse_runbook(bad)


def test_normalise_makes_what_varies_a_placeholder() -> None:
    line = ("✓ push (0.1s): http://127.0.0.1:45033/r/c/operations/dns/+/12 (new change) "
            "Change-Id: I47d1bbbedaebe4dd15cd08ffb7d07b5f90f5e275 commit 8c2dd3ec0cfd "
            "at 2026-11-29 01:42:22 UTC rtt 4.0 ms 'dns_rtt_max'=0.4ms pid 4242 /tmp/fo-world-x1")
    assert normalise(line) == (
        "✓ push (<n>s): http://127.0.0.1:<port>/r/c/operations/dns/+/<n> (new change) "
        "Change-Id: I<change-id> commit <sha> at <time> rtt <n> ms 'dns_rtt_max'=<n>ms "
        "pid <pid> <tmp>")
    assert normalise("┏━━━━┳━━┓   │ a    │") == normalise("┏━┳━━━━━━━┓ │ a │") == "┏━┳━┓ │ a │"


def test_substitute_replaces_longest_first() -> None:
    subs = [("127.0.0.1:5", "ns-short"), ("127.0.0.1:53", "ns-long")]
    assert substitute("127.0.0.1:53 127.0.0.1:5", subs) == "ns-long ns-short"


def test_match_lines_skips_with_dots_and_reports_the_first_mismatch() -> None:
    assert match_lines(["a", "...", "d"], ["a", "b", "c", "d"]) is None
    assert match_lines(["a", "...", "d"], ["a", "d"]) is None
    assert match_lines(["a", "..."], ["a"]) is None
    assert match_lines(["a", "b"], ["a", "b", "extra"]) == 1
    assert match_lines(["a", "x", "d"], ["a", "b", "d"]) == 1


def test_compare_checks_the_exit_code_and_the_output() -> None:
    from sandbox.runbook import Run

    cmd = Command("failover x", 1, ("x",), ("OK - fine (0.2s)",), exit_code=0)
    assert compare(cmd, Run(0, "OK -   fine (1.5s)\n"), []) == []
    assert compare(cmd, Run(2, "OK - fine (1s)\n"), []) == [
        "exit code 2, the runbook says 0"]
    assert compare(cmd, Run(0, "CRITICAL\n"), [])[0].startswith("output differs")


def test_realign_tables_pads_columns_to_the_widest_cell() -> None:
    table = ["┏━━━━━━━━━━━━━━━━━┳━━━━━━━┓", "┃ server          ┃   rtt ┃",
             "┡━━━━━━━━━━━━━━━━━╇━━━━━━━┩", "│ 198.35.27.27 │ 1.0 ms │",
             "└─────────────────┴───────┘"]
    assert realign_tables(table) == [
        "┏━━━━━━━━━━━━━━┳━━━━━━━━┓", "┃ server       ┃    rtt ┃", "┡━━━━━━━━━━━━━━╇━━━━━━━━┩",
        "│ 198.35.27.27 │ 1.0 ms │", "└──────────────┴────────┘"]


def test_compact_boxes_narrows_panels() -> None:
    wide = ["╭─ commit ─────────────────╮", "│ subject                  │",
            "╰──────────────────────────╯"]
    assert compact_boxes(wide) == ["╭─ commit ─╮", "│ subject  │", "╰──────────╯"]
