"""TTL choreography: lower the TTL, wait out the old one, switch, restore, as three changes.

What operations/dns's history does by hand ("Shorten TTL for conftool SRV entries,
preparatory for main cluster switchover", the switch, "Restore 5M TTL for conftool SRV
entries, following main cluster switchover", 2020-01-23) and the switchover cookbooks do for
MediaWiki (10 s, switch, restore): `build_chain` returns the three edits, each on the text
the one before leaves, with the subject saying which step of the chain it is, to be pushed at
once as a Gerrit relation chain (each change the parent of the next). `switch_may_merge`
says when the switch may be merged: every nameserver serves the lowered TTL, and the old
TTL has passed since the first time they all did (a cache filled just before holds the old
answer that long). The restore is merged once the switch is verified.

Pure logic: the pushing, waiting and merging are the promote run's (`failover.promote.chain`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from failover.zone.sets import SetEdit, find_sets, set_ttl, ttl_seconds

STEPS = ("lower TTL", "switch", "restore TTL")

MIN_SWITCH_SECONDS = 5
"""gdnsd's default `min_ttl`: a lower TTL in a zone is served as this."""

SUBJECT_MAX = 80
"""commit-message-validator's longest subject."""


def ttl_problem(value: str) -> str | None:
    """Return why `value` is no switch TTL (`--switch-ttl`, `switch_ttl`), and the fix, or
    None.

    Examples:
        >>> ttl_problem("10s") is None, ttl_problem("soon")
        (True, "'soon' is not a TTL: write it like 10s, 10 or 1m")
    """
    found = ttl_problem_and_fix(value)
    return None if found is None else ": ".join(found)


def ttl_problem_and_fix(value: str) -> tuple[str, str] | None:
    """Return (what is wrong with `value` as a switch TTL, how to fix it), or None."""
    from failover.zone import ZoneError

    try:
        seconds = ttl_seconds(value)
    except ZoneError:
        return f"{value!r} is not a TTL", "write it like 10s, 10 or 1m"
    if seconds < MIN_SWITCH_SECONDS:
        return (f"{value!r} is below gdnsd's min_ttl ({MIN_SWITCH_SECONDS}s by default), "
                "which it would serve instead",
                f"give at least {MIN_SWITCH_SECONDS}s (10s is usual)")
    return None


def written_ttl(value: str) -> str:
    """Return the switch TTL as the zone line gets it: seconds (`10s` -> `10`)."""
    return str(ttl_seconds(value))


def chain_subjects(subject: str, *, short: str, old: str, new: str) -> tuple[str, str, str]:
    """Return the three subjects: lower, switch (`subject`), restore; each says its place
    (`(1/3)`), the switch's when it fits 80 characters; the topic prefix of `subject` kept.

    Examples:
        >>> chain_subjects("wikimedia.org: fail over irc to irc1002", short="irc", old="5M",
        ...                new="10")[0]
        'wikimedia.org: lower TTL of irc to 10 (1/3)'
    """
    head, sep, _ = subject.partition(": ")
    prefix = f"{head}: " if sep and " " not in head else ""
    lower = f"{prefix}lower TTL of {short} to {new} (1/3)"
    restore = f"{prefix}restore TTL {old} of {short} (3/3)"
    switch = f"{subject} (2/3)"
    return (_fit(lower, prefix), switch if len(switch) <= SUBJECT_MAX else subject,
            _fit(restore, prefix))


def _fit(text: str, prefix: str) -> str:
    """Return `text` within 80 characters: without its topic prefix, then cut."""
    if len(text) > SUBJECT_MAX and prefix:
        text = text[len(prefix):]
    return text if len(text) <= SUBJECT_MAX else text[:SUBJECT_MAX - 3] + "..."


def chain_step_of(subject: str, short: str) -> tuple[int, str] | None:
    """Return (1 or 3, the TTL it names) when `subject` is the lower or restore change of
    `short`'s chain (as `chain_subjects` writes them), else None.

    Examples:
        >>> chain_step_of("wikimedia.org: restore TTL 5M of irc (3/3)", "irc")
        (3, '5M')
    """
    name = re.escape(short)
    if m := re.fullmatch(rf"(?:\S+: )?lower TTL of {name} to (\S+) \(1/3\)", subject):
        return 1, m.group(1)
    if m := re.fullmatch(rf"(?:\S+: )?restore TTL (\S+) of {name} \(3/3\)", subject):
        return 3, m.group(1)
    return None


@dataclass(frozen=True)
class ChainStep:
    """One change of the chain: its place (1-3), what it does, its edit and subject."""

    number: int
    what: str
    edit: SetEdit
    subject: str


@dataclass(frozen=True)
class Chain:
    """The three changes and the TTLs: the one written now (old) and the lowered one."""

    steps: tuple[ChainStep, ChainStep, ChainStep]
    old_ttl: str
    switch_ttl: str

    @property
    def old_seconds(self) -> int:
        """Return the TTL caches may hold the old answer, in seconds."""
        return ttl_seconds(self.old_ttl)


def build_chain(text: str, names: Sequence[str], rtype: str, switch: Callable[[str], SetEdit],
                switch_ttl: str, *, path: str, zone: str, subject: str,
                short: str | None = None) -> Chain:
    """Return the chain lowering the sets' TTL to `switch_ttl`, switching, restoring it.

    `switch` makes the switch's edit from the lowered text (a set replaced, a standby
    swapped); `subject` is the switch's subject (the others say they prepare / follow it;
    with `short`, the name as subjects write it, they are `chain_subjects`' short ones).

    Raises:
        ZoneError: the names have no live line, their lines have several TTLs (or none),
            or the switch TTL is not lower than the one written.
    """
    from failover.zone import ZoneError

    live = [ln for rs in find_sets(text, names, rtype, path=path, zone=zone).values()
            for ln in rs.live]
    if not live:
        raise ZoneError(f"{path}: no live {rtype} line of {', '.join(names)}",
                        hint="check the names and the record type in the config")
    bare = [ln for ln in live if ln.ttl is None]
    if bare:
        raise ZoneError(
            f"{path}:{bare[0].line}: {', '.join(sorted({ln.name.rstrip('.') for ln in bare}))}"
            f" has no TTL of its own (the zone's $TTL applies): the chain lowers and restores "
            f"the TTL written on the record's line", hint=(
                f"write the TTL on the line first, in a change of its own (e.g. "
                f"`{_with_ttl(bare[0].text, bare[0].owner_end, _zone_ttl(text, bare[0].line))}`"
                f"), or promote without --switch-ttl"))
    ttls = sorted({str(ln.ttl) for ln in live})
    if len(ttls) != 1:
        raise ZoneError(f"{path}: the lines of {', '.join(names)} have different TTLs "
                        f"({', '.join(ttls)}): the chain restores one TTL",
                        hint="give every line the same TTL first, in a change of its own, or "
                             "promote without --switch-ttl")
    old = ttls[0]
    if ttl_seconds(switch_ttl) >= ttl_seconds(old):
        raise ZoneError(f"--switch-ttl {switch_ttl} is not lower than the TTL written ({old})",
                        hint="give a shorter TTL (10s), or switch without the chain")
    lower = set_ttl(text, names, rtype, switch_ttl, path=path, zone=zone)
    moved = switch(lower.new_text)
    restore = set_ttl(moved.new_text, names, rtype, old, path=path, zone=zone)
    subjects = (f"Lower TTL to {switch_ttl} for {subject} (1/3, before the switch)",
                f"{subject} (2/3, TTL {switch_ttl})",
                f"Restore {old} TTL after {subject} (3/3, after the switch)") \
        if short is None else chain_subjects(subject, short=short, old=old, new=switch_ttl)
    return Chain((ChainStep(1, STEPS[0], lower, subjects[0]),
                  ChainStep(2, STEPS[1], moved, subjects[1]),
                  ChainStep(3, STEPS[2], restore, subjects[2])), old, switch_ttl)


def _zone_ttl(text: str, line: int) -> str:
    """Return the `$TTL` in effect at `line` (1-based), `1H` when the file has none."""
    found = "1H"
    for raw in text.split("\n")[:line - 1]:
        words = raw.split(";", 1)[0].split()
        if len(words) >= 2 and words[0].upper() == "$TTL":
            found = words[1]
    return found


def _with_ttl(line: str, owner_end: int, ttl: str) -> str:
    """Return a record line with `ttl` written after its owner, spaces squeezed (a hint's
    example: `irc 1H IN CNAME irc1001`)."""
    return " ".join([line[:owner_end].strip(), ttl, *line[owner_end:].split()])


def switch_may_merge(served_ttls: Sequence[int | None], lowered_since: float | None,
                     old_seconds: int, switch_seconds: int, now: float
                     ) -> tuple[bool, float | None, str]:
    """Return (may merge, when it may (monotonic), why not) for the switch change.

    `served_ttls` are the TTLs each nameserver answers now (None: no answer);
    `lowered_since` is when they first all served a TTL no longer than the lowered one.
    """
    if not served_ttls or any(t is None or t > switch_seconds for t in served_ttls):
        waiting = [str(t) for t in served_ttls if t is None or t > switch_seconds]
        return False, None, (f"not every nameserver serves TTL <= {switch_seconds}s yet "
                             f"(still {', '.join(waiting) or 'no server'})")
    if lowered_since is None:
        return False, now + old_seconds, "the lowered TTL is served from now on"
    ready = lowered_since + old_seconds
    if now < ready:
        return False, ready, f"caches may hold the old TTL for {ready - now:.0f}s more"
    return True, ready, ""
