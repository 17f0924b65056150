"""failover.haproxy: CSV parsing and judging, pure (reading: tests/world/test_haproxy.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.config import HaproxyConfig
from failover.haproxy import (
    StatRow,
    StatsParseError,
    judge_service,
    parse_stats_csv,
)

HEADER = "# pxname,svname,qcur,scur,status,act,bck,lastchg,type,check_status,"
C3, C4 = "cloudcontrol1003", "cloudcontrol1004"


def line(px: str, sv: str, status: str, act: str = "", bck: str = "", scur: str = "0",
         kind: str = "2", check: str = "") -> str:
    """Return one CSV line for HEADER (trailing comma as HAProxy writes it)."""
    return f"{px},{sv},0,{scur},{status},{act},{bck},12,{kind},{check},"


def service_lines(service: str, *servers: tuple[str, str, bool], fe: str = "OPEN",
                  scur: str = "3") -> list[str]:
    """Return frontend, servers (name, status, backup) and backend lines of one service."""
    out = [line(f"{service}_frontend", "FRONTEND", fe, scur=scur, kind="0")]
    for name, status, backup in servers:
        out.append(line(f"{service}_backend", name, status, "0" if backup else "1",
                        "1" if backup else "0", check="L7OK"))
    out.append(line(f"{service}_backend", "BACKEND", "UP", "1", "0", kind="1"))
    return out


def judge(*servers: tuple[str, str, bool], fe: str = "OPEN") -> Any:
    rows = parse_stats_csv("\n".join([HEADER, *service_lines("nova_api", *servers, fe=fe)]))
    return judge_service("nova_api", rows, HaproxyConfig())


# --- parsing -------------------------------------------------------------------------------

def test_parse_reads_columns_by_header_whatever_their_order() -> None:
    text = "# pxname,status,svname,scur,\nnova_api_frontend,OPEN,FRONTEND,7,\n" \
           "nova_api_backend,UP 1/2,cc1,0,\n"
    rows = parse_stats_csv(text)
    assert [(r.pxname, r.svname, r.kind, r.status, r.scur) for r in rows] == [
        ("nova_api_frontend", "FRONTEND", "frontend", "OPEN", 7),
        ("nova_api_backend", "cc1", "server", "UP 1/2", 0),
    ]
    assert rows[1].state == "UP" and rows[1].usable


@pytest.mark.parametrize(("status", "usable"), [
    ("UP", True), ("UP 1/2", True), ("no check", True), ("DOWN", False), ("DOWN 1/2", False),
    ("NOLB", False), ("MAINT", False), ("MAINT (via x/y)", False), ("DRAIN", False),
])
def test_usable_states(status: str, usable: bool) -> None:
    row = StatRow("b", "s", "server", status, True, False, 0, "", None)
    assert row.usable is usable


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("  \n\n", "empty"),
    ("<html><body>Statistics Report</body></html>", "HTML"),
    ("pxname,svname,status\nx,y,UP\n", "no '# pxname' header"),
    ("hello world", "no '# pxname' header"),
    (f"{HEADER}\nnova_api_frontend,FRONTEND,0,", "cut short"),
    ("# pxname,svname,\nx,FRONTEND,\n", "no 'status' column"),
    (f"{HEADER}\n{line('a', 'b', 'UP', act='yes')}", "not a number"),
    ('# pxname,svname,status,\n"a,b,UP,\n', "cut short"),
])
def test_bad_input_raises_the_parser_error(text: str, reason: str) -> None:
    with pytest.raises(StatsParseError, match=reason):
        parse_stats_csv(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text().map(lambda t: f"# pxname,svname,status,\n{t}"),
                 st.text(alphabet=",\n\r\"# pxnamesvtu0123UPDOWN").map(lambda t: "# pxname" + t)))
def test_parser_raises_only_its_own_error(text: str) -> None:
    try:
        rows = parse_stats_csv(text)
    except StatsParseError:
        return
    assert all(isinstance(r, StatRow) for r in rows)


# --- judging -------------------------------------------------------------------------------

def test_all_up_is_healthy() -> None:
    s = judge((C3, "UP", False), (C4, "UP", False))
    assert (s.healthy, s.cell, s.servers_up, s.servers_total, s.sessions) == \
        (True, "UP 2/2", 2, 2, 3)


def test_one_down_is_healthy_and_says_which() -> None:
    s = judge((C3, "DOWN", False), (C4, "UP", False))
    assert s.healthy and s.cell == "UP 1/2" and f"server {C3} DOWN" in s.detail


def test_backup_only_is_healthy_and_flagged() -> None:
    s = judge((C3, "DOWN", False), (C4, "UP", True))
    assert s.healthy and s.backup_only and s.cell == "UP 1/2 backup only"


def test_drain_takes_no_new_sessions() -> None:
    s = judge((C3, "DRAIN", False), (C4, "DRAIN", False))
    assert not s.healthy and s.cell == "DRAIN" and "takes no new" in s.detail


def test_all_maint_is_unhealthy() -> None:
    s = judge((C3, "MAINT", False), (C4, "MAINT", False))
    assert not s.healthy and s.cell == "MAINT"


def test_frontend_not_open_is_unhealthy() -> None:
    s = judge((C3, "UP", False), fe="STOP")
    assert not s.healthy and s.cell == "frontend STOP"


def test_missing_service() -> None:
    s = judge_service("designate", parse_stats_csv(HEADER + "\n"), HaproxyConfig())
    assert not s.healthy and s.cell == "missing" and "not in the stats" in s.detail


def test_patterns_are_configurable() -> None:
    rows = parse_stats_csv("\n".join([HEADER, line("fe-nova", "FRONTEND", "OPEN", kind="0"),
                                      line("be-nova", "a", "UP", "1", "0"),
                                      line("be-nova", "BACKEND", "UP", "1", "0", kind="1")]))
    cfg = HaproxyConfig(frontend_pattern="fe-{service}", backend_pattern="be-{service}")
    assert judge_service("nova", rows, cfg).healthy
    no_backend = judge_service("nova", rows[:2], cfg)
    assert not no_backend.healthy and no_backend.cell == "missing backend"
