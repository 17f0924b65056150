"""`failover check` (monitoring plugin) against the real sandbox: HAProxy and gdnsd on loopback."""

from __future__ import annotations

import json
import multiprocessing
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from failover import check as monitor
from failover.check import DisagreementLog
from failover.check_judge import CRITICAL, OK, PerfDatum
from failover.dnscheck import query
from failover.render.check import perfdatum
from sandbox.backends import SilentListener, free_port
from sandbox.gdnsd import Gdnsd
from sandbox.haproxy import SandboxRegion, haproxy_available
from sandbox.udp_answerer import LossyForwarder
from tests.conftest import CliResult, RunCli

PERF = re.compile(r"^'[^'=]+'=(?:-?[0-9.]+(?:s|ms|%|B|KB|MB|c)?|U)(?:;[0-9.]*){0,4}$")
"""One perfdata item as the plugin guidelines define it (`U`: the value could not be measured)."""
CHECK_DIG = Path("/usr/lib/nagios/plugins/check_dig")
"""The Debian monitoring plugins' own DNS check (monitoring-plugins-standard)."""

C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
Point = Callable[[Gdnsd, str], None]
pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


def write_config(sandbox: SandboxRegion, servers: list[str], path: Path) -> str:
    quoted = ", ".join(f'"{s}"' for s in servers)
    path.write_text(sandbox.config_toml(timeout=1.0) +
                    f"\n[verify]\nnameservers = [{quoted}]\nquery_timeout = 0.5\n")
    return str(path)


@pytest.fixture
def config(sandbox: SandboxRegion, nameservers: tuple[Gdnsd, Gdnsd], tmp_path: Path) -> str:
    return write_config(sandbox, [ns.address for ns in nameservers], tmp_path / "check.toml")


def check(run_cli: RunCli, config: str, tmp_path: Path, *args: str) -> CliResult:
    return run_cli("check", "eqiad1", "--config", config,
                   "--state-file", str(tmp_path / "state.json"), *args)


def status_line(r: CliResult) -> tuple[str, list[str]]:
    """Return the message and the perfdata items of the first line (checked for syntax)."""
    assert "Traceback" not in r.stdout + r.stderr
    first = r.stdout.splitlines()[0]
    message, _, perf = first.partition(" | ")
    items = perf.split()
    for item in items:
        assert PERF.match(item), item
    return message, items


def test_ok(run_cli: RunCli, config: str, tmp_path: Path) -> None:
    r = check(run_cli, config, tmp_path)
    message, perf = status_line(r)
    assert r.code == OK, r.stdout
    assert message == (f"OK - openstack.eqiad1 -> {C3}, HAProxy healthy (3/3 services); "
                       f"standby {C4} healthy")
    assert f"'{C3}_services_up'=3;;;0;3" in perf and f"'{C4}_services_up'=3;;;0;3" in perf
    assert "'dns_servers_answering'=2;;;0;2" in perf and "'dns_disagree_age'=0s;;900;0" in perf
    names = {p.split("=")[0] for p in perf}
    assert {"'dns_rtt_max'", f"'{C3}_stats_fetch'", f"'{C4}_stats_fetch'"} <= names
    assert f"{C4}: 3/3 services healthy" in r.stdout and "matches" in r.stdout


def test_standby_unhealthy_is_warning(run_cli: RunCli, sandbox: SandboxRegion, config: str,
                                      tmp_path: Path) -> None:
    for server in (C3, C4):
        sandbox.set_server_state(C4, "nova_api", server, "maint")
    r = check(run_cli, config, tmp_path)
    message, perf = status_line(r)
    assert r.code == 1
    assert message.startswith(f"WARNING - standby {C4} UNHEALTHY (2/3 services; failing: "
                              "nova_api); openstack.eqiad1 -> cloudcontrol1003, HAProxy healthy")
    assert f"'{C4}_services_up'=2;;;0;3" in perf


def test_primary_unhealthy_is_critical(run_cli: RunCli, sandbox: SandboxRegion, config: str,
                                       tmp_path: Path) -> None:
    sandbox.stop_backend("nova_api", C3)
    sandbox.stop_backend("nova_api", C4)
    sandbox.wait_checked()
    r = check(run_cli, config, tmp_path)
    message, _ = status_line(r)
    assert r.code == CRITICAL
    assert message.startswith(f"CRITICAL - openstack.eqiad1 -> {C3}, HAProxy UNHEALTHY "
                              "(2/3 services; failing: nova_api)")
    assert f"standby {C4} UNHEALTHY" in message


def test_primary_haproxy_stopped_is_critical(run_cli: RunCli, sandbox: SandboxRegion,
                                             config: str, tmp_path: Path) -> None:
    sandbox.stop_haproxy(C3)
    r = check(run_cli, config, tmp_path)
    message, perf = status_line(r)
    assert r.code == CRITICAL
    assert message.startswith(f"CRITICAL - openstack.eqiad1 -> {C3}, HAProxy unreachable: "
                              "connection refused")
    assert f"'{C3}_services_up'=U;;;0;3" in perf and f"'{C3}_stats_fetch'=U;;;0" in perf
    assert f"'{C4}_services_up'=3;;;0;3" in perf


def test_name_pointing_to_no_controller_is_critical(
        point_to: Point, run_cli: RunCli, sandbox: SandboxRegion,
        nameservers: tuple[Gdnsd, Gdnsd], config: str, tmp_path: Path) -> None:
    for ns in nameservers:
        point_to(ns, "cloudcontrol9999")
    r = check(run_cli, config, tmp_path)
    message, _ = status_line(r)
    assert r.code == CRITICAL
    assert message == ("CRITICAL - openstack.eqiad1 -> cloudcontrol9999.wikimedia.org.: no known "
                       f"controller (known: {C3}, {C4})")


def test_disagreement_warns_within_grace_then_is_critical(
        point_to: Point, run_cli: RunCli, sandbox: SandboxRegion,
        nameservers: tuple[Gdnsd, Gdnsd], config: str, tmp_path: Path) -> None:
    first, second = nameservers
    point_to(first, C4)
    r = check(run_cli, config, tmp_path, "--grace", "600")
    message, perf = status_line(r)
    assert r.code == 1
    assert message.startswith("WARNING - nameservers disagree for 0s (grace 600s): "
                              f"{first.address} -> {C4}, {second.address} -> {C3}")
    assert f"openstack.eqiad1 -> {C4} per {first.address}, HAProxy healthy" in message
    state = json.loads((tmp_path / "state.json").read_text())
    since = time.time() - 700  # first seen 700 s ago
    state["eqiad1"]["since"] = since
    (tmp_path / "state.json").write_text(json.dumps(state))
    started = time.time()
    r = check(run_cli, config, tmp_path, "--grace", "600")
    ended = time.time()
    message, perf = status_line(r)
    # 700 s, plus however long the check itself took on a loaded machine before it read the clock
    ages = range(round(started - since), round(ended - since) + 1)
    assert 700 in ages
    found = re.search(r"nameservers disagree for (\d+)s \(grace 600s\)", message)
    assert r.code == CRITICAL and found and int(found[1]) in ages, message
    assert f"'dns_disagree_age'={found[1]}s;;600;0" in perf
    point_to(first, C3)
    assert check(run_cli, config, tmp_path).code == OK
    assert "eqiad1" not in json.loads((tmp_path / "state.json").read_text())


def test_no_nameserver_answered_is_critical(run_cli: RunCli, sandbox: SandboxRegion,
                                            tmp_path: Path) -> None:
    """Nobody can resolve the name: an outage. Closed ports are "refused" at once."""
    dead = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    r = check(run_cli, write_config(sandbox, dead, tmp_path / "dead.toml"), tmp_path)
    message, perf = status_line(r)
    assert r.code == CRITICAL
    assert message == ("CRITICAL - no nameserver answered for openstack.eqiad1.wikimediacloud.org"
                       f" ({dead[0]} refused, {dead[1]} refused)")
    assert "'dns_rtt_max'=U;;;0" in perf and "'dns_servers_answering'=0;;;0;2" in perf


@pytest.mark.skipif(not CHECK_DIG.exists(), reason="monitoring-plugins-standard not installed")
def test_silent_nameservers_are_critical_as_check_dig_says(
        run_cli: RunCli, sandbox: SandboxRegion, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))  # receives queries, never answers
        port = udp.getsockname()[1]
        dig = subprocess.run([str(CHECK_DIG), "-H", "127.0.0.1", "-p", str(port), "-l",
                              "openstack.eqiad1.wikimediacloud.org", "-t", "1"],
                             capture_output=True, text=True, timeout=10, check=False)
        cfg = write_config(sandbox, [f"127.0.0.1:{port}"], tmp_path / "silent.toml")
        r = check(run_cli, cfg, tmp_path, "--timeout", "2")
    assert dig.returncode == CRITICAL, dig.stdout
    message, _ = status_line(r)
    assert r.code == CRITICAL and message.startswith("CRITICAL - no nameserver answered")
    assert f"127.0.0.1:{port} timeout" in message


def test_one_one_split_says_which_server_says_what(
        point_to: Point, run_cli: RunCli, sandbox: SandboxRegion,
        nameservers: tuple[Gdnsd, Gdnsd], config: str, tmp_path: Path) -> None:
    first, second = nameservers
    point_to(second, C4)
    r = check(run_cli, config, tmp_path)
    message, _ = status_line(r)
    assert r.code == 1
    assert f"openstack.eqiad1 -> {C3} per {first.address}, HAProxy healthy (3/3 services)" \
        in message
    assert f"openstack.eqiad1 -> {C4} per {second.address}, HAProxy healthy (3/3 services)" \
        in message
    assert "standby" not in message and "also serving" not in message


def test_primary_at_weight_zero_is_critical(run_cli: RunCli, sandbox: SandboxRegion,
                                            config: str, tmp_path: Path) -> None:
    """`set weight B/S 0` on both servers: HAProxy says the backend is DOWN; so does the check."""
    for server in (C3, C4):
        sandbox.set_weight(C3, "nova_api", server, "0")
    assert sandbox.server(C3, "nova_api", C3).status == "UP"  # UP, yet takes no traffic
    r = check(run_cli, config, tmp_path)
    message, _ = status_line(r)
    assert r.code == CRITICAL
    assert message.startswith(f"CRITICAL - openstack.eqiad1 -> {C3}, HAProxy UNHEALTHY "
                              "(2/3 services; failing: nova_api)")


def test_some_nameserver_silent_is_warning(run_cli: RunCli, sandbox: SandboxRegion,
                                           nameservers: tuple[Gdnsd, Gdnsd],
                                           tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    cfg = write_config(sandbox, [nameservers[0].address, dead], tmp_path / "half.toml")
    r = check(run_cli, cfg, tmp_path)
    message, _ = status_line(r)
    assert r.code == 1 and message.startswith(
        f"WARNING - 1 of 2 nameservers did not answer ({dead})")


@pytest.mark.parametrize("tries", [1, query.TRIES])
def test_a_lost_datagram_is_sent_again_not_a_silent_nameserver(
        run_cli: RunCli, sandbox: SandboxRegion, nameservers: tuple[Gdnsd, Gdnsd],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tries: int) -> None:
    """A nameserver (in front of a real gdnsd) losing the first datagram of each question:
    OK, its question sent again within the 0.5 s query timeout; with one send a question,
    as before, it was WARNING, named as not answering."""
    monkeypatch.setattr(query, "TRIES", tries)
    lossy = LossyForwarder((nameservers[0].host, nameservers[0].port), lost=1)
    lossy.thread.start()
    try:
        lossy_address = f"{lossy.address}:{lossy.port}"
        cfg = write_config(sandbox, [nameservers[0].address, lossy_address],
                           tmp_path / "lossy.toml")
        r = check(run_cli, cfg, tmp_path)
    finally:
        lossy.close()
    message, _ = status_line(r)
    if tries == 1:
        assert r.code == 1 and message.startswith(
            f"WARNING - 1 of 2 nameservers did not answer ({lossy_address})")
    else:
        assert r.code == OK and message.startswith("OK - "), message
        assert max(lossy.sends()) == 2


@pytest.mark.parametrize(("content", "expected"), [
    (None, "UNKNOWN - configuration file not found"),
    ("[regions.eqiad1]\nfqdn = 3\n", "UNKNOWN - configuration error: "),
    ("not toml [", "UNKNOWN - configuration error: "),
])
def test_config_errors_are_unknown(run_cli: RunCli, tmp_path: Path, content: str | None,
                                   expected: str) -> None:
    path = tmp_path / "bad.toml"
    if content is not None:
        path.write_text(content)
    r = check(run_cli, str(path), tmp_path)
    assert r.code == 3 and r.stdout.startswith(expected)
    assert "Traceback" not in r.stdout + r.stderr and r.stdout.count("\n") >= 1


def test_unknown_region_and_bad_timeout_are_unknown(run_cli: RunCli, config: str,
                                                    tmp_path: Path) -> None:
    r = run_cli("check", "nowhere", "--config", config, "--state-file", str(tmp_path / "s"))
    assert r.code == 3 and r.stdout.startswith("UNKNOWN - unknown name 'nowhere'")
    r = check(run_cli, config, tmp_path, "--timeout", "0")
    assert r.code == 3 and "--timeout must be positive" in r.stdout


def test_unexpected_error_is_unknown_without_traceback(run_cli: RunCli, config: str,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(monitor, "run_check", boom)
    r = check(run_cli, config, tmp_path)
    assert (r.code, r.stdout) == (3, "UNKNOWN - unexpected error: RuntimeError: boom\n")


def test_hung_servers_stay_within_the_timeout(run_cli: RunCli, sandbox: SandboxRegion,
                                              tmp_path: Path) -> None:
    """A hung stats endpoint and a nameserver that never answers: the answer comes in time."""
    with SilentListener() as hung_http, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))  # receives queries, never answers
        cfg = write_config(sandbox, [f"127.0.0.1:{udp.getsockname()[1]}"], tmp_path / "h.toml")
        text = Path(cfg).read_text().replace(sandbox.controllers[C3].stats_url,
                                             f"http://127.0.0.1:{hung_http.port}/stats;csv")
        Path(cfg).write_text(text)
        started = time.monotonic()
        r = check(run_cli, cfg, tmp_path, "--timeout", "1.5")
        elapsed = time.monotonic() - started
    message, _ = status_line(r)
    assert r.code == CRITICAL and "no nameserver answered" in message and "timeout" in message
    # the stats read gets what is left of its share of the budget: 0.75 s, a little less
    # when the process started slowly
    assert re.search(rf"{C3}: unreachable: timeout after 0\.7\d*s waiting for an answer",
                     r.stdout), r.stdout
    # the bound the option promises (both servers would hold it for ever), with slack for a
    # loaded machine's scheduling: the check's own parts end at 0.75 s, its whole at 1.5 s
    assert elapsed < 1.5 + 3.0, elapsed


def test_overrun_names_what_did_not_answer(run_cli: RunCli, config: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A call stuck beyond every socket timeout (e.g. name resolution): UNKNOWN at the bound."""
    release = threading.Event()

    def stuck(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise RuntimeError("released")

    monkeypatch.setattr(monitor, "check_region", stuck)
    try:
        r = check(run_cli, config, tmp_path, "--timeout", "0.5")
    finally:
        release.set()
    assert (r.code, r.stdout) == (3, "UNKNOWN - check timed out after 0.5s: no answer from "
                                     "the nameservers\n")


# --- pure pieces ---------------------------------------------------------------------------

@pytest.mark.parametrize(("datum", "text"), [
    (PerfDatum("a_services_up", 8, minimum=0, maximum=8), "'a_services_up'=8;;;0;8"),
    (PerfDatum("dns_rtt_max", 0.25, "ms", minimum=0), "'dns_rtt_max'=0.25ms;;;0"),
    (PerfDatum("age", 12, "s", crit=900, minimum=0), "'age'=12s;;900;0"),
    (PerfDatum("x'y=z", 1.0), "'xy_z'=1"),
])
def test_perfdata_syntax(datum: PerfDatum, text: str) -> None:
    assert perfdatum(datum) == text


def test_state_file_unwritable_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    log = DisagreementLog(blocker / "sub" / "state.json")
    with pytest.raises(monitor.StateFileError, match=r"cannot (read|write) state file"):
        log.since("eqiad1", 100.0)
    log = DisagreementLog(tmp_path / "ok.json")
    assert log.since("eqiad1", 100.0) == 100.0 and log.since("eqiad1", 200.0) == 100.0
    log.clear("eqiad1")
    assert log.since("eqiad1", 300.0) == 300.0


def _record_regions(path: str, prefix: str, start: Any) -> None:
    start.wait()
    log = DisagreementLog(Path(path))
    for i in range(100):
        log.since(f"{prefix}{i}", 1.0)


def test_two_checks_sharing_a_state_file_lose_no_update(tmp_path: Path) -> None:
    """examples/nrpe.cfg gives both regions one --state-file: two processes at once."""
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    path = str(tmp_path / "state.json")
    workers = [ctx.Process(target=_record_regions, args=(path, p, start)) for p in "ab"]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(json.loads(Path(path).read_text())) == 200


def test_bad_arguments_are_unknown_not_critical(run_cli: RunCli) -> None:
    result = run_cli("check", "eqiad1", "--timeout", "abc")
    assert result.code == 3
    assert result.stdout.startswith("UNKNOWN - ")


def test_ok_names_the_primary_first_whichever_it_is(
        point_to: Point, run_cli: RunCli, nameservers: tuple[Gdnsd, Gdnsd], config: str,
        tmp_path: Path) -> None:
    for ns in nameservers:
        point_to(ns, C4)
    r = check(run_cli, config, tmp_path)
    message, _ = status_line(r)
    assert r.code == OK
    assert message == (f"OK - openstack.eqiad1 -> {C4}, HAProxy healthy (3/3 services); "
                       f"standby {C3} healthy")
