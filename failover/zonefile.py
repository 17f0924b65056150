"""Read a gdnsd zone template (Jinja2 over RFC 1035 syntax) line by line, in one pass.

The scanner keeps the state a zone file needs ($ORIGIN, $TTL, the last owner for blank-owner
lines, open parentheses, open Jinja tags) and fully tokenizes only the lines that can define
the name asked for, so a zone of a million lines is read in well under a second.

What it understands: relative and absolute owners, `@`, gdnsd's `@Z`/`@F`, relative `$ORIGIN`,
`$TTL`, TTLs with units (`5M`, `1H`, `1h30m`, gdnsd's `300/30`), class before or after the TTL,
`;` comments, quoted strings, multi-line `( ... )` records, `$INCLUDE file [origin]`, and
Jinja `{{ ... }}`, `{% ... %}`, `{# ... #}` anywhere (also across lines). Jinja statements and
comments are read as absent (they render to nothing); a `{{ ... }}` expression is an opaque
token: a name or target holding one is never matched nor edited. Escapes in names (`\\.`,
`\\DDD`) are compared as written. `failover.zone` holds the public API built on this.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from failover.errors import UsageError

TEMPLATE_MARK = "\x00"
"""Stands for a `{{ ... }}` expression in a logical line: a token holding it is templated."""

WATCHED_TYPES = frozenset({"A", "AAAA", "CNAME"})
"""The record types a region's name can have, and the only ones this module edits."""

CLASSES = frozenset({"IN", "CH", "HS", "CS"})
"""Record classes that may appear between owner and type (gdnsd itself accepts only IN)."""

_TTL_RE = re.compile(r"^[0-9]+[smhdwSMHDW]?(?:[0-9]+[smhdwSMHDW])*(?:/[0-9]+[smhdwSMHDW]?)?$")
_TOKEN_RE = re.compile(
    r'(?P<q>"(?:[^"\\]|\\.)*(?:"|\\?$))|(?P<p>[()])|(?P<c>;)|(?P<w>(?:[^\s"();\\]|\\.|\\$)+)'
)
_JINJA_CLOSE = {"#": "#}", "%": "%}", "{": "}}"}


class ZoneError(UsageError):
    """The zone template cannot be read or changed as asked (exit 2); names file and line."""


@dataclass(frozen=True)
class Token:
    """One zone token: its text as written, its span in the physical line, and its kind."""

    text: str
    start: int
    end: int
    kind: str  # "w" word, "q" quoted string, "p" parenthesis

    @property
    def templated(self) -> bool:
        """Return True when the token holds a `{{ ... }}` expression."""
        return TEMPLATE_MARK in self.text


@dataclass(frozen=True)
class ZoneRecord:
    """One A, AAAA or CNAME record found in a zone template.

    `line` is 1-based; `owner` is as written ("" for a blank-owner line, which inherits the
    previous owner); `span` is the target's [start, end) in `line_text` (characters, the line
    without its ending); `absolute_target` is the target with a relative name completed by the
    $ORIGIN in effect (addresses unchanged); `default_ttl` is the $TTL in effect, if any.
    """

    path: str
    line: int
    line_text: str
    owner: str
    name: str
    ttl: str | None
    rclass: str | None
    rtype: str
    target: str
    span: tuple[int, int]
    origin: str
    absolute_target: str
    default_ttl: str | None = None


@dataclass(frozen=True)
class Include:
    """An `$INCLUDE` line: where it is, the file it names, and the origin it applies."""

    line: int
    file: str
    origin: str


@dataclass(frozen=True)
class Problem:
    """A record at the name that cannot be handled (multi-line, templated, malformed)."""

    line: int
    rtype: str
    reason: str


@dataclass
class ScanResult:
    """What a scan found about one name: its records, other types, includes, problems."""

    path: str
    fqdn: str
    zone: str
    lines: int = 0
    records: list[ZoneRecord] = field(default_factory=list)
    others: list[tuple[int, str]] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    text_lines: list[str] = field(default_factory=list, repr=False)  # text.split("\n")


def absolute_name(name: str, origin: str, zone: str) -> str:
    """Return `name` as a lower-case absolute name, read under `origin` in zone `zone`.

    Example: absolute_name("openstack", "eqiad1.wikimediacloud.org.", ...) gives
    "openstack.eqiad1.wikimediacloud.org."; "@" gives the origin; "x.@Z" is x under the zone.
    """
    n = name.lower()
    if n == "@":
        return origin
    if n.endswith("."):
        return n
    if n in ("@z", "@f"):
        return zone
    if n.endswith((".@z", ".@f")):
        return n[:-2] + zone
    return f"{n}.{origin}" if origin != "." else f"{n}."


def resolve(name: str, origin: str | None, zone: str) -> str | None:
    """Return absolute_name(name, origin, zone), or None when it depends on an unknown origin."""
    if origin is None:
        n = name.lower()
        if not (n.endswith(".") or n in ("@z", "@f") or n.endswith((".@z", ".@f"))):
            return None
        origin = zone
    return absolute_name(name, origin, zone)


def strip_jinja(line: str, state: str | None) -> tuple[str, list[int], str | None]:
    """Return the line with Jinja removed, a map to original columns, and the open-tag state.

    Statements and comments vanish; each `{{ ... }}` becomes one TEMPLATE_MARK. `state` is the
    closing delimiter still awaited from an earlier line (or None), and so is the state returned.
    """
    out: list[str] = []
    pmap: list[int] = []
    i, n = 0, len(line)
    while i < n:
        if state is not None:
            j = line.find(state, i)
            if j < 0:
                return "".join(out), pmap, state
            i, state = j + 2, None
            continue
        j = line.find("{", i)
        nxt = line[j + 1:j + 2] if j >= 0 else ""
        if j < 0:
            out.append(line[i:])
            pmap.extend(range(i, n))
            break
        if nxt and nxt in _JINJA_CLOSE:
            out.append(line[i:j])
            pmap.extend(range(i, j))
            if nxt == "{":
                out.append(TEMPLATE_MARK)
                pmap.append(j)
            state, i = _JINJA_CLOSE[nxt], j + 2
            continue
        out.append(line[i:j + 1])
        pmap.extend(range(i, j + 1))
        i = j + 1
    return "".join(out), pmap, state


def tokenize(logical: str, pmap: list[int] | None = None) -> list[Token]:
    """Return the zone tokens of a logical line, up to its comment, with physical spans."""
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(logical):
        kind = m.lastgroup or "w"
        if kind == "c":
            break
        s, e = m.span()
        if pmap is not None:
            s, e = pmap[s], pmap[e - 1] + 1
        tokens.append(Token(m.group(), s, e, kind))
    return tokens


def split_fields(tokens: list[Token]) -> tuple[Token | None, Token | None, Token | None,
                                               list[Token]]:
    """Return (ttl, class, type, rdata) from a record's tokens after its owner."""
    ttl = rclass = None
    for i, tok in enumerate(tokens):
        if ttl is None and tok.kind == "w" and _TTL_RE.match(tok.text):
            ttl = tok
        elif rclass is None and tok.text.upper() in CLASSES:
            rclass = tok
        else:
            return ttl, rclass, tok, tokens[i + 1:]
    return ttl, rclass, None, []


def scan(text: str, fqdn: str, *, path: str, zone: str) -> ScanResult:
    """Return every A/AAAA/CNAME record (and more) the template defines at `fqdn`."""
    want = absolute_name(fqdn, ".", ".")
    zone_abs = absolute_name(zone, ".", ".")
    label = want.split(".", 1)[0]
    # A cheap, conservative filter: an owner that can name `want` starts with its first label,
    # "@", or an escape. Every other owner line is known not to match without tokenizing it.
    maybe: Callable[[str], object] = re.compile(
        r"(?:@|\\|" + re.escape(label) + r"(?=[.\s;(]|$))", re.IGNORECASE).match
    res = ScanResult(path=path, fqdn=want, zone=zone_abs)
    st = _State(origin=zone_abs)
    lines = res.text_lines = text.split("\n")
    res.lines = len(lines) - (1 if lines and lines[-1] == "" else 0)
    for idx, line in enumerate(lines):
        if not line:
            continue
        pmap: list[int] | None = None
        if st.jinja is not None or "{" in line:
            line, pmap, st.jinja = strip_jinja(line, st.jinja)
            if not line.strip():
                continue
        if st.depth:
            _continue_parens(res, st, idx, tokenize(line, pmap))
            continue
        c = line[0]
        if c == "$":
            _directive(res, st, idx, tokenize(line, pmap))
        elif c == ";" or c == "\r":
            continue
        elif c == " " or c == "\t":
            if st.match or "(" in line:
                toks = tokenize(line, pmap)
                if toks:
                    _record(res, st, idx, lines[idx], "", toks)
        elif maybe(line) is None:
            st.match = False
            if "(" in line:
                _record(res, st, idx, lines[idx], None, tokenize(line, pmap))
        else:
            toks = tokenize(line, pmap)
            if not toks:
                continue
            owner = toks[0]
            st.match = not owner.templated and resolve(owner.text, st.origin, zone_abs) == want
            _record(res, st, idx, lines[idx], owner.text, toks[1:])
    return res


@dataclass
class _State:
    """The scanner's state between lines."""

    origin: str | None
    default_ttl: str | None = None
    match: bool = False  # the last owner is the name looked for
    depth: int = 0  # open parentheses
    jinja: str | None = None  # closing delimiter of an open Jinja tag
    pending: tuple[int, list[Token]] | None = None  # our record's line and words, in parens


def _directive(res: ScanResult, st: _State, idx: int, toks: list[Token]) -> None:
    word = toks[0].text.upper() if toks else ""
    arg = toks[1] if len(toks) > 1 else None
    if word == "$ORIGIN" and arg is not None:
        st.origin = None if arg.templated else resolve(arg.text, st.origin, res.zone)
    elif word == "$TTL" and arg is not None:
        st.default_ttl = arg.text
    elif word == "$INCLUDE" and arg is not None:
        origin = resolve(toks[2].text, st.origin, res.zone) if len(toks) > 2 else st.origin
        res.includes.append(Include(line=idx + 1, file=arg.text, origin=origin or "(unknown)"))
        st.match = False


def _record(res: ScanResult, st: _State, idx: int, physical: str, owner: str | None,
            toks: list[Token]) -> None:
    """Read one record line; `owner` None means a line of another name (parens only)."""
    opened = sum(1 for t in toks if t.text == "(") - sum(1 for t in toks if t.text == ")")
    st.depth = max(0, opened)
    if owner is None or not st.match:
        return
    words = [t for t in toks if t.kind != "p"]
    ttl, rclass, rtype_tok, rdata = split_fields(words)
    if rtype_tok is None:
        if st.depth:
            st.pending = (idx + 1, words)
        return
    rtype = rtype_tok.text.upper()
    if rtype_tok.templated:
        res.others.append((idx + 1, rtype_tok.text))
        return
    if rtype not in WATCHED_TYPES:
        res.others.append((idx + 1, rtype))
        return
    problem = None
    if st.depth:
        problem = "it continues inside parentheses on the next lines"
    elif len(rdata) != 1:
        problem = f"it has {len(rdata)} data fields where one target is expected"
    elif rdata[0].templated or rdata[0].kind != "w":
        problem = "its target is a template expression or a quoted string"
    elif rdata[0].end - rdata[0].start != len(rdata[0].text):
        problem = "a template tag sits inside its target"
    if problem:
        res.problems.append(Problem(idx + 1, rtype, problem))
        return
    target = rdata[0]
    text = physical[:-1] if physical.endswith("\r") else physical
    origin = st.origin or res.zone
    absolute = target.text
    if rtype == "CNAME":
        absolute = resolve(target.text, st.origin, res.zone) or target.text
    res.records.append(ZoneRecord(
        path=res.path, line=idx + 1, line_text=text, owner=owner, name=res.fqdn,
        ttl=ttl.text if ttl else None, rclass=rclass.text if rclass else None, rtype=rtype,
        target=target.text, span=(target.start, target.end), origin=origin,
        absolute_target=absolute, default_ttl=st.default_ttl,
    ))


def _continue_parens(res: ScanResult, st: _State, idx: int, toks: list[Token]) -> None:
    for t in toks:
        if t.text == "(":
            st.depth += 1
        elif t.text == ")":
            st.depth -= 1
    if st.pending is not None:
        st.pending[1].extend(t for t in toks if t.kind != "p")
    if st.depth <= 0:
        st.depth = 0
        if st.pending is not None:
            line, words = st.pending
            _, _, rtype_tok, _ = split_fields(words)
            if rtype_tok is not None and rtype_tok.text.upper() in WATCHED_TYPES:
                res.problems.append(Problem(line, rtype_tok.text.upper(),
                                            "its fields continue inside parentheses"))
            st.pending = None
