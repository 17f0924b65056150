"""The CLI replay (benchmarks.replay --cli) on a sample history built from the real template
fixtures: one commit of each shape, written as a human did, replayed through `failover
promote` in one world, and the failback of the one a human reverted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.replay import Blobs, commits, replay_commit
from benchmarks.replay_cli import run
from sandbox.realrepo import FIXTURES

pytestmark = pytest.mark.skipif(shutil.which("gdnsd") is None, reason="gdnsd not installed")

WIKIMEDIA = "templates/wikimedia.org"
WMNET = "templates/wmnet"
IRC = ("irc             5M  IN CNAME    irc2003\n", "irc             5M  IN CNAME    irc1003\n")
HIVE = ("analytics-hive        5M  IN CNAME    an-coord1003.eqiad.wmnet.\n",
        "analytics-hive        5M  IN CNAME    an-coord1004.eqiad.wmnet.\n")
PRESTO = ("analytics-presto      5M  IN CNAME    an-coord1003.eqiad.wmnet.\n",
          "analytics-presto      5M  IN CNAME    an-coord1004.eqiad.wmnet.\n")
PUPPET = ("puppet           5M IN CNAME puppetmaster1001.eqiad.wmnet.\n",
          "puppet           5M IN CNAME puppetmaster1002.eqiad.wmnet.\n")
DOC = ("\ndoc                   300 IN CNAME doc2003.codfw.wmnet.\n",
       "\ndoc                   300 IN CNAME doc1004.eqiad.wmnet.\n")
"""The live line under `;doc ... doc1004.eqiad.wmnet.`: edited, the commented line kept."""
URLD = [("url-downloader.eqiad  5M  IN CNAME urldownloader1004\n",
         "url-downloader.eqiad  5M  IN CNAME urldownloader1005\n"),
        ("url-downloader.codfw  5M  IN CNAME urldownloader2004\n",
         "url-downloader.codfw  5M  IN CNAME urldownloader2005\n")]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Human", "-c", "user.email=h@example.org",
                           *args], cwd=repo, capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def _commit(repo: Path, subject: str, edits: dict[str, list[tuple[str, str]]]) -> None:
    for path, pairs in edits.items():
        text = (repo / path).read_text()
        for old, new in pairs:
            assert old in text, old
            text = text.replace(old, new, 1)
        (repo / path).write_text(text)
    _git(repo, "commit", "-qam", subject)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history on the real fixtures: base, then one human flip of each shape."""
    repo = tmp_path_factory.mktemp("opdns") / "dns"
    shutil.copytree(FIXTURES, repo, ignore=shutil.ignore_patterns("README.md"))
    (repo / ".gitreview").write_text("[gerrit]\nhost=gerrit.wikimedia.org\nport=29418\n"
                                     "project=operations/dns.git\ndefaultbranch=master\n")
    _git(repo, "init", "-q", "-b", "master")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "operations/dns (real files)")
    _commit(repo, "wikimedia.org: fail over irc to irc1003", {WIKIMEDIA: [IRC]})
    _commit(repo, 'Revert "wikimedia.org: fail over irc to irc1003"',
            {WIKIMEDIA: [(IRC[1], IRC[0])]})
    _commit(repo, "wmnet: move analytics-hive and presto to an-coord1004",
            {WMNET: [HIVE, PRESTO]})
    # a host of wmnet named right after a wmnet change: wmnet is served as deployed
    _commit(repo, "wikimedia.org: puppet to puppetmaster1002", {WIKIMEDIA: [PUPPET]})
    _commit(repo, "Failover url-downloader to the 1005/2005 hosts", {WIKIMEDIA: URLD})
    _commit(repo, "wmnet: doc to doc1004, the commented line left as it is",
            {WMNET: [DOC]})
    _commit(repo, "Move irc and m1-master at once",
            {WIKIMEDIA: [IRC], WMNET: [("m1-master       5M  IN CNAME    dbproxy1024.eqiad",
                                        "m1-master       5M  IN CNAME    dbproxy1028.eqiad")]})
    return repo


@pytest.mark.timeout(600)  # six promotes and a failback, each a few seconds on a quiet machine
def test_each_shape_replays_through_the_cli(history: Path) -> None:
    blobs = Blobs(history)
    try:  # the human's revert is itself a flip: left out here, the failback replays it
        chosen = [c for c in commits(history, None) if replay_commit(c, blobs) is not None
                  and not c.subject.startswith("Revert")]
    finally:
        blobs.close()
    out: list[str] = []

    class Lines:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

    results = {r.commit.subject: r for r in run(history, list(reversed(chosen)), out=Lines())}
    irc = results["wikimedia.org: fail over irc to irc1003"]
    assert (irc.shape, irc.ok, irc.failback) == ("service (1 record)", True, "revert"), irc
    hive = results["wmnet: move analytics-hive and presto to an-coord1004"]
    assert (hive.shape, hive.ok) == ("service (N records)", True), hive
    puppet = results["wikimedia.org: puppet to puppetmaster1002"]
    assert (puppet.shape, puppet.ok) == ("service (1 record)", True), puppet
    urld = results["Failover url-downloader to the 1005/2005 hosts"]
    assert (urld.shape, urld.ok) == ("group", True), urld
    doc = results["wmnet: doc to doc1004, the commented line left as it is"]
    assert (doc.shape, doc.ok) == ("service (1 record)", True), doc  # standby = "none"
    both = results["Move irc and m1-master at once"]
    assert (both.shape, both.ok) == ("not expressible", False)
    assert "several files" in both.cause
    assert len(out) >= 6
