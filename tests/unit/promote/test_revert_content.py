"""Which change a failback reverts, found by content, on a real git repository: an SRV set,
a member removed, a commented standby; the revert's file is the change's hunks inverted at
the tip (every other line as the tip has it), or no revert when the set's lines changed since
or the change touched anything else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from failover.promote.revert import find_reverted, invert, same_lines

PATH = "templates/wmnet"
SRV = ("_etcd._tcp.conftool.eqiad.wmnet", "SRV")
HEAD = ["$TTL 1H", "@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. 1 1H 1H 1W 1H",
        "@ 1D IN NS ns0.wikimedia.org.", "", "$ORIGIN eqiad.wmnet.", "; Conftool (RW)"]


def srv(*hosts: str, ttl: str = "5M", weight: int = 1) -> list[str]:
    return [f"_etcd._tcp.conftool {ttl}  IN SRV      0 {weight} 4001 {h}." for h in hosts]


EQIAD = srv("conf1007.eqiad.wmnet", "conf1008.eqiad.wmnet", "conf1009.eqiad.wmnet")
CODFW = srv("conf2004.codfw.wmnet", "conf2005.codfw.wmnet", "conf2006.codfw.wmnet")
TAIL = ["", "$ORIGIN discovery.wmnet.", ";doc 300 IN CNAME doc1003.eqiad.wmnet.",
        "doc 300 IN CNAME doc2002.codfw.wmnet.", ""]


def zone(lines: list[str], tail: list[str] = TAIL) -> str:
    return "\n".join([*HEAD, *lines, *tail])


class Repo:
    """A git repository of one zone file, committed to as a test says."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "master")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                               *args], cwd=self.path, check=True, capture_output=True,
                              text=True, timeout=30).stdout

    def commit(self, text: str, subject: str, other: str | None = None) -> str:
        (self.path / PATH).parent.mkdir(exist_ok=True)
        (self.path / PATH).write_text(text)
        if other is not None:
            (self.path / "other").write_text(other)
        self.git("add", "-A")
        self.git("commit", "-qm", subject)
        return self.git("rev-parse", "HEAD").strip()

    def reverted(self, keys: list[tuple[str, str]] | None = None) -> tuple[str, str] | None:
        """Return (sha, the revert's file) at HEAD, any subject and any result accepted."""
        found = find_reverted(self.path, "HEAD", PATH, keys or [SRV],
                              wanted=lambda s: True, accept=lambda t: True)
        return (found.sha, found.text or "") if found else None


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path)
    r.commit(zone(CODFW), "wmnet: conftool on codfw")
    return r


def test_a_set_moved_back_is_the_revert_lines_added_beside_it_kept(repo: Repo) -> None:
    moved = repo.commit(zone(EQIAD), "wmnet: conftool to eqiad")
    repo.commit(zone(["conf1010 1H IN A 10.0.0.1", *EQIAD, "conf1011 1H IN A 10.0.0.2"]),
                "wmnet: add conf1010 and conf1011")  # right above and below the set
    assert repo.reverted() == (moved, zone(["conf1010 1H IN A 10.0.0.1", *CODFW,
                                            "conf1011 1H IN A 10.0.0.2"]))


def test_the_last_change_of_any_line_of_the_set_is_the_one(repo: Repo) -> None:
    """A TTL changed since the move: that change is the set's last (the move is not
    reverted; the promote's `wanted` says whether a TTL change may be)."""
    repo.commit(zone(EQIAD), "wmnet: conftool to eqiad")
    ttl = repo.commit(zone(srv("conf1007.eqiad.wmnet", "conf1008.eqiad.wmnet",
                               "conf1009.eqiad.wmnet", ttl="1H")), "wmnet: conftool TTL 1H")
    assert repo.reverted() == (ttl, zone(EQIAD))


def test_not_a_revert_when_the_change_touched_another_line(repo: Repo) -> None:
    repo.commit(zone(["conf1010 1H IN A 10.0.0.1", *EQIAD]), "wmnet: conftool to eqiad")
    assert repo.reverted() is None


def test_not_a_revert_when_the_change_touched_another_file(repo: Repo) -> None:
    repo.commit(zone(EQIAD), "wmnet: conftool to eqiad", other="x\n")
    assert repo.reverted() is None


def test_not_a_revert_when_a_line_came_between_the_sets_lines(repo: Repo) -> None:
    repo.commit(zone(EQIAD), "wmnet: conftool to eqiad")
    repo.commit(zone([EQIAD[0], "; the second is the leader", *EQIAD[1:]]), "wmnet: a note")
    assert repo.reverted() is None  # the move's hunk no longer lies together


def test_a_removed_first_line_is_put_back_before_its_sibling(repo: Repo) -> None:
    depooled = repo.commit(zone(CODFW[1:]), "wmnet: depool conf2004")
    repo.commit(zone(CODFW[1:], [*TAIL[:-1], "zz 1H IN A 10.0.0.9", ""]), "wmnet: add zz")
    assert repo.reverted() == (depooled, zone(CODFW, [*TAIL[:-1], "zz 1H IN A 10.0.0.9", ""]))


def test_a_standby_swapped_back_is_the_revert(repo: Repo) -> None:
    swap = ["$ORIGIN discovery.wmnet.", "doc 300 IN CNAME doc1003.eqiad.wmnet.",
            ";doc 300 IN CNAME doc2002.codfw.wmnet.", ""]
    swapped = repo.commit(zone(CODFW, ["", *swap]), "wmnet: failover doc host")
    keys = [("doc.discovery.wmnet", "CNAME")]
    assert repo.reverted(keys) == (swapped, zone(CODFW))
    repo.commit(zone(CODFW, ["", *swap[:2], ";doc 300 IN CNAME doc2003.codfw.wmnet.", ""]),
                "wmnet: doc's standby is doc2003")  # only the commented line: a set line
    assert repo.reverted(keys) is None


@pytest.mark.parametrize(("tip", "hunk", "moved", "expected"), [
    ("a\nx\nB\nc", (1, 2, 1, 2), {2: 3}, "a\nx\nb\nc"),  # replaced; moved down by x
    ("a\nx\nc", (1, 2, 1, 1), {1: 1}, "a\nb\nx\nc"),      # removed: after its sibling
    ("a\nx\nc", (1, 2, 1, 1), {2: 3}, "a\nx\nb\nc"),      # ... or before the next one
    ("a\nx\nc", (1, 2, 1, 1), {}, None),                   # no record's line beside it
    ("a\nx\nB\nc", (1, 2, 1, 2), {}, None),               # not a record's line
])
def test_invert(tip: str, hunk: tuple[int, int, int, int], moved: dict[int, int],
                expected: str | None) -> None:
    """The change made "a b c" (its parent) into "a B c" or "a c"; the tip has x since."""
    assert invert(tip, "a\nb\nc", [hunk], moved) == expected


def test_the_promotes_own_lines_in_another_order_are_the_same_lines() -> None:
    """A set's lines the promote's edit would write in another order are what the revert
    writes (in the order the change found them); another TTL is not."""
    keys = [SRV]
    assert same_lines(zone(EQIAD), zone(EQIAD[::-1]), keys, PATH)
    assert not same_lines(zone(EQIAD), zone(srv("conf1007.eqiad.wmnet", "conf1008.eqiad.wmnet",
                                                "conf1009.eqiad.wmnet", ttl="1H")), keys, PATH)
    assert not same_lines(zone(EQIAD), zone(EQIAD[:2]), keys, PATH)
