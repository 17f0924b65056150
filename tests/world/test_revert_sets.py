"""A failback of a set written as Gerrit's Revert, through the whole CLI against the sandbox's
Gerrit and gdnsd (the world and zone of tests/world/test_promote_sets.py): an SRV group moved
to eqiad and back (an unrelated line added beside it meanwhile), a commented standby swapped
and swapped back, a member pooled back after an unrelated change of the file; and a move back
that is not a revert because a line of the set changed since. Each revert's message passes
commit-message-validator; its zone is the one before the change it reverts, byte for byte
(plus what others merged since)."""

from __future__ import annotations

import json
from pathlib import Path

from failover.dnscheck.srvset import agreed, ask_sets
from failover.zone.sets import Member
from sandbox.dnsrepo import WMNET_PATH, push_upstream_edit
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import git
from tests.unit.promote.test_message_rules import run_validator
from tests.world.test_promote_sets import (
    CODFW,
    CONFTOOL,
    DOC,
    EQIAD,
    PUPPET,
    PUPPETS,
    _merged,
    _servers,
    wmnet,
    world,
)

__all__ = ["world"]  # the sets' world fixture, on this module's own world

UNRELATED = "conf1010             1H  IN A     127.0.0.1"
"""A line an unrelated upstream change adds right above eqiad's conftool set."""


def _last(w: World) -> tuple[str, str, list[str]]:
    """Return the upstream tip's sha, subject and message lines."""
    gerrit = w.dns.gerrit.git_dir
    return (git(gerrit, "rev-parse", "HEAD").strip(), git(gerrit, "log", "-1", "--format=%s")
            .strip(), git(gerrit, "log", "-1", "--format=%B").strip().splitlines())


def _with_unrelated(text: str) -> str:
    """Return `text` with UNRELATED right above the first `; Conftool (RW)` (eqiad's)."""
    return text.replace("; Conftool (RW)", f"{UNRELATED}\n; Conftool (RW)", 1)


def _assert_revert_of(w: World, sha: str, subject: str, tmp_path: Path) -> None:
    """The tip is the revert of `sha` (titled `subject`), its message validator-clean."""
    _, now, lines = _last(w)
    message = "\n".join(lines) + "\n"
    assert now == f'Revert "{subject}"', message
    assert lines[1:3] == ["", f"This reverts commit {sha}."], message
    assert run_validator(message, tmp_path) == ""
    changed = git(w.dns.gerrit.git_dir, "diff", "--name-only", "HEAD~1", "HEAD").split()
    assert changed == [WMNET_PATH]


def test_srv_group_moved_back_is_the_revert(run_cli: RunCli, world: tuple[World, Path],
                                            tmp_path: Path) -> None:
    """conftool to eqiad, an unrelated line added right above the set, conftool back to
    codfw: the revert of the move, its lines put back byte for byte, the unrelated line kept."""
    w, _ = world
    cfg = str(w.config_path)
    there = run_cli("promote", "conftool", "eqiad", "--yes", "--json", "--config", cfg)
    assert there.code == 0, there.stderr + there.stdout
    assert json.loads(there.stdout)["revert"] is None
    first, subject, _ = _last(w)
    push_upstream_edit(w.dns.gerrit, WMNET_PATH, _with_unrelated(_merged(w)),
                       message="wmnet: add conf1010 (sandbox)")
    dry = run_cli("promote", "conftool", "codfw", "--dry-run", "--json", "--config", cfg)
    assert dry.code == 0, dry.stderr + dry.stdout
    preview = json.loads(dry.stdout)
    assert preview["revert"] == {"commit": first, "subject": subject}
    assert preview["zone"]["diff"].count("\n+_etcd._tcp.conftool") == 6
    back = run_cli("promote", "conftool", "codfw", "--yes", "--json", "--reason",
                   "eqiad maintenance over", "--config", cfg)
    assert back.code == 0, back.stderr + back.stdout
    assert json.loads(back.stdout)["revert"] == {"commit": first, "subject": subject}
    _assert_revert_of(w, first, subject, tmp_path)
    assert _last(w)[2][4] == "Reason for revert: eqiad maintenance over"
    assert _merged(w) == _with_unrelated(wmnet(CODFW))
    for record in CONFTOOL:
        answers = ask_sets(_servers(w), record, "SRV", {"eqiad": EQIAD, "codfw": CODFW})
        assert agreed(answers) == "codfw"


def test_not_a_revert_when_the_set_changed_since(run_cli: RunCli,
                                                 world: tuple[World, Path]) -> None:
    """After conftool's move to eqiad, eqiad's set got another TTL by hand: the last change
    of the set's lines is that one, not the move, so the move back is the tool's own change
    (its message, the hand-set TTL kept), not the revert of the move."""
    w, _ = world
    cfg = str(w.config_path)
    assert run_cli("promote", "conftool", "eqiad", "--yes", "--config", cfg).code == 0
    text = _merged(w)
    owner = "_etcd._tcp.conftool 5M  IN SRV"
    assert text.count(owner) == 6  # eqiad's set, then codfw's: eqiad's three lines changed
    hand = push_upstream_edit(w.dns.gerrit, WMNET_PATH,
                              text.replace(owner, owner.replace(" 5M ", " 1H "), 3),
                              message="wmnet: eqiad's conftool SRV TTL 1H")
    dry = run_cli("promote", "conftool", "codfw", "--dry-run", "--json", "--ack", hand,
                  "--config", cfg)
    assert dry.code == 0, dry.stderr + dry.stdout
    assert json.loads(dry.stdout)["revert"] is None
    back = run_cli("promote", "conftool", "codfw", "--yes", "--json", "--ack", hand,
                   "--config", cfg)
    assert back.code == 0, back.stderr + back.stdout
    assert json.loads(back.stdout)["revert"] is None
    _, subject, lines = _last(w)
    assert not subject.startswith("Revert") and "This reverts commit" not in "\n".join(lines)
    assert _merged(w).count("_etcd._tcp.conftool 1H  IN SRV      0 1 4001 conf200") == 3


def test_standby_swapped_back_is_the_revert(run_cli: RunCli, world: tuple[World, Path],
                                            tmp_path: Path) -> None:
    w, _ = world
    cfg = str(w.config_path)
    before = _merged(w)
    assert run_cli("promote", "doc", "doc1003", "--yes", "--config", cfg).code == 0
    first, subject, _ = _last(w)
    back = run_cli("promote", "doc", "doc2002", "--yes", "--json", "--config", cfg)
    assert back.code == 0, back.stderr + back.stdout
    _assert_revert_of(w, first, subject, tmp_path)
    assert _merged(w) == before
    answers = ask_sets(_servers(w), DOC, "CNAME", {
        "doc1003": [Member("doc1003.eqiad.wmnet.")], "doc2002": [Member("doc2002.codfw.wmnet.")]})
    assert agreed(answers) == "doc2002"


def test_pool_after_an_unrelated_change_is_the_revert(run_cli: RunCli,
                                                      world: tuple[World, Path],
                                                      tmp_path: Path) -> None:
    """A depool, then an unrelated change of the same file, then the pool: still the
    revert of the depool (its set's lines are as the depool left them)."""
    w, _ = world
    cfg = str(w.config_path)
    before = _merged(w)
    member = "puppetserver2002.codfw.wmnet"
    out = run_cli("depool", "puppet", member, "--yes", "--config", cfg)
    assert out.code == 0, out.stderr + out.stdout
    first, subject, _ = _last(w)
    push_upstream_edit(w.dns.gerrit, WMNET_PATH, _with_unrelated(_merged(w)),
                       message="wmnet: add conf1010 (sandbox)")
    back = run_cli("pool", "puppet", member, "--yes", "--json", "--config", cfg)
    assert back.code == 0, back.stderr + back.stdout
    doc = json.loads(back.stdout)
    assert doc["revert"] == {"commit": first, "subject": subject} and doc["member"]["revert"]
    _assert_revert_of(w, first, subject, tmp_path)
    assert _merged(w) == _with_unrelated(before)
    answers = ask_sets(_servers(w), PUPPET, "SRV", {"all": PUPPETS})
    assert agreed(answers) == "all"
