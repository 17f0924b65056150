"""What a promote does, decided from what it read: one pure function, `decide`.

The state step reads the zone at the remote tip, the nameservers, both HAProxies and the
open changes in Gerrit; `decide(Reading)` turns that into a Decision:

- nothing to do: the zone at the tip and every nameserver already give the target;
- resume deploy: the zone at the tip gives the target (merged), the nameservers not yet;
- resume review: an open change of this failover exists (found by topic, or the one an
  earlier run pushed, by its Change-Id): follow it, push nothing;
- new change: build and push one (planned, or an emergency when the current primary's
  HAProxy is not healthy).

It refuses (GateRefused) when an open failover change of the region points at another
controller, and a planned promote whose target serves a service only through the old
primary's own servers (unless --force). No I/O: the tests give it plain data.

Examples:
    >>> decide(Reading(target="cloudcontrol1006", region="eqiad1", short="openstack.eqiad1",
    ...                zone_controller="cloudcontrol1006", served=True)).kind
    'nothing to do'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from failover.errors import GateRefused
from failover.promote.message import subject_target

if TYPE_CHECKING:
    from failover.gerrit import ChangeInfo

DecisionKind = Literal["nothing to do", "resume deploy", "resume review", "new change"]
"""The four things a promote can do (`failover.promote.plan.Kind` without `pending`)."""


@dataclass(frozen=True)
class Pushed:
    """The change an earlier run of this failover pushed, as recorded in the checkout."""

    change_id: str
    change: ChangeInfo | None = None
    """What Gerrit says of it by its Change-Id (None: not found)."""


@dataclass(frozen=True)
class Reading:
    """What the state step read, as plain data."""

    target: str
    """The controller to promote."""
    region: str
    short: str
    """The region's name without its zone (`openstack.eqiad1`), as subjects name it."""
    zone_controller: str | None
    """The controller the zone at the remote tip points at (None: none of the region's)."""
    served: bool
    """Every nameserver answers the target already."""
    current: str | None = None
    current_healthy: bool | None = None
    """The current primary's HAProxy verdict (None: not known, not one of the region's)."""
    open_changes: Sequence[ChangeInfo] = ()
    pushed: Pushed | None = None
    """See `wants_pushed`: looked up only when no open change of this failover was listed."""
    leaning: Sequence[str] = ()
    """The services the target serves only through the current primary's own servers."""
    force: bool = False


@dataclass(frozen=True)
class Decision:
    """What the promote does, and with which change."""

    kind: DecisionKind
    emergency: bool = False
    change: ChangeInfo | None = None
    """The open change to follow (resume review)."""
    change_id: str | None = None
    """The Change-Id to reuse: the open change's, or the one an earlier run pushed."""
    warnings: tuple[str, ...] = field(default_factory=tuple)


def elsewhere(reading: Reading) -> list[ChangeInfo]:
    """Return the open failover changes of this region that point at another controller."""
    return [c for c in reading.open_changes
            if (to := _target_of(reading, c)) and to != reading.target]


def open_change(reading: Reading) -> ChangeInfo | None:
    """Return the open failover change of this region to the target (the last listed)."""
    found = [c for c in reading.open_changes if _target_of(reading, c) == reading.target]
    return found[-1] if found else None


def wants_pushed(reading: Reading) -> bool:
    """Return whether `decide` needs `Reading.pushed`: a new change may reuse a Change-Id."""
    return reading.zone_controller != reading.target and open_change(reading) is None


def decide(reading: Reading) -> Decision:
    """Return what the promote does, from what it read (see the module's docstring).

    Raises:
        GateRefused: an open change points elsewhere; a planned promote leans on the old
            primary (without --force).
    """
    target = reading.target
    if reading.zone_controller == target:
        warnings = tuple(
            f"an open failover change points elsewhere: {c.url} ({c.subject}); merging it "
            "would move the name again: abandon it in Gerrit" for c in elsewhere(reading))
        kind: DecisionKind = "nothing to do" if reading.served else "resume deploy"
        return Decision(kind, warnings=warnings)
    change = open_change(reading)
    change_id = change.change_id if change else None
    if change is None and (pushed := reading.pushed) is not None and (
            pushed.change is None or pushed.change.status == "NEW"):
        change, change_id = pushed.change, pushed.change_id  # else a new change is new
    if other := elsewhere(reading):
        raise GateRefused(
            f"an open failover change for {reading.region} points elsewhere: "
            f"{other[0].url} ({other[0].subject})",
            hint="abandon it in Gerrit (or let it merge) and run again")
    emergency = reading.current_healthy is False
    warnings = ()
    if not emergency and reading.leaning:
        why = (f"without {reading.current}'s own servers, {target}'s HAProxy has no "
               f"usable server for: {', '.join(reading.leaning)}")
        if not reading.force:
            raise GateRefused(
                f"refusing the planned promote of {target}: {why}",
                hint=f"bring {target}'s own backends of those services up (see "
                     "`failover health`), or pass --force (recorded in the commit and the "
                     "audit log)")
        warnings = (f"--force: {why}",)
    return Decision("resume review" if change is not None else "new change", emergency=emergency,
                    change=change, change_id=change_id, warnings=warnings)


def _target_of(reading: Reading, change: ChangeInfo) -> str | None:
    return subject_target(change.subject, region=reading.region, short=reading.short)
