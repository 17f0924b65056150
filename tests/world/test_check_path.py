"""`failover check --path`: OK while every system of a promote answers, then WARNING naming
each one broken in turn (a bad Gerrit password, sshd stopped, the remote gone, the SAL relay
and Alertmanager unreachable, a controller's HAProxy stopped); the real programs on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from failover.path_check import deploy_probe_argv
from sandbox.backends import free_port
from sandbox.haproxy import haproxy_available
from sandbox.sshd import SandboxSshd, sshd_available, start_sshd
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import git

pytestmark = pytest.mark.skipif(not (haproxy_available() and sshd_available()),
                                reason="haproxy or sshd not installed")

WORLD = {"outside": True}


@pytest.fixture(scope="module")
def sshd(world: World) -> Iterator[SandboxSshd]:
    (world.workdir / "sshd").mkdir(exist_ok=True)
    with start_sshd(world.workdir / "sshd") as server:
        yield server


@pytest.fixture
def path_cfg(world: World, sshd: SandboxSshd, monkeypatch: pytest.MonkeyPatch) -> str:
    """Return a config whose deploy goes through the sandbox sshd; Gerrit credentials set."""
    monkeypatch.setenv("FAILOVER_GERRIT_USER", world.dns.gerrit.user)
    monkeypatch.setenv("FAILOVER_GERRIT_PASSWORD", world.dns.gerrit.password)
    sshd.start()
    client = sshd.client_config()
    deploy = ", ".join(f'"{w}"' for w in ["ssh", "-F", str(client), "-p", str(sshd.port),
                                            "127.0.0.1", "sudo", "-i", "authdns-update"])
    text = re.sub(r"(?m)^deploy = .*$", f"deploy = [{deploy}]", world.config_path.read_text())
    path = world.workdir / "path.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def check(run_cli: RunCli, cfg: str) -> tuple[int, str]:
    out = run_cli("check", "eqiad1", "--path", "--timeout", "8", "--config", cfg)
    return out.code, out.stdout


def test_open_path_is_ok(run_cli: RunCli, path_cfg: str) -> None:
    code, text = check(run_cli, path_cfg)
    assert code == 0, text
    first = text.splitlines()[0]
    assert first.startswith("OK - path of eqiad1 open: Gerrit REST, git remote, deploy host, "
                            "SAL relay, Alertmanager, health of cloudcontrol1003, health of "
                            "cloudcontrol1004"), text
    assert "'path_broken'=0" in first


def test_bad_gerrit_password(run_cli: RunCli, path_cfg: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAILOVER_GERRIT_PASSWORD", "expired")
    code, text = check(run_cli, path_cfg)
    assert code == 1 and "Gerrit REST: Gerrit refused the credentials (401)" in text, text


def test_stopped_sshd(run_cli: RunCli, path_cfg: str, sshd: SandboxSshd) -> None:
    sshd.stop()
    code, text = check(run_cli, path_cfg)
    assert code == 1, text
    assert re.search(r"deploy host: `ssh -o BatchMode=yes .* 127\.0\.0\.1 true` exited 255",
                     text), text


def test_remote_gone(run_cli: RunCli, path_cfg: str, world: World) -> None:
    checkout = world.dns.checkout
    url = git(checkout, "remote", "get-url", "origin").strip()
    git(checkout, "remote", "set-url", "origin", str(world.workdir / "no-such-repo.git"))
    try:
        code, text = check(run_cli, path_cfg)
    finally:
        git(checkout, "remote", "set-url", "origin", url)
    assert code == 1 and "git remote: git ls-remote origin failed" in text, text


def test_sal_relay_and_alertmanager_unreachable(run_cli: RunCli, path_cfg: str,
                                                world: World) -> None:
    assert world.outside is not None and world.outside.alertmanager is not None
    closed = free_port()
    with open(path_cfg, encoding="utf-8") as fh:
        text = fh.read()
    text = re.sub(rf"(?m)^port = {world.outside.sal.port}$", f"port = {closed}", text)
    text = text.replace(world.outside.alertmanager.url, f"http://127.0.0.1:{closed}")
    with open(path_cfg, "w", encoding="utf-8") as fh:
        fh.write(text)
    code, out = check(run_cli, path_cfg)
    assert code == 1, out
    assert f"SAL relay: cannot connect to 127.0.0.1:{closed}" in out
    assert f"Alertmanager: http://127.0.0.1:{closed}/-/ready" in out


def test_stopped_haproxy(run_cli: RunCli, path_cfg: str, world: World) -> None:
    world.haproxy.stop_haproxy("cloudcontrol1004")
    try:
        code, text = check(run_cli, path_cfg)
    finally:
        world.haproxy.start_haproxy("cloudcontrol1004")
    assert code == 1, text
    assert "health of cloudcontrol1004: HAProxy stats do not answer" in text
    assert "health of cloudcontrol1003: ok" in text


def test_deploy_probe_is_derived_from_an_ssh_deploy() -> None:
    from dataclasses import replace

    from failover.config import Config, DnsConfig, GerritConfig, HaproxyConfig, VerifyConfig

    def cfg(deploy: tuple[str, ...], probe: tuple[str, ...] = ()) -> Config:
        from pathlib import Path

        return Config(path=Path("c.toml"), dns=DnsConfig(checkout=Path("/x"), deploy=deploy,
                                                         deploy_probe=probe),
                      gerrit=GerritConfig(), verify=VerifyConfig(), haproxy=HaproxyConfig())

    prod = cfg(("ssh", "-p", "22", "-o", "User=x", "dns1004.wikimedia.org", "sudo", "-i",
                "authdns-update"))
    assert deploy_probe_argv(prod, 5) == ("ssh", "-o", "BatchMode=yes", "-o",
                                          "ConnectTimeout=5", "-p", "22", "-o", "User=x",
                                          "dns1004.wikimedia.org", "true")
    assert deploy_probe_argv(cfg(("/usr/local/bin/authdns-update",)), 5) == ()
    assert deploy_probe_argv(replace(prod, dns=replace(prod.dns, deploy_probe=("true",))),
                             5) == ("true",)
