"""Stats read through SSH: a real OpenSSH server on 127.0.0.1 in front of the sandbox HAProxy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from failover.config import HaproxyConfig, load_config
from failover.haproxy import ControllerHealth, parse_ssh_url, read_region_health
from failover.haproxy.ssh import remote_command, ssh_argv
from sandbox.haproxy import SandboxRegion, haproxy_available, start_region
from sandbox.sshd import SandboxSshd, ssh_keygen, sshd_available, start_sshd
from tests.conftest import RunCli

C3, C4 = "cloudcontrol1003", "cloudcontrol1004"
SERVICES = ("nova_api", "glance_api")

pytestmark = pytest.mark.skipif(not (haproxy_available() and sshd_available()),
                                reason="haproxy or openssh-server not installed")


@pytest.fixture(scope="module")
def region() -> Iterator[SandboxRegion]:
    with start_region(SERVICES) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def sshd() -> Iterator[SandboxSshd]:
    with start_sshd() as server:
        yield server


def write_config(region: SandboxRegion, sshd: SandboxSshd, client: Path, *,
                 ssh_command: str | None = None, timeout: float = 2.0,
                 stats: Callable[[str], str] | None = None) -> Path:
    """Return a config whose C3 reads its stats through `sshd` (C4 through its socket)."""
    c3 = region.controllers[C3]
    url = stats(C3) if stats else sshd.url(c3.socket_path)
    text = region.config_toml(stats="unix", timeout=timeout).replace(c3.socket_url, url)
    command = "" if ssh_command is None else f"ssh_command = {ssh_command}\n"  # None: default
    text = text.replace("[haproxy]\n", f'[haproxy]\nssh_config = "{client}"\n{command}', 1)
    path = region.workdir / "ssh.toml"
    path.write_text(text)
    return path


def c3_health(path: Path) -> ControllerHealth:
    cfg = load_config(path)
    return read_region_health(cfg, cfg.region("eqiad1"), only=C3).controllers[C3]


# --- pure: the argv and the quoting -----------------------------------------------------------

def test_argv_has_no_local_shell_and_quotes_the_remote_words() -> None:
    target = parse_ssh_url("ssh://ops@cc.example.org:2222/run/haproxy/my%20sock;x")
    argv = ssh_argv(target, HaproxyConfig(connect_timeout=2.5, ssh_config="/etc/x"))
    assert argv[:3] == ["ssh", "-F", "/etc/x"]
    assert {"BatchMode=yes", "ConnectTimeout=3"} <= set(argv)
    assert argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-l") + 1] == "ops"
    assert argv[-3:] == ["--", "cc.example.org",
                         "socat 'unix-connect:/run/haproxy/my sock;x' stdio"]
    curl = parse_ssh_url("ssh://cc.example.org?url=http://127.0.0.1:9900/stats;csv")
    assert remote_command(curl, HaproxyConfig(timeout=5)) == \
        "curl --silent --show-error --fail --max-time 5 'http://127.0.0.1:9900/stats;csv'"


# --- through the real sshd ----------------------------------------------------------------------

def test_socket_through_ssh_matches_the_local_socket(region: SandboxRegion,
                                                     sshd: SandboxSshd) -> None:
    region.stop_backend("nova_api", C4)
    region.wait_checked()
    try:
        over_ssh = c3_health(write_config(region, sshd, sshd.client_config()))
        cfg = load_config(region.write_config(stats="unix"))
        local = read_region_health(cfg, cfg.region("eqiad1"), only=C3).controllers[C3]
    finally:
        region.reset()
    assert over_ssh.reachable and over_ssh.error is None, over_ssh.error
    assert over_ssh.version and over_ssh.version == local.version
    assert over_ssh.services["nova_api"].cell == local.services["nova_api"].cell == "UP 1/2"
    assert over_ssh.source.startswith(f"ssh://{sshd.user}@127.0.0.1:")


def test_remote_curl_reads_the_http_stats(region: SandboxRegion, sshd: SandboxSshd) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl not installed (the remote side is this machine)")
    stats_url = region.controllers[C3].stats_url
    path = write_config(region, sshd, sshd.client_config(),
                        stats=lambda _: sshd.url(query=f"url={stats_url}"))
    health = c3_health(path)
    assert health.healthy, health.error
    assert {s.cell for s in health.services.values()} == {"UP 2/2"}


def test_socket_path_is_quoted_for_the_remote_shell(region: SandboxRegion,
                                                    sshd: SandboxSshd) -> None:
    odd = region.workdir / "a b$(touch PWNED);.sock"
    odd.symlink_to(region.controllers[C3].socket_path)
    encoded = str(odd).replace(" ", "%20").replace("$", "%24")
    try:
        health = c3_health(write_config(region, sshd, sshd.client_config(),
                                        stats=lambda _: sshd.url(encoded)))
    finally:
        odd.unlink()
    assert health.healthy, health.error
    assert not list(Path.home().glob("PWNED")) and not list(region.workdir.glob("PWNED"))


@pytest.mark.parametrize(("case", "reason"), [
    ("unknown host key", "host key unknown: run `ssh 127.0.0.1` once"),
    ("changed host key", "host key has CHANGED"),
    ("wrong key", "permission denied (publickey)"),
    ("sudo wants a password", "sudo on 127.0.0.1 needs a password"),
    ("socat missing", "no-such-socat not found on 127.0.0.1: install socat"),
    ("socket missing", "does not exist"),
    ("hangs", "no answer after 1.5s (ssh killed)"),
])
def test_failures_each_get_a_clear_reason(region: SandboxRegion, sshd: SandboxSshd,
                                          tmp_path: Path, case: str, reason: str) -> None:
    client = sshd.client_config()
    command: str | None = None  # the default ssh_command
    stats = None
    if case == "unknown host key":
        client = sshd.client_config("stranger", known_host=False)
    elif case == "changed host key":
        other = ssh_keygen(tmp_path / "other_host", "other")
        client = sshd.client_config("changed")
        known = sshd.workdir / "changed.known_hosts"
        known.write_text(f"[127.0.0.1]:{sshd.port} "
                         + " ".join(Path(f"{other}.pub").read_text().split()[:2]) + "\n")
    elif case == "wrong key":
        client = sshd.client_config("wrongkey", key=ssh_keygen(tmp_path / "k", "nobody"))
    elif case == "sudo wants a password":
        sudo = region.workdir / "fake-sudo"
        sudo.write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
        sudo.chmod(0o755)
        command = f'["{sudo}", "socat", "{{socket}}", "stdio"]'
    elif case == "socat missing":
        command = '["no-such-socat", "unix-connect:{socket}", "stdio"]'
    elif case == "socket missing":
        stats = lambda _: sshd.url(f"{region.workdir}/gone.sock")  # noqa: E731
    elif case == "hangs":
        command = '["sleep", "3"]'
    # the failures answer at once: a roomy timeout keeps a loaded machine's slow ssh start
    # from turning one into "no answer after ..."
    timeout = 0.5 if case == "hangs" else 5.0
    health = c3_health(write_config(region, sshd, client, ssh_command=command, timeout=timeout,
                                    stats=stats))
    assert not health.reachable
    assert health.error is not None and reason in health.error and "\n" not in health.error


def test_sshd_stopped_is_connection_refused_through_the_cli(run_cli: RunCli,
                                                           region: SandboxRegion,
                                                           sshd: SandboxSshd) -> None:
    path = write_config(region, sshd, sshd.client_config())
    sshd.stop()
    try:
        r = run_cli("health", "eqiad1", "--config", str(path), "--json")
    finally:
        sshd.start()
    assert r.code == 3 and "Traceback" not in r.stderr
    doc = json.loads(r.stdout)["controllers"]
    assert doc[C3]["error"] == (f"ssh {sshd.user}@127.0.0.1:{sshd.port}: connection refused "
                                f"(no sshd on port {sshd.port})")
    assert doc[C4]["healthy"]
