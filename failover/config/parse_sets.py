"""The set records of `[services.*]` and `[groups.*]`: `type = "SRV"` (or "A"/"AAAA") and each
candidate's members, `min_members`, and the commented-standby keys (`standby`,
`standby_follows`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from failover.config.problems import Problems
from failover.names import HOSTNAME_RE, record_type_for

STANDBY_VALUES = ("commented", "none")
"""`standby`: a commented line beside the live one is the standby, swapped live by a promote
("commented"); or commented lines are left alone, the live line's target edited ("none")."""


def set_target(p: Problems, key: str, value: Any, rtype: str) -> str | None:
    """Return a set record's target (a list of members) as one text (`format_set`)."""
    from failover.zone.scan import ZoneError
    from failover.zone.setspec import format_set, parse_member

    example = ("[\"0 1 4001 conf1007.eqiad.wmnet.\", \"0 1 4001 conf1008.eqiad.wmnet.\"]"
               if rtype == "SRV" else "[\"10.64.0.1\", \"10.64.16.1\"]")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        p.add(key, f"missing or not a list of members; a {rtype} set's targets, e.g. {example}")
        return None
    members = []
    for item in items:
        try:
            member = parse_member(item)
        except ZoneError as exc:
            p.add(key, f"{exc.message}; {exc.hint}")
            return None
        wants = "CNAME" if rtype == "SRV" else rtype
        if record_type_for(member.target) != wants or (
                wants == "CNAME" and not HOSTNAME_RE.match(member.target)) or (
                rtype != "SRV" and member.port is not None):
            p.add(key, f"{item!r} is no member of a {rtype} set; e.g. {example}")
            return None
        members.append(member)
    if len({m.key() for m in members}) != len(members):
        p.add(key, "lists a member twice")
        return None
    return format_set(members)


def set_settings(p: Problems, t: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return a service's or group's record `type` (a set), `min_members` and standby keys."""
    out: dict[str, Any] = {}
    rtype = p.get(t, f"{key}.type", str)
    if rtype is not None:  # only then: failover.zone (its checks, git and gdnsd) costs ~10 ms
        from failover.zone.setspec import SET_RTYPES

        if rtype.upper() not in SET_RTYPES:
            p.add(f"{key}.type", f"{rtype!r} is not a set type; one of "
                                 f"{', '.join(SET_RTYPES)} (leave it out for one CNAME, A or "
                                 "AAAA target per record)")
        else:
            out["record_type"] = rtype.upper()
    least = p.get(t, f"{key}.min_members", int)
    if least is not None:
        if least < 1:
            p.add(f"{key}.min_members", f"must be 1 or more, got {least}")
        else:
            out["min_members"] = least
    standby = p.get(t, f"{key}.standby", str)
    if standby is not None:
        if standby not in STANDBY_VALUES:
            p.add(f"{key}.standby", f"{standby!r} is unknown; one of \"commented\" (the "
                                    "standby is a commented line beside the live one, swapped "
                                    "live by a promote) or \"none\" (a promote edits the live "
                                    "line's target and leaves commented lines as they are)")
        else:
            out["standby"] = standby
    follows = p.get(t, f"{key}.standby_follows", bool)
    if follows is not None:
        if standby != "commented" and follows:
            p.add(f"{key}.standby_follows", "needs standby = \"commented\"")
        out["standby_follows"] = follows
    if standby == "commented" and "record_type" in out:
        p.add(f"{key}.standby", "a set record has no commented standby; remove one of "
                                "type and standby")
    return out
