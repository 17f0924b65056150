"""A zone whose bytes are not all UTF-8 (issue 15 point 17), through promote and status.

The template at the remote tip gets a comment with one Latin-1 byte (0xE9) two lines above
the record, so it is also in the diff's context. Before the fix promote stopped at exit 4
("cannot read ... 'utf-8' codec can't decode ... hint: fetch first") and status fell back to
the working tree without a word. Now promote edits the record's line only (every other byte,
the 0xE9 too, is kept in the merged file) and status reads the remote branch.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover import repo
from sandbox.dnsrepo import ZONE_PATH
from sandbox.haproxy import haproxy_available
from sandbox.world import World, start_world
from tests.conftest import RunCli
from tests.helpers import (
    Mark,
    assert_nothing_lost,
    deploy_all,
    git,
    promote,
    served_targets,
    shared_world_env,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

LATIN1_COMMENT = b"; Caf\xe9 de la gare: this comment was saved in Latin-1\n"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with start_world(auto_merge_after=0.3) as w, shared_world_env(w):
        yield w


def upstream_bytes(world: World) -> bytes:
    """Return the template's bytes on the stand-in's master."""
    return subprocess.run(["git", "--git-dir", world.dns.gerrit.git_url, "show",
                           f"master:{ZONE_PATH}"], capture_output=True, check=True,
                          timeout=30).stdout


def push_bytes(world: World, data: bytes) -> None:
    """Commit `data` as the template straight to the stand-in's master."""
    with tempfile.TemporaryDirectory(prefix="fo-l1-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        git(Path(tmp), "clone", "--quiet", world.dns.gerrit.git_url, str(work))
        (work / ZONE_PATH).write_bytes(data)
        git(work, "-c", "user.name=Ops", "-c", "user.email=ops@example.org", "commit",
            "--quiet", "--no-verify", "-am", "Note in Latin-1")
        git(work, "push", "--quiet", "origin", "HEAD:refs/heads/master")


def with_latin1_comment(data: bytes) -> bytes:
    """Return the template with the Latin-1 comment two lines above the openstack record."""
    lines = data.split(b"\n")
    at = next(i for i, ln in enumerate(lines) if ln.startswith(b"openstack"))
    return b"\n".join([*lines[:at - 1], LATIN1_COMMENT.rstrip(b"\n"), *lines[at - 1:]])


def test_promote_keeps_a_latin1_byte_and_edits_only_the_record(run_cli: RunCli,
                                                               world: World) -> None:
    before = with_latin1_comment(upstream_bytes(world))
    push_bytes(world, before)
    deploy_all(world)
    old = served_targets(world)[0].split(".")[0]
    target = "cloudcontrol1003" if old == "cloudcontrol1004" else "cloudcontrol1004"
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert_nothing_lost(mark, result.code, 0, "done", result.stderr)
    assert "utf-8" not in result.stderr
    after = upstream_bytes(world)
    old_lines, new_lines = before.split(b"\n"), after.split(b"\n")
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][0].replace(old.encode(), target.encode()) == changed[0][1]
    assert LATIN1_COMMENT.rstrip(b"\n") in after
    assert served_targets(world) == [f"{target}.wikimedia.org."] * 2


def test_status_reads_the_remote_zone_with_a_latin1_byte(run_cli: RunCli,
                                                         world: World) -> None:
    data = upstream_bytes(world)
    if LATIN1_COMMENT not in data:
        push_bytes(world, with_latin1_comment(data))
    checkout = world.dns.checkout
    git(checkout, "fetch", "--quiet", "origin")
    result = run_cli("status", "eqiad1", "--config", str(world.config_path), "--json")
    assert result.code == 0, result.stderr
    zone = json.loads(result.stdout)["regions"]["eqiad1"]["zone"]
    assert zone["error"] is None
    assert zone["source"] != "working tree"  # Gerrit's branch or the remote-tracking one
    # the remote-tracking branch read gives the file's bytes back, the Latin-1 one too
    text = repo.read_remote_file(repo.open_checkout(checkout), ZONE_PATH)
    assert text.encode("utf-8", "surrogateescape") == upstream_bytes(world)
