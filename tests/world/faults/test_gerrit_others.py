"""Issue 20, section 6: another operator's open change on the same zone file, pushed without
our topic, is named before the push; when it merges first and ours conflicts, Gerrit's
`mergeable: false` is named while the run waits for review. Against the Gerrit stand-in
(real git receive-pack, real merge-tree) and the sandbox world."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.dnsrepo import ZONE_PATH
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import current_and_other, promote, reset_world

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.fixture(autouse=True)
def clean(world: World) -> Iterator[None]:
    reset_world(world)
    yield
    reset_world(world)


def push_other_change(world: World, edit: str, subject: str) -> int:
    """Push, as another operator, an open change of the zone file without our topic."""
    with tempfile.TemporaryDirectory(prefix="fo-other-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        run = ["git", "-c", "user.name=Bob", "-c", "user.email=bob@example.org"]
        subprocess.run([*run, "clone", "-q", world.dns.gerrit.git_url, str(work)], check=True,
                       timeout=30)
        path = work / ZONE_PATH
        text = path.read_text()
        if edit:  # the TTL of the line our failover edits
            text = re.sub(r"(?m)^(openstack\s+)5M(\s+IN CNAME\s+\S+)$", rf"\g<1>{edit}\g<2>",
                          text, count=1)
        path.write_text(text if edit else text + "; another operator's edit\n")
        change_id = "I" + hashlib.sha256(f"{subject} {time.time()}".encode()).hexdigest()[:40]
        subprocess.run([*run, "commit", "-q", "--no-verify", "-am",
                        f"{subject}\n\nChange-Id: {change_id}"], cwd=work, check=True,
                       timeout=30)
        done = subprocess.run([*run, "push", "origin", "HEAD:refs/for/master"], cwd=work,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    [change] = [c for c in world.dns.gerrit.changes() if c["subject"] == subject]
    return int(change["number"])


def test_an_open_change_on_the_zone_file_without_our_topic_is_named(
        world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None  # the other change stays open
    number = push_other_change(world, "", "Add a comment to the cloud zone")
    url = world.dns.gerrit.change_url(number)
    dry = promote(run_cli, world, new, "--dry-run")
    assert dry.code == 0, dry.stderr
    warning = (f"another open change touches {ZONE_PATH}: {url} (Add a comment to the cloud "
               "zone)")
    assert warning in " ".join((dry.stdout + dry.stderr).split()), dry.stdout


def test_gerrit_saying_mergeable_false_is_named_while_waiting(
        world: World, run_cli: RunCli) -> None:
    _old, new = current_and_other(world)
    world.dns.gerrit.auto_merge_after = None
    first = promote(run_cli, world, new, "--no-wait")
    assert first.code == 0, first.stderr
    other = push_other_change(world, "10M", "Lower the TTL of openstack.eqiad1")
    world.dns.gerrit.approve_and_merge(other)  # lands first: ours now conflicts
    world.write_config(review_timeout=1)
    world.dns.gerrit.auto_merge_after = None
    second = promote(run_cli, world, new)
    assert second.code == 4, second.stderr
    said = " ".join((second.stdout + second.stderr).split())
    assert "cannot be merged (mergeable: false)" in said
