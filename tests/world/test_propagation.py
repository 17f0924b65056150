"""Every authdns host and the recursor's cache (issue 25): a world with 8 authdns hosts
(real gdnsd on 127.53.B.1-8, port 5353) the sandbox deploy reaches one after another, and a
real PowerDNS Recursor forwarding the zones to the nameservers."""

from __future__ import annotations

import json
import signal
import subprocess

import dns.flags
import dns.message
import dns.query
import pytest

from sandbox import recursor as rec_mod
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import current_and_other, deploy_all, promote, reset_world

pytestmark = [pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed"),
              pytest.mark.skipif(not rec_mod.available(), reason="pdns-recursor not installed")]

WORLD = {"authdns_hosts": 8, "recursor": True}
FQDN = "openstack.eqiad1.wikimediacloud.org"


def _recursor_answer(world: World) -> str:
    """Return the CNAME target the recursor answers for the region's name (RD set)."""
    assert world.recursor is not None
    query = dns.message.make_query(FQDN, "A", flags=dns.flags.RD)
    reply = dns.query.udp(query, "127.0.0.1", port=world.recursor.port, timeout=3)
    cnames = [r for r in reply.answer if r.name.to_text().rstrip(".") == FQDN]
    return str(cnames[0][0].target) if cnames else "none"


@pytest.fixture
def fresh(world: World) -> World:
    """The module's world, reset, with every host serving the stand-in's master."""
    reset_world(world)
    deploy_all(world)
    return world


def test_promote_waits_for_every_host_and_wipes_the_recursor(run_cli: RunCli,
                                                             fresh: World) -> None:
    """The promote reaches the 8 hosts in deploy order, says each one's time and the
    durations, wipes the recursor's cache and sees its answer change."""
    world = fresh
    old, new = current_and_other(world)
    assert _recursor_answer(world) == f"{old}.wikimedia.org."  # now cached for 5 minutes
    result = promote(run_cli, world, new, "--json")
    assert result.code == 0, result.output
    doc = json.loads(result.stdout)
    hosts = [f"{h.host}:5353" for h in world.hosts]
    times = [doc["host_times"][h] for h in hosts]
    assert times == sorted(times), times  # one after another, 0.3 s apart, in deploy order
    assert times[-1] - times[0] >= 0.3 * (len(hosts) - 2), times
    durations = doc["durations"]
    assert durations["merge_to_first_host"] <= durations["merge_to_all_hosts"] \
        <= durations["merge_to_all_recursors"]
    assert durations["merge_to_all_hosts"] == max(times)
    steps = {s["key"]: s for s in doc["steps"]}
    assert steps["recursors"]["status"] == "done"
    assert hosts[0] in steps["verify"]["summary"] and "merge -> first host" in \
        steps["verify"]["summary"]
    assert doc["dns"]["authdns_hosts"]["matching"] == 8
    assert {s["serial"] for s in doc["dns"]["servers"] if s["role"] == "authdns host"} != {None}
    assert _recursor_answer(world) == f"{new}.wikimedia.org."


def test_recursor_keeps_the_old_answer_until_the_wipe(fresh: World) -> None:
    """The real recursor serves its cached answer after the deploy, the new one right after
    `rec_control wipe-cache NAME$` (the wipe argv of the sandbox config)."""
    world = fresh
    assert world.recursor is not None
    old, new = current_and_other(world)
    assert _recursor_answer(world) == f"{old}.wikimedia.org."
    for g in [*world.gdnsd, *world.hosts]:  # the deploy, done behind the recursor's back
        text = (g.workdir / "zones" / "wikimediacloud.org").read_text()
        g.set_zone("wikimediacloud.org", text.replace(f"{old}.wikimedia.org.",
                                                      f"{new}.wikimedia.org."))
        g.reload()
    assert _recursor_answer(world) == f"{old}.wikimedia.org."  # cached
    wipe = [a.format(name=FQDN) for a in world.recursor.wipe_argv()]
    subprocess.run(wipe, check=True, capture_output=True, timeout=10)
    assert _recursor_answer(world) == f"{new}.wikimedia.org."
    deploy_all(world)


def test_a_silent_host_is_named(run_cli: RunCli, fresh: World) -> None:
    """verify names the authdns host that does not answer, and exits 5."""
    world = fresh
    host = world.hosts[3]
    assert host.process is not None
    host.process.send_signal(signal.SIGSTOP)
    try:
        result = run_cli("verify", "eqiad1", "--once", "--json", "--config",
                         str(world.config_path))
    finally:
        host.process.send_signal(signal.SIGCONT)
    assert result.code == 5, result.output
    doc = json.loads(result.stdout)
    assert doc["authdns_hosts"]["not_answering"] == [f"{host.host}:5353"]
    assert doc["authdns_hosts"]["asked"] == 8
    entry = next(s for s in doc["servers"] if s["address"] == host.host)
    assert entry["verdict"] == "timeout" and entry["port"] == 5353


def test_dry_run_lists_the_hosts_and_the_wipe(run_cli: RunCli, fresh: World) -> None:
    """The dry-run's verify step names the authdns hosts, its recursors step the wipe."""
    world = fresh
    _, new = current_and_other(world)
    result = promote(run_cli, world, new, "--dry-run", "--json")
    assert result.code == 0, result.output
    steps = {s["key"]: s for s in json.loads(result.stdout)["steps"]}
    assert "8 authdns hosts" in steps["verify"]["summary"]
    assert steps["recursors"]["status"] == "would run"
    assert "wipe-cache" in steps["recursors"]["summary"]


def test_check_and_status_name_the_hosts(run_cli: RunCli, fresh: World) -> None:
    """`check` warns naming the authdns host that does not answer; `status --json` lists
    every host among the servers, with its serial."""
    world = fresh
    host = world.hosts[5]
    assert host.process is not None
    host.process.send_signal(signal.SIGSTOP)
    try:
        check = run_cli("check", "eqiad1", "--timeout", "8", "--config", str(world.config_path))
    finally:
        host.process.send_signal(signal.SIGCONT)
    assert check.code == 1 and f"{host.host}:5353" in check.stdout, check.output
    status = run_cli("status", "eqiad1", "--json", "--config", str(world.config_path))
    assert status.code == 0, status.output
    servers = json.loads(status.stdout)["regions"]["eqiad1"]["dns"]["servers"]
    hosts = [s for s in servers if s["role"] == "authdns host"]
    assert [s["address"] for s in hosts] == [h.host for h in world.hosts]
    assert all(s["serial"] is not None and s["verdict"] == "matches" for s in hosts)
