"""The repository's history of a name's records, read from one streamed `git log -p`.

`parse_log` is pure: it reads the text of `git log -p -U0` in `LOG_FORMAT` (see `log_argv`)
and yields, newest first, each commit that changed a line of the records asked for, with what
each record pointed to before and after (`RecordChange`), the commit's author, dates, subject,
`Bug:` and `Change-Id:` footers, and whether this tool wrote it ("Made with failover").
`read_history` runs git on the operator's checkout at the remote-tracking branch and feeds it
to the parser as git writes it.

Why one `git log -p` and not `git log -L` or a blob per commit: `-L` walks the whole file's
history per range and takes seconds on operations/dns; one diff stream of the zone file is
read in well under a second over its whole history (2,200 commits of templates/wikimedia.org).

A record's line is found by owner and type (A, AAAA, CNAME, SRV: each line of a set is one
of its targets, an SRV member's `PRIORITY WEIGHT PORT HOST.`). Relative owners are completed
with the `$ORIGIN` in effect: each hunk's header carries the last `$ORIGIN` line before it
(git's `xfuncname`, given to this one command through `-c core.attributesFile`), and
`$ORIGIN` lines inside a hunk move it. A line with a blank owner takes the owner of the line
above it in the hunk (unknown at the top of a hunk: not matched). A change that only moves a
line (the same line removed and added) is no change of the record.

Examples:
    >>> entries = list(parse_log(text.splitlines(), ["irc.wikimedia.org"],
    ...                          zone="wikimedia.org."))                    # doctest: +SKIP
    >>> entries[0].changes[0].before, entries[0].changes[0].after
    (('irc1001',), ('irc2003',))
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HEAD, SEP = "\x1e", "\x1f"
"""Mark the start of a commit's fields in the log, and separate them."""

LOG_FORMAT = f"{HEAD}%H{SEP}%an{SEP}%ae{SEP}%aI{SEP}%cn{SEP}%cI{SEP}%B{SEP}".replace(
    HEAD, "%x1e").replace(SEP, "%x1f")
"""`git log --format`: sha, author, email, author date, committer, committer date, message."""

TOOL_MARK = "Made with failover"
"""What this tool's commit messages say (`failover.promote.message`)."""

DIFF_DRIVER = "failover-zone"
"""The diff driver whose hunk headers are the last `$ORIGIN` line before the hunk."""

ORIGIN_FUNCNAME = r"^\$ORIGIN[ \t].*"
"""git's xfuncname for `DIFF_DRIVER`."""

DIFF_CONFIG = ("-c", "diff.algorithm=myers", "-c", "diff.indentHeuristic=true",
               "-c", "diff.interHunkContext=0", "-c", "diff.suppressBlankEmpty=false")
"""git's defaults of the settings that shape a diff's lines, given to the one command."""

_HUNK_MARKS = frozenset("+- \\")
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
"""A unified diff's hunk header: old start, old count, new start, new count, heading."""
_BUG_RE = re.compile(r"^Bug:[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_CHANGE_ID_RE = re.compile(r"^Change-Id:[ \t]*(I[0-9a-f]{40})[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class RecordChange:
    """What one commit did to one record (owner and type): its targets before and after.

    `before`/`after` are the targets as written (a CNAME's completed to an absolute name);
    `removed`/`added` the lines themselves, for finding a change by content.
    """

    record: str
    """The owner, lower-case, absolute without the trailing dot (`irc.wikimedia.org`)."""
    rtype: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    """One commit that changed a line of the records: who, when, why, and what."""

    sha: str
    author: str
    author_email: str
    authored: datetime
    committer: str
    committed: datetime
    message: str
    changes: tuple[RecordChange, ...] = field(default_factory=tuple)

    @property
    def subject(self) -> str:
        """Return the message's first line."""
        return self.message.split("\n", 1)[0].strip()

    @property
    def bugs(self) -> tuple[str, ...]:
        """Return the `Bug:` footers' tasks, in order."""
        return tuple(dict.fromkeys(_BUG_RE.findall(self.message)))

    @property
    def change_id(self) -> str | None:
        """Return the last `Change-Id:` footer, if any."""
        found = _CHANGE_ID_RE.findall(self.message)
        return found[-1] if found else None

    @property
    def by_tool(self) -> bool:
        """Return True when this tool wrote the commit (its message says so)."""
        return TOOL_MARK in self.message

    @property
    def written_to_merged(self) -> float:
        """Return the seconds from the author date (written) to the committer date (merged)."""
        return (self.committed - self.authored).total_seconds()


# -- the pure parser ---------------------------------------------------------------------------

@dataclass
class _Side:
    """What one side (before or after) of a hunk knows: the origin, the last owner."""

    origin: str
    owner: str | None = None


@dataclass
class _Commit:
    """A commit being read: its header fields and the record lines its diff touches."""

    fields: list[str]
    removed: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    added: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    carried: tuple[str, str] | None = None
    """(old origin, new origin) after the last hunk that changed an `$ORIGIN` line."""


class _Matcher:
    """Finds the records' lines: owner completed by the side's origin, type A/AAAA/CNAME/SRV."""

    def __init__(self, records: Collection[str], zone: str) -> None:
        # imported here, once git runs (parse_log is a generator): the import overlaps git
        from failover.zone import scan

        self.scan = scan
        self.zone = scan.absolute_name(zone, ".", ".")
        self.wanted = {scan.absolute_name(r, ".", ".") for r in records}
        # a cheap first test: any spelling of a wanted owner starts with its first label
        self.firsts = tuple({w.split(".", 1)[0] for w in self.wanted} | {"@"})
        self.special = frozenset(" \t$;")
        """First characters of lines `record` must read (blank owner, directive, comment)."""

    def record(self, line: str, side: _Side) -> tuple[str, str, str] | None:
        """Return (owner, type, target) when `line` is one of the records' lines; move the
        side's origin and owner on directives and other owners."""
        if not line or line[0] == ";":
            return None
        if line[0] == "$":
            self._directive(line, side)
            return None
        blank = line[0] in " \t"
        if not blank and not line.split(None, 1)[0].lower().startswith(self.firsts):
            side.owner = "?"  # another owner: a blank-owner line after it is not ours
            return None
        if "{" in line:  # a Jinja tag: what it renders is not known here
            return None
        toks = self.scan.tokenize(line)
        if not toks:
            return None
        if blank:
            owner = side.owner
        else:
            owner = self.scan.resolve(toks[0].text, side.origin, self.zone)
            side.owner = owner or "?"
            toks = toks[1:]
        if owner not in self.wanted:
            return None
        _, _, rtype_tok, rdata = self.scan.split_fields(toks)
        rtype = rtype_tok.text.upper() if rtype_tok is not None else ""
        if rtype == "SRV" and len(rdata) == 4:  # one member of an SRV set: P W PORT HOST
            host = self.scan.resolve(rdata[3].text, side.origin, self.zone) or rdata[3].text
            return owner.rstrip("."), rtype, " ".join([*(t.text for t in rdata[:3]), host])
        if rtype not in self.scan.WATCHED_TYPES or len(rdata) != 1:
            return None
        target = rdata[0].text
        if rtype == "CNAME":
            target = self.scan.resolve(target, side.origin, self.zone) or target
        return owner.rstrip("."), rtype, target

    def _directive(self, line: str, side: _Side) -> None:
        words = line.split(";", 1)[0].split()
        if len(words) >= 2 and words[0].upper() == "$ORIGIN":
            side.origin = self.scan.resolve(words[1], side.origin, self.zone) or side.origin
            side.owner = None
        elif words and words[0].upper() == "$INCLUDE":
            side.owner = None

    def origin_of(self, header: str) -> str:
        """Return the origin a hunk header (`$ORIGIN x`, or nothing) says is in effect."""
        words = header.split(";", 1)[0].split()
        if len(words) >= 2 and words[0].upper() == "$ORIGIN":
            return self.scan.resolve(words[1], self.zone, self.zone) or self.zone
        return self.zone


def parse_log(lines: Iterable[str], records: Collection[str], *,
              zone: str) -> Iterator[HistoryEntry]:
    """Yield, in the log's order, each commit of `lines` that changed one of the records.

    `lines`: the output of `git log -p -U0 --format=LOG_FORMAT` (see `log_argv`), with or
    without line ends; `records`: the names (`irc.wikimedia.org`); `zone`: the zone file's
    origin (`wikimedia.org`).

    Examples:
        >>> log = ["\\x1eabc\\x1fAlice\\x1fa@x\\x1f2025-01-01T10:00:00+00:00\\x1fGerrit\\x1f"
        ...        "2025-01-01T10:05:00+00:00\\x1fmove irc\\n", "\\x1f", "",
        ...        "@@ -5 +5 @@", "-irc 5M IN CNAME irc1001", "+irc 5M IN CNAME irc2003"]
        >>> [e.changes[0].after for e in parse_log(log, ["irc.wikimedia.org"],
        ...                                        zone="wikimedia.org")]
        [('irc2003.wikimedia.org.',)]
    """
    matcher = _Matcher(records, zone)
    commit: _Commit | None = None
    header: list[str] | None = None
    left = [0, 0]  # lines of the current hunk still to read: old side, new side
    old = new = _Side(matcher.zone)
    for raw in lines:
        line = raw[:-1] if raw.endswith("\n") else raw
        if header is not None:  # inside a commit's fields (the message spans lines)
            header.append(line)
            if line.endswith(SEP) and "\n".join(header).count(SEP) >= 7:
                commit = _Commit("\n".join(header)[1:].split(SEP)[:7])
                header = None
            continue
        if (left[0] > 0 or left[1] > 0) and line[:1] in _HUNK_MARKS:
            if line[0] != "\\":  # "\ No newline at end of file"
                _hunk_line(matcher, commit, line, old, new, left)
            continue
        left = [0, 0]  # a hunk shorter than its header said: read the line as what it is
        if line.startswith(HEAD):
            if commit is not None and (entry := _entry(commit)) is not None:
                yield entry
            header = [line]
            if line.endswith(SEP) and line.count(SEP) >= 7:
                commit, header = _Commit(line[1:].split(SEP)[:7]), None
            continue
        m = HUNK_RE.match(line)
        if m and commit is not None:
            left = [int(m.group(2) or 1), int(m.group(4) or 1)]
            start = matcher.origin_of(m.group(5))
            new_start = commit.carried[1] if commit.carried and commit.carried[0] == start \
                else start
            old, new = _Side(start), _Side(new_start)
    if commit is not None and (entry := _entry(commit)) is not None:
        yield entry


def _hunk_line(matcher: _Matcher, commit: _Commit | None, line: str, old: _Side, new: _Side,
               left: list[int]) -> None:
    """Read one line of a hunk: count it, follow origins and owners, keep the records'."""
    mark, text = line[:1], line[1:]
    if mark == "-":
        left[0] -= 1
        sides: tuple[_Side, ...] = (old,)
    elif mark == "+":
        left[1] -= 1
        sides = (new,)
    elif mark == " ":  # context (-U1 and more)
        left[0] -= 1
        left[1] -= 1
        sides = (old, new)
    else:
        return
    if text and text[0] not in matcher.special and \
            not text.split(None, 1)[0].lower().startswith(matcher.firsts):
        for side in sides:  # the common line: another owner (quick, the hot path)
            side.owner = "?"
        return
    for side in sides:
        found = matcher.record(text, side)
        if found is None or mark == " " or commit is None:
            continue
        owner, rtype, target = found
        into = commit.removed if mark == "-" else commit.added
        into.setdefault((owner, rtype), []).append((target, text))
    if text.startswith("$") and mark != " " and commit is not None:
        commit.carried = (old.origin, new.origin)


def _entry(commit: _Commit) -> HistoryEntry | None:
    """Return the commit as a HistoryEntry, None when it changed none of the records."""
    changes = []
    for key in dict.fromkeys([*commit.removed, *commit.added]):
        gone, came = commit.removed.get(key, []), commit.added.get(key, [])
        if sorted(t for _, t in gone) == sorted(t for _, t in came):
            continue  # the same lines moved: not a change of the record
        changes.append(RecordChange(
            record=key[0], rtype=key[1], before=tuple(t for t, _ in gone),
            after=tuple(t for t, _ in came), removed=tuple(x for _, x in gone),
            added=tuple(x for _, x in came)))
    if not changes:
        return None
    sha, author, email, authored, committer, committed, message = commit.fields
    return HistoryEntry(sha=sha, author=author, author_email=email,
                        authored=datetime.fromisoformat(authored), committer=committer,
                        committed=datetime.fromisoformat(committed), message=message.strip(),
                        changes=tuple(changes))


# -- running git -------------------------------------------------------------------------------

def log_argv(ref: str | Sequence[str], paths: Iterable[str], attributes: Path,
             records: Collection[str] = (), since: float | None = None) -> list[str]:
    """Return the `git log` command whose output `parse_log` reads.

    `ref`: the tip, or the revisions (`[tip, "^base"]`). The options that shape the diff's
    text are given whatever the user's git config says (`diff.algorithm` and its kin), so
    the text is the same for everyone (the cache keeps it: `history_cache`).
    `attributes`: a file giving `paths` the `DIFF_DRIVER` (`attributes_text`). With
    `records`, git shows only the commits that may touch them (`pickaxe`): fewer lines to read.
    With `since` (a Unix time), only the commits committed since then.
    """
    pick = ["-i", "-G", pickaxe(records)] if records else []
    if since is not None:
        pick.append(f"--since=@{int(since)}")
    revs = [ref] if isinstance(ref, str) else list(ref)
    return ["git", "-c", f"core.attributesFile={attributes}",
            "-c", f"diff.{DIFF_DRIVER}.xfuncname={ORIGIN_FUNCNAME}",
            "-c", "core.quotepath=off", "-c", "i18n.logOutputEncoding=UTF-8",
            *DIFF_CONFIG, "log", "-p", "-U0", "--no-renames", "--no-color", "--no-ext-diff",
            "--no-textconv", "--no-show-signature", f"--format={LOG_FORMAT}", *pick, *revs,
            "--", *paths]


def pickaxe(records: Collection[str]) -> str:
    """Return the `git log -G` regex of the lines that may be the records' (a superset).

    Any spelling of an owner starts with its first label (relative, absolute, `x.@Z`) or `@`.
    A line with a blank owner is a record's only below its owner's line in the same hunk
    (`parse_log` matches none at a hunk's top), and with `-U0` that line is a changed one
    too: so a commit none of whose changed lines starts so changes none of the records.
    Leaving the blank-owner lines out is what makes the pickaxe select: most commits of a
    zone file change some indented line.
    """
    firsts = sorted({r.lower().split(".", 1)[0] for r in records})
    return "^(@|(" + "|".join(re.sub(r"([.\[\]()*+?{}|^$\\])", r"\\\1", f)
                                         for f in firsts) + "))"


def attributes_text(paths: Iterable[str]) -> str:
    """Return a gitattributes text giving each of `paths` the `DIFF_DRIVER`."""
    return "".join(f"/{p.lstrip('/')} diff={DIFF_DRIVER}\n" for p in paths)


def read_history(git_dir: Path, ref: str, path: str, records: Collection[str], *, zone: str,
                 limit: int | None = None, timeout: float = 60.0,
                 keep: Callable[[HistoryEntry], bool] | None = None,
                 since: float | None = None) -> list[HistoryEntry]:
    """Return the changes of `records` in `path` at `ref`, newest first (at most `limit`;
    only those committed since the Unix time `since`, when given).

    git writes while this reads: the parse runs beside git, and stops git once `limit`
    entries are found. `keep` filters entries before they count. At a commit's full name
    (not a branch's), without `since`, git's text is kept in the checkout's git dir and
    reused (`failover.repo.history_cache`); a whole read runs two gits side by side.

    Raises:
        GitError: git failed (an unknown ref, not a repository) or took over `timeout`.
    """
    from failover.repo.history_cache import HistoryCache, is_sha
    from failover.repo.history_read import log_lines

    found: list[HistoryEntry] = []
    with tempfile.NamedTemporaryFile("w", prefix="failover-attr-", suffix=".txt") as attr:
        attr.write(attributes_text([path]))
        attr.flush()

        def argv_for(revs: list[str]) -> list[str]:
            return log_argv(revs, [path], Path(attr.name), records, since)

        cache = HistoryCache.at(git_dir, log_argv("TIP", [path], Path("ATTRIBUTES"), records)) \
            if since is None and is_sha(ref) else None
        lines = log_lines(Path(git_dir), ref, argv_for, cache=cache, whole=limit is None,
                          timeout=timeout, what=f"{path} at {ref}")
        with contextlib.closing(lines):
            for entry in parse_log(lines, records, zone=zone):
                if keep is None or keep(entry):
                    found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
    return found


