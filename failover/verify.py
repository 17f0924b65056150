"""The `failover verify` core, one path for every name: ask every nameserver for each of the
name's records (once, or round after round until they all answer the expected candidate),
and check the answered (or expected) candidates' targets resolve, at the same time (issue 15).

Examples:
    >>> done = verify_name(cfg, name_of(cfg, "irc"), "irc1002", wait_for=60, interval=0.1)
    ...                                                                  # doctest: +SKIP
    >>> [r.agree for r in done.reports], done.problems
    ([True], {})
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from failover.config import Config
from failover.dnscheck import DnsReport, check_records, find_target_problems, wait_for_records
from failover.model import FailoverName


@dataclass(frozen=True)
class Verified:
    """What the nameservers answered for every record, and what is wrong with a target."""

    reports: list[DnsReport]
    problems: dict[str, dict[str, str]]
    """{candidate: {record: what is wrong with its target}}, for the expected candidate,
    else for the candidate(s) the records point at (nothing wrong: not listed)."""

    def agree(self, expect: str | None) -> bool:
        """Return True when every record's servers agree (on `expect`, when given)."""
        return all(r.agree and (expect is None or r.controller == expect) for r in self.reports)

    def named(self, expect: str | None) -> list[str]:
        """Return the candidates whose targets were judged: `expect`, else those answered."""
        if expect is not None:
            return [expect]
        return sorted({r.controller for r in self.reports if r.controller is not None})


def verify_name(cfg: Config, name: FailoverName, expect: str | None, *,
                wait_for: float | None, interval: float,
                on_round: Callable[[list[DnsReport], int, float], None] | None = None,
                ) -> Verified:
    """Return every record's report (waiting for `expect` when `wait_for` is given) and the
    judged candidates' target problems, read while the rounds run.

    Raises:
        UsageError: `expect` is no candidate of the name.
    """
    if expect is not None:
        name.candidate(expect)
    chosen = [expect] if expect is not None else list(name.candidate_names)
    items = [(r, r.controller(expect) if expect is not None else None) for r in name.records]
    pairs = [(c, r) for c in chosen for r in name.records]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # every judged target at once, each distinct one asked once, beside the rounds
        asked = pool.submit(find_target_problems, cfg, [(r, r.controller(c)) for c, r in pairs])
        if expect is None or wait_for is None:
            reports = check_records(cfg, items)
        else:
            reports = wait_for_records(cfg, [(r, c) for r, c in items if c is not None],
                                       timeout=wait_for, interval=interval, on_round=on_round)
        done = Verified(reports, {})
        judged = asked.result()
        for cand in done.named(expect):
            found = {r.fqdn: p for (c, r), p in zip(pairs, judged, strict=True)
                     if c == cand and p is not None}
            if found:
                done.problems[cand] = found
    return done
