"""Replay operations/dns history: redo every record-target flip with the tool's zone editing.

    python3 -m benchmarks.replay PATH_TO_OPERATIONS_DNS [--since DATE] [--json]
    python3 -m benchmarks.replay PATH_TO_OPERATIONS_DNS --cli [--since DATE] [--until DATE]

`--cli`: each flip commit through `failover promote` in a world at its parent (see
benchmarks/replay_cli.py). `--shapes`: the record-set shapes (SRV switches, a member out and
back, commented standbys, TTL changes) through `failover.zone.sets` (benchmarks/replay_shapes.py).

A commit is considered when its change is record target flips only: every file it changes is
a modified zone template (`templates/...`) with the same number of lines, and every changed
line is an A, AAAA or CNAME record whose owner, class, type, TTL and comment stay and whose
target changes. For each one the change is rebuilt from what an operator would give the tool:
the parent's file, the records (owner name, type, class) and the new targets as fully
qualified names (or addresses), through `failover.zone.edit_records`, then compared byte for
byte with the file the human committed.

Text output: commits considered, exact, different (with the first differing line), not
expressible (and why), and the run time. `--json`: one line per commit considered,
`{"commit": SHA, "result": "exact" | "different" | "not expressible", "why": TEXT,
"files": {PATH: BLOB}}`, BLOB being `git hash-object` of each file as the tool rebuilt it.

Git is read with plumbing only: one `git log --raw` pass, then `git cat-file --batch`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from failover.config import normalize_target
from failover.zone import RecordChange, ZoneError, ZoneRecord, edit_records, list_records, zone_name
from failover.zone.scan import (
    WATCHED_TYPES,
    absolute_name,
    resolve,
    scan_names,
    split_fields,
    strip_jinja,
    tokenize,
)

_ORIGIN_RE = re.compile(r"^\$ORIGIN[ \t]+(\S+)", re.MULTILINE | re.IGNORECASE)
ENCODING = "utf-8"
GIT_TIMEOUT = 600.0
"""Seconds the one `git log` pass may take."""


@dataclass(frozen=True)
class FileChange:
    """One file a commit modifies: its path and its blobs before and after."""

    path: str
    old: str
    new: str


@dataclass
class Commit:
    """A commit of the history: id, date, subject and the files it changes."""

    sha: str
    date: str
    subject: str
    files: list[FileChange] = field(default_factory=list)
    simple: bool = True  # only modified files under templates/


@dataclass(frozen=True)
class Outcome:
    """What the replay made of one considered commit."""

    commit: Commit
    result: str  # "exact" | "different" | "not expressible"
    why: str
    files: dict[str, str]
    records: int


class Blobs:
    """Read blobs through one `git cat-file --batch` process."""

    def __init__(self, repo: Path) -> None:
        self._proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, sha: str) -> bytes:
        """Return the blob's bytes."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(sha.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) != 3:
            raise RuntimeError(f"git cat-file: {b' '.join(header).decode()}")
        data = self._proc.stdout.read(int(header[2]) + 1)
        return data[:-1]

    def close(self) -> None:
        """End the cat-file process."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def commits(repo: Path, since: str | None) -> Iterator[Commit]:
    """Yield every non-merge commit, newest first, with its raw list of changed files."""
    argv = ["git", "-C", str(repo), "log", "--no-merges", "--raw", "--no-renames",
            "--no-abbrev", "-z", "--format=%x01%H%x00%cI%x00%s%x00"]
    if since:
        argv.append(f"--since={since}")
    out = subprocess.run(argv, capture_output=True, check=True, timeout=GIT_TIMEOUT).stdout
    for chunk in out.split(b"\x01")[1:]:
        parts = chunk.split(b"\x00")
        commit = Commit(parts[0].decode(), parts[1].decode(),
                        parts[2].decode(ENCODING, "replace"))
        rest = [p for p in parts[3:] if p not in (b"", b"\n")]
        for meta, path_b in zip(rest[::2], rest[1::2], strict=False):
            fields = meta.decode().lstrip("\n").split()
            path = path_b.decode(ENCODING, "surrogateescape")
            status = fields[4] if len(fields) > 4 else "?"
            if status != "M" or not path.startswith("templates/"):
                commit.simple = False
            commit.files.append(FileChange(path, fields[2], fields[3]))
        yield commit


def blob_id(data: bytes) -> str:
    """Return `git hash-object` of `data`."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Flip:
    """One changed line that is a target flip: its index and the new target as written."""

    index: int
    rtype: str
    new_target: str


def _fields(line: str) -> tuple[str, list[str], str] | None:
    """Return (owner, [ttl, class, type, target...], comment) of a record line, or None."""
    logical, segs, state = strip_jinja(line, None) if "{" in line else (line, None, None)
    if state is not None or (segs is not None and logical != line):
        return None  # Jinja on the line: not a plain record
    toks = tokenize(logical)
    if not toks or logical[:1] in ("$", ";"):
        return None
    blank = logical[:1] in (" ", "\t")
    owner = "" if blank else toks[0].text
    rest = toks if blank else toks[1:]
    if any(t.kind != "w" for t in rest):
        return None
    ttl, rclass, rtype, rdata = split_fields(rest)
    if rtype is None or len(rdata) != 1:
        return None
    comment = logical[rdata[0].end:].strip()
    return owner, [ttl.text if ttl else "", rclass.text.upper() if rclass else "",
                   rtype.text.upper(), rdata[0].text], comment


def flips(old_lines: list[str], new_lines: list[str]) -> list[Flip] | None:
    """Return the target flips turning old into new, or None when the change is anything else."""
    if len(old_lines) != len(new_lines):
        return None
    found: list[Flip] = []
    for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)):
        if a == b:
            continue
        fa, fb = _fields(a), _fields(b)
        if fa is None or fb is None:
            return None
        (oa, ra, ca), (ob, rb, cb) = fa, fb
        if oa.lower() != ob.lower() or ra[:3] != rb[:3] or ca != cb or ra[2] not in WATCHED_TYPES:
            return None
        if normalize_target(ra[3]) == normalize_target(rb[3]) and ra[2] != "CNAME":
            return None
        if ra[3] == rb[3]:
            return None
        found.append(Flip(i, ra[2], rb[3]))
    return found or None


def replay_file(path: str, old: str, new_lines: list[str],
                found: list[Flip]) -> tuple[str, str, str]:
    """Return (result, why, rebuilt text) for one file of a considered commit."""
    changes, _, unfound = record_changes(path, old, found)
    if unfound:
        return "not expressible", unfound, old
    try:
        edit = edit_records(old, changes, path=path)
    except ZoneError as exc:
        return "not expressible", exc.message.replace("\n", " "), old
    ours = edit.new_text.split("\n")
    for i, (a, b) in enumerate(zip(ours, new_lines, strict=False)):
        if a != b:
            return "different", f"{path}:{i + 1}: tool {a!r}, human {b!r}", edit.new_text
    if len(ours) != len(new_lines):
        return "different", f"{path}: tool has {len(ours)} lines, human {len(new_lines)}", \
            edit.new_text
    return "exact", "", edit.new_text


def record_changes(path: str, old: str, found: list[Flip]
                   ) -> tuple[list[RecordChange], list[ZoneRecord], str]:
    """Return the record changes an operator gives for these flips (names and new targets
    fully qualified), the records as they are, and why not ("" when all are found)."""
    zone = zone_name(path)
    by_line = records_at(old, path, [f.index for f in found])
    changes: list[RecordChange] = []
    recs: list[ZoneRecord] = []
    for flip in found:
        rec = by_line.get(flip.index + 1)
        if rec is None or "$" in rec.origin:  # `$ORIGIN $zonename.` read literally
            return [], [], f"{path}:{flip.index + 1}: {_unfound(old)}"
        target = flip.new_target
        if flip.rtype == "CNAME":
            target = resolve(target, rec.origin, zone.rstrip(".") + ".") or target
        changes.append(RecordChange(rec.name, target, rtype=rec.rtype, rclass=rec.rclass))
        recs.append(rec)
    return changes, recs, ""


def records_at(text: str, path: str, indexes: list[int]) -> dict[int, ZoneRecord]:
    """Return the records the tool finds at those line indexes, by 1-based line number.

    The names are guessed from the lines' owners under every $ORIGIN of the file and looked
    up in one pass (only lines of those owners are read in full); when a line is not found
    that way, every record of the file is listed.
    """
    zone = absolute_name(zone_name(path), ".", ".")
    lines = text.split("\n")
    origins = {zone} | {absolute_name(o, zone, zone) for o in _ORIGIN_RE.findall(text)
                        if "{" not in o and "$" not in o}
    names: set[str] = set()
    for idx in indexes:
        owner = _owner_of(lines, idx)
        if owner is None:
            continue
        if owner.endswith(".") or owner == "@":
            names.add(absolute_name(owner, zone, zone))
        else:
            names.update(absolute_name(owner, o, zone) for o in origins)
    names = {n for n in names if n == zone or n.endswith("." + zone)}
    found = scan_names(text, sorted(names), path=path, zone=zone)
    by_line = {r.line: r for res in found.values() for r in res.records}
    if any(i + 1 not in by_line for i in indexes):
        by_line = {r.line: r for r in list_records(text, path=path)}
    return by_line


def _owner_of(lines: list[str], idx: int) -> str | None:
    """Return the owner written on the line, or on the last named line before it."""
    for i in range(idx, -1, -1):
        line = lines[i]
        if not line or line[0] in " \t;\r":
            continue
        return None if line[0] in "${" else line.split(None, 1)[0]
    return None


def _unfound(text: str) -> str:
    """Return why the tool finds no record at a line of this template."""
    if re.search(r"^\$ORIGIN[ \t]+\S*(\{\{|\$)", text, re.MULTILINE | re.IGNORECASE):
        return ("its $ORIGIN is a template variable ({{ zonename }} or PowerDNS-era "
                "$zonename), so the record's name is only known once rendered")
    return "not a record the tool finds (templated, included, or in parentheses)"


def replay_commit(commit: Commit, blobs: Blobs) -> Outcome | None:
    """Return the outcome of a commit that flips targets only, else None (not considered)."""
    if not commit.simple or not commit.files:
        return None
    texts: list[tuple[FileChange, str, list[str], list[Flip]]] = []
    for fc in commit.files:
        old = blobs.read(fc.old).decode(ENCODING, "surrogateescape")
        new_lines = blobs.read(fc.new).decode(ENCODING, "surrogateescape").split("\n")
        found = flips(old.split("\n"), new_lines)
        if found is None:
            return None
        texts.append((fc, old, new_lines, found))
    result, whys, files, count = "exact", [], {}, 0
    rank = {"exact": 0, "different": 1, "not expressible": 2}
    for fc, old, new_lines, found in texts:
        count += len(found)
        res, why, text = replay_file(fc.path, old, new_lines, found)
        if res != "not expressible":
            files[fc.path] = blob_id(text.encode(ENCODING, "surrogateescape"))
        if why:
            whys.append(why)
        if rank[res] > rank[result]:
            result = res
    return Outcome(commit, result, "; ".join(whys), files, count)


def main(argv: list[str] | None = None) -> int:
    """Run the replay; print the table (or JSON lines); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("repo", type=Path, help="a clone of operations/dns")
    parser.add_argument("--since", help="only commits since this date (git log --since)")
    parser.add_argument("--json", action="store_true", help="one JSON line per commit")
    parser.add_argument("--cli", action="store_true",
                        help="replay through `failover promote` in a world at each parent "
                             "(benchmarks.replay_cli)")
    parser.add_argument("--until", help="--cli, --shapes: only commits until this date")
    parser.add_argument("--shapes", action="store_true",
                        help="count and replay SRV switches, member out/in, standby swaps and "
                             "TTL changes (benchmarks.replay_shapes)")
    parser.add_argument("--limit", type=int, help="--cli: at most this many commits (oldest)")
    parser.add_argument("--time-limit", type=float, help="--cli: start none after SECONDS")
    parser.add_argument("--workers", type=int, default=1,
                        help="--cli: worlds replaying side by side (commits dealt in turn)")
    parser.add_argument("--commit", action="append", default=[], metavar="SHA",
                        help="--cli: only this commit (a prefix; repeat for several)")
    parser.add_argument("--rare-first", action="store_true",
                        help="--cli: the commits of several records and the reverted ones first")
    args = parser.parse_args(argv)
    if not (args.repo / ".git").exists() and not (args.repo / "HEAD").exists():
        print(f"error: {args.repo} is not a git repository", file=sys.stderr)
        return 2
    if args.shapes:
        from benchmarks import replay_shapes

        start = time.perf_counter()
        replay_shapes.run(args.repo, args.since, args.until)
        print(f"run time: {time.perf_counter() - start:.2f} s")
        return 0
    if args.cli:
        from benchmarks import replay_cli

        blobs = Blobs(args.repo)
        try:  # the flip commits this replay considers (the CLI replay says why it cannot)
            chosen = [c for c in commits(args.repo, args.since)
                      if (not args.until or c.date[:10] <= args.until)
                      and replay_commit(c, blobs) is not None]
        finally:
            blobs.close()
        if args.commit:
            chosen = [c for c in chosen if any(c.sha.startswith(p) for p in args.commit)]
        if args.limit is not None:
            chosen = chosen[-args.limit:]
        return replay_cli.main(args.repo, chosen, time_limit=args.time_limit,
                             workers=args.workers, rare=args.rare_first)
    start = time.perf_counter()
    blobs = Blobs(args.repo)
    outcomes: list[Outcome] = []
    try:
        for commit in commits(args.repo, args.since):
            outcome = replay_commit(commit, blobs)
            if outcome is None:
                continue
            outcomes.append(outcome)
            if args.json:
                print(json.dumps({"commit": commit.sha, "result": outcome.result,
                                  "why": outcome.why, "files": outcome.files}), flush=True)
    finally:
        blobs.close()
    elapsed = time.perf_counter() - start
    if not args.json:
        print_table(outcomes, elapsed)
    return 0


def print_table(outcomes: list[Outcome], elapsed: float) -> None:
    """Print the figures and every commit that was not reproduced exactly."""
    def count(result: str, multi: bool | None = None) -> int:
        return sum(1 for o in outcomes if o.result == result
                   and (multi is None or (o.records > 1) == multi))

    multi = sum(1 for o in outcomes if o.records > 1)
    print(f"commits considered: {len(outcomes)} ({len(outcomes) - multi} single-record, "
          f"{multi} multi-record)")
    for result in ("exact", "different", "not expressible"):
        print(f"{result}: {count(result)} (single {count(result, False)}, "
              f"multi {count(result, True)})")
    print(f"run time: {elapsed:.2f} s")
    for o in outcomes:
        if o.result != "exact":
            print(f"  {o.result}: {o.commit.sha[:12]} {o.commit.date[:10]} "
                  f"{o.commit.subject[:60]!r}: {o.why}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
