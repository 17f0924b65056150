"""Sandbox promote: wall time per step, the tool's own overhead, and the same steps by hand.

The tool's overhead is everything but waiting for the merge (review) and the deploy; the
target is under 2 s. "By hand" runs what an operator types without the tool, as separate
commands in the same world: curl both stats pages, sed the record, git commit, git push for
review, dig each nameserver. Figures only, never asserted.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.run import Figure
from failover.config import load_config
from failover.promote.plan import Plan, PromoteRequest, QuietObserver
from failover.promote.run import Promotion
from sandbox.dnsrepo import ZONE_PATH
from sandbox.world import CONTROLLERS, REGION, World, start_world

WAITS = ("review", "deploy", "confirm-push", "confirm-deploy")
"""Steps that wait for people or other systems, not the tool's own work."""


def promote_once(world: World, target: str) -> tuple[float, Plan]:
    """Return the wall time of one in-process promote to `target`, and its plan."""
    cfg = load_config(world.config_path)
    start = time.perf_counter()
    plan = Promotion(cfg, PromoteRequest(REGION, target, yes=True), QuietObserver()).run()
    return time.perf_counter() - start, plan


def by_hand(world: World, target: str) -> float:
    """Return the wall time of the same steps typed as separate commands."""
    run = lambda *argv, cwd=None: subprocess.run(  # noqa: E731
        list(argv), cwd=cwd, check=True, capture_output=True, timeout=60)
    with tempfile.TemporaryDirectory(prefix="fo-hand-", dir="/tmp") as tmp:
        run("git", "clone", "-q", world.dns.gerrit.git_url, f"{tmp}/dns")
        start = time.perf_counter()
        for c in world.haproxy.controllers.values():
            run("curl", "-sf", "--max-time", "5", c.stats_url)
        zone = Path(tmp) / "dns" / ZONE_PATH
        run("sed", "-i", f"s/IN CNAME  cloudcontrol100[34].wikimedia.org./IN CNAME  {target}."
            "wikimedia.org./", str(zone))
        run("git", "-c", "user.name=Ops", "-c", "user.email=ops@example.org", "commit", "-qam",
            f"wikimediacloud: fail over openstack.eqiad1 to {target}\n\nChange-Id: I"
            + os.urandom(20).hex(), cwd=f"{tmp}/dns")
        run("git", "push", "-q", "origin", "HEAD:refs/for/master", cwd=f"{tmp}/dns")
        for g in world.gdnsd:
            run("dig", "+norec", "+short", "-p", str(g.port), "@127.0.0.1",
                f"openstack.{REGION}.wikimediacloud.org", "CNAME")
        return time.perf_counter() - start


def run() -> list[Figure]:
    """Return the promote figures: total, per step, overhead, and the ratio to by hand."""
    old_state = os.environ.get("XDG_STATE_HOME")
    with start_world(auto_merge_after=0.0) as world:
        os.environ["XDG_STATE_HOME"] = str(world.workdir / "state")
        try:
            total, plan = promote_once(world, CONTROLLERS[1])
            promote_once(world, CONTROLLERS[0])          # back, so both runs start alike
            totals, overheads = [], []
            for _ in range(3):
                total, plan = promote_once(world, CONTROLLERS[1])
                totals.append(total)
                overheads.append(total - sum(s.seconds or 0 for s in plan.steps
                                             if s.key in WAITS))
                promote_once(world, CONTROLLERS[0])
            world.dns.gerrit.auto_merge_after = None      # by-hand changes stay open
            hand = min(by_hand(world, CONTROLLERS[1]) for _ in range(3))
        finally:
            if old_state is None:
                os.environ.pop("XDG_STATE_HOME", None)
            else:
                os.environ["XDG_STATE_HOME"] = old_state
    overhead = min(overheads)
    figures = [Figure("promote (sandbox, immediate merge): total wall time",
                      f"{min(totals):.2f} s", "report")]
    figures += [Figure(f"  step {s.key}", f"{(s.seconds or 0) * 1000:.0f} ms", "report")
                for s in plan.steps if s.seconds is not None]
    figures += [
        Figure("promote: tool's own overhead (all but review and deploy)", f"{overhead:.2f} s",
               "< 2 s", overhead < 2.0),
        Figure("same steps by hand (curl x2, sed, commit, push, dig x2)", f"{hand:.2f} s",
               "report"),
        Figure("ratio: tool overhead / by hand", f"{overhead / hand:.1f}x", "report"),
    ]
    return figures
