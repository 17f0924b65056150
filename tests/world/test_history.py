"""`failover history` on the sandbox: a promote's change and a hand-made one, read back from
the checkout's remote-tracking branch (real git, the Gerrit stand-in)."""

from __future__ import annotations

import json

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import git

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

ZONE = "templates/wikimediacloud.org"


def test_history_names_the_promote_and_the_hand_made_change(run_cli: RunCli,
                                                           world: World) -> None:
    cfg = str(world.config_path)
    done = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--json", "--bug", "T42",
                   "--config", cfg)
    assert done.code == 0, done.stderr
    change_id = json.loads(done.stdout)["commit"]["change_id"]
    checkout = world.dns.checkout
    git(checkout, "pull", "-q", "--ff-only")
    path = checkout / ZONE
    path.write_text(path.read_text().replace("openstack  5M  IN CNAME  cloudcontrol1004",
                                             "openstack  1H  IN CNAME  cloudcontrol1004"))
    git(checkout, "-c", "user.name=Hand", "-c", "user.email=h@example.org", "commit", "-qam",
        "wikimediacloud.org: openstack TTL 1H")
    git(checkout, "push", "-q", "origin", "HEAD:refs/heads/master")
    git(checkout, "fetch", "-q", "origin")

    out = run_cli("history", "eqiad1", "--json", "--config", cfg)
    assert out.code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["records"] == ["openstack.eqiad1.wikimediacloud.org"]
    hand, ours = doc["changes"][:2]
    assert hand["subject"] == "wikimediacloud.org: openstack TTL 1H"
    assert (hand["from"], hand["to"], hand["by_failover"]) == \
        ("cloudcontrol1004", "cloudcontrol1004", False)
    assert (ours["from"], ours["to"], ours["by_failover"]) == \
        ("cloudcontrol1003", "cloudcontrol1004", True)
    assert ours["bugs"] == ["T42"] and ours["change_id"] == change_id
    assert ours["written_to_merged_seconds"] >= 0
    assert ours["records"] == [{"record": "openstack.eqiad1.wikimediacloud.org",
                                "type": "CNAME", "from": ["cloudcontrol1003.wikimedia.org."],
                                "to": ["cloudcontrol1004.wikimedia.org."]}]

    text = run_cli("history", "eqiad1", "--limit", "1", "--config", cfg)
    assert text.code == 0, text.stderr
    assert "1 change (the last 1: --limit)" in text.stdout
    assert "cloudcontrol1004 -> cloudcontrol1004  by Hand" in text.stdout


def test_history_of_an_unknown_name_is_a_usage_error(run_cli: RunCli, world: World) -> None:
    out = run_cli("history", "nowhere", "--config", str(world.config_path))
    assert out.code == 2 and "unknown name 'nowhere'" in out.stderr
