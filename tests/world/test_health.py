"""`failover health` and `failover status` through the CLI, against real HAProxy processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.backends import ScriptedHTTPServer, UnixTextServer
from sandbox.haproxy import SandboxRegion
from tests.conftest import RunCli, region_toml
from tests.world.test_haproxy import C3, C4, HEADER, good_csv

SERVICES = ("keystone_public", "nova_api", "mysql")  # mysql: a listen proxy, with a backup
SERVICE_KEYS = {"healthy", "servers_up", "servers_total", "backup_only", "detail"}


REGION_SERVICES = SERVICES
"""The services of `running` (world/conftest.py)."""


@pytest.fixture
def config(region_sandbox: SandboxRegion) -> str:
    return str(region_sandbox.write_config())


def test_health_table_all_healthy(run_cli: RunCli, config: str) -> None:
    r = run_cli("health", "eqiad1", "--config", config)
    assert r.code == 0, r.stderr
    for service in SERVICES:
        assert service in r.stdout
    assert r.stdout.count("UP 2/2") == 2 * len(SERVICES)
    assert f"{C3}  healthy  3/3 services UP" in r.stdout
    assert f"{C4}  healthy  3/3 services UP" in r.stdout


def test_health_json_document(run_cli: RunCli, config: str) -> None:
    r = run_cli("health", "eqiad1", "--config", config, "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["region"] == "eqiad1" and list(doc["controllers"]) == [C3, C4]
    for c in doc["controllers"].values():
        assert (c["reachable"], c["healthy"], c["error"]) == (True, True, None)
        assert list(c["services"]) == list(SERVICES)
        for s in c["services"].values():
            assert set(s) >= SERVICE_KEYS and s["servers_up"] == s["servers_total"] == 2


def test_health_unhealthy_exits_3_and_shows_why(run_cli: RunCli, region_sandbox: SandboxRegion,
                                                 config: str) -> None:
    region_sandbox.stop_backend("nova_api", C3)
    region_sandbox.stop_backend("nova_api", C4)
    region_sandbox.stop_backend("mysql", C3)
    region_sandbox.wait_checked()
    r = run_cli("health", "eqiad1", C4, "--config", config)
    assert r.code == 3
    assert "DOWN 0/2" in r.stdout and "UP 1/2 backup only" in r.stdout
    assert f"{C4}  UNHEALTHY  2/3 services UP; failing: nova_api" in r.stdout
    assert C3 + "  " not in r.stdout  # only the controller asked for


def test_health_unreachable_haproxy(run_cli: RunCli, region_sandbox: SandboxRegion,
                                    config: str) -> None:
    region_sandbox.stop_haproxy(C3)
    r = run_cli("health", "eqiad1", "--config", config, "--json")
    assert r.code == 3
    c3 = json.loads(r.stdout)["controllers"][C3]
    assert (c3["reachable"], c3["healthy"], c3["error"]) == (False, False, "connection refused")
    human = run_cli("health", "eqiad1", "--config", config)
    assert human.code == 3 and f"{C3}  UNREACHABLE: connection refused" in human.stdout
    assert "unreachable" in human.stdout


def test_status_human_and_json(run_cli: RunCli, region_sandbox: SandboxRegion, config: str) -> None:
    r = run_cli("status", "--config", config)
    assert r.code == 0, r.stderr
    assert "eqiad1  openstack.eqiad1.wikimediacloud.org" in r.stdout
    assert f"{C4}  healthy  3/3 services UP" in r.stdout
    region_sandbox.stop_haproxy(C3)
    r = run_cli("status", "eqiad1", "--config", config, "--json")
    assert r.code == 0
    region = json.loads(r.stdout)["regions"]["eqiad1"]
    assert region["fqdn"] == "openstack.eqiad1.wikimediacloud.org"
    assert region["controllers"][C3] == {"reachable": False, "healthy": False,
                                         "error": "connection refused",
                                         "services_healthy": 0, "services_total": 3}
    assert region["controllers"][C4]["services_healthy"] == 3
    human = run_cli("status", "--config", config)
    assert human.code == 0 and f"{C3}  UNREACHABLE: connection refused" in human.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("health", "nowhere"), "unknown name 'nowhere'"),
    (("health", "eqiad1", "cloudcontrol9999"), "unknown controller 'cloudcontrol9999'"),
    (("health", "eqiad1", "Bad_Name"), "invalid controller name"),
    (("status", "nowhere"), "unknown name 'nowhere'"),
])
def test_usage_errors_exit_2(run_cli: RunCli, config: str, args: tuple[str, ...],
                             message: str) -> None:
    r = run_cli(*args, "--config", config)
    assert r.code == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_missing_config_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    r = run_cli("health", "eqiad1", "--config", str(tmp_path / "none.toml"))
    assert r.code == 2 and "configuration file not found" in r.stderr


# --- bad stats answers, through the CLI -----------------------------------------------------

def bad_config(tmp_path: Path, bad_stats: str, good_stats: str) -> str:
    text = region_toml("eqiad1", {C3: bad_stats, C4: good_stats},
                       services=["nova_api", "glance_api"]) + \
        "[haproxy]\ntimeout = 0.5\nconnect_timeout = 0.5\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return str(path)


BAD_HTTP = [
    ("/html;csv", 200, "<!DOCTYPE html><html>Statistics Report</html>", "an HTML page"),
    ("/empty;csv", 200, "", "empty answer"),
    ("/noheader;csv", 200, "nova_api_frontend,FRONTEND,OPEN,\n", "no '# pxname' header"),
    ("/cut;csv", 200, HEADER + "\nnova_api_frontend,FRONTEND,0,0", "cut short"),
    ("/401;csv", 401, "", "HTTP 401 Unauthorized"),
    ("/403;csv", 403, "", "HTTP 403 Forbidden"),
    ("/500;csv", 500, "", "HTTP 500 Internal Server Error"),
]


@pytest.mark.parametrize(("path", "status", "body", "reason"), BAD_HTTP)
def test_bad_http_answers(run_cli: RunCli, tmp_path: Path, path: str, status: int, body: str,
                          reason: str) -> None:
    routes = {path: (status, body), "/good;csv": (200, good_csv(("nova_api", "glance_api")))}
    with ScriptedHTTPServer(routes) as srv:
        cfg = bad_config(tmp_path, srv.url(path), srv.url("/good;csv"))
        r = run_cli("health", "eqiad1", "--config", cfg, "--json")
        human = run_cli("health", "eqiad1", "--config", cfg)
    assert r.code == 3 and human.code == 3
    doc = json.loads(r.stdout)["controllers"]
    assert doc[C4]["healthy"] and not doc[C3]["reachable"]
    assert reason in doc[C3]["error"] and "\n" not in doc[C3]["error"]
    assert "Traceback" not in r.stderr + human.stderr
    assert f"{C3}  UNREACHABLE: " in human.stdout


def test_bad_sockets(run_cli: RunCli, tmp_path: Path) -> None:
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="fo-c-", dir="/tmp"))
    try:
        with UnixTextServer(str(short / "x.sock"), "SSH-2.0-OpenSSH\r\n"), \
                ScriptedHTTPServer({"/g;csv": (200, good_csv(("nova_api", "glance_api")))}) as srv:
            for sock, reason in ((short / "missing.sock", "does not exist"),
                                 (short / "x.sock", "is not HAProxy's stats socket")):
                cfg = bad_config(tmp_path, f"unix://{sock}", srv.url("/g;csv"))
                r = run_cli("health", "eqiad1", "--config", cfg, "--json")
                assert r.code == 3 and reason in json.loads(r.stdout)["controllers"][C3]["error"]
                s = run_cli("status", "--config", cfg)
                assert s.code == 0 and reason in s.stdout and "Traceback" not in s.stderr
    finally:
        for p in short.iterdir():
            p.unlink()
        short.rmdir()
