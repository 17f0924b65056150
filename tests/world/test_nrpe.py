"""`failover check` run the way Icinga runs it: real NRPE on 127.0.0.1, queried by check_nrpe.

The NRPE command is the one in examples/nrpe.cfg (paths swapped for the sandbox's). The four
states arrive with their exit codes and perfdata; a check that would outlive NRPE's
command_timeout cannot happen, because `--timeout` bounds the check below it.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sandbox.backends import SilentListener, free_port
from sandbox.world import CONTROLLERS, World

NRPE, CHECK_NRPE = "/usr/sbin/nrpe", "/usr/lib/nagios/plugins/check_nrpe"
EXAMPLE = Path(__file__).parents[2] / "examples" / "nrpe.cfg"
pytestmark = pytest.mark.skipif(not (os.access(NRPE, os.X_OK) and os.access(CHECK_NRPE, os.X_OK)),
                                reason="nagios-nrpe-server / nagios-nrpe-plugin not installed")
COMMAND_TIMEOUT = 8


def example_command() -> str:
    """Return the command line of check_openstack_api_failover in examples/nrpe.cfg."""
    m = re.search(r"^command\[check_openstack_api_failover\]=(.+)$", EXAMPLE.read_text(), re.M)
    assert m
    return m.group(1)


def runtime(dest: Path) -> list[str]:
    """Return the argv prefix that runs the tool as NRPE's user (nagios when we are root).

    As root, NRPE drops to nagios, who cannot enter /root (where this interpreter may live):
    the tool and its dependencies are copied to `dest` and run by Debian's python3.
    """
    here = Path(__file__).parents[2]
    # a venv's python is a symlink: what nagios must reach is both it and its target
    reachable = not any(p.startswith("/root") for p in (sys.executable,
                                                         os.path.realpath(sys.executable)))
    if os.geteuid() != 0 or reachable:
        return [f"PYTHONPATH={here}", sys.executable, "-m", "failover.cli"]
    todo, seen = ["typer", "rich", "requests", "dnspython", "GitPython", "Jinja2", "wmflib"], set()
    while todo:
        dist = md.distribution(todo.pop())
        if dist.metadata["Name"].lower() in seen:
            continue
        seen.add(dist.metadata["Name"].lower())
        for line in dist.requires or []:
            req = Requirement(line)
            # only what this machine installs: no extras, no Windows-only colorama of click
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
        for f in dist.files or []:
            if f.parts[0].endswith((".dist-info", "..")) or f.parts[0] == "..":
                continue
            src = Path(str(dist.locate_file(f)))
            target = dest / f
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.is_file():
                shutil.copy2(src, target)
    shutil.copytree(here / "failover", dest / "failover")
    subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True, timeout=60)
    return [f"PYTHONPATH={dest}", "/usr/bin/python3", "-m", "failover.cli"]


WORLD = {"auto_merge_after": None}


@pytest.fixture(scope="module")
def nrpe_dir(world: World) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fo-nrpe-", dir="/tmp"))
    os.chmod(path, 0o755)  # noqa: S103 (NRPE runs the check as nagios)
    prefix = runtime(path / "lib")
    wrapper = path / "failover"
    wrapper.write_text("#!/bin/sh\nexec env " + " ".join(prefix) + ' "$@"\n')
    wrapper.chmod(0o755)
    state = path / "state"
    state.mkdir(mode=0o777)
    os.chmod(state, 0o777)  # noqa: S103 (the check, as nagios, writes its state here)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Nrpe:
    """A running NRPE with one command per check to run."""

    def __init__(self, workdir: Path, commands: dict[str, str]) -> None:
        self.port = free_port()
        lines = ["server_address=127.0.0.1", f"server_port={self.port}",
                 "allowed_hosts=127.0.0.1", "dont_blame_nrpe=0", "debug=0",
                 f"command_timeout={COMMAND_TIMEOUT}", "connection_timeout=30",
                 f"pid_file={workdir}/nrpe.pid", f"log_file={workdir}/nrpe.log"]
        if os.geteuid() == 0:
            lines += ["nrpe_user=nagios", "nrpe_group=nagios"]
        lines += [f"command[{k}]={v}" for k, v in commands.items()]
        self.cfg = workdir / "nrpe.cfg"
        self.cfg.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([NRPE, "-c", str(self.cfg), "-f"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run([CHECK_NRPE, "-H", "127.0.0.1", "-p", str(self.port)],
                              capture_output=True, timeout=10).returncode == 0:
                return
            time.sleep(0.05)
        raise AssertionError("NRPE did not start: " + (workdir / "nrpe.log").read_text())

    def query(self, command: str) -> tuple[int, str]:
        r = subprocess.run([CHECK_NRPE, "-H", "127.0.0.1", "-p", str(self.port), "-t", "30",
                            "-c", command], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def config_variant(world: World, path: Path, *, nameservers: list[str] | None = None,
                   stats: dict[str, str] | None = None, slow: bool = False) -> Path:
    # the nagios user cannot enter the world's directory: the check does not need the checkout
    text = re.sub(r"^checkout = .*$", f'checkout = "{path.parent}"', world.config_path.read_text(),
                  flags=re.M)
    if nameservers is not None:
        text = re.sub(r"^nameservers = .*$", "nameservers = [" + ", ".join(
            f'"{n}"' for n in nameservers) + "]", text, flags=re.M)
    for name, url in (stats or {}).items():
        text = text.replace(world.haproxy.controllers[name].stats_url, url)
    if slow:
        text = re.sub(r"^timeout = 2$", "timeout = 30", text, flags=re.M)
    path.write_text(text)
    path.chmod(0o644)
    return path


def test_the_four_states_and_the_timeout_through_nrpe(world: World, nrpe_dir: Path) -> None:
    primary, _standby = CONTROLLERS
    good = [g.address for g in world.gdnsd]
    dead = f"127.0.0.1:{free_port()}"
    with SilentListener() as silent:
        configs = {
            "ok": config_variant(world, nrpe_dir / "ok.toml"),
            "warning": config_variant(world, nrpe_dir / "warn.toml", nameservers=[good[0], dead]),
            "critical": config_variant(world, nrpe_dir / "crit.toml", stats={
                primary: f"http://127.0.0.1:{free_port()}/stats;csv"}),
            # no nameserver answering is an outage (CRITICAL); a config error is UNKNOWN
            "unknown": config_variant(world, nrpe_dir / "unk.toml", nameservers=["not a server"]),
            "hung": config_variant(world, nrpe_dir / "hung.toml", stats={
                primary: f"http://127.0.0.1:{silent.port}/stats;csv"}, slow=True),
        }
        base = example_command()
        commands = {}
        for name, cfg in configs.items():
            cmd = (base.replace("/usr/local/bin/failover", str(nrpe_dir / "failover"))
                   .replace("/etc/failover/config.toml", str(cfg))
                   .replace("/var/lib/nagios/failover-check-state.json",
                            str(nrpe_dir / "state" / f"{name}.json")))
            if name == "hung":  # the example's bound, scaled to this NRPE's command_timeout
                cmd = cmd.replace("--timeout 10", "--timeout 5")
            commands[f"check_{name}"] = cmd
        nrpe = Nrpe(nrpe_dir, commands)
        try:
            results = {name: nrpe.query(f"check_{name}") for name in configs}
        finally:
            nrpe.stop()
    for name, code in (("ok", 0), ("warning", 1), ("critical", 2), ("unknown", 3)):
        got, text = results[name]
        assert got == code, (name, text)
        assert text.startswith(name.upper() + " - "), text
    assert "'cloudcontrol1003_services_up'=11;;;0;11" in results["ok"][1].split("|", 1)[1]
    assert "|" in results["warning"][1] and "|" in results["critical"][1]
    # the stats never answer and [haproxy] timeout = 30 would outlive NRPE's 8 s: --timeout 5
    # cuts every wait to fit, so the answer is the check's own, never NRPE's timeout
    code, text = results["hung"]
    assert code == 2 and text.startswith("CRITICAL - "), text
    assert "cloudcontrol1003: unreachable: timeout after" in text
    assert "NRPE: Command timed out" not in text


def test_the_examples_bound_is_below_nrpes_command_timeout() -> None:
    timeout = float(re.search(r"--timeout (\d+)", example_command()).group(1))  # type: ignore[union-attr]
    debian = Path("/etc/nagios/nrpe.cfg")
    default = 60.0
    if debian.exists():
        m = re.search(r"^command_timeout=(\d+)", debian.read_text(), re.M)
        default = float(m.group(1)) if m else default
    assert timeout < default
