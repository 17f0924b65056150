"""`failover status` with its DNS part, against real HAProxy, real gdnsd and a zone checkout."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.backends import free_port
from sandbox.gdnsd import Gdnsd, wikimediacloud_zone
from sandbox.haproxy import SandboxRegion, haproxy_available
from tests.conftest import RunCli

FQDN = "openstack.eqiad1.wikimediacloud.org"

C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
ZONE = "wikimediacloud.org"
Point = Callable[[Gdnsd, str], None]
pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


def write_config(sandbox: SandboxRegion, tmp_path: Path, servers: list[str], *,
                 zone_points_to: str | None = C3) -> str:
    """Write a config (checkout in tmp_path/dns with the zone template unless None)."""
    checkout = tmp_path / "dns"
    if zone_points_to is not None:
        (checkout / "templates").mkdir(parents=True)
        (checkout / "templates" / ZONE).write_text(
            wikimediacloud_zone({"eqiad1": f"{zone_points_to}.wikimedia.org."}))
    text = sandbox.config_toml(timeout=1.0).replace(str(sandbox.workdir / "dns"), str(checkout))
    quoted = ", ".join(f'"{s}"' for s in servers)
    path = tmp_path / "status.toml"
    path.write_text(text + f"\n[verify]\nnameservers = [{quoted}]\nquery_timeout = 0.5\n")
    return str(path)


@pytest.fixture
def config(sandbox: SandboxRegion, nameservers: tuple[Gdnsd, Gdnsd], tmp_path: Path) -> str:
    return write_config(sandbox, tmp_path, [ns.address for ns in nameservers])


def region_doc(run_cli: RunCli, config: str) -> dict[str, Any]:
    r = run_cli("status", "eqiad1", "--config", config, "--json")
    assert r.code == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)["regions"]["eqiad1"]
    return doc


def test_agreeing_nameservers_and_zone(run_cli: RunCli, config: str) -> None:
    r = run_cli("status", "--config", config)
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"eqiad1  {FQDN} -> {C3} (2/2 nameservers agree; zone file agrees)"
    assert lines[1] == f"  primary  {C3}  healthy  3/3 services UP"
    assert lines[2] == f"  standby  {C4}  healthy  3/3 services UP"
    assert lines[3] == f"  next: failover promote eqiad1 {C4} --from {C3}"
    assert region_doc(run_cli, config)["suggested"] == f"failover promote eqiad1 {C4} --from {C3}"


def test_an_unhealthy_standby_is_not_suggested(run_cli: RunCli, sandbox: SandboxRegion,
                                               config: str) -> None:
    """promote's gate would refuse it: JSON `suggested` is null, the line says none is."""
    sandbox.stop_haproxy(C4)
    r = run_cli("status", "--config", config)
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines()[2:] == [f"  standby  {C4}  UNREACHABLE: connection refused",
                                         "  next: none (no standby is healthy)"]
    assert region_doc(run_cli, config)["suggested"] is None


def test_json_has_dns_zone_and_primary(run_cli: RunCli, config: str,
                                       nameservers: tuple[Gdnsd, Gdnsd]) -> None:
    doc = region_doc(run_cli, config)
    assert doc["primary"] == C3 and doc["fqdn"] == FQDN
    assert (doc["dns"]["controller"], doc["dns"]["agree"], doc["dns"]["error"]) == (C3, True, None)
    assert [s["server"] for s in doc["dns"]["servers"]] == [ns.address for ns in nameservers]
    for server in doc["dns"]["servers"]:
        assert {"answer", "ttl", "aa", "rtt_ms", "verdict", "controller"} <= set(server)
        assert (server["answer"], server["verdict"]) == (f"{C3}.wikimedia.org.", "matches")
    assert doc["zone"] == {"target": f"{C3}.wikimedia.org.", "controller": C3, "error": None,
                           "source": "working tree", "revision": None, "age_seconds": None}
    assert doc["controllers"][C4]["healthy"] is True


def test_disagreeing_nameservers_and_a_zone_file_ahead(
        point_to: Point, run_cli: RunCli, sandbox: SandboxRegion,
        nameservers: tuple[Gdnsd, Gdnsd], tmp_path: Path) -> None:
    """Mid-failover: the checkout already says 1004, one server too, the other not yet."""
    point_to(nameservers[0], C4)
    config = write_config(sandbox, tmp_path, [ns.address for ns in nameservers],
                          zone_points_to=C4)
    r = run_cli("status", "--config", config)
    assert r.code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == (f"eqiad1  {FQDN} -> ? (nameservers disagree: 1 says {C4}, 1 says {C3}; "
                        f"zone file says {C4})")
    assert lines[1] == f"  {C3}  healthy  3/3 services UP"  # no primary to mark
    doc = region_doc(run_cli, config)
    assert doc["primary"] is None and doc["dns"]["agree"] is False
    assert doc["dns"]["controller"] is None
    assert [s["controller"] for s in doc["dns"]["servers"]] == [C4, C3]
    assert doc["zone"]["controller"] == C4


def test_checkout_not_found_and_haproxy_down(run_cli: RunCli, sandbox: SandboxRegion,
                                            nameservers: tuple[Gdnsd, Gdnsd],
                                            tmp_path: Path) -> None:
    config = write_config(sandbox, tmp_path, [ns.address for ns in nameservers],
                          zone_points_to=None)
    sandbox.stop_haproxy(C3)
    r = run_cli("status", "--config", config)
    assert r.code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == f"eqiad1  {FQDN} -> {C3} (2/2 nameservers agree; zone: checkout not found)"
    assert lines[1] == f"  primary  {C3}  UNREACHABLE: connection refused"
    doc = region_doc(run_cli, config)
    assert doc["zone"] == {"target": None, "controller": None, "error": "checkout not found",
                           "source": None, "revision": None, "age_seconds": None}
    assert doc["primary"] == C3 and doc["controllers"][C3]["reachable"] is False


def test_zone_without_the_record_and_silent_nameservers(run_cli: RunCli, sandbox: SandboxRegion,
                                                       tmp_path: Path) -> None:
    dead = [f"127.0.0.1:{free_port()}"]
    config = write_config(sandbox, tmp_path, dead)
    (tmp_path / "dns" / "templates" / ZONE).write_text(wikimediacloud_zone().replace(
        "$ORIGIN eqiad1.wikimediacloud.org.", "$ORIGIN other.wikimediacloud.org."))
    r = run_cli("status", "--config", config)
    assert r.code == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"eqiad1  {FQDN} -> ? (no nameserver answered; zone: ")
    doc = region_doc(run_cli, config)
    assert doc["dns"]["servers"][0]["verdict"] == "refused" and doc["primary"] is None
    assert doc["zone"]["error"] and doc["zone"]["target"] is None


def test_dns_discovery_failure_is_shown_not_fatal(run_cli: RunCli, sandbox: SandboxRegion,
                                                  tmp_path: Path) -> None:
    """A [verify] nameserver name that does not resolve: the error is the DNS part, exit 0."""
    config = write_config(sandbox, tmp_path, ["ns.invalid"])
    r = run_cli("status", "--config", config, "--json")
    assert r.code == 0, r.stderr
    dns = json.loads(r.stdout)["regions"]["eqiad1"]["dns"]
    assert dns["error"] and "ns.invalid" in dns["error"] and dns["servers"] == []
    human = run_cli("status", "--config", config)
    assert f"{FQDN} -> ? (DNS: nameserver ns.invalid resolves to no address" in human.stdout


def test_zone_is_read_at_the_remote_tracking_branch(run_cli: RunCli, sandbox: SandboxRegion,
                                                    nameservers: tuple[Gdnsd, Gdnsd],
                                                    tmp_path: Path) -> None:
    """The repository's branch as last fetched wins over a stale working tree."""
    from failover import repo
    from sandbox.dnsrepo import ZONE_PATH, dns_sandbox, push_upstream_edit

    with dns_sandbox(tmp_path / "git") as sb:
        text = (sb.checkout / ZONE_PATH).read_text()
        push_upstream_edit(sb.gerrit, ZONE_PATH, text.replace(f"{C3}.wikimedia.org.",
                                                              f"{C4}.wikimedia.org.", 1))
        repo.fetch(repo.open_checkout(sb.checkout))
        config = write_config(sandbox, tmp_path, [ns.address for ns in nameservers],
                              zone_points_to=None)
        Path(config).write_text(Path(config).read_text().replace(
            str(tmp_path / "dns"), str(sb.checkout)))
        r = run_cli("status", "eqiad1", "--config", config)
        assert r.code == 0, r.stderr
        first = re.sub(r"fetched \d+s ago", "fetched Ns ago", r.stdout.splitlines()[0])
        assert first == (  # how long ago depends on the machine's load: the shape is pinned
            f"eqiad1  {FQDN} -> {C3} (2/2 nameservers agree; zone at origin/master "
            f"(fetched Ns ago) says {C4})")
        doc = region_doc(run_cli, config)
        assert doc["zone"]["source"] == "origin/master" and doc["zone"]["controller"] == C4
        assert doc["zone"]["age_seconds"] is not None and doc["zone"]["age_seconds"] < 60


def test_zone_is_read_as_gerrit_has_it_not_as_last_fetched(
        run_cli: RunCli, sandbox: SandboxRegion, nameservers: tuple[Gdnsd, Gdnsd],
        tmp_path: Path) -> None:
    """A change merged by someone else after the last fetch: status says Gerrit's tip."""
    from failover import repo
    from sandbox.dnsrepo import ZONE_PATH, dns_sandbox, push_upstream_edit

    with dns_sandbox(tmp_path / "git", ssh=True) as sb:
        text = (sb.checkout / ZONE_PATH).read_text()
        tip = push_upstream_edit(sb.gerrit, ZONE_PATH, text.replace(
            f"{C3}.wikimedia.org.", f"{C4}.wikimedia.org.", 1))  # merged, never fetched here
        config = write_config(sandbox, tmp_path, [ns.address for ns in nameservers],
                              zone_points_to=None)
        Path(config).write_text(Path(config).read_text().replace(
            str(tmp_path / "dns"), str(sb.checkout))
            + f'\n[gerrit]\nurl = "{sb.gerrit.rest_url}"\ntimeout = 2\n')
        r = run_cli("status", "eqiad1", "--config", config)
        assert r.code == 0, r.stderr
        assert r.stdout.splitlines()[0] == (
            f"eqiad1  {FQDN} -> {C3} (2/2 nameservers agree; zone at Gerrit master says {C4})")
        doc = region_doc(run_cli, config)
        assert doc["zone"]["source"] == "Gerrit master" and doc["zone"]["revision"] == tip
        assert doc["zone"]["age_seconds"] is None and doc["zone"]["controller"] == C4
        # read through Gerrit's REST: a fresh `failover status` imports neither GitPython
        # nor Jinja2, nor requests (Gerrit is read with http.client) (issue 14)
        imported = imported_by_status(config, tmp_path)
        assert {"git", "gitdb", "jinja2", "requests", "urllib3"} & set(imported) == set()
        # Gerrit down: the remote-tracking branch, saying how old it is, never as current
        sb.gerrit.faults.errors_500 = -1
        doc = region_doc(run_cli, config)
        assert doc["zone"]["source"] == "origin/master" and doc["zone"]["controller"] == C3
        assert doc["zone"]["age_seconds"] is None  # only in packed-refs (the clone): unknown
        r = run_cli("status", "eqiad1", "--config", config)
        assert "zone at origin/master (fetch time unknown) agrees" in r.stdout.splitlines()[0]
        repo.fetch(repo.open_checkout(sb.checkout))
        doc = region_doc(run_cli, config)
        assert doc["zone"]["controller"] == C4 and doc["zone"]["age_seconds"] < 60


def imported_by_status(config: str, tmp_path: Path) -> list[str]:
    """Run `failover status eqiad1` in a fresh process; return the heavy modules it imported."""
    import os
    import subprocess
    import sys

    from tests.unit.test_startup import ROOT, RUN, WATCHED

    out = tmp_path / "imported.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", RUN.format(watched=WATCHED, out=str(out)),
                           "status", "eqiad1", "--config", config, "--json"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert json.loads(done.stdout)["regions"]["eqiad1"]["zone"]["source"] == "Gerrit master"
    imported: list[str] = json.loads(out.read_text())
    return imported
