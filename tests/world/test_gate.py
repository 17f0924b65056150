"""The safety gate against real HAProxy, in production's shape (issue 10).

Weight 0 takes a server out of the traffic while it stays UP; HAProxy's own BACKEND row says
DOWN and is never overridden; a planned promote needs, per service, a usable server on the
target that is not the old primary's own; `listen` proxies (mysql) are services; the stats
socket is production's `mode 666 level user`. Everything runs in one sandbox world.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.config import HaproxyConfig
from failover.haproxy import StatsReadError, parse_stats_csv, server_owner, socket_command
from sandbox.haproxy import haproxy_available
from sandbox.world import SERVICES, World
from tests.conftest import CliResult, RunCli
from tests.helpers import git, promote, reset_world

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

C3, C4 = "cloudcontrol1003", "cloudcontrol1004"


@pytest.fixture(autouse=True)
def _clean(world: World) -> Iterator[None]:
    """After each test: the module's world back to every server ready at full weight."""
    yield
    world.haproxy.reset()
    reset_world(world)


def health(run_cli: RunCli, world: World, *args: str) -> CliResult:
    return run_cli("health", "eqiad1", *args, "--config", str(world.config_path))


def backend_row(world: World, controller: str, proxy: str) -> str:
    rows = [r for r in world.haproxy.rows(controller) if r.pxname == proxy and r.kind == "backend"]
    assert len(rows) == 1
    return rows[0].status


# --- weight 0 -------------------------------------------------------------------------------

def test_weight_zero_on_both_servers_is_not_healthy(run_cli: RunCli, world: World) -> None:
    for server in (C3, C4):
        world.haproxy.set_weight(C4, "nova_api", server, "0")
    assert world.haproxy.server(C4, "nova_api", C3).status == "UP"  # UP, yet no new traffic
    assert backend_row(world, C4, "nova_api_backend") == "DOWN"    # HAProxy's own verdict

    r = health(run_cli, world, C4)
    assert r.code == 3
    assert "weight 0" in r.stdout and f"server {C3} weight 0: takes no new sessions" in r.stdout
    doc = json.loads(health(run_cli, world, C4, "--json").stdout)
    nova = doc["controllers"][C4]["services"]["nova_api"]
    assert (nova["healthy"], nova["servers_up"], nova["usable_servers"]) == (False, 0, [])

    refused = promote(run_cli, world, C4)
    assert refused.code == 3
    assert f"refusing to promote {C4}" in refused.stderr and "nova_api" in refused.stderr
    assert [c for c in world.dns.gerrit.changes() if c["status"] == "NEW"] == []


def test_one_server_at_weight_zero_leaves_the_service_up(run_cli: RunCli, world: World) -> None:
    world.haproxy.set_weight(C4, "nova_api", C3, "0")
    doc = json.loads(health(run_cli, world, C4, "--json").stdout)
    nova = doc["controllers"][C4]["services"]["nova_api"]
    assert (nova["healthy"], nova["servers_up"], nova["usable_servers"]) == (True, 1, [C4])


# --- the planned-maintenance gate -----------------------------------------------------------

def lean_on_c3(world: World, services: tuple[str, ...] = ("nova_api", "placement_api")) -> None:
    """Take C4's own servers of `services` out (on C4's HAProxy): only C3's still serve."""
    for service in services:
        world.haproxy.set_server_state(C4, service, C4, "maint")


def test_health_shows_a_controller_that_serves_only_through_the_other(
        run_cli: RunCli, world: World) -> None:
    lean_on_c3(world)
    r = health(run_cli, world)
    assert r.code == 0  # healthy: every service has a server
    assert f"{C4}  without {C3}'s own servers: no usable server for nova_api, placement_api" \
        in " ".join(r.stdout.split("\n"))
    doc = json.loads(health(run_cli, world, "--json").stdout)
    assert doc["controllers"][C4]["depends_on"] == {C3: ["nova_api", "placement_api"]}
    assert doc["controllers"][C3]["depends_on"] == {}


def test_planned_promote_refused_when_the_target_leans_on_the_old_primary(
        run_cli: RunCli, world: World) -> None:
    lean_on_c3(world)
    preview = promote(run_cli, world, C4, "--dry-run", "--force")
    assert preview.code == 0, preview.stderr
    # the commit message is wrapped in a panel: read its words without the box lines
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", preview.stdout + preview.stderr).split())
    assert (f"without {C3}'s own servers, {C4} has no usable server for: nova_api, "
            "placement_api") in shown
    assert "Forced with --force" in shown and "the target had no usable server for" in shown

    refused = promote(run_cli, world, C4)
    assert refused.code == 3, refused.stderr
    assert (f"refusing the planned promote of {C4}: without {C3}'s own servers, {C4}'s HAProxy "
            "has no usable server for: nova_api, placement_api") in " ".join(
                refused.stderr.split())
    assert [c for c in world.dns.gerrit.changes() if c["status"] == "NEW"] == []

    forced = promote(run_cli, world, C4, "--force")
    assert forced.code == 0, forced.stderr
    message = git(Path(world.dns.gerrit.git_url), "log", "-1", "--format=%B", "master")
    assert f"without {C3}'s own servers, the target had no usable server for: nova_api" in \
        " ".join(message.split())
    back = promote(run_cli, world, C3)  # back to the start for the next test
    assert back.code == 0, back.stderr


def test_preview_says_the_gate_passed(run_cli: RunCli, world: World) -> None:
    preview = promote(run_cli, world, C4, "--dry-run")
    assert preview.code == 0, preview.stderr
    assert (f"without {C3}'s own servers, {C4} still has a usable server for every service."
            in " ".join((preview.stdout + preview.stderr).split()))


def test_server_names_are_matched_as_whole_words() -> None:
    controllers = ["cloudcontrol2001", "cloudcontrol2001-dev", "cloudcontrol2004-dev"]
    assert server_owner("cloudcontrol2001-dev", controllers, "{controller}") == \
        "cloudcontrol2001-dev"
    assert server_owner("cloudcontrol2001", controllers, "{controller}") == "cloudcontrol2001"
    assert server_owner("galera-cloudcontrol2004-dev", controllers, "galera-{controller}") == \
        "cloudcontrol2004-dev"
    assert server_owner("cloudcontrol20011", controllers, "{controller}") is None


# --- listen proxies and the sockets ---------------------------------------------------------

def test_mysql_is_a_listen_proxy_with_backups(run_cli: RunCli, world: World) -> None:
    text = world.haproxy.controllers[C3].config_path.read_text()
    assert "listen mysql\n" in text and "mysql_backend" not in text
    assert SERVICES[-1] == "mysql"
    world.haproxy.stop_backend("mysql", C3)
    world.haproxy.wait_server_status(C4, "mysql", C3, "DOWN")
    doc = json.loads(health(run_cli, world, C4, "--json").stdout)
    mysql = doc["controllers"][C4]["services"]["mysql"]
    assert (mysql["healthy"], mysql["backup_only"], mysql["usable_servers"]) == (True, True, [C4])


def test_stats_socket_is_user_level_as_in_production(world: World) -> None:
    c = world.haproxy.controllers[C3]
    cfg = HaproxyConfig(connect_timeout=1, timeout=2)
    assert "stats socket" in c.config_path.read_text() and "mode 666 level user" in \
        c.config_path.read_text()
    assert (Path(c.socket_path).stat().st_mode & 0o777) == 0o666
    rows = parse_stats_csv(socket_command(c.socket_path, "show stat", cfg))
    assert any(r.pxname == "mysql" for r in rows)
    answer = ""
    try:
        answer = socket_command(c.socket_path, f"set weight nova_api_backend/{C3} 0", cfg)
    except StatsReadError as exc:
        answer = str(exc)
    assert "Permission denied" in answer
    assert world.haproxy.server(C3, "nova_api", C3).weight == 1
