"""`failover depool` and `failover pool`: one member of a set out and back, as a promote.

A depool (or pool) is a promote whose candidates are the set with the member ("pooled")
and without it ("depooled"): every step of a promote (lock, gate, the zone at the remote
tip, open changes, the change in a temporary worktree, push, review, deploy, verify, the
recursors, SAL, silence, task comments, audit, metrics) runs as it does for a promote, over
the records of the name whose set holds the member. Only these differ:

- the gate (`gate`): a depool is refused (exit 3) when the members left would be fewer than
  the name's `min_members` or one of them is unhealthy; a pool when the member coming back
  is (its health: the candidate's whose set names it, `{host}` being the member);
- the edit (`edit`): the member's line removed, every other byte kept; a pool puts it back
  beside its siblings, or, when the set's lines are still as the depool left them, as
  Gerrit's Revert of the depool (`look_up_revert`, by the rules of every failback written as
  a revert, `failover.promote.revert`: its lines put back byte for byte, `Revert "<its
  subject>"`);
- the subject and body (`subject`, `body`).

The two sets are built from the zone at the remote-tracking branch when the run starts
(`member_name`) and again from the fetched tip by the state step (`rebuild`), so a set
changed upstream meanwhile is judged as it is now.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from failover.errors import GateRefused, UsageError
from failover.zone.sets import Member

if TYPE_CHECKING:
    from failover.config import Config, Health
    from failover.health import HealthResult
    from failover.model import FailoverName
    from failover.promote.context import Context
    from failover.promote.plan import Plan
    from failover.zone import ZoneEdits

Action = Literal["depool", "pool"]
POOLED, DEPOOLED = "pooled", "depooled"
"""The two candidates of a member action: the set with the member, and without it."""


@dataclass
class MemberAction:
    """What a depool or pool moves: the member, the name it belongs to, what is left."""

    action: Action
    member: Member
    """As the zone writes it (a depool), or as the config gives it (a pool)."""
    origin: FailoverName
    """The name as configured (its candidates' health, its `min_members`)."""
    left: tuple[Member, ...] = ()
    """The members the depool leaves (every record's, each once)."""
    gate: list[str] = field(default_factory=list)
    """The gate's reading for the commit body: a heading, then one line per member read."""

    @property
    def host(self) -> str:
        """Return the member's host (or address) without the trailing dot."""
        return self.member.target.rstrip(".")

    @property
    def short(self) -> str:
        """Return the member as subjects name it: a host's first label, an address whole."""
        host = self.host
        return host if ":" in host or host.replace(".", "").isdigit() else host.split(".")[0]

    @property
    def target(self) -> str:
        """Return the candidate the action moves to."""
        return DEPOOLED if self.action == "depool" else POOLED

    def to_dict(self, *, reverts: bool = False) -> dict[str, object]:
        """Return the JSON `member` object of a depool or pool (`reverts`: a pool written
        as the revert of the depool)."""
        from failover.zone.setspec import member_text

        return {"action": self.action, "member": self.host,
                "left": [member_text(m) for m in self.left],
                "min_members": self.origin.service.min_members if self.origin.service else None,
                "revert": reverts}


def start(cfg: Config, name: str, member: str, action: Action) -> tuple[FailoverName,
                                                                         MemberAction]:
    """Return the depool's (pool's) name and action, from the zone as last fetched."""
    from failover import repo
    from failover.model import name_of

    origin = name_of(cfg, name)
    if not origin.records or origin.records[0].set_type is None:
        raise UsageError(f"{name!r} is not a set: {action} takes a member of an SRV or "
                         "round-robin A/AAAA set",
                         hint=f"give the name's config type = \"SRV\" (or \"A\"/\"AAAA\") "
                              f"and its candidates' targets as lists; a single target moves "
                              f"with `failover promote {name} TARGET`")
    from failover.zone.setspec import parse_member

    try:
        wanted = parse_member(member)
    except UsageError:
        raise UsageError(f"{member!r} is not a member", hint="give the member's host name, "
                         "e.g. puppetserver2003.codfw.wmnet") from None
    text = repo.read_remote_file(repo.open_checkout(cfg.dns.checkout), origin.zone_file)
    act = MemberAction(action, wanted, origin)
    return member_name(text, act), act


def member_name(text: str, act: MemberAction) -> FailoverName:
    """Return the name whose candidates are the sets with and without the member, over the
    records whose set holds it (a depool) or whose candidates name it (a pool)."""
    from failover.config import Candidate, Controller, Health
    from failover.model import FailoverName, Record
    from failover.zone import zone_name
    from failover.zone.sets import find_set
    from failover.zone.setspec import format_set, parse_set

    origin, key = act.origin, act.member.key()
    path, zone = origin.zone_file, zone_name(origin.zone_file)
    records: list[Record] = []
    left: dict[str, Member] = {}
    for record in origin.records:
        assert record.set_type is not None
        now = find_set(text, record.fqdn, record.set_type, path=path, zone=zone).members()
        named = [m for c in record.controllers for m in parse_set(c.target) if m.key() == key]
        found = [m for m in now if m.key() == key]
        if not found and not (act.action == "pool" and named):
            continue
        member = found[0] if found else named[0]
        if act.action == "depool" or found:
            act.member = member
        rest = [m for m in now if m.key() != key]
        left.update((m.key(), m) for m in rest)
        records.append(Record(origin.name, record.fqdn, record.zone_file, (
            Controller(POOLED, format_set([*rest, member]), ""),
            Controller(DEPOOLED, format_set(rest), "")), record.set_type))
    if not records:
        where = "no live line of its sets" if act.action == "depool" else \
            "no candidate's set and no live line"
        raise UsageError(f"{act.host} is {where} of {origin.name}",
                         hint=f"`failover status {origin.name}` shows the members")
    act.left = tuple(left.values())
    candidates = tuple(Candidate(c, {r.fqdn: r.target(c) for r in records}, Health())
                       for c in (POOLED, DEPOOLED))
    return FailoverName(origin.name, origin.kind, tuple(records), candidates, origin.zone_file,
                        origin.topic, origin.sal_project)


def rebuild(ctx: Context, text: str) -> bool:
    """Rebuild the plan's name from the zone at the fetched tip; True when it changed."""
    plan = ctx.plan
    act = plan.member
    assert act is not None
    name = member_name(text, act)
    if name == plan.name:
        return False
    plan.name, plan.region = name, name.records[0]
    plan.target = plan.region.controller(act.target)
    return True


# -- the gate ----------------------------------------------------------------------------------

def member_health(cfg: Config, act: MemberAction, members: list[Member]
                  ) -> dict[str, HealthResult]:
    """Return each member's health (by key): the health of the candidate whose set names it
    (the first), read for its host; `none` for a member no candidate names."""
    from failover.config import Health
    from failover.health.sets import member_results
    from failover.zone.setspec import parse_set

    def health_of(member: Member) -> Health:
        for cand in act.origin.candidates:
            if any(m.key() == member.key() for r in act.origin.records
                   for m in parse_set(r.target(cand.name))):
                return cand.health
        return Health()

    out: dict[str, HealthResult] = {}
    for m in members:
        out.update(member_results(cfg, m.target.rstrip("."), health_of(m), [m]))
    return out


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


def gate(ctx: Context) -> None:
    """The health step of a depool or pool: refuse (exit 3) what would not carry the service."""
    plan, act = ctx.plan, ctx.plan.member
    assert act is not None
    step = plan.step("health")
    if act.action == "depool":
        least = act.origin.service.min_members if act.origin.service else None
        if least is None:
            raise UsageError(f"no min_members set for {act.origin.name}: depool does not know "
                             "how many members the service needs",
                             hint=f"set min_members under [{_section(act)}.{act.origin.name}] "
                                  "in the config")
        results = member_health(ctx.cfg, act, list(act.left))
        healthy = {k: r.healthy for k, r in results.items()}
        if ctx.request.force and not all(healthy.values()):
            ctx.observer.warn("--force: depooling beside unhealthy members: " + ", ".join(
                k.rstrip(".") for k, ok in healthy.items() if not ok))
        depool_gate(act.left, least, {k: True for k in healthy} if ctx.request.force
                    else healthy)
        detail = (f"{len(act.left)} member(s) left (min_members {least}): "
                  + ", ".join(f"{k.rstrip('.')} {'healthy' if r.healthy else 'UNHEALTHY'}"
                              for k, r in results.items()))
        act.gate = [f"{len(act.left)} member(s) left, min_members {least}:",
                    *(f"- {k.rstrip('.')}: {'healthy' if r.healthy else 'UNHEALTHY'}"
                      for k, r in results.items())]
        verdict = next(iter(results.values()))
    else:
        results = member_health(ctx.cfg, act, [act.member])
        verdict = results[act.member.key()]
        if not verdict.healthy:
            if not ctx.request.force:
                raise GateRefused(f"pool refused: {act.host} is not healthy ({verdict.detail})",
                                  hint="`failover health` says why; pool it once it is, or "
                                       "pass --force (recorded)")
            ctx.observer.warn(f"--force: pooling unhealthy {act.host} ({verdict.detail})")
        detail = f"{act.host} {'healthy' if verdict.healthy else 'UNHEALTHY'} ({verdict.detail})"
        act.gate = [f"- {act.host}: {'healthy' if verdict.healthy else 'UNHEALTHY'}"]
    from dataclasses import replace

    summary = replace(verdict, detail=detail)
    plan.candidate_health = {POOLED: replace(summary, name=POOLED),
                             DEPOOLED: replace(summary, name=DEPOOLED, healthy=True)}
    step.summary = detail


def _section(act: MemberAction) -> str:
    return "groups" if act.origin.kind == "group" else "services"


# -- the change ---------------------------------------------------------------------------------

def edit(ctx: Context, text: str) -> ZoneEdits:
    """Return the depool's (pool's) edit of `text`: the member's lines out (in), or the
    depool's lines put back when the pool is its revert (`failover.promote.records.as_revert`)."""
    from failover.promote.records import as_revert

    return as_revert(ctx.plan, text, member_edit(ctx, text))


def member_edit(ctx: Context, text: str) -> ZoneEdits:
    """Return the edit taking the member's lines out of every record's set (putting a line
    back beside its siblings, a pool)."""
    from failover.promote.setedit import as_zone_edits, record_target
    from failover.zone import zone_name
    from failover.zone.sets import add_member, find_set, remove_member

    plan, act = ctx.plan, ctx.plan.member
    assert act is not None
    path, zone = plan.name.zone_file, zone_name(plan.name.zone_file)
    new_text = text
    for record in plan.name.records:
        assert record.set_type is not None
        now = find_set(new_text, record.fqdn, record.set_type, path=path, zone=zone)
        if any(m.key() == act.member.key() for m in now.members()) == (act.action == "pool"):
            continue  # already where asked
        if act.action == "depool":
            new_text = remove_member(new_text, record.fqdn, record.set_type,
                                     act.member.target, path=path, zone=zone).new_text
        else:
            new_text = add_member(new_text, record.fqdn, record.set_type, act.member,
                                  path=path, zone=zone).new_text
    return as_zone_edits(text, new_text, [
        (r, record_target(text, r, path), record_target(new_text, r, path))
        for r in plan.name.records], path)


def subject(topic: str, act: MemberAction) -> str:
    """Return the depool's (pool's) subject: `<topic>: depool HOST from NAME` (the host's
    first label, as people write it: "Remove puppetserver2003 out of active service")."""
    how = "from" if act.action == "depool" else "in"
    return f"{topic}: {act.action} {act.short} {how} {act.origin.name}"


def body(plan: Plan, user: str | None = None) -> str:
    """Return the commit body of a depool or pool: what, why, the gate's reading, origin."""
    from failover import __version__

    act, r = plan.member, plan.request
    assert act is not None
    first = (f"Take {act.host} out of {act.origin.name}." if act.action == "depool"
             else f"Put {act.host} back into {act.origin.name}.")
    parts = [first]
    if r.reason:
        parts.append(f"Reason: {r.reason}")
    parts.append("Records:\n" + "\n".join(f"- {rec.fqdn}" for rec in plan.name.records))
    if act.gate:
        parts.append("Health gate: " + "\n".join(act.gate))
    if r.force:
        parts.append(f"Forced with --force by {user or getpass.getuser()}.")
    if plan.acknowledged:
        parts.append("\n".join(plan.acknowledged))
    parts.append(f"Made with failover {__version__}: failover {act.action} {r.region} "
                 f"{act.host}")
    return "\n\n".join(parts)


def is_depool(subject: str, short: str) -> bool:
    """Return True when `subject` takes the member (its first label, `short`) out: this
    tool's depool, or a hand-written `Depool ...`/`Remove ... out of active service`."""
    words = subject.lower()
    return short.lower() in words and any(w in words for w in ("depool", "remove", "out of"))


def look_up_revert(ctx: Context, text: str) -> None:
    """Mark a pool as Gerrit's Revert of the depool it undoes (`plan.revert`): the last
    change of the sets' lines at the tip is this member's depool (made with this tool or by
    hand), and the revert puts back the members the pool asks for (`failover.promote.revert`).
    """
    from failover.promote.revert import find_reverted
    from failover.zone import ZoneError, zone_name
    from failover.zone.sets import find_set
    from failover.zone.setspec import matches

    plan, act = ctx.plan, ctx.plan.member
    assert act is not None
    if act.action != "pool":
        return
    path, zone = plan.name.zone_file, zone_name(plan.name.zone_file)
    try:
        pooled = member_edit(ctx, text).new_text
    except ZoneError:
        return  # the prepare step says what is wrong with the zone

    def same_members(restored: str) -> bool:
        """The revert's live sets are the members the pool's own edit writes."""
        try:
            return all(matches(find_set(restored, r.fqdn, r.set_type or "", path=path,
                                        zone=zone).members(),
                               find_set(pooled, r.fqdn, r.set_type or "", path=path,
                                        zone=zone).members())
                       for r in plan.name.records)
        except ZoneError:
            return False

    plan.revert = find_reverted(ctx.checkout.path, ctx.checkout.remote_ref, path,
                                [(r.fqdn, r.set_type or "") for r in plan.name.records],
                                wanted=lambda s: is_depool(s, act.short), accept=same_members,
                                text=text)
