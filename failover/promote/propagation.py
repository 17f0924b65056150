"""How long the change took to reach every authdns host and the recursors (issue 25).

`Convergence` keeps, per authoritative server, the first moment it answered the target for
every record, in seconds since the merge was seen (or, when this run did not see it, since
the deploy started). A `Watch` polls the servers in the background while the deploy runs
(production's authdns-update reaches the hosts one after another), the verify step's rounds
go on from there. `wipe_recursors` is the step after verify: for each `[verify] recursors`
entry with a `wipe` argv, the records' names are wiped from its cache (failover.proc,
bounded), then it is asked (RD) until it answers the target for every record.

The durations go to `Plan.durations` (seconds): merge_to_first_host, merge_to_all_hosts,
merge_to_all_recursors ("hosts": the [verify] authdns_hosts, else every nameserver).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from failover.errors import VerifyError

if TYPE_CHECKING:
    from failover.config import Config, Controller, Recursor
    from failover.dnscheck import DnsReport, Server
    from failover.model import Record
    from failover.promote.context import Context
    from failover.promote.plan import Plan

log = logging.getLogger("failover.promote")

WATCH_INTERVAL = 0.1
"""Seconds between two background rounds while the deploy runs (10 queries/s per server)."""


def records(plan: Plan) -> list[tuple[Record, Controller]]:
    """Return each record of the promote with the target's own target for it."""
    return [(r, r.controller(plan.target.name)) for r in plan.name.records]


def answering(reports: Sequence[DnsReport]) -> str:
    """Return how many servers answer the target for every record, by what was asked:
    `3/3 nameservers`, or `3/3 nameservers and 1/2 authdns hosts` with [verify] authdns_hosts
    (a report a record, each asking the same servers in the same order)."""
    from failover.dnscheck.servers import AUTHDNS_HOST

    servers = reports[0].servers
    ready = [all(r.servers[i].ok for r in reports) for i in range(len(servers))]
    said = []
    for host, label in ((False, "nameservers"), (True, "authdns hosts")):
        mine = [ok for a, ok in zip(servers, ready, strict=True)
                if (a.server.role == AUTHDNS_HOST) == host]
        if mine or not host:
            said.append(f"{sum(mine)}/{len(mine)} {label}")
    return " and ".join(said)


class Convergence:
    """When each server first answered the target for every record, in seconds since
    `since` (monotonic); `merged`: `since` is the merge (else the deploy's start)."""

    def __init__(self, since: float, *, merged: bool) -> None:
        self.since = since
        self.merged = merged
        self.first: dict[str, float] = {}
        """Server (as shown) -> seconds since `since` when it first answered the target."""
        self.hosts: list[str] = []
        """The servers that count as hosts (authdns hosts, else every nameserver), in order."""
        self._lock = threading.Lock()

    def saw(self, reports: Sequence[DnsReport], at: float | None = None) -> None:
        """Record the servers that answer the target for every record in this round."""
        if not reports:
            return
        at = time.monotonic() if at is None else at
        servers = reports[0].servers
        with self._lock:
            if not self.hosts:
                hosts = [a for a in servers if a.server.role == "authdns host"] or list(servers)
                self.hosts = [str(a.server) for a in hosts]
            for index, answer in enumerate(servers):
                name = str(answer.server)
                if name not in self.first and all(
                        len(r.servers) > index and r.servers[index].ok for r in reports):
                    self.first[name] = round(max(0.0, at - self.since), 3)

    def durations(self) -> dict[str, float]:
        """Return merge_to_first_host and merge_to_all_hosts (when measured from the merge
        and every host answered)."""
        times = [self.first[h] for h in self.hosts if h in self.first]
        if not self.merged or not times:
            return {}
        out = {"merge_to_first_host": min(times)}
        if len(times) == len(self.hosts):
            out["merge_to_all_hosts"] = max(times)
        return out

    def describe(self) -> str:
        """Return the per-host times in host order: `127.53.1.1:5353 0.41s, ...`."""
        since = "merge" if self.merged else "deploy start"
        shown = ", ".join(f"{h} {self.first[h]:.2f}s" if h in self.first else f"{h} -"
                          for h in self.hosts)
        return f"after the {since}: {shown}"


class Watch:
    """Background rounds over every server while the deploy runs, feeding a Convergence."""

    def __init__(self, cfg: Config, items: list[tuple[Record, Controller]],
                 convergence: Convergence) -> None:
        self.cfg = cfg
        self.items = items
        self.convergence = convergence
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="convergence", daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.cfg.verify.query_timeout * 2 + 1)

    def _run(self) -> None:
        from failover.dnscheck import ask_round, resolve_nameservers
        from failover.errors import FailoverError

        try:
            servers = resolve_nameservers(self.cfg, self.items[0][0].fqdn)
            while not self._stop.is_set():
                reports = ask_round(self.cfg, self.items, servers)
                self.convergence.saw(reports)
                if all(r.agree for r in reports):
                    return
                self._stop.wait(WATCH_INTERVAL)
        except (FailoverError, OSError, RuntimeError) as exc:  # the verify step asks again
            log.debug("convergence watch stopped: %s", exc)


# -- the recursors ----------------------------------------------------------------------------

def wiping(cfg: Config) -> tuple[Recursor, ...]:
    """Return the [verify] recursors that have a wipe command."""
    return tuple(r for r in cfg.verify.recursor_wipes if r.wipe)


def describe_wipe(ctx: Context) -> str:
    """Return what the recursors step would do (the dry-run's line)."""
    chosen = wiping(ctx.cfg)
    if not chosen:
        return "none: no [verify] recursors with a wipe command"
    names = [region.fqdn for region, _ in records(ctx.plan)]
    argvs = "; ".join(" ".join(r.wipe_argv(n)) for r in chosen for n in names)
    return (f"wipe {', '.join(names)} from {len(chosen)} recursor(s) ({argvs}), then ask "
            f"{', '.join(str(r.server) for r in chosen)} until they answer "
            f"{ctx.plan.target.name}")


def wipe_recursors(ctx: Context) -> None:
    """Wipe the records from each recursor's cache, then wait until each answers the target
    for every record (VerifyError, exit 5, naming the recursors that do not)."""
    from failover.dnscheck import ask_round
    from failover.dnscheck.servers import _is_address, _servers_for, system_resolver
    from failover.retry import Poller

    plan, cfg = ctx.plan, ctx.cfg
    step = plan.step("recursors")
    chosen = wiping(cfg)
    if not chosen:
        step.status, step.summary = "skipped", "no [verify] recursors with a wipe command"
        return
    items = records(plan)
    for rec in chosen:
        for region, _ in items:
            _wipe(cfg, rec, region.fqdn)
    resolver = None if all(_is_address(r.server.host) for r in chosen) else \
        system_resolver(cfg.verify.query_timeout)
    servers: list[Server] = list(_servers_for([r.server for r in chosen], resolver))
    first: dict[str, float] = {}
    reports: list[DnsReport] = []
    for attempt in Poller(delay=0.1, factor=1.5, cap=cfg.verify.interval,
                          timeout=cfg.verify.timeout):
        reports = ask_round(cfg, items, (), servers)
        now = time.monotonic()
        for index, server in enumerate(servers):
            if str(server) not in first and all(r.recursors[index].ok for r in reports):
                first[str(server)] = now
        ctx.observer.progress(step, f"{len(first)}/{len(servers)} recursors answer "
                                    f"{plan.target.name} (round {attempt.number})")
        if len(first) == len(servers):
            break
    missing = [str(s) for s in servers if str(s) not in first]
    if missing:
        raise VerifyError(
            f"after the wipe, not every recursor answers {plan.target.target} within "
            f"{cfg.verify.timeout:.0f}s: {', '.join(missing)}",
            hint="check the recursors named (rec_control wipe-cache by hand); they answer "
                 "the new target at the latest when their cached record's TTL has run out")
    merged = ctx.merged_at
    if merged is not None:
        plan.durations["merge_to_all_recursors"] = round(max(first.values()) - merged, 3)
    shown = ", ".join(f"{s} {first[s] - (merged or first[s]):.2f}s" if merged else s
                      for s in first)
    step.summary = (f"wiped {len(items)} name(s) from {len(servers)} recursor(s); all answer "
                    f"{plan.target.name}" + (f" (after the merge: {shown})" if merged else ""))


def _wipe(cfg: Config, rec: Recursor, name: str) -> None:
    """Run one recursor's wipe for `name` (bounded); VerifyError when it fails."""
    from failover import proc

    argv = rec.wipe_argv(name)
    try:
        done = proc.run(argv, timeout=cfg.verify.wipe_timeout, group=True, grace=1.0)
    except OSError as exc:
        raise VerifyError(f"cannot run the wipe command of recursor {rec.server} "
                          f"({argv[0]}): {exc.strerror or exc}",
                          hint="fix [verify] recursors' wipe argv") from None
    if done.code != 0:
        why = "timed out" if done.timed_out else f"exit {done.code}"
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise VerifyError(f"wiping {name} from recursor {rec.server} failed ({why}): "
                          f"{tail[0]}", hint="run the wipe by hand: " + " ".join(argv))

