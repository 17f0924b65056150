"""The old primary's Alertmanager silence as an outside system (`--silence DURATION`).

`describe` shows the silence the run would create (id None); `start` finds this run's or an
earlier run's silence with the same matchers, author and comment and reuses or extends it,
else creates one; `end` expires the silence it created when the run failed before pushing.
The hosts silenced are those the records leave: a region's old controller; a service's or
group's old targets the new candidate does not keep. Every failure is a warning and an
audit line, never the run's.

Examples:
    >>> system = make(cfg, run)                                          # doctest: +SKIP
    >>> system.start(run); run.silence.id
    'a1b2c3...'
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from failover.errors import UsageError
from failover.outside_systems.base import OUTSIDE_FAILURES, OutsideRun, OutsideSystem, why

if TYPE_CHECKING:
    from failover.alertmanager import AlertmanagerClient, Silence
    from failover.config import Config
    from failover.config.model import AlertmanagerConfig

REUSE_SLACK = 300.0
"""A found silence ending at most this much before the asked end is reused, not extended:
a resumed run minutes after its first part asks the same window again."""


def make(cfg: Config, run: OutsideRun) -> OutsideSystem | None:
    """Return the silence for this run, None without `--silence`.

    Raises:
        UsageError: `--silence` without `[alertmanager]` (or a bad duration).
    """
    if run.silence_for is None:
        return None
    from failover.alertmanager import parse_duration

    seconds = parse_duration(run.silence_for)
    if cfg.alertmanager is None:
        raise UsageError("--silence needs an Alertmanager",
                         hint="add [alertmanager] url (and matchers) to the config")
    return OldPrimarySilence(cfg.alertmanager, seconds)


class OldPrimarySilence(OutsideSystem):
    """Silences the hosts the records leave, for `seconds`, in Alertmanager."""

    def __init__(self, cfg: AlertmanagerConfig, seconds: float) -> None:
        self.cfg, self.seconds = cfg, seconds
        self.created: Silence | None = None
        """The silence this run created (expired at the end when nothing was pushed)."""

    def describe(self, run: OutsideRun) -> None:
        """Fill in the silence the run would create (id None), unless one is known."""
        hosts, _why = left_hosts(run)
        if not hosts or run.silence is not None:
            return
        from failover.alertmanager import Silence, iso

        try:
            matchers = self.matchers(hosts)
        except UsageError:  # said when the run would create it (start)
            return
        now = time.time()
        run.silence = Silence(None, None, iso(now), iso(now + self.seconds),
                              tuple(matchers), run.user, comment(run))

    def start(self, run: OutsideRun) -> None:
        """Create, reuse or extend the silence (or say why there is none)."""
        hosts, reason = left_hosts(run)
        try:
            matchers = self.matchers(hosts) if hosts else []
        except UsageError as exc:
            reason = exc.message
        if reason is not None:
            run.warn("silence", "skipped", reason)
            run.silence = None
            return
        what = ", ".join(hosts)
        try:
            with run.call("silence"):
                silence, how = self._silence_for(run, self._client(), matchers, comment(run))
        except OUTSIDE_FAILURES as exc:
            run.silence = None
            run.warn("silence", "failed", f"no silence for {what}: {why(exc)}")
            return
        run.silence = silence
        run.note(f"silence {how}: {silence.id} until {silence.ends_at} ({silence.url})")
        run.log("silence", how.split(" ", 1)[0], summary=f"{what} until {silence.ends_at}",
                silence_id=silence.id, silence_url=silence.url, ends_at=silence.ends_at)

    def end(self, run: OutsideRun) -> None:
        """Expire the silence this run created when the run failed before pushing."""
        failed = run.outcome in ("failed", "refused", "interrupted")
        if not run.started or not failed or self.created is None or run.change_url is not None:
            return
        silence = self.created
        assert silence.id is not None
        try:
            with run.call("silence"):
                self._client().expire(silence.id)
        except OUTSIDE_FAILURES as exc:
            run.warn("silence", "failed", f"could not expire silence {silence.id}: "
                                          f"{why(exc)}; expire it at {silence.url}")
            return
        run.note(f"silence {silence.id} expired: nothing was pushed")
        run.log("silence", "expired", summary="nothing was pushed", silence_id=silence.id)

    def matchers(self, hosts: list[str]) -> list[dict[str, Any]]:
        """Return the matchers with `{controller}` as the host, or every host (a regex).

        Raises:
            UsageError: several hosts and a matcher that is not a regular expression.
        """
        from failover.alertmanager import matcher_text, parse_matcher

        out = []
        for text in self.cfg.matchers:
            one = parse_matcher(text, controller=hosts[0])
            if len(hosts) > 1 and "{controller}" in text:
                if not one["isRegex"]:
                    raise UsageError(
                        f"the records leave {len(hosts)} hosts ({', '.join(hosts)}) and the "
                        f"matcher {matcher_text(one)} is not a regular expression (=~): no "
                        "silence created (silence them by hand)")
                one = parse_matcher(text, controller=f"(?:{'|'.join(hosts)})")
            out.append(one)
        return out

    def _client(self) -> AlertmanagerClient:
        from failover.alertmanager import AlertmanagerClient

        return AlertmanagerClient(self.cfg.url, timeout=self.cfg.timeout,
                                  ca_bundle=self.cfg.ca_bundle)

    def _silence_for(self, run: OutsideRun, client: AlertmanagerClient,
                     matchers: list[dict[str, Any]], text: str) -> tuple[Silence, str]:
        """Return the silence for this run and how it came: created, reused or extended.

        A silence with the same matchers, author and comment is this run's own when the run
        resumes (reused while it ends when asked), or an earlier run's: reused only when it
        ends no earlier than asked, else extended to the asked end, never taken as it is.
        """
        found = client.find(matchers, created_by=run.user, comment=text)
        if found is None:
            self.created = client.create(matchers, seconds=self.seconds,
                                         created_by=run.user, comment=text)
            return self.created, "created"
        want = time.time() + self.seconds
        ends = found.ends()
        whose = "this run's own, resumed" if run.resuming else "an earlier run's"
        if ends is not None and ends >= want - REUSE_SLACK:
            return found, f"reused ({whose}, ending when asked or later)"
        extended = client.extend(found, seconds=self.seconds)
        return extended, f"extended ({whose}, was until {found.ends_at})"


def comment(run: OutsideRun) -> str:
    """Return the silence's comment: the reason (else the command), operator, tasks."""
    what = run.reason or f"failover promote {run.region} {run.target}"
    return f"{what} - {run.user}@{run.host}" + (f" - {', '.join(run.tasks)}" if run.tasks else "")


def left_hosts(run: OutsideRun) -> tuple[list[str], str | None]:
    """Return the hosts the records leave (the alerts to silence), or why there are none.

    A region's old primary is its controller's name; a service's or group's are the short
    names of the old candidate's targets that the new one does not keep (a group's side is a
    data centre, not a host Alertmanager knows).
    """
    from failover.names import normalize_target, record_type_for

    old = run.old_primary
    if old is None:
        return [], "no old primary known: no silence created"
    name = run.name
    if name.kind == "region":
        return [old], None
    left = name.candidate(old).targets
    new = name.candidate(run.target).targets
    hosts = []
    for record in (r.fqdn for r in name.records):
        if name.record(record).set_type is not None:  # a set: the hosts it leaves
            from failover.zone.setspec import hosts as set_hosts

            kept = set(set_hosts(new[record]))
            hosts += [h.split(".")[0].lower() for h in set_hosts(left[record])
                      if h not in kept and not h[:1].isdigit() and ":" not in h]
            continue
        target = left[record]
        if normalize_target(target) == normalize_target(new[record]):
            continue
        if record_type_for(target) != "CNAME":
            return [], (f"{record} leaves {target}, an address, not a host name: no "
                        "silence created (silence its host by hand)")
        hosts.append(target.rstrip(".").split(".")[0].lower())
    if not hosts:
        return [], "the records leave no host: no silence created"
    return list(dict.fromkeys(hosts)), None
