"""Find and change the one record of a region in a gdnsd zone template, keeping its format.

The zone template is a file of operations/dns `templates/` (Jinja2 over gdnsd's zone syntax);
the zone name is the file's basename. Only the target token of the record's line changes:
spacing, TTL, class, comment, line endings and every other byte stay as they were.

Examples:
    >>> text = read_zone(Path("templates/wikimediacloud.org"))          # doctest: +SKIP
    >>> find_record(text, "openstack.eqiad1.wikimediacloud.org",
    ...             path="templates/wikimediacloud.org").target        # doctest: +SKIP
    'cloudcontrol1004.wikimedia.org.'
    >>> edit = edit_record(text, "openstack.eqiad1.wikimediacloud.org",
    ...                    "cloudcontrol1003.wikimedia.org.",
    ...                    path="templates/wikimediacloud.org")         # doctest: +SKIP
    >>> print(edit.diff)                                                # doctest: +SKIP
    --- a/templates/wikimediacloud.org
    +++ b/templates/wikimediacloud.org
    @@ -36,7 +36,7 @@
    ...
    -openstack  5M  IN CNAME  cloudcontrol1004.wikimedia.org.
    +openstack  5M  IN CNAME  cloudcontrol1003.wikimedia.org.

Any record of any template: `find_record(..., rtype=, rclass=)` picks one of an A and an AAAA
at one name; `edit_records(text, [RecordChange(name, target, rtype=...), ...])` changes
several records in one pass and one diff (the url-downloader pair, a switchover of every DB
master); `list_records` gives every editable record. Owners are found however the template
writes them (`url-downloader.eqiad` under `$ORIGIN wikimedia.org.`, absolute, `@`); a target
is given as a FQDN and written as the file does: relative to the $ORIGIN when the old target
was relative and the new one lies under it (`irc2003`), else absolute.

Reading and writing go through `read_zone` / `write_atomic` (no newline translation, bytes that
are not UTF-8 kept), so a file is byte for byte the same apart from the edited line.

Over 400 lines on purpose: finding, editing (one record or several, keeping relative forms)
and the git-identical diff of the edit share the scan result and the line table; the diff
alone is ~80 lines and is used by nothing else.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import posixpath
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from failover.errors import FailoverError
from failover.names import HOSTNAME_RE, normalize_target, record_type_for
from failover.zone.diff import unified_diff
from failover.zone.scan import (
    ScanResult,
    ZoneError,
    ZoneRecord,
    absolute_name,
    scan_names,
)

__all__ = [
    "RecordChange", "ZoneEdit", "ZoneEdits", "ZoneError", "ZoneRecord", "ZoneWriteError",
    "current_target", "edit_record", "edit_records", "find_record", "list_records",
    "read_zone", "write_atomic", "zone_name",
]

ENCODING = "utf-8"
"""Zone files are ASCII in practice; other bytes survive a round trip via surrogateescape."""


class ZoneWriteError(FailoverError):
    """The edited zone could not be written; the original file is untouched (exit 1)."""


@dataclass(frozen=True)
class ZoneEdit:
    """The result of editing one record: both texts, the record, the targets and the diff.

    `changed` is False when the record already points at the new target: then `new_text` is
    `old_text`, `diff` is empty, and there is nothing to commit (the "no-op marker").
    `old_line`/`new_line` are the record's line before and after, without the line ending.
    """

    path: str
    record: ZoneRecord
    old_target: str
    new_target: str
    old_line: str
    new_line: str
    diff: str
    changed: bool
    old_text: str = field(repr=False)
    new_text: str = field(repr=False)


@dataclass(frozen=True)
class RecordChange:
    """One record to point elsewhere: its name, its new target, and which record it is.

    `name` is the owner as a fully qualified name (trailing dot optional, any case), however
    the template writes it (`url-downloader.eqiad` under `$ORIGIN wmnet.`, `@`, absolute).
    `target` is a fully qualified host name (trailing dot optional) or an IP address: the
    editor writes it relative to the $ORIGIN when the old target was written relative and the
    new one lies under that origin, else absolute. `rtype` (CNAME, A, AAAA) and `rclass` (IN)
    pick one record where the name has several (an A and an AAAA); None takes the only one.
    """

    name: str
    target: str
    rtype: str | None = None
    rclass: str | None = None


@dataclass(frozen=True)
class ZoneEdits:
    """The result of editing several records of one template in one change.

    `edits` has one ZoneEdit per RecordChange, in the order asked (each one's `diff`,
    `old_text` and `new_text` are the whole file's, as here). `changed` is False when every
    record already points where asked (then `new_text` is `old_text` and `diff` is empty).
    """

    path: str
    edits: tuple[ZoneEdit, ...]
    diff: str
    changed: bool
    old_text: str = field(repr=False)
    new_text: str = field(repr=False)


def zone_name(path: str) -> str:
    """Return the zone a template path serves: its basename, as gen-zones.py names zones."""
    return posixpath.basename(str(path).replace(os.sep, "/")).rstrip(".")


def read_zone(path: Path) -> str:
    """Return a zone file's text exactly as stored: no newline translation, any byte kept."""
    try:
        return path.read_bytes().decode(ENCODING, "surrogateescape")
    except FileNotFoundError:
        raise ZoneError(f"zone template {path} not found",
                        hint="check [dns].checkout and [dns].zone_file in the config") from None
    except OSError as exc:
        raise ZoneError(f"cannot read zone template {path}: {exc.strerror or exc}") from None


def find_record(text: str, fqdn: str, *, path: str, zone: str | None = None,
                rtype: str | None = None, rclass: str | None = None) -> ZoneRecord:
    """Return the one A, AAAA or CNAME record defining `fqdn` in the template `text`.

    `path` names the file in messages (and gives the zone name unless `zone` is given).
    `rtype`/`rclass`, when given, keep only the records of that type and class (a record
    written without class is IN).

    Raises:
        ZoneError: the name is outside the zone, absent, only reachable through an $INCLUDE,
            defined more than once, or written in a form that cannot be edited safely.
    """
    res = _scan(text, [fqdn], path=path, zone=zone)[0]
    return _only_record(_filtered(res, rtype, rclass), rtype)


def list_records(text: str, *, path: str, zone: str | None = None) -> list[ZoneRecord]:
    """Return every A, AAAA and CNAME record the template writes on one line, in file order.

    Records only reachable through an `$INCLUDE`, templated or spread over several lines are
    not listed (they cannot be edited).
    """
    found = scan_names(text, None, path=path, zone=zone or zone_name(path))
    return sorted((r for res in found.values() for r in res.records), key=lambda r: r.line)


def current_target(text: str, fqdn: str, *, path: str, zone: str | None = None) -> str:
    """Return where `fqdn` points in the template: an absolute name (CNAME) or the address."""
    return find_record(text, fqdn, path=path, zone=zone).absolute_target


def edit_record(text: str, fqdn: str, new_target: str, *, path: str,
                zone: str | None = None) -> ZoneEdit:
    """Return the edit that points `fqdn`'s record at `new_target`, changing only that token.

    A CNAME target is written absolute (a trailing dot is added), or relative to the $ORIGIN
    when the record's old target is relative and the new one lies under it. When the record
    already points there the edit has `changed=False` and no diff (nothing to do, no error).

    Raises:
        ZoneError: as find_record, or `new_target` is not a host name or address, or its type
            does not fit the record (a host name for an A record, an IP address for a CNAME,
            IPv6 for an A record).
    """
    return edit_records(text, [RecordChange(fqdn, new_target)], path=path, zone=zone).edits[0]


def edit_records(text: str, changes: Sequence[RecordChange], *, path: str,
                 zone: str | None = None) -> ZoneEdits:
    """Return the edit pointing every record of `changes` at its new target, in one pass.

    Only each record's target token changes; every other byte of the file stays. Records that
    already point where asked are left as they are (their ZoneEdit has `changed=False`).

    Raises:
        ZoneError: as edit_record for any one of them, or two changes name the same record.
    """
    if not changes:
        raise ZoneError(f"{path}: no record to change", hint="name at least one record")
    results = _scan(text, [c.name for c in changes], path=path, zone=zone)
    lines = results[0].text_lines
    recs = [_only_record(_filtered(res, c.rtype, c.rclass), c.rtype)
            for c, res in zip(changes, results, strict=True)]
    old_lines: dict[int, str] = {}
    planned: list[tuple[ZoneRecord, str, bool]] = []
    for change, rec in zip(changes, recs, strict=True):
        if rec.line - 1 in old_lines:
            raise ZoneError(f"{path}:{rec.line}: the record of {rec.name.rstrip('.')} is named "
                            "twice in one edit", hint="name each record once")
        written, absolute = _target_as_written(change.target, rec)
        changed = normalize_target(rec.absolute_target) != normalize_target(absolute)
        old_lines[rec.line - 1] = lines[rec.line - 1]
        planned.append((rec, written, changed))
    new_lines: dict[int, str] = {}
    for rec, written, changed in planned:
        if changed:
            old_line = lines[rec.line - 1]
            start, end = rec.span
            new_lines[rec.line - 1] = old_line[:start] + written + old_line[end:]
    diff, new_text = "", text
    if new_lines:
        for idx, line in new_lines.items():
            lines[idx] = line
        try:
            new_text = "\n".join(lines)
            diff = _printable(unified_diff(lines, {i: old_lines[i] for i in new_lines}, path))
        finally:
            for idx in new_lines:
                lines[idx] = old_lines[idx]
    edits = tuple(
        ZoneEdit(path=path, record=rec, old_target=rec.target, new_target=written,
                 old_line=rec.line_text,
                 new_line=new_lines.get(rec.line - 1, rec.line_text).removesuffix("\r"),
                 diff=diff, changed=changed, old_text=text, new_text=new_text)
        for rec, written, changed in planned)
    return ZoneEdits(path=path, edits=edits, diff=diff, changed=bool(new_lines),
                     old_text=text, new_text=new_text)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: temp file beside it, fsync, rename; mode kept.

    A symlink is followed (the link stays, its target is rewritten). On any error the original
    file is untouched and the temporary file removed.

    Raises:
        ZoneWriteError: the file could not be written (disk full, permissions, ...).
    """
    real = Path(os.path.realpath(path))
    data = text.encode(ENCODING, "surrogateescape")
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise _write_error(path, exc) from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
        tmp = None
        _fsync_dir(real.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _write_error(path: Path, exc: OSError) -> ZoneWriteError:
    return ZoneWriteError(
        f"cannot write {path}: {exc.strerror or exc}; the file was left as it was",
        hint="free space or fix permissions in that directory, then run again",
    )


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


CONFIG_NAMES = "a region's fqdn, a service's or group's records"
"""Where the config names a record, for hints: the same edit serves regions and services."""


def _scan(text: str, fqdns: Sequence[str], *, path: str,
          zone: str | None) -> list[ScanResult]:
    zone = zone or zone_name(path)
    zone_abs = absolute_name(zone, ".", ".")
    for fqdn in fqdns:
        want = absolute_name(fqdn, ".", ".")
        if want != zone_abs and not want.endswith("." + zone_abs):
            raise ZoneError(
                f"{path}: {fqdn} is not inside zone {zone_abs} (a template serves the zone "
                "named after the file)",
                hint="point the zone_file at the template of the zone that holds the name, or "
                     f"fix the name in the config ({CONFIG_NAMES})",
            )
    found = scan_names(text, fqdns, path=path, zone=zone)
    return [found[absolute_name(f, ".", ".")] for f in fqdns]


def _filtered(res: ScanResult, rtype: str | None, rclass: str | None) -> ScanResult:
    """Return `res` with only the records of that type and class (all when None)."""
    if rtype is None and rclass is None:
        return res
    keep = [r for r in res.records
            if (rtype is None or r.rtype == rtype.upper())
            and (rclass is None or (r.rclass or "IN").upper() == rclass.upper())]
    others = res.others + [(r.line, r.rtype) for r in res.records if r not in keep]
    problems = [p for p in res.problems if rtype is None or p.rtype == rtype.upper()]
    return ScanResult(path=res.path, fqdn=res.fqdn, zone=res.zone, lines=res.lines,
                      records=keep, others=others, includes=res.includes, problems=problems,
                      text_lines=res.text_lines)


def _only_record(res: ScanResult, rtype: str | None = None) -> ZoneRecord:
    path, fqdn = res.path, res.fqdn.rstrip(".")
    if res.problems:
        p = res.problems[0]
        raise ZoneError(
            f"{path}:{p.line}: the {p.rtype} record of {fqdn} cannot be edited safely: {p.reason}",
            hint="write it on one line as `NAME TTL IN TYPE TARGET` in a reviewed change by hand, "
                 "then run again",
        )
    if len(res.records) > 1:
        where = ", ".join(f"line {r.line} ({r.rtype})" for r in res.records)
        raise ZoneError(
            f"{path}: {fqdn} is defined {len(res.records)} times: {where}",
            hint="the failover changes exactly one record: keep one A, AAAA or CNAME record for "
                 "the name (remove the others in a reviewed change), then run again",
        )
    if res.records:
        return res.records[0]
    if res.others and rtype:  # the name is here, with records of other types only
        where = ", ".join(f"{t} at line {n}" for n, t in res.others)
        raise ZoneError(f"{path}: {fqdn} has no {rtype.upper()} record, only {where}",
                        hint="fix the record type asked for, or write the record in a "
                             "reviewed change")
    if res.includes:
        files = ", ".join(f"{i.file} (included at line {i.line})" for i in res.includes)
        raise ZoneError(
            f"{path}: {fqdn} is not defined in the template itself; the record may live in an "
            f"included file: {files}",
            hint="files under netbox/ are generated from Netbox: change the record there, or move "
                 "it into the template in a reviewed change; this tool only edits records "
                 "written in the template",
        )
    if res.others:
        where = ", ".join(f"{t} at line {n}" for n, t in res.others)
        kinds = f"{rtype.upper()} record" if rtype else "A, AAAA or CNAME record"
        raise ZoneError(
            f"{path}: {fqdn} has no {kinds}, only {where}",
            hint=f"the failover changes an A, AAAA or CNAME record; fix the name in the config "
                 f"({CONFIG_NAMES}) or write the record in a reviewed change",
        )
    label, _, parent = res.fqdn.partition(".")
    raise ZoneError(
        f"{path}: no line defines {fqdn} (read {res.lines} lines of zone {res.zone})",
        hint=f"check the name in the config ({CONFIG_NAMES}) and its zone_file; the record "
             f"is written like "
             f"`{label}  5M  IN CNAME  host.example.org.` under `$ORIGIN {parent}`",
    )


def _target_as_written(new_target: str, rec: ZoneRecord) -> tuple[str, str]:
    """Return the target as the record's line will write it, and as an absolute name."""
    new = new_target.strip()
    want = record_type_for(new)
    if want == "CNAME" and not HOSTNAME_RE.match(new):
        raise ZoneError(
            f"new target {new_target!r} for {rec.name.rstrip('.')} is neither a host name nor an "
            "IP address",
            hint="set the controller's target to a fully qualified name with a trailing dot, or "
                 "an IPv4/IPv6 address",
        )
    if want != rec.rtype:
        raise ZoneError(
            f"{rec.path}:{rec.line}: {rec.name.rstrip('.')} is {_a(rec.rtype)} record; the new "
            f"target {new!r} needs {_a(want)} record",
            hint="a CNAME points to a host name, an A record to an IPv4 address, an AAAA record "
                 "to an IPv6 address: fix the controller's target in the config, or change the "
                 "record's type in a reviewed change by hand",
        )
    if want != "CNAME":
        address = str(ipaddress.ip_address(new))
        return address, address
    absolute = new if new.endswith(".") else new + "."
    origin = rec.origin.lower()
    relative = not rec.target.endswith(".") and not rec.target.startswith("@")
    if relative and origin != "." and absolute.lower().endswith("." + origin):
        return absolute[:-len(origin) - 1], absolute
    return absolute, absolute


def _a(rtype: str) -> str:
    return f"an {rtype}" if rtype[0] in "AEIOU" else f"a {rtype}"


def _printable(diff: str) -> str:
    """Return the diff with bytes that are not UTF-8 shown as `\\xNN` (safe to print)."""
    try:
        diff.encode("utf-8")
    except UnicodeEncodeError:
        return diff.encode(ENCODING, "surrogateescape").decode(ENCODING, "backslashreplace")
    return diff
