"""The verify round's count of who answers: worded by what was asked (pure, no servers)."""

from __future__ import annotations

from failover.dnscheck import DnsReport, ServerAnswer
from failover.dnscheck.judge import MATCHES, STALE, Server
from failover.dnscheck.servers import AUTHDNS_HOST
from failover.promote.propagation import answering


def report(*answers: tuple[str, str, str]) -> DnsReport:
    """One record's report: (address, role, verdict) per server."""
    return DnsReport("x", "x.example.org", "b", tuple(
        ServerAnswer(Server(a, a, role=role), verdict) for a, role, verdict in answers))


def test_without_authdns_hosts_only_nameservers_are_counted() -> None:
    one = report(("127.0.0.2", "nameserver", MATCHES), ("127.0.0.3", "nameserver", STALE))
    assert answering([one]) == "1/2 nameservers"


def test_authdns_hosts_are_counted_apart_and_every_record_must_match() -> None:
    first = report(("127.0.0.2", "nameserver", MATCHES), ("127.0.0.4", AUTHDNS_HOST, MATCHES),
                   ("127.0.0.5", AUTHDNS_HOST, MATCHES))
    second = report(("127.0.0.2", "nameserver", MATCHES), ("127.0.0.4", AUTHDNS_HOST, STALE),
                    ("127.0.0.5", AUTHDNS_HOST, MATCHES))
    assert answering([first, second]) == "1/1 nameservers and 1/2 authdns hosts"
