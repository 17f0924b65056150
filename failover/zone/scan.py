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

Over 400 lines on purpose: the scanner is one pass with its state (origin, parentheses,
Jinja blocks) in one place; split, the fast path for plain lines and the full tokenizer
would have to share that state across modules.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

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
_SPECIAL_SEARCH = re.compile(r'["()\\]').search
_WORD_FINDITER = re.compile(r"\S+").finditer
_PAREN_RE = re.compile(r'\\.|"(?:[^"\\]|\\.)*"?|;.*|[()]')
_DIRECTIVE_RE = re.compile(r"^(\$[A-Za-z_]+)(?:[ \t]+([^\s;]+))?(?:[ \t]+([^\s;]+))?")
_JINJA_CLOSE = {"#": "#}", "%": "%}", "{": "}}"}
_JINJA_OPEN = frozenset(_JINJA_CLOSE)


class ZoneError(UsageError):
    """The zone template cannot be read or changed as asked (exit 2); names file and line."""


class Token(NamedTuple):
    """One zone token: its text as written, its span in the physical line, and its kind."""

    text: str
    start: int
    end: int
    kind: str  # "w" word, "q" quoted string, "p" parenthesis

    @property
    def templated(self) -> bool:
        """Return True when the token holds a `{{ ... }}` expression."""
        return TEMPLATE_MARK in self.text


_new_token = tuple.__new__
"""Builds a Token without the namedtuple's Python-level __new__ (the hot path of a large zone)."""

Segments = tuple[list[int], list[int]]
"""Where the pieces of a logical line start: (logical offsets, physical offsets)."""


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


def iter_lines(text: str) -> Iterator[str]:
    """Yield the lines of `text` as text.split("\\n") gives them, one at a time.

    A list of every line of a zone of tens of megabytes costs more memory than the text
    itself; reading it line by line keeps what is held at one line.
    """
    start = 0
    find = text.find
    while True:
        end = find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


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


def strip_jinja(line: str, state: str | None) -> tuple[str, Segments, str | None]:
    """Return the line with Jinja removed, where its pieces came from, and the open-tag state.

    Statements and comments vanish; each `{{ ... }}` becomes one TEMPLATE_MARK. `state` is the
    closing delimiter still awaited from an earlier line (or None), and so is the state returned.
    """
    out: list[str] = []
    los: list[int] = []
    pos: list[int] = []
    size = i = 0
    n = len(line)
    while i < n:
        if state is not None:
            j = line.find(state, i)
            if j < 0:
                break
            i, state = j + 2, None
            continue
        j = line.find("{", i)
        while j >= 0 and line[j + 1:j + 2] not in _JINJA_OPEN:
            j = line.find("{", j + 1)
        piece = line[i:] if j < 0 else line[i:j]
        if piece:
            los.append(size)
            pos.append(i)
            out.append(piece)
            size += len(piece)
        if j < 0:
            break
        nxt = line[j + 1]
        if nxt == "{":
            los.append(size)
            pos.append(j)
            out.append(TEMPLATE_MARK)
            size += 1
        state, i = _JINJA_CLOSE[nxt], j + 2
    return "".join(out), (los, pos), state


def _physical(segs: Segments, x: int) -> int:
    los, pos = segs
    k = bisect_right(los, x) - 1
    return pos[k] + x - los[k]


def tokenize(logical: str, segs: Segments | None = None) -> list[Token]:
    """Return the zone tokens of a logical line, up to its comment, with physical spans."""
    if segs is None and _SPECIAL_SEARCH(logical) is None:  # the common line: words only
        cut = logical.find(";")
        return [_new_token(Token, (m.group(), m.start(), m.end(), "w"))
                for m in _WORD_FINDITER(logical, 0, len(logical) if cut < 0 else cut)]
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(logical):
        kind = m.lastgroup or "w"
        if kind == "c":
            break
        s, e = m.span()
        if segs is not None:
            s, e = _physical(segs, s), _physical(segs, e - 1) + 1
        tokens.append(Token(m.group(), s, e, kind))
    return tokens


def paren_delta(logical: str) -> int:
    """Return how many parentheses the line opens (negative: closes), quotes and comment aside."""
    found = _PAREN_RE.findall(logical)
    return found.count("(") - found.count(")")


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
    return scan_names(text, [want], path=path, zone=zone)[want]


def scan_names(text: str, fqdns: Iterable[str] | None, *, path: str,
               zone: str) -> dict[str, ScanResult]:
    """Return, per absolute lower-case name, what one pass over the template found at it.

    `fqdns` are the names looked for (absolute or not, any case); None means every name the
    template defines (a result per name seen as an owner). The results share `includes` and
    `text_lines`.
    """
    zone_abs = absolute_name(zone, ".", ".")
    lines = text.split("\n")
    count = len(lines) - (1 if lines and lines[-1] == "" else 0)
    includes: list[Include] = []
    results: dict[str, ScanResult] = {}

    def result(name: str) -> ScanResult:
        res = results.get(name)
        if res is None:
            res = results[name] = ScanResult(path=path, fqdn=name, zone=zone_abs, lines=count,
                                             includes=includes, text_lines=lines)
        return res

    if fqdns is not None:
        for name in fqdns:
            result(absolute_name(name, ".", "."))
        # A cheap, conservative filter: an owner that can name a wanted name starts with its
        # first label, "@", or an escape. Every other owner line is known not to match without
        # tokenizing it; the match is the owner token itself.
        labels = sorted({n.split(".", 1)[0] for n in results}, key=len, reverse=True)
        owner_re = (r"(?:@|\\|(?:" + "|".join(map(re.escape, labels))
                    + r')(?=[.\s;(]|$))(?:[^\s"();\\]|\\.)*')
    else:
        owner_re = r'(?:[^\s"();\\]|\\.)+'
    owner_match = re.compile(owner_re, re.IGNORECASE).match
    wanted = None if fqdns is None else dict(results)
    st = _State(origin=zone_abs)
    cur: ScanResult | None = None  # the result of the last owner, when it is looked for
    depth = 0  # open parentheses
    jinja: str | None = None  # closing delimiter of an open Jinja tag
    for idx, line in enumerate(lines):
        if not line:
            continue
        segs: Segments | None = None
        if jinja is not None or "{" in line:
            line, segs, jinja = strip_jinja(line, jinja)
            if not line.strip():
                continue
        if depth:
            depth = _continue_parens(cur, st, line, segs, depth)
            continue
        c = line[0]
        if c == "$":
            if _directive(includes, zone_abs, st, idx, line):
                cur = None
        elif c == ";" or c == "\r":
            continue
        elif c == " " or c == "\t":
            if cur is not None:
                depth = _record(cur, st, idx, lines[idx], "", tokenize(line, segs))
            elif "(" in line:
                depth = max(0, paren_delta(line))
        else:
            m = owner_match(line)
            cur = None
            if m is not None and TEMPLATE_MARK not in m.group():
                owner = resolve(m.group(), st.origin, zone_abs)
                if owner is not None:
                    cur = wanted.get(owner) if wanted is not None else result(owner)
            if cur is not None:
                depth = _record(cur, st, idx, lines[idx], m.group() if m else "",
                                tokenize(line, segs)[1:])
            elif "(" in line:
                depth = max(0, paren_delta(line))
    return results


@dataclass
class _State:
    """What the scanner's helpers keep between lines."""

    origin: str | None
    default_ttl: str | None = None
    pending: tuple[int, list[Token]] | None = None  # our record's line and words, in parens


def _directive(includes: list[Include], zone: str, st: _State, idx: int, line: str) -> bool:
    """Apply a $ directive; return True when it ends the current owner ($INCLUDE)."""
    m = _DIRECTIVE_RE.match(line)
    if m is None or m.group(2) is None:
        return False
    word, arg, extra = m.group(1).upper(), m.group(2), m.group(3)
    templated = TEMPLATE_MARK in arg
    if word == "$ORIGIN":
        st.origin = None if templated else resolve(arg, st.origin, zone)
    elif word == "$TTL":
        st.default_ttl = arg
    elif word == "$INCLUDE":
        origin = resolve(extra, st.origin, zone) if extra else st.origin
        includes.append(Include(line=idx + 1, file=arg, origin=origin or "(unknown)"))
        return True
    return False


def _record(res: ScanResult, st: _State, idx: int, physical: str, owner: str,
            toks: list[Token]) -> int:
    """Read one record line of the name looked for; return the parentheses left open."""
    depth = max(0, sum(1 for t in toks if t.text == "(") - sum(1 for t in toks if t.text == ")"))
    words = [t for t in toks if t.kind != "p"]
    ttl, rclass, rtype_tok, rdata = split_fields(words)
    if rtype_tok is None:
        if depth:
            st.pending = (idx + 1, words)
        return depth
    rtype = rtype_tok.text.upper()
    if rtype_tok.templated or rtype not in WATCHED_TYPES:
        res.others.append((idx + 1, rtype_tok.text if rtype_tok.templated else rtype))
        return depth
    problem = None
    if depth:
        problem = "it continues inside parentheses on the next lines"
    elif len(rdata) != 1:
        problem = f"it has {len(rdata)} data fields where one target is expected"
    elif rdata[0].templated or rdata[0].kind != "w":
        problem = "its target is a template expression or a quoted string"
    elif rdata[0].end - rdata[0].start != len(rdata[0].text):
        problem = "a template tag sits inside its target"
    if problem:
        res.problems.append(Problem(idx + 1, rtype, problem))
        return depth
    target = rdata[0]
    text = physical[:-1] if physical.endswith("\r") else physical
    absolute = target.text
    if rtype == "CNAME":
        absolute = resolve(target.text, st.origin, res.zone) or target.text
    res.records.append(ZoneRecord(
        path=res.path, line=idx + 1, line_text=text, owner=owner, name=res.fqdn,
        ttl=ttl.text if ttl else None, rclass=rclass.text if rclass else None, rtype=rtype,
        target=target.text, span=(target.start, target.end), origin=st.origin or res.zone,
        absolute_target=absolute, default_ttl=st.default_ttl,
    ))
    return 0


def _continue_parens(res: ScanResult | None, st: _State, line: str, segs: Segments | None,
                     depth: int) -> int:
    """Read a line inside open parentheses; return the parentheses still open."""
    if st.pending is None or res is None:
        return max(0, depth + paren_delta(line))
    toks = tokenize(line, segs)
    depth += sum(1 for t in toks if t.text == "(") - sum(1 for t in toks if t.text == ")")
    st.pending[1].extend(t for t in toks if t.kind != "p")
    if depth <= 0:
        first, words = st.pending
        _, _, rtype_tok, _ = split_fields(words)
        if rtype_tok is not None and rtype_tok.text.upper() in WATCHED_TYPES:
            res.problems.append(Problem(first, rtype_tok.text.upper(),
                                        "its fields continue inside parentheses"))
        st.pending = None
    return max(0, depth)
