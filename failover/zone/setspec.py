"""A record set as one target: what a candidate of an SRV (or round-robin A/AAAA) record says.

A candidate of a set record points at several targets at once. The config gives them as a
list (`target = ["0 1 4001 conf1007.eqiad.wmnet.", "0 1 4001 conf1008.eqiad.wmnet."]`: an
SRV member with its priority, weight and port, or only the host, the line's fields then kept);
the model carries them as one text, `format_set`, so that every path that compares, shows or
records a target (status, verify, check, the promote's plan and audit) handles a set as it
handles one CNAME target. `matches_set` compares a set read from the zone or a nameserver
with a candidate's: the same targets, and the SRV fields where the candidate gives them.

Examples:
    >>> spec = format_set([Member("conf1007.eqiad.wmnet.", 0, 1, 4001),
    ...                    Member("conf1008.eqiad.wmnet.")])
    >>> spec
    '0 1 4001 conf1007.eqiad.wmnet., conf1008.eqiad.wmnet.'
    >>> [m.target for m in parse_set(spec)]
    ['conf1007.eqiad.wmnet.', 'conf1008.eqiad.wmnet.']
    >>> matches_set("0 1 4001 conf1008.eqiad.wmnet., 0 1 4001 conf1007.eqiad.wmnet.", spec)
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from failover.zone.scan import ZoneError
from failover.zone.sets import Member, find_set

SET_RTYPES = ("SRV", "A", "AAAA")
"""The record types a name's record can be a set of (`type` in a service's or group's config)."""

SEPARATOR = ", "
"""Between the members of a set written as one text."""


def member_text(member: Member) -> str:
    """Return one member as the config and the set's text write it: `[P W PORT ]TARGET`."""
    fields = (member.priority, member.weight, member.port)
    if all(f is None for f in fields):
        return member.target
    return " ".join("*" if f is None else str(f) for f in fields) + " " + member.target


def parse_member(text: str) -> Member:
    """Return the member written as `TARGET` or `PRIORITY WEIGHT PORT TARGET` (`*`: any).

    Raises:
        ZoneError: any other shape, or a field that is no number.
    """
    parts = text.split()
    if len(parts) == 1:
        return Member(_absolute(parts[0]))
    if len(parts) != 4:
        raise ZoneError(f"{text!r} is not a set member",
                        hint="write it as \"HOST.\" or \"PRIORITY WEIGHT PORT HOST.\", e.g. "
                             "\"0 1 4001 conf1007.eqiad.wmnet.\"")
    nums: list[int | None] = []
    for part in parts[:3]:
        if part == "*":
            nums.append(None)
        elif part.isdigit() and int(part) < 65536:
            nums.append(int(part))
        else:
            raise ZoneError(f"{text!r}: {part!r} is not a priority, weight or port (0-65535)",
                            hint="write it as \"PRIORITY WEIGHT PORT HOST.\"")
    return Member(_absolute(parts[3]), nums[0], nums[1], nums[2])


def _absolute(target: str) -> str:
    """Return a host name absolute (trailing dot), an address as written."""
    if ":" in target or all(p.isdigit() for p in target.split(".")):
        return target
    return target if target.endswith(".") else target + "."


def format_set(members: Iterable[Member]) -> str:
    """Return the set as one text (its members in the order given)."""
    return SEPARATOR.join(member_text(m) for m in members)


def parse_set(text: str) -> tuple[Member, ...]:
    """Return the members of a set written as one text (`format_set`)."""
    return tuple(parse_member(part) for part in text.split(",") if part.strip())


def matches(answer: Iterable[Member], expected: Sequence[Member]) -> bool:
    """Return True when `answer` is `expected` as a set (SRV fields compared where given)."""
    got = {m.key(): m for m in answer}
    if set(got) != {m.key() for m in expected}:
        return False
    for want in expected:
        have = got[want.key()]
        for field_ in ("priority", "weight", "port"):
            value = getattr(want, field_)
            if value is not None and getattr(have, field_) != value:
                return False
    return True


def matches_set(found: str, expected: str) -> bool:
    """Return True when the set `found` (every field known) is the set `expected` (the SRV
    fields compared where `expected` gives them; the order never matters)."""
    try:
        return matches(parse_set(found), parse_set(expected))
    except ZoneError:
        return False


def zone_set(text: str, fqdn: str, rtype: str, *, path: str, zone: str) -> str:
    """Return the live set of `rtype` lines at `fqdn` in the template, as one text.

    Raises:
        ZoneError: no live line of that type defines the name.
    """
    return format_set(find_set(text, fqdn, rtype, path=path, zone=zone).members())


def hosts(spec: str) -> tuple[str, ...]:
    """Return the set's targets without the trailing dot (what a health check connects to)."""
    return tuple(m.target.rstrip(".") for m in parse_set(spec))
