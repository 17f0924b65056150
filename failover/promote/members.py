"""Depool and pool one member of a record set: the gate, and the edit as people write it.

`failover depool NAME MEMBER` takes one line out of an SRV or round-robin A/AAAA set for
maintenance ("Remove puppetserver2003 out of active service for RAM upgrade"); `failover
pool NAME MEMBER` puts it back, written as the revert of the depool when the zone still is
as the depool left it (as people do: `Revert "Remove puppetserver2003 ..."`).

The safety question is the set's, not the host's: `depool_gate` refuses (exit 3) when the
members left would be fewer than `min_members` or any of them is unhealthy; `pool_gate`
refuses when the member coming back is unhealthy.

Examples:
    >>> plan = plan_depool(text, "_x-puppet._tcp.codfw.wmnet", "SRV",
    ...                    "puppetserver2003.codfw.wmnet", path="templates/wmnet",
    ...                    zone="wmnet", min_members=2,
    ...                    healthy={"puppetserver2001.codfw.wmnet.": True, ...})
    ...                                                               # doctest: +SKIP
    >>> plan.subject                                                  # doctest: +SKIP
    'Depool puppetserver2003.codfw.wmnet from _x-puppet._tcp.codfw.wmnet'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from failover.errors import GateRefused, UsageError
from failover.zone.sets import Member, SetEdit, add_member, find_set, remove_member, unified_diff


@dataclass(frozen=True)
class MemberPlan:
    """A depool or pool: the edit, the members before and after, the commit subject."""

    action: str  # "depool" | "pool"
    record: str
    member: str
    before: tuple[Member, ...]
    after: tuple[Member, ...]
    edit: SetEdit
    subject: str
    revert_of: str | None = None
    """The depool change's subject when the pool is written as its revert."""


def depool_gate(left: tuple[Member, ...], min_members: int,
                healthy: Mapping[str, bool]) -> None:
    """Refuse (GateRefused, exit 3) when the members left cannot carry the service."""
    if min_members < 1:
        raise UsageError(f"min_members must be at least 1, not {min_members}",
                         hint="set min_members = 1 or more for the set in the config")
    if len(left) < min_members:
        raise GateRefused(
            f"depool refused: {len(left)} member(s) would be left "
            f"({', '.join(m.target.rstrip('.') for m in left)}), fewer than min_members = "
            f"{min_members}",
            hint="pool another member back first, or lower min_members in the config "
                 "after checking the service can run on fewer")
    sick = [m.target.rstrip(".") for m in left if not healthy.get(m.key(), False)]
    if sick:
        raise GateRefused(
            f"depool refused: member(s) left not healthy: {', '.join(sick)}",
            hint="`failover health NAME` says why; fix them (or pool a healthy one) first")


def plan_depool(text: str, record: str, rtype: str, member: str, *, path: str, zone: str,
                min_members: int, healthy: Mapping[str, bool], force: bool = False
                ) -> MemberPlan:
    """Return the depool of `member` from the set at `record`, the gate passed.

    `healthy` maps each member's target (absolute, lower case) to its health verdict; with
    `force` the health part of the gate is skipped (never the minimum).
    """
    before = tuple(find_set(text, record, rtype, path=path, zone=zone).members())
    edit = remove_member(text, record, rtype, member, path=path, zone=zone)
    after = tuple(find_set(edit.new_text, record, rtype, path=path, zone=zone).members())
    depool_gate(after, min_members, {m.key(): True for m in after} if force else healthy)
    name = member.rstrip(".")
    return MemberPlan("depool", record, name, before, after, edit,
                      f"Depool {name} from {record.rstrip('.')}")


def plan_pool(text: str, record: str, rtype: str, member: Member, *, path: str, zone: str,
              healthy: bool, depool: tuple[str, str, str] | None = None) -> MemberPlan:
    """Return the pool of `member` back into the set at `record`.

    `depool` is the last depool change of that member (subject, file before, file after):
    when the zone is still as it left it, the pool restores the file before, byte for byte,
    and its subject is `Revert "<depool subject>"`. Refused (exit 3) when `member` is not
    healthy.
    """
    name = member.target.rstrip(".")
    if not healthy:
        raise GateRefused(f"pool refused: {name} is not healthy",
                          hint="`failover health NAME` says why; pool it once it is")
    before = tuple(find_set(text, record, rtype, path=path, zone=zone).members())
    if depool is not None and depool[2] == text:
        subject, old, _ = depool
        edit = SetEdit(path, text, old, unified_diff(text, old, path), old != text,
                       f"revert of {subject!r}")
        after = tuple(find_set(old, record, rtype, path=path, zone=zone).members())
        return MemberPlan("pool", record, name, before, after, edit,
                          f'Revert "{subject}"', revert_of=subject)
    edit = add_member(text, record, rtype, member, path=path, zone=zone)
    after = tuple(find_set(edit.new_text, record, rtype, path=path, zone=zone).members())
    return MemberPlan("pool", record, name, before, after, edit,
                      f"Pool {name} in {record.rstrip('.')}")
