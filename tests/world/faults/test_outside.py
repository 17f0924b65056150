"""Issue 20, sections 4 and 5, against the real Alertmanager and the sandbox stand-ins: an
outside system's failure of any kind after the failover is a warning and an audit line (the
run still reports done, with its JSON and its outcome in the audit log), and silences say what
they do (an earlier run's shorter silence is extended, not taken as it is; a group silences
the hosts its records leave, not the side's name).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.alertmanager import available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import Mark, current_and_other, promote, reset_world, tool_traceback
from tests.world.test_habits import silences

pytestmark = pytest.mark.skipif(not available(), reason="prometheus-alertmanager not installed")
WORLD = {"outside": True}
USER, HOST = "alice", socket.gethostname()
REASON = "rack maintenance"
DAY = 86400.0


@pytest.fixture(autouse=True)
def clean(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    reset_world(world)
    out = world.outside
    assert out is not None and out.alertmanager is not None
    assert out.conduit.settle(30), "a Conduit request of an earlier test still being answered"
    out.conduit.comments.clear()
    out.conduit.mode = "ok"
    for s in silences(world, "active"):
        requests.delete(f"{out.alertmanager.url}/api/v2/silence/{s['id']}", timeout=5)
    monkeypatch.setenv("SUDO_USER", USER)
    monkeypatch.setenv("FAILOVER_PHABRICATOR_TOKEN", out.conduit.token)
    yield


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_ca_bundle_gone_after_the_merge_is_a_warning_not_exit_1(
        world: World, run_cli: RunCli) -> None:
    """The Phabricator CA file exists when the config is read; the deploy removes it. The
    task comment fails after the failover merged, deployed and verified: still done."""
    _old, new = current_and_other(world)
    ca = world.workdir / "phab-ca.pem"
    ca.write_text("")
    world.write_config(deploy=["sh", "-c", f'rm -f {ca} && exec "$0" "$@"',
                               *world.deploy_argv()])
    assert world.outside is not None
    text = world.config_path.read_text().replace(
        f'url = "{world.outside.conduit.url}"',
        f'url = "https://127.0.0.1:{closed_port()}"\nca_bundle = "{ca}"')
    world.config_path.write_text(text)
    mark = Mark(world)
    result = promote(run_cli, world, new, "--bug", "T12345", "--json")
    assert result.code == 0, result.stderr
    assert not tool_traceback(result.stderr)
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "done" and not ca.exists()
    [comment] = doc["task_comments"]
    assert comment["sent"] is False and str(ca) in comment["error"]
    assert "warning: no comment on T12345: " in result.stderr
    steps = [(r["step"], r["result"]) for r in mark.records()]
    assert ("task", "failed") in steps and steps[-1] == ("record", "done")


def test_silence_20d_extends_an_earlier_runs_1h_silence(world: World, run_cli: RunCli) -> None:
    old, new = current_and_other(world)
    out = world.outside
    assert out is not None and out.alertmanager is not None
    earlier = requests.post(f"{out.alertmanager.url}/api/v2/silences", timeout=5, json={
        "matchers": [{"name": "instance", "value": f"{old}(:[0-9]+)?", "isRegex": True,
                      "isEqual": True}],
        "startsAt": _iso(0), "endsAt": _iso(3600), "createdBy": USER,
        "comment": f"{REASON} - {USER}@{HOST}"}).json()["silenceID"]
    result = promote(run_cli, world, new, "--reason", REASON, "--silence", "20d", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    [active] = silences(world, "active")
    assert _epoch(active["endsAt"]) > _now() + 19 * DAY  # not the earlier run's hour
    assert doc["silence"]["id"] == active["id"] and doc["silence"]["reused"] is False
    assert doc["silence"]["extended_from"] is not None
    assert "silence extended (an earlier run's, was until " in result.stderr
    assert earlier in {s["id"] for s in silences(world)}


def test_a_resumed_run_with_the_same_window_reuses_its_own_silence(
        world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    first = promote(run_cli, world, new, "--reason", REASON, "--silence", "2h", "--no-wait")
    assert first.code == 0, first.stderr
    [created] = silences(world, "active")
    world.dns.gerrit.approve_and_merge(world.dns.gerrit.changes()[-1]["number"])
    second = promote(run_cli, world, new, "--reason", REASON, "--silence", "2h", "--json")
    assert second.code == 0, second.stderr
    assert [s["id"] for s in silences(world, "active")] == [created["id"]]
    assert "silence reused (this run's own, resumed, " in second.stderr


GROUP = ["[groups.dev]", 'sides = ["dc1", "dc2"]', "[groups.dev.members]",
         '"openstack.codfw1dev.wikimediacloud.org" = {dc1 = '
         '"cloudcontrol2001-dev.wikimedia.org.", dc2 = "cloudcontrol2004-dev.wikimedia.org."}']


def group_config(world: World, *extra: str) -> str:
    with world.config_path.open("a", encoding="utf-8") as f:
        f.write("\n" + "\n".join([*GROUP, *extra]) + "\n")
    return str(world.config_path)


def test_a_group_silences_the_hosts_its_records_leave(world: World, run_cli: RunCli) -> None:
    cfg = group_config(world)
    dry = run_cli("promote", "dev", "dc2", "--dry-run", "--json", "--silence", "2h",
                  "--config", cfg)
    assert dry.code == 0, dry.stderr
    silence: dict[str, Any] = json.loads(dry.stdout)["silence"]
    assert silence["matchers"] == ['instance=~"cloudcontrol2001-dev(:[0-9]+)?"']
    real = run_cli("promote", "dev", "dc2", "--yes", "--json", "--silence", "2h",
                   "--reason", REASON, "--config", cfg)
    assert real.code == 0, real.stderr
    [active] = silences(world, "active")
    assert [m["value"] for m in active["matchers"]] == ["cloudcontrol2001-dev(:[0-9]+)?"]
    back = run_cli("promote", "dev", "dc1", "--yes", "--config", cfg)
    assert back.code == 0, back.stderr


def _now() -> float:
    import time

    return time.time()


def _iso(offset: float) -> str:
    from failover.alertmanager import iso

    return iso(_now() + offset)


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
