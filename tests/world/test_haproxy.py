"""failover.haproxy reading stats: scripted servers over HTTP and sockets, then real HAProxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from failover.config import Config, Controller, HaproxyConfig, load_config
from failover.haproxy import (
    StatsReadError,
    read_http_stats,
    read_region_health,
    read_stats,
)
from sandbox.backends import ScriptedHTTPServer, SilentListener, UnixTextServer
from sandbox.haproxy import SandboxRegion, haproxy_available
from tests.conftest import region_toml
from tests.unit.haproxy.test_judge import C3, C4, HEADER, service_lines

# --- reading over HTTP and sockets (small scripted servers) --------------------------------

def good_csv(services: tuple[str, ...]) -> str:
    lines = [HEADER]
    for s in services:
        lines += service_lines(s, (C3, "UP", False), (C4, "UP", False))
    return "\n".join(lines) + "\n"


def controller(stats: str) -> Controller:
    return Controller(name=C3, target=f"{C3}.wikimedia.org.", stats=stats)


FAST = HaproxyConfig(connect_timeout=0.5, timeout=0.5)


@pytest.mark.parametrize(("status", "body", "reason"), [
    (200, "<html>stats</html>", "HTML page"),
    (200, "", "empty answer"),
    (200, "pxname,svname\n", "no '# pxname' header"),
    (200, HEADER + "\nnova_api_frontend,FRONTEND,", "cut short"),
    (401, "no", "HTTP 401 Unauthorized: check the credentials"),
    (403, "no", "HTTP 403 Forbidden"),
    (500, "oops", "HTTP 500 Internal Server Error"),
])
def test_http_bad_answers_give_one_line_reasons(status: int, body: str, reason: str) -> None:
    with ScriptedHTTPServer({"/stats;csv": (status, body)}) as srv, \
            pytest.raises(StatsReadError, match=reason) as info:
        read_stats(controller(srv.url("/stats;csv")), FAST)
    assert "\n" not in str(info.value)


def test_http_basic_auth_from_url_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedHTTPServer({"/stats;csv": (200, good_csv(("nova_api",)))},
                            auth=("admin", "p@ss")) as srv:
        url = srv.url("/stats;csv").replace("http://", "http://admin:p%40ss@")
        assert read_stats(controller(url), FAST).rows
        monkeypatch.setenv("FAILOVER_STATS_USER", "admin")
        monkeypatch.setenv("FAILOVER_STATS_PASSWORD", "p@ss")
        assert read_stats(controller(srv.url("/stats;csv")), FAST).rows
        monkeypatch.setenv("FAILOVER_STATS_PASSWORD", "wrong")
        with pytest.raises(StatsReadError, match="401"):
            read_stats(controller(srv.url("/stats;csv")), FAST)


def test_http_body_is_capped_at_max_bytes() -> None:
    with ScriptedHTTPServer({"/stats;csv": (200, good_csv(("nova_api",)) * 50)}) as srv, \
            pytest.raises(StatsReadError, match="larger than 1024 bytes"):
        read_http_stats(controller(srv.url("/stats;csv")), HaproxyConfig(max_bytes=1024))


def test_endpoint_that_never_answers_times_out() -> None:
    with SilentListener() as hung, pytest.raises(StatsReadError,
                                                 match=r"timeout after 0\.5s waiting"):
        read_stats(controller(f"http://127.0.0.1:{hung.port}/stats;csv"), FAST)


def test_unix_socket_missing_hung_or_not_haproxy() -> None:
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="fo-t-", dir="/tmp"))
    try:
        with pytest.raises(StatsReadError, match="does not exist"):
            read_stats(controller(f"unix://{short}/nothing.sock"), FAST)
        with UnixTextServer(str(short / "other.sock"), "hello, I am sshd\n"), \
                pytest.raises(StatsReadError, match="is not HAProxy's stats socket"):
            read_stats(controller(f"unix://{short}/other.sock"), FAST)
        with SilentListener(str(short / "hung.sock")), \
                pytest.raises(StatsReadError, match=r"timeout after 0\.5s"):
            read_stats(controller(f"unix://{short}/hung.sock"), FAST)
    finally:
        for p in short.iterdir():
            p.unlink()
        short.rmdir()


@pytest.mark.parametrize(("url", "reason"), [
    ("ssh://cc.example.org", "either a socket path"),
    ("ssh://cc.example.org/run/h.sock?url=http://127.0.0.1:9900/stats;csv", "either a socket"),
    ("ssh://cc.example.org?url=ftp://127.0.0.1/stats", "must be an http"),
    ("ssh://admin:secret@cc.example.org/run/h.sock", "must not carry a password"),
    ("ssh://cc.example.org:99999/run/h.sock", "port is not a number"),
])
def test_malformed_ssh_urls_are_refused_before_running_ssh(url: str, reason: str) -> None:
    """Real SSH reads are tested in tests/test_haproxy_ssh.py against a real sshd."""
    with pytest.raises(StatsReadError, match=reason) as info:
        read_stats(controller(url), FAST)
    assert "secret" not in str(info.value)


# --- the real HAProxy ----------------------------------------------------------------------

SERVICES = ("keystone_public", "nova_api", "glance_api", "designate", "mysql")
needs_haproxy = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


REGION_SERVICES = SERVICES
"""The services of `running` (world/conftest.py)."""


def health_of(region_sandbox: SandboxRegion, stats: str = "http", timeout: float = 2.0) -> Any:
    cfg = load_config(region_sandbox.write_config(stats=stats, timeout=timeout))
    return read_region_health(cfg, cfg.region("eqiad1"))


@needs_haproxy
def test_all_healthy(region_sandbox: SandboxRegion) -> None:
    health = health_of(region_sandbox)
    assert health.healthy
    for c in health.controllers.values():
        assert c.reachable and c.error is None and c.failing == []
        assert {s.cell for s in c.services.values()} == {"UP 2/2"}
        assert c.sessions == dict.fromkeys(SERVICES, 0)


@needs_haproxy
def test_one_backend_server_stopped(region_sandbox: SandboxRegion) -> None:
    region_sandbox.stop_backend("nova_api", C3)
    region_sandbox.wait_server_status(C4, "nova_api", C3, "UP 1/2")
    going = health_of(region_sandbox).controllers[C4].services["nova_api"]
    # HAProxy may mark it DOWN between our probe and this read: both are fine here.
    assert going.healthy and ("failing checks" in going.detail or "DOWN" in going.detail)
    region_sandbox.wait_server_status(C4, "nova_api", C3, "DOWN")
    down = health_of(region_sandbox).controllers[C4].services["nova_api"]
    assert (down.healthy, down.cell, down.servers_up) == (True, "UP 1/2", 1)
    assert f"server {C3} DOWN" in down.detail


@needs_haproxy
def test_whole_service_down(region_sandbox: SandboxRegion) -> None:
    region_sandbox.stop_backend("designate", C3)
    region_sandbox.stop_backend("designate", C4)
    region_sandbox.wait_checked()
    health = health_of(region_sandbox)
    assert not health.healthy
    for c in health.controllers.values():
        assert c.reachable and c.failing == ["designate"]
        assert c.services["designate"].cell == "DOWN 0/2"


@needs_haproxy
def test_maint_and_drain_through_the_admin_socket(region_sandbox: SandboxRegion) -> None:
    region_sandbox.set_server_state(C4, "nova_api", C3, "maint")
    region_sandbox.set_server_state(C4, "keystone_public", C3, "drain")
    region_sandbox.set_server_state(C4, "keystone_public", C4, "drain")
    c = health_of(region_sandbox).controllers[C4]
    assert c.services["nova_api"].cell == "UP 1/2" and "MAINT" in c.services["nova_api"].detail
    assert c.services["keystone_public"].cell == "DRAIN"
    assert c.failing == ["keystone_public"]
    region_sandbox.set_server_state(C4, "nova_api", C4, "maint")
    assert health_of(region_sandbox).controllers[C4].services["nova_api"].cell == "MAINT"


@needs_haproxy
def test_backend_running_only_on_its_backup(region_sandbox: SandboxRegion) -> None:
    region_sandbox.stop_backend("mysql", C3)
    region_sandbox.wait_server_status(C3, "mysql", C3, "DOWN")
    mysql = health_of(region_sandbox).controllers[C3].services["mysql"]
    assert mysql.healthy and mysql.backup_only and mysql.cell == "UP 1/2 backup only"


@needs_haproxy
def test_haproxy_stopped_is_unreachable(region_sandbox: SandboxRegion) -> None:
    region_sandbox.stop_haproxy(C3)
    for stats, reason in (("http", "connection refused"), ("unix", "socket")):
        health = health_of(region_sandbox, stats)
        c3, c4 = health.controllers[C3], health.controllers[C4]
        assert not c3.reachable and reason in (c3.error or "")
        assert c3.services["nova_api"].cell == "unreachable" and c4.healthy
        assert not health.healthy


@needs_haproxy
def test_hung_controller_is_bounded_and_the_other_still_read(region_sandbox: SandboxRegion,
                                                             tmp_path: Path) -> None:
    with SilentListener() as hung:
        text = region_sandbox.config_toml(timeout=0.5).replace(
            region_sandbox.controllers[C3].stats_url, f"http://127.0.0.1:{hung.port}/stats;csv")
        (tmp_path / "c.toml").write_text(text)
        cfg: Config = load_config(tmp_path / "c.toml")
        health = read_region_health(cfg, cfg.region("eqiad1"))
    assert health.controllers[C3].error == "timeout after 0.5s waiting for an answer"
    assert health.controllers[C4].healthy


@needs_haproxy
def test_socket_and_http_agree(region_sandbox: SandboxRegion) -> None:
    region_sandbox.stop_backend("glance_api", C3)
    region_sandbox.set_server_state(C4, "nova_api", C3, "drain")
    region_sandbox.wait_checked()

    def core(stats: str) -> dict[str, Any]:
        doc: dict[str, Any] = health_of(region_sandbox, stats).to_dict()
        for c in doc["controllers"].values():
            for key in ("fetch_ms", "stats", "version"):
                c.pop(key)
        return doc

    assert core("http") == core("unix")
    assert health_of(region_sandbox, "unix").controllers[C3].version.startswith("2.")


@needs_haproxy
def test_only_one_controller(region_sandbox: SandboxRegion) -> None:
    cfg = load_config(region_sandbox.write_config())
    assert list(read_region_health(cfg, cfg.region("eqiad1"), only=C4).controllers) == [C4]



def test_a_read_that_no_socket_timeout_bounds_is_cut_off(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """A read stuck outside any socket timeout (e.g. in name resolution) is not waited for."""
    import threading

    import failover.haproxy as haproxy

    release = threading.Event()

    def stuck(controller: Controller, haproxy_cfg: HaproxyConfig) -> Any:
        release.wait(10)
        raise StatsReadError("released")

    monkeypatch.setattr(haproxy, "read_stats", stuck)
    stuck_stats = dict.fromkeys((C3, C4), "http://stuck.invalid/stats;csv")
    (tmp_path / "c.toml").write_text("[haproxy]\ntimeout = 0.05\nconnect_timeout = 0.05\n"
                                     + region_toml("eqiad1", stuck_stats))
    cfg = load_config(tmp_path / "c.toml")
    try:
        health = read_region_health(cfg, cfg.region("eqiad1"))
    finally:
        release.set()
    assert {c.error for c in health.controllers.values()} == {"no answer after 1.2s"}
