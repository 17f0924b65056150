"""Faults of the deploy and of the nameservers during a promote: exit 5, reported, resumable.

Injected in the sandbox world: the deploy command missing, failing or hanging; real gdnsd
servers stopped or left stale; tiny DNS servers (tests.helpers.FakeDns) answering SERVFAIL,
without the AA flag, or truncated over UDP. The change is merged by then, so the guarantee is:
exit 5 naming the server or the command, nothing lost, and a re-run that goes on from the
deploy without a second change.
"""

from __future__ import annotations

import sys

import dns.flags
import dns.message
import dns.rcode
import pytest

from failover.errors import EXIT_VERIFY
from sandbox.haproxy import haproxy_available
from sandbox.world import World
from tests.conftest import RunCli
from tests.helpers import (
    FQDN,
    FakeDns,
    Mark,
    assert_nothing_lost,
    cname_answer,
    configure,
    current_and_other,
    promote,
    reset_world,
    served_targets,
)

pytestmark = pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")


@pytest.fixture(autouse=True)
def _clean(world: World) -> None:
    reset_world(world)


DEPLOY_FAULTS = [
    ("missing", ["/nonexistent/authdns-update"], "deploy command not found"),
    ("failing", [sys.executable, "-c", "raise SystemExit(3)"], "deploy command failed (exit 3)"),
    ("hanging", [sys.executable, "-c", "import time; time.sleep(60)"],
     "deploy command still running after 1s; killed"),
]


@pytest.mark.parametrize(("kind", "argv", "reason"), DEPLOY_FAULTS,
                         ids=[k for k, _, _ in DEPLOY_FAULTS])
def test_deploy_fault_then_resume(run_cli: RunCli, world: World, kind: str, argv: list[str],
                                  reason: str) -> None:
    _, target = current_and_other(world)
    configure(world, deploy=argv, deploy_timeout=1)
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert reason in result.stderr, result.stderr
    records = assert_nothing_lost(mark, result.code, EXIT_VERIFY, "failed", result.stderr)
    assert next(r for r in records if r["step"] == "deploy")["result"] == "failed"
    assert [c["status"] for c in mark.new_changes()] == ["MERGED"]
    configure(world)
    again = promote(run_cli, world, target, "--json")
    assert again.code == 0, again.stderr
    assert '"kind": "resume deploy"' in again.stdout
    assert len(mark.new_changes()) == 1
    assert served_targets(world) == [f"{target}.wikimedia.org."] * 2


def _verify_fails(run_cli: RunCli, world: World, target: str, reason: str) -> str:
    mark = Mark(world)
    result = promote(run_cli, world, target)
    assert "not every nameserver answers" in result.stderr, result.stderr
    assert reason in result.stderr, result.stderr
    records = assert_nothing_lost(mark, result.code, EXIT_VERIFY, "failed", result.stderr)
    assert next(r for r in records if r["step"] == "verify")["result"] == "failed"
    assert len(mark.new_changes()) == 1
    return str(result.stderr)


def test_every_nameserver_down(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    for g in world.gdnsd:
        g.stop()
    configure(world, deploy=["true"], verify_timeout=1)
    err = _verify_fails(run_cli, world, target, "refused")  # closed ports: at once, as dig
    assert all(f"{g.address}: refused" in err for g in world.gdnsd)


def test_one_nameserver_down(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    world.gdnsd[1].stop()
    configure(world, deploy=world.deploy_argv(world.gdnsd[:1]), verify_timeout=1)
    err = _verify_fails(run_cli, world, target, f"{world.gdnsd[1].address}: refused")
    assert f"{world.gdnsd[0].address}:" not in err.split("not every nameserver answers")[1]


def test_one_nameserver_stale_forever(run_cli: RunCli, world: World) -> None:
    _, target = current_and_other(world)
    configure(world, deploy=world.deploy_argv(world.gdnsd[:1]), verify_timeout=1)
    _verify_fails(run_cli, world, target, f"{world.gdnsd[1].address}: stale")


@pytest.mark.parametrize(("kind", "reason"), [("servfail", "servfail"),
                                              ("no AA", "not authoritative")])
def test_nameserver_answers_servfail_or_without_aa(run_cli: RunCli, world: World, kind: str,
                                                   reason: str) -> None:
    _, target = current_and_other(world)

    def answer(query: dns.message.Message, tcp: bool) -> dns.message.Message:
        if kind == "servfail":
            return cname_answer(query, "", rcode=dns.rcode.SERVFAIL)
        return cname_answer(query, f"{target}.wikimedia.org.", aa=False)

    with FakeDns(answer) as fake:
        configure(world, deploy=world.deploy_argv(world.gdnsd[:1]), verify_timeout=1,
                  nameservers=[world.gdnsd[0].address, fake.address])
        _verify_fails(run_cli, world, target, f"{fake.address}: {reason}")


@pytest.mark.parametrize("tcp_answers", [True, False], ids=["tcp-retry", "tcp-closed"])
def test_truncated_udp_answer(run_cli: RunCli, world: World, tcp_answers: bool) -> None:
    """A UDP answer with TC set is asked again over TCP; no TCP answer is a reported error."""
    _, target = current_and_other(world)

    def answer(query: dns.message.Message, tcp: bool) -> dns.message.Message | None:
        if not tcp:
            reply = dns.message.make_response(query)
            reply.flags |= dns.flags.TC | dns.flags.AA
            return reply
        return cname_answer(query, f"{target}.wikimedia.org.") if tcp_answers else None

    with FakeDns(answer) as fake:
        configure(world, deploy=world.deploy_argv(world.gdnsd[:1]), verify_timeout=1,
                  nameservers=[world.gdnsd[0].address, fake.address])
        if tcp_answers:
            mark = Mark(world)
            result = promote(run_cli, world, target)
            assert_nothing_lost(mark, result.code, 0, "done", result.stderr)
            # the region's name over TCP after the truncated UDP answer (the target's host name
            # is asked too, A and AAAA, by the dangling-target gate before the push)
            assert (f"{FQDN}.", True) in fake.queries
            assert any(tcp for _, tcp in fake.queries) and any(not t for _, t in fake.queries)
        else:
            _verify_fails(run_cli, world, target, f"{fake.address}: ")
