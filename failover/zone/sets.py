"""Record sets of a zone template: SRV and round-robin sets, commented standbys, TTLs.

What SREs still edit by hand beyond one CNAME, as operations/dns's history writes it:

- an SRV (or round-robin A/AAAA) set switched as one (`replace_set`): the etcd/conftool
  records moved from codfw's hosts to eqiad's, target tokens changed in place, line by line;
- a member out for maintenance and back (`remove_member`, `add_member`): one line of the set
  removed ("Remove puppetserver2003 out of active service"), then restored beside its siblings;
- a commented standby (`swap_standby`): `;doc   300 IN CNAME doc2002.codfw.wmnet.` beside the
  live `doc   300 IN CNAME doc1003.eqiad.wmnet.`; a failover toggles the `;` in column one of
  both lines, every other byte kept ("wmnet: failover doc host");
- a TTL change of a set (`set_ttl`): the TTL token of every line replaced ("Shorten TTL for
  conftool SRV entries", "Restore 5M TTL ...").

`find_set` reads every line, live or commented (`;` in column one), whose owner is the name
under the $ORIGIN in effect; lines holding Jinja are skipped (not editable), blank-owner
lines inherit the last live owner. Members are `Member`s: the target as a FQDN (or address)
and, for SRV, priority, weight and port. Every edit changes only the tokens it must (or whole
lines it adds or removes), so the file is byte for byte what an SRE writes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from failover.zone.scan import (
    ZoneError,
    absolute_name,
    resolve,
    split_fields,
    tokenize,
)

SET_TYPES = frozenset({"SRV", "A", "AAAA", "CNAME", "PTR"})
"""The record types a set (or a commented standby) can have (PTR: for its TTL)."""

_ORIGIN_RE = re.compile(r"^\$ORIGIN[ \t]+([^\s;]+)", re.IGNORECASE)
_TTL_RE = re.compile(r"^[0-9]+[smhdwSMHDW]?(?:[0-9]+[smhdwSMHDW])*$")


@dataclass(frozen=True)
class Member:
    """One member of a set: its target (FQDN with trailing dot, or address) and SRV fields.

    `priority`, `weight` and `port` are None for A/AAAA/CNAME, and for an SRV member whose
    fields are taken from the line it replaces (or from a sibling line when it is added).
    """

    target: str
    priority: int | None = None
    weight: int | None = None
    port: int | None = None

    def key(self) -> str:
        """Return the target as compared: lower case, absolute."""
        t = self.target.lower()
        return t if (":" in t or _is_v4(t) or t.endswith(".")) else t + "."


@dataclass(frozen=True)
class SetLine:
    """One line of a set, live or commented, with where each of its tokens sits.

    `line` is 1-based, `text` the line without its ending, `offset` 1 for a commented line
    (the `;`), `rdata` the data tokens as written with their [start, end) spans in `text`.
    """

    line: int
    text: str
    commented: bool
    name: str
    rtype: str
    ttl: str | None
    ttl_span: tuple[int, int] | None
    owner_end: int
    rdata: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    origin: str

    @property
    def target(self) -> str:
        """Return the target as written (the last data field)."""
        return self.rdata[-1]

    @property
    def member(self) -> Member:
        """Return the line as a Member (target absolute)."""
        target = self.target
        if self.rtype in ("SRV", "CNAME", "PTR"):
            target = absolute_name(target, self.origin, self.origin)
        if self.rtype == "SRV" and len(self.rdata) == 4:
            prio, weight, port = (int(x) if x.isdigit() else None for x in self.rdata[:3])
            return Member(target, prio, weight, port)
        return Member(target)


@dataclass
class RecordSet:
    """Every line of one name and type in a template: live lines and commented ones."""

    path: str
    name: str
    rtype: str
    live: list[SetLine] = field(default_factory=list)
    commented: list[SetLine] = field(default_factory=list)

    def members(self) -> list[Member]:
        """Return the live members in file order."""
        return [ln.member for ln in self.live]


@dataclass(frozen=True)
class SetEdit:
    """The result of a set edit: both texts, the git-style diff, and whether anything changed."""

    path: str
    old_text: str = field(repr=False)
    new_text: str = field(repr=False)
    diff: str
    changed: bool
    summary: str


def _is_v4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def _parse_line(text: str, commented: bool, owner_hint: str | None
                ) -> tuple[str, int, list[tuple[str, int, int]]] | None:
    """Return (owner as written, end of owner, [(token, start, end)...]) of a record line."""
    body = text[1:] if commented else text
    if not body or body[0] in "$;" or "{" in body or '"' in body or "(" in body:
        return None
    off = 1 if commented else 0
    toks = tokenize(body)
    if not toks:
        return None
    if body[0] in " \t":
        if commented or owner_hint is None:
            return None
        owner, owner_end = owner_hint, 0
        rest = toks
    else:
        owner, owner_end = toks[0].text, toks[0].end + off
        rest = toks[1:]
    return owner, owner_end, [(t.text, t.start + off, t.end + off) for t in rest]


def find_sets(text: str, names: Sequence[str] | None, rtype: str, *, path: str, zone: str
              ) -> dict[str, RecordSet]:
    """Return, per absolute lower-case name, its set of `rtype` lines (live and commented).

    `names` None: every name with an `rtype` line (live or commented).
    """
    rtype = rtype.upper()
    if rtype not in SET_TYPES:
        raise ZoneError(f"{rtype} is not a record type a set can have",
                        hint=f"use one of {', '.join(sorted(SET_TYPES))}")
    zone_abs = absolute_name(zone, ".", ".")
    sets = {absolute_name(n, ".", "."): RecordSet(path, absolute_name(n, ".", "."), rtype)
            for n in names or ()}
    origin: str | None = zone_abs
    last_owner: str | None = None
    for idx, raw in enumerate(text.split("\n")):
        line = raw[:-1] if raw.endswith("\r") else raw
        m = _ORIGIN_RE.match(line)
        if m is not None:
            origin = None if "{" in m.group(1) else resolve(m.group(1), origin, zone_abs)
            last_owner = None
            continue
        commented = line.startswith(";")
        parsed = _parse_line(line, commented, None if commented else last_owner)
        if parsed is None:
            if line[:1] not in ("", " ", "\t", ";"):
                last_owner = None
            continue
        owner, owner_end, toks = parsed
        if not commented:
            last_owner = owner
        words = tokenize(" ".join(t for t, _, _ in toks))
        ttl_tok, _, type_tok, rdata = split_fields(words)
        if type_tok is None or type_tok.text.upper() != rtype or origin is None:
            continue
        name = resolve(owner, origin, zone_abs)
        if names is None and name is not None and name not in sets:
            sets[name] = RecordSet(path, name, rtype)
        rs = sets.get(name or "")
        if rs is None:
            continue
        first = len(words) - len(rdata)
        ttl_i = words.index(ttl_tok) if ttl_tok is not None else None
        if (rtype == "SRV" and len(rdata) != 4) or (rtype != "SRV" and len(rdata) != 1):
            continue
        entry = SetLine(
            line=idx + 1, text=line, commented=commented, name=rs.name, rtype=rtype,
            ttl=ttl_tok.text if ttl_tok else None,
            ttl_span=(toks[ttl_i][1], toks[ttl_i][2]) if ttl_i is not None else None,
            owner_end=owner_end,
            rdata=tuple(t for t, _, _ in toks[first:]),
            spans=tuple((s, e) for _, s, e in toks[first:]), origin=origin)
        (rs.commented if commented else rs.live).append(entry)
    return sets


def find_set(text: str, name: str, rtype: str, *, path: str, zone: str) -> RecordSet:
    """Return the set of `rtype` lines at `name`; ZoneError when it has no live line."""
    rs = find_sets(text, [name], rtype, path=path, zone=zone)[absolute_name(name, ".", ".")]
    if not rs.live:
        raise ZoneError(f"{path}: no live {rtype.upper()} line defines {name.rstrip('.')}",
                        hint="check the name and record type in the config")
    return rs


def _as_written(member: Member, like: SetLine) -> str:
    """Return the member's target as `like` would write it (relative when `like` is)."""
    target = member.target
    if like.rtype not in ("SRV", "CNAME", "PTR"):
        return target
    absolute = target if target.endswith(".") else target + "."
    origin = like.origin.lower()
    if not like.target.endswith(".") and absolute.lower().endswith("." + origin):
        return absolute[:-len(origin) - 1]
    return absolute


def _rewrite(line: SetLine, member: Member) -> str:
    """Return `line` with its data fields replaced by the member's, other bytes kept."""
    values = list(line.rdata)
    values[-1] = _as_written(member, line)
    if line.rtype == "SRV":
        for i, field_ in enumerate((member.priority, member.weight, member.port)):
            if field_ is not None:
                values[i] = str(field_)
    out: list[str] = []
    pos = 0
    for (s, e), value in zip(line.spans, values, strict=True):
        out += [line.text[pos:s], value]
        pos = e
    out.append(line.text[pos:])
    return "".join(out)


def _same(a: Member, b: Member) -> bool:
    return a.key() == b.key() and all(
        x is None or y is None or x == y
        for x, y in ((a.priority, b.priority), (a.weight, b.weight), (a.port, b.port)))


def _apply(text: str, path: str, changes: dict[int, str | None], inserts: dict[int, list[str]],
           summary: str) -> SetEdit:
    """Return the SetEdit replacing/removing lines (`changes`, by 0-based index; None removes)
    and inserting lines after 0-based indexes (`inserts`)."""
    lines = text.split("\n")
    out: list[str] = [x for x in inserts.get(-1, [])]
    for i, line in enumerate(lines):
        ending = "\r" if line.endswith("\r") else ""
        new = changes.get(i, line)
        if new is not None:
            out.append(new if i not in changes else new + ending)
        out += [x + ending for x in inserts.get(i, [])]
    new_text = "\n".join(out)
    return SetEdit(path, text, new_text, unified_diff(text, new_text, path),
                   new_text != text, summary)


def unified_diff(old: str, new: str, path: str) -> str:
    """Return a git-style unified diff of two texts (3 lines of context)."""
    if old == new:
        return ""
    a, b = old.split("\n"), new.split("\n")
    body = list(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=3, lineterm=""))
    return "\n".join(body) + "\n"


def replace_sets(text: str, names: Sequence[str], rtype: str, members: Sequence[Member], *,
                 path: str, zone: str) -> SetEdit:
    """Return the edit making the live set of every name in `names` exactly `members`.

    Members already in a set keep their line; the others take the lines of members leaving,
    in order, by changing only their data tokens (as the etcd switchover did); more members
    than lines get a line each after the set's last, cloned from it; fewer drop the extra.
    """
    if not members:
        raise ZoneError(f"{path}: a set cannot be made empty",
                        hint="give at least one member (depool removes one at a time)")
    sets = find_sets(text, names, rtype, path=path, zone=zone)
    changes: dict[int, str | None] = {}
    inserts: dict[int, list[str]] = {}
    for rs in sets.values():
        if not rs.live:
            raise ZoneError(f"{path}: no live {rtype.upper()} line defines "
                            f"{rs.name.rstrip('.')}", hint="check the names in the config")
        staying = [ln for ln in rs.live if any(_same(ln.member, m) for m in members)]
        leaving = [ln for ln in rs.live if ln not in staying]
        coming = [m for m in members if not any(_same(ln.member, m) for ln in staying)]
        for ln, m in zip(leaving, coming, strict=False):
            changes[ln.line - 1] = _rewrite(ln, m)
        for ln in leaving[len(coming):]:
            changes[ln.line - 1] = None
        extra = coming[len(leaving):]
        if extra:
            last = rs.live[-1]
            inserts[last.line - 1] = [_rewrite(last, m) for m in extra]
    summary = f"{rtype.upper()} set of {', '.join(n.rstrip('.') for n in names)} -> " + \
        ", ".join(m.target.rstrip(".") for m in members)
    return _apply(text, path, changes, inserts, summary)


def remove_member(text: str, name: str, rtype: str, member: str, *, path: str, zone: str
                  ) -> SetEdit:
    """Return the edit removing `member`'s line from the set (the set keeps its other lines)."""
    rs = find_set(text, name, rtype, path=path, zone=zone)
    want = Member(member)
    hits = [ln for ln in rs.live if ln.member.key() == want.key()]
    if not hits:
        raise ZoneError(f"{path}: {member.rstrip('.')} is not a live member of "
                        f"{name.rstrip('.')} ({rtype.upper()})",
                        hint="members now: " + ", ".join(m.target for m in rs.members()))
    if len(hits) == len(rs.live):
        raise ZoneError(f"{path}: {member.rstrip('.')} is the only member of "
                        f"{name.rstrip('.')}; removing it would leave no record",
                        hint="promote another target instead")
    return _apply(text, path, {ln.line - 1: None for ln in hits}, {},
                  f"depool {member.rstrip('.')} from {name.rstrip('.')}")


def add_member(text: str, name: str, rtype: str, member: Member, *, path: str, zone: str
               ) -> SetEdit:
    """Return the edit adding `member` to the set, as a line cloned from a sibling.

    The line goes beside its nearest siblings (the lines whose targets share the longest
    prefix with it: `wikikube-ctrl1003` after `wikikube-ctrl1002`, before `kubetcd1004`), after
    the last of them sorting before it, else before the first; SRV fields not given are the
    sibling's.
    """
    rs = find_set(text, name, rtype, path=path, zone=zone)
    if any(_same(ln.member, member) for ln in rs.live):
        return SetEdit(path, text, text, "", False, f"{member.target} already in the set")
    key = member.key()
    best = max(len(_common_prefix(ln.member.key(), key)) for ln in rs.live)
    group = [ln for ln in rs.live if len(_common_prefix(ln.member.key(), key)) == best]
    before = [ln for ln in group if ln.member.key() < key]
    summary = f"pool {member.target.rstrip('.')} in {name.rstrip('.')}"
    if before:  # after its nearest sibling that sorts before it (puppetserver2002 -> 2003)
        after = before[-1]
        return _apply(text, path, {}, {after.line - 1: [_rewrite(after, member)]}, summary)
    first = group[0]  # it sorts first among its siblings: before them, cloned from the first
    return _apply(text, path, {}, {first.line - 2: [_rewrite(first, member)]}, summary)


def _common_prefix(a: str, b: str) -> str:
    """Return the longest common prefix of two names (siblings share `puppetserver200`)."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def swap_standby(text: str, name: str, rtype: str, target: str, *, path: str, zone: str,
                 follow: bool = False) -> SetEdit:
    """Return the edit making `target`'s commented line live and commenting the live line.

    The `;` goes in column one of the line made standby and leaves the line made live; every
    other byte stays. With `follow`, when no commented line holds `target` but one commented
    line exists, the live line points at `target` and the commented one at the old target.
    """
    rs = find_set(text, name, rtype, path=path, zone=zone)
    if len(rs.live) != 1:
        raise ZoneError(f"{path}: {name.rstrip('.')} has {len(rs.live)} live {rtype} lines; "
                        "a commented standby swaps one live line", hint="fix the config")
    live = rs.live[0]
    want = Member(target)
    if live.member.key() == want.key():
        return SetEdit(path, text, text, "", False, f"{target} already live")
    standby = [ln for ln in rs.commented if ln.member.key() == want.key()]
    summary = f"{name.rstrip('.')}: {live.member.target} -> {target} (standby swapped)"
    if standby:
        sb = standby[0]
        return _apply(text, path, {live.line - 1: ";" + live.text, sb.line - 1: sb.text[1:]},
                      {}, summary)
    if follow and len(rs.commented) == 1:
        sb = rs.commented[0]
        return _apply(text, path, {live.line - 1: _rewrite(live, want),
                                   sb.line - 1: _rewrite(sb, live.member)}, {},
                      summary)
    raise ZoneError(f"{path}: no commented {rtype} line of {name.rstrip('.')} points at "
                    f"{target.rstrip('.')}",
                    hint=f"write `;{name.split('.')[0]} ... {target}` under the live line, or "
                         "set standby_follows = true")


def set_ttl(text: str, names: Sequence[str], rtype: str, ttl: str, *, path: str, zone: str
            ) -> SetEdit:
    """Return the edit writing `ttl` as the TTL of every live line of the sets.

    The TTL token is replaced in place (`5M` -> `10`, the padding after it kept); a line
    without TTL gets one after its owner.
    """
    if not _TTL_RE.match(ttl):
        raise ZoneError(f"TTL {ttl!r} is not a zone TTL", hint="write it like 10, 300 or 5M")
    changes: dict[int, str | None] = {}
    for rs in find_sets(text, names, rtype, path=path, zone=zone).values():
        if not rs.live:
            raise ZoneError(f"{path}: no live {rtype.upper()} line defines "
                            f"{rs.name.rstrip('.')}", hint="check the names in the config")
        for ln in rs.live:
            if ln.ttl == ttl:
                continue
            if ln.ttl_span is None:
                new = ln.text[:ln.owner_end] + " " + ttl + ln.text[ln.owner_end:]
            else:
                new = _ttl_replaced(ln.text, ln.ttl_span, ttl)
            changes[ln.line - 1] = new
    return _apply(text, path, changes, {},
                  f"TTL {ttl} for {', '.join(n.rstrip('.') for n in names)}")


def _ttl_replaced(text: str, span: tuple[int, int], ttl: str) -> str:
    """Return the line with the TTL at `span` replaced, the next field kept in its column
    when the padding after the TTL allows it (`1H  IN` -> `300 IN`, as people align)."""
    s, e = span
    pad_end = e
    while pad_end < len(text) and text[pad_end] in " \t":
        pad_end += 1
    pad = text[e:pad_end]
    grow = len(ttl) - (e - s)
    if "\t" not in pad and pad_end < len(text) and len(pad) - grow >= 1:
        pad = " " * (len(pad) - grow)
    return text[:s] + ttl + pad + text[pad_end:]


def ttl_seconds(ttl: str) -> int:
    """Return a zone TTL (`10`, `5M`, `1h30m`) in seconds."""
    units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if not _TTL_RE.match(ttl):
        raise ZoneError(f"TTL {ttl!r} is not a zone TTL", hint="write it like 10, 300 or 5M")
    return sum(int(n) * units[u.lower()] for n, u in re.findall(r"([0-9]+)([a-zA-Z]?)", ttl))
