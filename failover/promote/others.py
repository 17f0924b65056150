"""Other operators: the open changes on the record, the flip you did not see, the state you saw.

Pure decisions (issue 24), given plain data by the state step (`failover.promote.read`) and
testable without servers:

- `record_lines` / `moves_records`: does a change (its zone file before and after) change any
  line of the name's records? Found by content (owner and type), as `failover.promote.revert`.
- `lock_refusal`: the open changes of others that move the records, and not acknowledged with
  `--ack CHANGE`: Gerrit is the lock shared by every host (exit 3 naming URL, owner, age).
- `race_loser`: after the push, the other open change of the same records that this run did
  not acknowledge; the later of the two (the higher change number) stops before the merge.
- `recent_flip`: the last change of the records, when it is younger than `[safety]
  flap_window` and by someone else, and not acknowledged with `--ack COMMIT`.
- `stale_from`: `--from CURRENT` against what the zone at the tip and the nameservers say.

Examples:
    >>> acked("1234", ["https://gerrit.example/r/c/operations/dns/+/1234"])
    True
    >>> acked("1234", ["123"])
    False
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from failover.durations import ago, short_duration
from failover.errors import GateRefused

DEFAULT_FLAP_WINDOW = 3600.0
"""`[safety] flap_window` when not set: one hour."""


@dataclass(frozen=True)
class OpenChange:
    """An open change of someone's on the zone file, with what it does to the records."""

    number: int
    url: str
    owner: str
    subject: str
    age: float
    """Seconds since it was created."""
    change_id: str = ""


@dataclass(frozen=True)
class Flip:
    """The last merged change of the records: which commit, by whom, how long ago."""

    sha: str
    author: str
    email: str
    subject: str
    age: float
    """Seconds between its commit (merge) date and now."""

    def acknowledgement(self) -> str:
        """Return the commit message's line recording that the operator saw this flip."""
        return (f"Acknowledged: {self.sha[:12]} ({self.subject}) by {self.author} "
                f"{ago(self.age)}")


def record_lines(text: str, records: Sequence[str], path: str) -> dict[str, str] | None:
    """Return each record's line text in `text` (by owner and type), None when one is absent.

    A record written as a set (several SRV, A or AAAA lines) gives its live lines, sorted.
    """
    from failover.zone import ZoneError, find_record

    try:
        return {r: find_record(text, r, path=path).line_text for r in records}
    except ZoneError:
        return set_lines(text, records, path)


def set_lines(text: str, records: Sequence[str], path: str) -> dict[str, str] | None:
    """Return each record's live SRV, A and AAAA lines (sorted, joined), None when one has
    none."""
    from failover.zone import zone_name
    from failover.zone.scan import absolute_name
    from failover.zone.sets import find_sets
    from failover.zone.setspec import SET_RTYPES

    found: dict[str, list[str]] = {r: [] for r in records}
    for rtype in SET_RTYPES:
        sets = find_sets(text, records, rtype, path=path, zone=zone_name(path))
        for r in records:
            found[r] += (line.text for line in sets[absolute_name(r, ".", ".")].live)
    if not all(found.values()):
        return None
    return {r: "\n".join(sorted(lines)) for r, lines in found.items()}


def moves_records(before: str, after: str, records: Sequence[str], path: str) -> bool:
    """Return True when going from `before` to `after` changes any line of `records`.

    A record that comes or goes counts as a change; lines only moved by others above do not.
    """
    return record_lines(before, records, path) != record_lines(after, records, path)


def acked(ident: str | int, acks: Collection[str]) -> bool:
    """Return True when `--ack` named `ident` (a change number, a Change-Id, a commit's prefix
    of at least 7 hex digits, or a change's URL ending in its number)."""
    ident = str(ident).lower()
    for ack in acks:
        a = ack.strip().lower().rstrip("/")
        if a == ident or (len(a) >= 7 and ident.startswith(a)) or \
                (a.startswith("http") and a.rsplit("/", 1)[-1] == ident):
            return True
    return False


def describe(change: OpenChange) -> str:
    """Return `URL (subject) by OWNER, opened AGE ago`."""
    return (f"{change.url} ({change.subject}) by {change.owner or 'an unknown owner'}, "
            f"opened {ago(change.age)}")


def lock_refusal(name: str, moving: Sequence[OpenChange], acks: Collection[str]) -> None:
    """Refuse (GateRefused) when an open change of someone's moves NAME's records, unacked.

    `moving` are the open changes (other than the one this run resumes) whose diff changes a
    line of the records.
    """
    for change in moving:
        if not (acked(change.number, acks) or acked(change.change_id, acks)):
            raise GateRefused(
                f"another open change moves {name}'s records: {describe(change)}",
                hint=f"talk to its owner; abandon it, or let it merge and run again; or pass "
                     f"--ack {change.number} to go on beside it (recorded in the commit)")


def race_loser(name: str, mine: int, moving: Sequence[OpenChange],
               acks: Collection[str]) -> None:
    """After the push: refuse (GateRefused) when this run's change `mine` is the later of two.

    `moving` are the open changes moving the records, this run's own left out. An earlier
    one (lower number) not acknowledged wins the race; a later one is the other's to stop.
    """
    for change in moving:
        if change.number < mine and not (acked(change.number, acks)
                                          or acked(change.change_id, acks)):
            raise GateRefused(
                f"another open change of {name}'s records appeared while this one was pushed: "
                f"{describe(change)}; it came first, so this run stops before the merge",
                hint=f"abandon this run's change in Gerrit (or {change.url}), then run again "
                     "to see the state it left")


def recent_flip(name: str, last: Flip | None, *, window: float, me: Collection[str],
                acks: Collection[str]) -> Flip | None:
    """Return the flip to acknowledge in the commit, or None; refuse an unacknowledged one.

    `last` is the last change of the records at the tip; `me` the operator's names and
    e-mails (their own flips need no acknowledgement).

    Raises:
        GateRefused: `last` is younger than `window` seconds, by someone else, not acked.
    """
    if last is None or last.age >= window or {last.author.lower(), last.email.lower()} & {
            m.lower() for m in me if m}:
        return None
    if acked(last.sha, acks):
        return last
    raise GateRefused(
        f"{name}'s records were changed {ago(last.age)} by {last.author} "
        f"(commit {last.sha[:12]}: {last.subject}), within [safety] flap_window "
        f"({short_duration(window)})",
        hint=f"check with {last.author} that this should be undone; then pass "
             f"--ack {last.sha[:12]} (recorded in the commit)")


def stale_from(claimed: str | None, *, zone: str | None, served: Mapping[str, str | None],
               name: str) -> None:
    """Refuse (GateRefused) `--from CURRENT` unless the zone at the tip and every nameserver
    say CURRENT. `served` maps each nameserver to the candidate it answers (None: another)."""
    if claimed is None:
        return
    wrong = {s: c for s, c in served.items() if c != claimed}
    if zone == claimed and not wrong:
        return
    said = [f"the zone at the tip says {zone or 'none of the candidates'}"] + [
        f"{s} answers {c or 'another address'}" for s, c in sorted(wrong.items())]
    raise GateRefused(
        f"--from {claimed} is stale for {name}: {'; '.join(said)}",
        hint="look at `failover status` (it prints the command with --from filled in) and "
             "run again with the current one")


def suggested_promote(name: str, *, served: str | None, zone: str | None,
                      healthy: Mapping[str, bool]) -> str | None:
    """Return `failover promote NAME OTHER --from CURRENT` when the nameservers and the zone
    agree on CURRENT (`served`, `zone`), naming the first healthy other candidate of
    `healthy` (candidate -> healthy, in the config's order); None when they disagree or no
    other candidate is healthy (promote's health gate would refuse it).

    >>> suggested_promote("eqiad1", served="a", zone="a", healthy={"a": True, "b": False,
    ...                                                              "c": True})
    'failover promote eqiad1 c --from a'
    >>> suggested_promote("eqiad1", served="a", zone="a", healthy={"a": True, "b": False})
    """
    rest = [o for o, ok in healthy.items() if ok and o != served]
    if served is None or served != zone or not rest:
        return None
    return f"failover promote {name} {rest[0]} --from {served}"


def next_step(name: str, *, served: str | None, zone: str | None,
              healthy: Mapping[str, bool]) -> str | None:
    """Return what `failover status` says after `next:`: the suggested promote; `none (no
    standby is healthy)` when the state agrees but every other candidate is unhealthy; None
    when there is nothing to say (the state is split, or there is no other candidate).

    >>> next_step("irc", served="a", zone="a", healthy={"a": True, "b": False})
    'none (no standby is healthy)'
    """
    if command := suggested_promote(name, served=served, zone=zone, healthy=healthy):
        return command
    if served is not None and served == zone and any(o != served for o in healthy):
        return "none (no standby is healthy)"
    return None


def from_gerrit_time(text: str) -> datetime | None:
    """Return Gerrit's UTC timestamp (`2026-12-07 16:00:00.000000000`), None if malformed."""
    from datetime import UTC

    try:
        return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
