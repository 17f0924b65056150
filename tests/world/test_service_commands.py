"""`status`, `health`, `verify`, `check`, completion and `config show` for a service and a
group, against the sandbox (real gdnsd, the Gerrit stand-in, a TCP listener per candidate).

A record belongs to one name (issue 20): the service `api` and the group `both` share a
record, so each has its own config, without the sandbox's region on the same record."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World, start_world
from tests.conftest import RunCli
from tests.helpers import without_regions

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

EQIAD = "openstack.eqiad1.wikimediacloud.org"
CODFW = "openstack.codfw1dev.wikimediacloud.org"


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[World, str, str]]:
    """Yield the world, the config of the service `api`, and that of the group `both`."""
    with start_world(auto_merge_after=0.3) as w, \
            socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        closed = socket.create_server(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
        closed.close()
        api = [
            "[services.api]", f'fqdn = "{EQIAD}"',
            "[services.api.candidates.cloudcontrol1003]",
            'target = "cloudcontrol1003.wikimedia.org."',
            f'health = {{kind = "tcp", host = "127.0.0.1", port = {port}, timeout = 2}}',
            "[services.api.candidates.cloudcontrol1004]",
            'target = "cloudcontrol1004.wikimedia.org."',
            f'health = {{kind = "tcp", host = "127.0.0.1", port = {dead}, timeout = 2}}',
        ]
        both = [
            "[groups.both]", 'sides = ["old", "new"]', "[groups.both.members]",
            f'"{EQIAD}" = {{old = "cloudcontrol1003.wikimedia.org.", '
            'new = "cloudcontrol1004.wikimedia.org."}',
            f'"{CODFW}" = {{old = "cloudcontrol2001-dev.wikimedia.org.", '
            'new = "cloudcontrol2004-dev.wikimedia.org."}',
        ]
        base = without_regions(w.config_path.read_text(encoding="utf-8"))
        paths = []
        for name, lines in (("api", api), ("both", both)):
            path = w.workdir / f"{name}.toml"
            path.write_text(base + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
            paths.append(str(path))
        yield w, paths[0], paths[1]


def test_status_of_a_service_and_of_everything(run_cli: RunCli,
                                               world: tuple[World, str, str]) -> None:
    _, cfg, group = world
    one = run_cli("status", "api", "--json", "--config", cfg)
    assert one.code == 0, one.stderr
    doc = json.loads(one.stdout)
    api = doc["services"]["api"]
    assert doc["regions"] == {} and api["primary"] == "cloudcontrol1003"
    assert api["records"][0]["record"] == EQIAD
    assert api["records"][0]["dns"]["agree"] and len(api["records"][0]["dns"]["servers"]) == 2
    assert api["records"][0]["zone"]["controller"] == "cloudcontrol1003"
    assert api["candidates"]["cloudcontrol1003"]["healthy"]
    assert not api["candidates"]["cloudcontrol1004"]["healthy"]
    assert api["suggested"] is None  # its only standby is unhealthy: promote would refuse
    said = run_cli("status", "api", "--config", cfg)
    assert said.stdout.splitlines()[-1] == "  next: none (no standby is healthy)", said.stdout
    every = json.loads(run_cli("status", "--json", "--config", group).stdout)
    assert every["regions"] == {} and set(every["services"]) == {"irc", "both"}
    both = every["services"]["both"]
    assert both["group"] and both["primary"] == "old"
    assert [r["candidate"] for r in both["records"]] == ["old", "old"]
    text = run_cli("status", "both", "--config", group)
    assert text.code == 0
    assert "both  group of 2 records -> old" in text.stdout
    assert f"{CODFW} -> old (2/2 nameservers agree; zone at Gerrit master agrees)" in text.stdout
    assert both["suggested"] == "failover promote both new --from old"
    assert "  next: failover promote both new --from old" in text.stdout.splitlines()


def test_health_of_a_service(run_cli: RunCli, world: tuple[World, str, str]) -> None:
    _, cfg, group = world
    bad = run_cli("health", "api", "--json", "--config", cfg)
    assert bad.code == 3
    doc = json.loads(bad.stdout)
    assert doc["service"] == "api" and not doc["healthy"]
    assert doc["candidates"]["cloudcontrol1003"]["kind"] == "tcp"
    good = run_cli("health", "api", "cloudcontrol1003", "--config", cfg)
    assert good.code == 0 and "healthy" in good.stdout and "UNHEALTHY" not in good.stdout
    unknown = run_cli("health", "api", "cloudcontrol9999", "--config", cfg)
    assert unknown.code == 2 and "unknown candidate 'cloudcontrol9999'" in unknown.stderr
    none = run_cli("health", "both", "--json", "--config", group)
    assert none.code == 0 and json.loads(none.stdout)["candidates"]["new"]["kind"] == "none"


def test_verify_every_record_of_a_group(run_cli: RunCli, world: tuple[World, str, str]) -> None:
    _, _api, group = world
    ok = run_cli("verify", "both", "--expect", "old", "--json", "--config", group)
    assert ok.code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["agree"] and [r["record"] for r in doc["records"]] == [EQIAD, CODFW]
    assert all(r["controller"] == "old" for r in doc["records"])
    wrong = run_cli("verify", "both", "--expect", "new", "--once", "--json", "--config",
                    group)
    assert wrong.code == 5 and not json.loads(wrong.stdout)["agree"]
    assert f"not every nameserver answers new for {EQIAD}, {CODFW}" in wrong.stderr


def test_check_of_a_service(run_cli: RunCli, world: tuple[World, str, str],
                            tmp_path: object) -> None:
    _, cfg, group = world
    state = f"{tmp_path}/state.json"
    api = run_cli("check", "api", "--state-file", state, "--config", cfg)
    assert api.code == 1, api.stdout  # the standby's listener is closed
    assert api.stdout.startswith("WARNING - standby cloudcontrol1004 UNHEALTHY")
    assert "api -> cloudcontrol1003, healthy" in api.stdout
    assert "'cloudcontrol1003_healthy'=1;;;0;1" in api.stdout
    both = run_cli("check", "both", "--state-file", state, "--config", group)
    assert both.code == 0 and both.stdout.startswith("OK - both -> old, healthy"), both.stdout
    assert "'records_pointing'=2;;;0;2" in both.stdout


def test_config_show_and_completion(run_cli: RunCli, world: tuple[World, str, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _, cfg, group = world
    doc = json.loads(run_cli("config", "show", "--json", "--config", group).stdout)
    assert doc["services"]["both"]["records"] == [EQIAD, CODFW]
    assert "regions" in doc and doc["regions"] == {}
    doc = json.loads(run_cli("config", "show", "--json", "--config", cfg).stdout)
    assert doc["services"]["api"]["candidates"]["cloudcontrol1004"]["health"]["kind"] == "tcp"
    assert "[groups.both]" in run_cli("config", "show", "--config", group).stdout
    assert "[services.api]" in run_cli("config", "show", "--config", cfg).stdout
    monkeypatch.setenv("FAILOVER_CONFIG", cfg)
    monkeypatch.setenv("_FAILOVER_COMPLETE", "complete_bash")
    for line, offered in (("failover status ", ["irc", "api"]),
                          ("failover promote api ", ["cloudcontrol1003", "cloudcontrol1004"]),
                          ("failover verify api --expect cloudcontrol100",
                           ["cloudcontrol1003", "cloudcontrol1004"])):
        monkeypatch.setenv("COMP_WORDS", line)
        monkeypatch.setenv("COMP_CWORD", str(len(line.split(" ")) - 1))
        assert run_cli().stdout.split() == offered, line
