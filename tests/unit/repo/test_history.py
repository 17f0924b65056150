"""failover.repo.history: the pure parser of `git log -p -U0` text (no git run here)."""

from __future__ import annotations

from failover.repo.history import LOG_FORMAT, attributes_text, parse_log, pickaxe

SEP = "\x1f"


def commit(sha: str, message: str, *, author: str = "Alice",
           written: str = "2025-01-01T10:00:00+00:00",
           merged: str = "2025-01-01T10:05:00+00:00") -> list[str]:
    """Return the lines git writes for one commit's header in LOG_FORMAT."""
    text = f"\x1e{sha}{SEP}{author}{SEP}a@example.org{SEP}{written}{SEP}Gerrit{SEP}{merged}" \
           f"{SEP}{message}\n{SEP}"
    return [*text.split("\n"), ""]


def diff(*hunks: list[str]) -> list[str]:
    out = ["diff --git a/templates/x b/templates/x", "index 1..2 100644",
           "--- a/templates/x", "+++ b/templates/x"]
    for h in hunks:
        out += h
    return out


def test_a_cname_moved_and_the_footers() -> None:
    log = commit("a" * 40, "Failover irc to irc2003\n\nWhy.\n\nBug: T1\nBug: T2\n"
                 "Made with failover 1.0: failover promote irc irc2003\n"
                 "Change-Id: I" + "1" * 40) + diff(
        ["@@ -5 +5 @@", "-irc 5M IN CNAME irc1003", "+irc 5M IN CNAME irc2003"])
    [e] = parse_log(log, ["irc.wikimedia.org"], zone="wikimedia.org")
    assert e.sha == "a" * 40 and e.subject == "Failover irc to irc2003"
    assert e.bugs == ("T1", "T2") and e.change_id == "I" + "1" * 40 and e.by_tool
    assert e.written_to_merged == 300.0
    [c] = e.changes
    assert (c.record, c.rtype) == ("irc.wikimedia.org", "CNAME")
    assert c.before == ("irc1003.wikimedia.org.",) and c.after == ("irc2003.wikimedia.org.",)
    assert c.removed == ("irc 5M IN CNAME irc1003",) and c.added == ("irc 5M IN CNAME irc2003",)


def test_other_owners_and_hand_written_commits_are_told_apart() -> None:
    log = (commit("b" * 40, "Add ircd") + diff(["@@ -1,0 +2 @@", "+ircd 5M IN A 10.0.0.1"])
           + commit("c" * 40, "by hand") + diff(
               ["@@ -5 +5 @@", "-IRC.wikimedia.org. 5M IN CNAME irc1.wikimedia.org.",
                "+irc.wikimedia.org. 5M IN CNAME irc2.wikimedia.org."]))
    [e] = parse_log(log, ["irc.wikimedia.org"], zone="wikimedia.org")
    assert e.sha == "c" * 40 and not e.by_tool and e.bugs == () and e.change_id is None
    assert e.changes[0].before == ("irc1.wikimedia.org.",)


def test_origin_from_the_hunk_header_and_inside_the_hunk() -> None:
    log = commit("d" * 40, "two regions") + diff(
        ["@@ -10 +10 @@ $ORIGIN eqiad1.wikimediacloud.org.",
         "-openstack 5M IN CNAME cloudcontrol1003.wikimedia.org.",
         "+openstack 5M IN CNAME cloudcontrol1004.wikimedia.org."],
        ["@@ -20 +20 @@ $ORIGIN codfw1dev.wikimediacloud.org.",
         "-openstack 5M IN CNAME cloudcontrol2001-dev.wikimedia.org.",
         "+openstack 5M IN CNAME cloudcontrol2005-dev.wikimedia.org."],
        ["@@ -30,0 +31,2 @@", "+$ORIGIN eqiad1.wikimediacloud.org.",
         "+openstack 5M IN CNAME x.wikimedia.org."])
    [e] = parse_log(log, ["openstack.eqiad1.wikimediacloud.org"], zone="wikimediacloud.org")
    assert [(c.before, c.after) for c in e.changes] == [
        (("cloudcontrol1003.wikimedia.org.",),
         ("cloudcontrol1004.wikimedia.org.", "x.wikimedia.org."))]


def test_cname_to_address_blank_owner_and_moved_lines() -> None:
    log = (commit("e" * 40, "to an address") + diff(
        ["@@ -7 +7,2 @@", "-gerrit 300 IN CNAME old", "+gerrit 300 IN A 10.0.0.2",
         "+        300 IN AAAA 2001:db8::2"])
           + commit("f" * 40, "reorder") + diff(
               ["@@ -3 +2,0 @@", "-gerrit 300 IN A 10.0.0.2"],
               ["@@ -9,0 +9 @@", "+gerrit 300 IN A 10.0.0.2"]))
    entries = list(parse_log(log, ["gerrit.wikimedia.org"], zone="wikimedia.org"))
    assert [e.sha[0] for e in entries] == ["e"]  # a line moved is no change
    got = {c.rtype: (c.before, c.after) for c in entries[0].changes}
    assert got == {"CNAME": (("old.wikimedia.org.",), ()), "A": ((), ("10.0.0.2",)),
                   "AAAA": ((), ("2001:db8::2",))}


def test_a_blank_owner_at_the_top_of_a_hunk_is_not_guessed() -> None:
    log = commit("1" * 40, "aaaa") + diff(["@@ -8 +8 @@", "-   300 IN AAAA 2001:db8::1",
                                           "+   300 IN AAAA 2001:db8::2"])
    assert list(parse_log(log, ["gerrit.wikimedia.org"], zone="wikimedia.org")) == []


def test_jinja_lines_comments_and_no_newline_marker() -> None:
    log = commit("2" * 40, "x") + diff(
        ["@@ -1,3 +1,3 @@", "-; irc 5M IN CNAME commented", "-irc 5M IN CNAME {{ x }}",
         "-irc 5M IN CNAME a", "\\ No newline at end of file", "+irc 5M IN CNAME b",
         "+; note", "+irc 5M IN CNAME {{ y }}"])
    [e] = parse_log(log, ["irc.wikimedia.org"], zone="wikimedia.org")
    assert [(c.before, c.after) for c in e.changes] == [(("a.wikimedia.org.",),
                                                         ("b.wikimedia.org.",))]


def test_a_removed_line_that_looks_like_a_header_stays_in_its_hunk() -> None:
    log = commit("3" * 40, "x") + diff(["@@ -1,2 +1 @@", "--- irc 5M IN CNAME z",
                                        "-irc 5M IN CNAME a", "+irc 5M IN CNAME b"])
    [e] = parse_log(log, ["irc.wikimedia.org"], zone="wikimedia.org")
    assert e.changes[0].before == ("a.wikimedia.org.",)


def test_format_attributes_and_pickaxe() -> None:
    assert LOG_FORMAT.startswith("%x1e%H%x1f") and LOG_FORMAT.endswith("%B%x1f")
    assert attributes_text(["templates/x"]) == "/templates/x diff=failover-zone\n"
    assert pickaxe(["irc.wikimedia.org", "a+b.example.org"]) == r"^(@|(a\+b|irc))"


def test_a_hunk_shorter_than_its_header_does_not_eat_the_next_commit() -> None:
    log = (commit("4" * 40, "short") + diff(["@@ -1,5 +1,5 @@", "-irc 5M IN CNAME a",
                                             "+irc 5M IN CNAME b"])
           + commit("5" * 40, "next") + diff(["@@ -1 +1 @@", "-irc 5M IN CNAME b",
                                              "+irc 5M IN CNAME c"]))
    got = [(e.sha[0], e.changes[0].after) for e in
           parse_log(log, ["irc.wikimedia.org"], zone="wikimedia.org")]
    assert got == [("4", ("b.wikimedia.org.",)), ("5", ("c.wikimedia.org.",))]


def test_an_srv_set_moved_between_datacenters() -> None:
    """Real shape (operations/dns 6adeb276, templates/wmnet): each line of the set is one of
    its targets; the other owner's set in the same hunk and another origin's are not ours."""
    srv = "      5M  IN SRV      0 1 4001 "
    log = commit("6" * 40, 'Revert "Remove conf2* from etcd client srv records"') + diff(
        ["@@ -256,3 +256,3 @@ $ORIGIN codfw.wmnet.",
         *(f"-_etcd._tcp{srv}conf100{n}.eqiad.wmnet." for n in (7, 8, 9)),
         *(f"+_etcd._tcp{srv}conf200{n}.codfw.wmnet." for n in (4, 5, 6))],
        ["@@ -260,3 +260,3 @@ $ORIGIN codfw.wmnet.",
         *(f"-_etcd-client-ssl._tcp{srv}conf100{n}.eqiad.wmnet." for n in (7, 8, 9)),
         *(f"+_etcd-client-ssl._tcp{srv}conf200{n}.codfw.wmnet." for n in (4, 5, 6))],
        ["@@ -415,1 +415,1 @@ $ORIGIN ulsfo.wmnet.",
         f"-_etcd._tcp{srv}conf1007.eqiad.wmnet.", f"+_etcd._tcp{srv}conf2004.codfw.wmnet."])
    [e] = parse_log(log, ["_etcd._tcp.codfw.wmnet"], zone="wmnet")
    [c] = e.changes
    assert (c.record, c.rtype) == ("_etcd._tcp.codfw.wmnet", "SRV")
    assert c.before == tuple(f"0 1 4001 conf100{n}.eqiad.wmnet." for n in (7, 8, 9))
    assert c.after == tuple(f"0 1 4001 conf200{n}.codfw.wmnet." for n in (4, 5, 6))
    assert c.removed[0] == f"_etcd._tcp{srv}conf1007.eqiad.wmnet."


def test_an_srv_member_relative_and_reordered() -> None:
    """A relative host is completed by the origin; the same lines reordered are no change."""
    log = (commit("7" * 40, "reorder") + diff(
        ["@@ -3,2 +3,2 @@ $ORIGIN eqiad.wmnet.", "-_x._tcp 5M IN SRV 0 1 80 a",
         "-_x._tcp 5M IN SRV 0 1 80 b", "+_x._tcp 5M IN SRV 0 1 80 b",
         "+_x._tcp 5M IN SRV 0 1 80 a"])
           + commit("8" * 40, "weight") + diff(
               ["@@ -3 +3 @@ $ORIGIN eqiad.wmnet.", "-_x._tcp 5M IN SRV 0 1 80 a",
                "+_x._tcp 5M IN SRV 0 5 80 a"]))
    [e] = parse_log(log, ["_x._tcp.eqiad.wmnet"], zone="wmnet")
    assert e.sha == "8" * 40
    assert (e.changes[0].before, e.changes[0].after) == (("0 1 80 a.eqiad.wmnet.",),
                                                         ("0 5 80 a.eqiad.wmnet.",))
