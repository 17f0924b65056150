"""Ask every authoritative nameserver what a region's name is, judge it, and wait for agreement.

The package: servers.py (whom to ask), query.py (asking: every question of a round at once),
judge.py (each answer, the report), wait.py (a round, rounds until agreement), target.py
(does the target resolve).

Each server is asked directly (no recursion). A round's questions (every record at every
server, each authdns host's SOA) go out together over UDP, one socket per server, and one
`selectors` loop reads the answers within the query timeout; a truncated answer is asked
again over TCP. gdnsd answers a name holding a CNAME with the CNAME only, so the record
itself is compared, never a chased address.

Examples:
    >>> report = check_region(cfg, cfg.region("eqiad1"))                   # doctest: +SKIP
    >>> report.agree, report.controller
    (True, 'cloudcontrol1003')
    >>> wait_for_agreement(cfg, region, region.controller("cloudcontrol1004"),
    ...                    timeout=900, interval=0.2).agree                # doctest: +SKIP
    True
"""

from __future__ import annotations

from failover.dnscheck.judge import MATCHES, DnsReport, ServerAnswer
from failover.dnscheck.servers import (
    Server,
    discover_nameservers,
    resolve_nameservers,
    system_resolver,
)
from failover.dnscheck.target import (
    find_target_problem,
    find_target_problems,
    refuse_dangling_candidate,
    refuse_dangling_target,
    target_problem,
    target_problems,
)
from failover.dnscheck.wait import (
    ask_round,
    check_records,
    check_region,
    check_regions,
    wait_for_agreement,
    wait_for_records,
)

__all__ = [
    "MATCHES",
    "DnsReport",
    "Server",
    "ServerAnswer",
    "ask_round",
    "check_records",
    "check_region",
    "check_regions",
    "discover_nameservers",
    "find_target_problem",
    "find_target_problems",
    "refuse_dangling_candidate",
    "refuse_dangling_target",
    "resolve_nameservers",
    "system_resolver",
    "target_problem",
    "target_problems",
    "wait_for_agreement",
    "wait_for_records",
]
