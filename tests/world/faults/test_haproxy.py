"""Faults of the HAProxy stats a promote reads: each one refused cleanly, nothing lost.

Every fault is injected where the tool reads the target controller's stats, in a sandbox
world (real HAProxy, git, the Gerrit stand-in, gdnsd). The promote must refuse with exit 3,
name the fault in one line, bound the time it waits, and leave the operator's checkout, the
worktrees and the lock as they were, with the outcome in the audit log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.config import Controller, HaproxyConfig
from failover.haproxy import StatsReadError, read_stats
from sandbox.backends import ScriptedHTTPServer, SilentListener, UnixTextServer
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import (
    C4,
    Mark,
    TrickleServer,
    assert_nothing_lost,
    configure,
    promote,
    reset_world,
    short_tmp,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")

FAST = (0.3, 0.5)
"""[haproxy] connect_timeout and timeout for these tests: a read is bounded by 0.8 s."""


@pytest.fixture(autouse=True)
def _clean(world: World) -> None:
    reset_world(world)


@contextlib.contextmanager
def fault(world: World, kind: str) -> Iterator[str]:
    """Yield the stats URL of the target controller with `kind` of fault injected there."""
    if kind == "stopped":
        world.haproxy.stop_haproxy(C4)
        yield world.haproxy.controllers[C4].stats_url
    elif kind == "never answers":
        with SilentListener() as hung:
            yield f"http://127.0.0.1:{hung.port}/stats;csv"
    elif kind in ("trickles", "trickles forever"):
        csv = world.haproxy.admin(C4, "show stat").encode()
        with TrickleServer(csv, gap=0.02, length=len(csv) if kind == "trickles" else None) as t:
            yield t.url()
    elif kind == "huge body":
        body = world.haproxy.admin(C4, "show stat") * 400
        with ScriptedHTTPServer({"/stats;csv": (200, body)}) as srv:
            yield srv.url("/stats;csv")
    elif kind in ("garbage", "html"):
        body = "\x00\xff binary garbage \x1b[31m" if kind == "garbage" else "<html>login</html>"
        with ScriptedHTTPServer({"/stats;csv": (200, body)}) as srv:
            yield srv.url("/stats;csv")
    elif kind == "socket missing":
        yield f"unix://{short_tmp('fo-nosock-')}/haproxy.sock"
    elif kind in ("socket not haproxy", "socket never answers"):
        path = str(short_tmp("fo-sock-") / "haproxy.sock")
        server: contextlib.AbstractContextManager[object] = (
            UnixTextServer(path, "Unknown command. Please enter one of the following...\n")
            if kind == "socket not haproxy" else SilentListener(unix_path=path))
        with server:
            yield f"unix://{path}"
    else:
        raise AssertionError(kind)


FAULTS = [
    ("stopped", "connection refused"),
    ("never answers", "timeout after 0.5s waiting for an answer"),
    ("trickles", "answer not complete after 0.8s"),
    ("trickles forever", "answer not complete after 0.8s"),
    ("huge body", "answer larger than 4096 bytes"),
    ("garbage", "no '# pxname' header"),
    ("html", "an HTML page, not HAProxy CSV"),
    ("socket missing", "does not exist"),
    ("socket not haproxy", "is not HAProxy's stats socket"),
    ("socket never answers", "timeout after 0.5s waiting for socket"),
]


@pytest.mark.parametrize(("kind", "reason"), FAULTS, ids=[k for k, _ in FAULTS])
def test_target_stats_fault_refuses_and_loses_nothing(run_cli: RunCli, world: World,
                                                      kind: str, reason: str) -> None:
    with fault(world, kind) as url:
        configure(world, stats={C4: url}, haproxy_timeouts=FAST,
                  extra={"haproxy": ["max_bytes = 4096"]})
        mark = Mark(world)
        result = promote(run_cli, world, C4)
    assert reason in result.stderr, result.stderr
    assert "refusing to promote cloudcontrol1004" in result.stderr
    records = assert_nothing_lost(mark, result.code, 3, "refused", result.stdout + result.stderr)
    health = next(r for r in records if r["step"] == "health")
    assert health["result"] == "refused" and reason in health["summary"]
    assert mark.new_changes() == []


@pytest.mark.parametrize("length", [200, None], ids=["content-length", "endless"])
def test_trickled_body_is_cut_at_the_whole_read_deadline(length: int | None) -> None:
    """Each byte arrives well within the socket timeout: only the read deadline stops it."""
    cfg = HaproxyConfig(connect_timeout=0.3, timeout=0.5)
    with TrickleServer(b"# pxname,svname,status,\n", gap=0.05, length=length) as srv, \
            pytest.raises(StatsReadError, match=r"answer not complete after 0\.8s"):
        read_stats(Controller("c", "c.example.org.", srv.url()), cfg)


def test_socket_path_that_is_a_plain_file(tmp_path: Path) -> None:
    path = short_tmp("fo-file-") / "haproxy.sock"
    path.write_text("not a socket")
    with pytest.raises(StatsReadError, match=r"connection refused|cannot connect"):
        read_stats(Controller("c", "c.example.org.", f"unix://{path}"), HaproxyConfig())
