"""Issue 20, section 2: a service target that does not resolve is judged as a region's.

The sandbox's `irc` service with its candidate irc1002 pointed at irc1099.wikimedia.org., a
name in the zone the same nameservers serve (real gdnsd), with no A/AAAA: `promote` refuses
it before anything is pushed (dry-run too, exit 3), `verify --expect` fails (exit 5) naming
it, and `check` warns of the standby's target.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.haproxy import haproxy_available
from sandbox.world import World, start_world
from tests.conftest import RunCli
from tests.helpers import git

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

DANGLING = "irc1099.wikimedia.org."


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[World, str]]:
    with start_world(auto_merge_after=0.3) as w:
        text = w.config_path.read_text(encoding="utf-8")
        assert 'target = "irc1002.wikimedia.org."' in text
        path = w.workdir / "dangling.toml"
        path.write_text(text.replace('target = "irc1002.wikimedia.org."',
                                     f'target = "{DANGLING}"'), encoding="utf-8")
        yield w, str(path)


@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "real"])
def test_promote_refuses_a_dangling_service_target_before_the_push(
        run_cli: RunCli, world: tuple[World, str], dry: bool, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    w, cfg = world
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    before = git(w.dns.gerrit.git_dir, "rev-parse", "HEAD")
    changes = len(w.dns.gerrit.changes())
    result = run_cli("promote", "irc", "irc1002", "--dry-run" if dry else "--yes", "--json",
                     "--config", cfg)
    assert result.code == 3, result.stdout + result.stderr
    assert f"its target {DANGLING} does not resolve" in result.stderr
    assert json.loads(result.stdout)["outcome"] == "refused"
    assert git(w.dns.gerrit.git_dir, "rev-parse", "HEAD") == before
    assert len(w.dns.gerrit.changes()) == changes


def test_verify_names_a_dangling_service_target(run_cli: RunCli,
                                                world: tuple[World, str]) -> None:
    _, cfg = world
    result = run_cli("verify", "irc", "--expect", "irc1002", "--once", "--json",
                     "--config", cfg)
    assert result.code == 5
    doc = json.loads(result.stdout)
    assert any(DANGLING in p and "does not resolve" in p for p in doc["target_problems"])
    assert "the expected target does not serve" in result.stderr


def test_check_warns_of_a_standby_s_dangling_target(run_cli: RunCli, world: tuple[World, str],
                                                    tmp_path: Path) -> None:
    _, cfg = world
    result = run_cli("check", "irc", "--state-file", str(tmp_path / "s.json"), "--config", cfg)
    assert result.code == 1, result.stdout
    assert f"standby irc.wikimedia.org: irc1002's target {DANGLING} does not resolve" \
        in result.stdout
