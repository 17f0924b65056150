"""Replay the shapes beyond one target flip: SRV switches, member out/back, standbys, TTLs.

    python3 -m benchmarks.replay PATH_TO_OPERATIONS_DNS --shapes [--since D] [--until D]

A commit is considered when every file it changes is a modified zone template and every
change of a file is one shape (the shape of the commit is that of its files; one commit of
several shapes is counted under "mixed" and not replayed):

- `srv switch`: lines of SRV sets replaced one for one, owner, class and TTL kept, targets
  (and maybe priority/weight/port) changed; rebuilt by `replace_sets` with the new set;
- `member out`: lines of SRV/A/AAAA sets removed, each set keeping a live line; rebuilt by
  `remove_member` per line;
- `member in`: lines added to an SRV/A/AAAA set that already has a live line (a member back
  after maintenance, or a new one); rebuilt by `add_member`; `reverts` counts those whose
  subject starts with `Revert "`;
- `standby swap`: lines whose only change is a `;` added or removed in column one, one live
  line commented and a commented one made live per name; rebuilt by `swap_standby`;
- `ttl`: lines whose only change is the TTL; rebuilt by `set_ttl` on their names, per type;
- `comment toggle`: lines only commented out (or only back in), none made live in exchange
  (a member depooled by commenting its line): counted, not rebuilt.

Each rebuilt file is compared byte for byte with the one the human committed.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.replay import ENCODING, Blobs, Commit, commits
from failover.zone import ZoneError, zone_name
from failover.zone.scan import split_fields, tokenize
from failover.zone.sets import (
    Member,
    SetEdit,
    SetLine,
    add_member,
    find_sets,
    remove_member,
    replace_sets,
    set_ttl,
    swap_standby,
)

SHAPES = ("srv switch", "member out", "member in", "standby swap", "ttl", "comment toggle")
SET_MEMBER_TYPES = ("SRV", "A", "AAAA")


@dataclass(frozen=True)
class ShapeOutcome:
    """What the shape replay made of one commit."""

    commit: Commit
    shape: str
    result: str  # "exact" | "different" | "not expressible"
    why: str


def _by_line(text: str, path: str, rtypes: tuple[str, ...]) -> dict[int, SetLine]:
    """Return every set line (live or commented) of those types, by 1-based line number."""
    out: dict[int, SetLine] = {}
    for rtype in rtypes:
        for rs in find_sets(text, None, rtype, path=path, zone=zone_name(path)).values():
            for ln in rs.live + rs.commented:
                out[ln.line] = ln
    return out


def _fields(line: str) -> tuple[str, list[str], str] | None:
    """Return (owner, [ttl, class, type, *rdata], "") of a plain record line, or None."""
    if not line or line[0] in "$; \t" or "{" in line or '"' in line or "(" in line:
        return None
    toks = tokenize(line)
    ttl, rclass, rtype, rdata = split_fields(toks[1:])
    if rtype is None or not rdata:
        return None
    return toks[0].text, [ttl.text if ttl else "", rclass.text.upper() if rclass else "",
                          rtype.text.upper(), *(t.text for t in rdata)], ""


def _set_lines(lines: list[str], start: int, stop: int) -> bool:
    """Return True when lines[start:stop] are SRV/A/AAAA lines of one owner and type, and
    the line just before or after the run is another line of that owner and type (the set
    keeps, or already had, a live member)."""
    fields = [_fields(ln) for ln in lines[start:stop]]
    keys = {(f[0].lower(), f[1][2]) if f else None for f in fields}
    if len(keys) != 1 or None in keys:
        return False
    key = keys.pop()
    if key is None or key[1] not in SET_MEMBER_TYPES:
        return False
    for idx in (start - 1, stop):
        near = _fields(lines[idx]) if 0 <= idx < len(lines) else None
        if near is not None and (near[0].lower(), near[1][2]) == key:
            return True
    return False


def _classify(old: list[str], new: list[str]) -> tuple[str, list[tuple[str, int, int, int, int]]]:
    """Return the file change's shape (or "other") and its difflib opcodes."""
    head = 0  # the common head and tail cut first: difflib on 10,000 lines is slow
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    ops: list[tuple[str, int, int, int, int]] = [
        (str(tag), i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2
        in difflib.SequenceMatcher(None, old[head:len(old) - tail], new[head:len(new) - tail],
                                   autojunk=False).get_opcodes()
        if tag != "equal"]
    if not ops:
        return "other", ops
    kinds = {op[0] for op in ops}
    if kinds == {"delete"}:
        spans = [(old, i1, i2) for _, i1, i2, _, _ in ops]
        return ("member out" if all(_set_lines(*sp) for sp in spans) else "other"), ops
    if kinds == {"insert"}:
        spans = [(new, j1, j2) for _, _, _, j1, j2 in ops]
        return ("member in" if all(_set_lines(*sp) for sp in spans) else "other"), ops
    if kinds != {"replace"} or any(i2 - i1 != j2 - j1 for _, i1, i2, j1, j2 in ops):
        return "other", ops
    pairs = [(old[i1 + k], new[j1 + k]) for _, i1, i2, j1, _ in ops for k in range(i2 - i1)]
    if all(a == ";" + b or b == ";" + a for a, b in pairs):
        both_ways = {a.startswith(";") for a, _ in pairs} == {True, False}
        return ("standby swap" if both_ways else "comment toggle"), ops
    shapes = set()
    for a, b in pairs:
        fa, fb = _fields(a), _fields(b)
        if fa is None or fb is None or fa[0] != fb[0] or fa[2] != fb[2]:
            return "other", ops
        (_, ra, _), (_, rb, _) = fa, fb
        if ra[1:3] != rb[1:3]:
            return "other", ops
        if ra[0] != rb[0] and ra[3:] == rb[3:]:
            shapes.add("ttl")
        elif ra[0] == rb[0] and ra[2] == "SRV" and ra[3:] != rb[3:]:
            shapes.add("srv switch")
        else:
            return "other", ops
    return (shapes.pop() if len(shapes) == 1 else "other"), ops


def _replay_file(shape: str, path: str, old: str, new: str,
                 ops: list[tuple[str, int, int, int, int]]) -> SetEdit:
    """Rebuild one file's change of that shape with the zone engine (ZoneError: cannot)."""
    zone = zone_name(path)
    kw = {"path": path, "zone": zone}
    if shape in ("member out", "member in"):
        out = shape == "member out"
        lines = _by_line(old if out else new, path, SET_MEMBER_TYPES)
        text = old
        for _, i1, i2, j1, j2 in ops:
            for idx in range(i1, i2) if out else range(j1, j2):
                ln = lines.get(idx + 1)
                if ln is None or ln.commented:
                    raise ZoneError(f"{path}:{idx + 1}: not a live SRV/A/AAAA set line")
                text = (remove_member(text, ln.name, ln.rtype, ln.member.target, **kw) if out
                        else add_member(text, ln.name, ln.rtype, ln.member, **kw)).new_text
        return SetEdit(path, old, text, "", text != old, shape)
    old_lines = old.split("\n")
    types = tuple({f[1][2] for _, i1, i2, _, _ in ops for ln in old_lines[i1:i2]
                   if (f := _fields(ln.lstrip(";"))) is not None})
    before = _by_line(old, path, types)
    after = _by_line(new, path, types)
    changed = [(before.get(i1 + k + 1), after.get(j1 + k + 1))
               for _, i1, i2, j1, _ in ops for k in range(i2 - i1)]
    if any(a is None or b is None for a, b in changed):
        raise ZoneError(f"{path}: a changed line is not a record the engine reads "
                        "(templated, parenthesized, or its $ORIGIN unknown)")
    pairs = [(a, b) for a, b in changed if a is not None and b is not None]
    names = sorted({a.name for a, _ in pairs})
    if shape == "ttl":  # per type and TTL (gitlab's A and AAAA lowered together)
        by_ttl: dict[tuple[str, str], set[str]] = {}
        for a, b in pairs:
            if b.ttl is None:
                raise ZoneError(f"{path}:{b.line}: the TTL is removed, not changed")
            by_ttl.setdefault((a.rtype, b.ttl), set()).add(a.name)
        text = old
        for (rtype_, ttl), group in by_ttl.items():
            text = set_ttl(text, sorted(group), rtype_, ttl, **kw).new_text
        return SetEdit(path, old, text, "", text != old, shape)
    if shape == "standby swap":
        text = old
        for name in names:
            live = [b for _, b in pairs if b.name == name and not b.commented]
            if len(live) != 1:
                raise ZoneError(f"{path}: {name} has {len(live)} lines made live")
            text = swap_standby(text, name, live[0].rtype, live[0].member.target,
                                path=path, zone=zone).new_text
        return SetEdit(path, old, text, "", text != old, shape)
    new_sets = find_sets(new, names, "SRV", **kw)
    groups: dict[tuple[Member, ...], list[str]] = {}
    for name, rs in new_sets.items():
        groups.setdefault(tuple(rs.members()), []).append(name)
    text = old
    for members, same in groups.items():
        text = replace_sets(text, same, "SRV", list(members), **kw).new_text
    return SetEdit(path, old, text, "", text != old, shape)


def replay_commit(commit: Commit, blobs: Blobs) -> ShapeOutcome | None:
    """Return the outcome of a commit of one shape, else None (not considered)."""
    if not commit.simple or not commit.files:
        return None
    files = []
    shapes = set()
    for fc in commit.files:
        old = blobs.read(fc.old).decode(ENCODING, "surrogateescape")
        new = blobs.read(fc.new).decode(ENCODING, "surrogateescape")
        shape, ops = _classify(old.split("\n"), new.split("\n"))
        if shape == "other":
            return None
        shapes.add(shape)
        files.append((fc.path, old, new, ops))
    if len(shapes) != 1:
        return ShapeOutcome(commit, "mixed", "not expressible", ", ".join(sorted(shapes)))
    shape = shapes.pop()
    if shape == "comment toggle":
        return ShapeOutcome(commit, shape, "not expressible",
                            "lines commented out or back in, no live line swapped: the "
                            "engine removes or adds a member's line instead")
    result, whys = "exact", []
    for path, old, new, ops in files:
        try:
            edit = _replay_file(shape, path, old, new, ops)
        except ZoneError as exc:
            return ShapeOutcome(commit, shape, "not expressible",
                                exc.message.replace("\n", " "))
        if edit.new_text != new:
            result = "different"
            whys.append(_first_difference(path, edit.new_text, new))
    return ShapeOutcome(commit, shape, result, "; ".join(whys))


def _first_difference(path: str, ours: str, theirs: str) -> str:
    a, b = ours.split("\n"), theirs.split("\n")
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"{path}:{i + 1}: tool {x!r}, human {y!r}"
    return f"{path}: tool has {len(a)} lines, human {len(b)}"


def run(repo: object, since: str | None, until: str | None,
        emit: Callable[[str], None] = print) -> list[ShapeOutcome]:
    """Replay every commit of the range; print the counts per shape and each miss."""
    from pathlib import Path

    path = Path(str(repo))
    blobs = Blobs(path)
    outcomes: list[ShapeOutcome] = []
    try:
        for commit in commits(path, since):
            if until and commit.date[:10] > until:
                continue
            outcome = replay_commit(commit, blobs)
            if outcome is not None:
                outcomes.append(outcome)
    finally:
        blobs.close()
    counts = Counter((o.shape, o.result) for o in outcomes)
    emit(f"commits of one shape: {len(outcomes)}")
    for shape in (*SHAPES, "mixed"):
        total = sum(n for (s, _), n in counts.items() if s == shape)
        parts = ", ".join(f"{r} {counts[(shape, r)]}"
                          for r in ("exact", "different", "not expressible"))
        extra = ""
        if shape == "member in":
            reverts = sum(1 for o in outcomes if o.shape == shape
                          and o.commit.subject.startswith('Revert "'))
            extra = f" (reverts of a member out: {reverts})"
        emit(f"{shape}: {total}: {parts}{extra}")
    for o in outcomes:
        if o.result != "exact":
            emit(f"  {o.shape} {o.result}: {o.commit.sha[:12]} {o.commit.date[:10]} "
                 f"{o.commit.subject[:60]!r}: {o.why[:200]}")
    return outcomes
