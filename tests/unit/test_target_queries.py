"""Which queries a targets' check sends: each distinct target's A and AAAA once, at the
nameservers only (not at every [verify] authdns host beside them).

Pure logic: `ask_many` is replaced by a recorder answering authoritatively (the world tests,
tests/world/test_verify.py and tests/world/faults/test_service_targets.py, ask real gdnsd).
"""

from __future__ import annotations

import threading

import dns.flags
import dns.message
import dns.rrset
import pytest

from failover.config import load_config
from failover.dnscheck import target as target_mod
from failover.dnscheck.query import Question, _Reply
from failover.dnscheck.servers import Server
from failover.model import name_of
from tests.conftest import ConfigFile
from tests.unit.config.test_services import GROUP

VERIFY = """
[verify]
nameservers = ["127.0.0.1:5301", "127.0.0.2:5301"]
authdns_hosts = ["127.53.1.1", "127.53.1.2", "127.53.1.3"]
"""
SHARED = GROUP.replace("db2204.codfw.wmnet.", "db2203.codfw.wmnet.")
"""Both records of the group pointing at one host on the codfw side."""


def recorder(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Replace `ask_many` by one answering every A with 10.0.0.1; return the (server, name,
    type) asked."""
    asked: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def ask(server: Server, fqdn: str, rdtype: str, timeout: float) -> _Reply:
        with lock:
            asked.append((server.address, fqdn, rdtype))
        reply = dns.message.make_response(dns.message.make_query(fqdn, rdtype))
        reply.flags |= dns.flags.AA
        if rdtype == "A":
            reply.answer.append(dns.rrset.from_text(fqdn, 300, "IN", "A", "10.0.0.1"))
        return _Reply(dns.message.from_wire(reply.to_wire()), None, 0.1)  # as received

    def ask_many(questions: list[Question], timeout: float) -> list[_Reply]:
        return [ask(q.server, q.fqdn, q.rdtype, timeout) for q in questions]

    monkeypatch.setattr(target_mod, "ask_many", ask_many)
    return asked


def test_each_target_asked_once_at_the_nameservers_only(
        config_file: ConfigFile, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(config_file(VERIFY, SHARED))
    asked = recorder(monkeypatch)
    records = name_of(cfg, "db-masters").records
    found = target_mod.check_targets(cfg, [(r, r.controller("codfw")) for r in records])
    assert sorted(asked) == sorted((ns, "db2203.codfw.wmnet.", t)
                                   for ns in ("127.0.0.1", "127.0.0.2") for t in ("A", "AAAA"))
    assert [f.addresses if f else None for f in found] == [("10.0.0.1",), ("10.0.0.1",)]
    assert target_mod.find_target_problems(
        cfg, [(r, r.controller("codfw")) for r in records]) == [None, None]
