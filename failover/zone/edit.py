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

Reading and writing go through `read_zone` / `write_atomic` (no newline translation, bytes that
are not UTF-8 kept), so a file is byte for byte the same apart from the edited line.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import posixpath
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from failover.config import HOSTNAME_RE, normalize_target, record_type_for
from failover.errors import FailoverError
from failover.zone.check import GEN_ZONES_HEADER, lint_zone, render_template, validate_zone
from failover.zone.scan import ScanResult, ZoneError, ZoneRecord, absolute_name, scan

__all__ = [
    "GEN_ZONES_HEADER", "ZoneEdit", "ZoneError", "ZoneRecord", "ZoneWriteError",
    "current_target", "edit_record", "find_record", "lint_zone", "read_zone",
    "render_template", "validate_zone", "write_atomic", "zone_name",
]

ENCODING = "utf-8"
"""Zone files are ASCII in practice; other bytes survive a round trip via surrogateescape."""

DIFF_CONTEXT = 3
"""Lines of context around the changed line in the diff, as git shows them."""


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


def find_record(text: str, fqdn: str, *, path: str, zone: str | None = None) -> ZoneRecord:
    """Return the one A, AAAA or CNAME record defining `fqdn` in the template `text`.

    `path` names the file in messages (and gives the zone name unless `zone` is given).

    Raises:
        ZoneError: the name is outside the zone, absent, only reachable through an $INCLUDE,
            defined more than once, or written in a form that cannot be edited safely.
    """
    return _only_record(_scan(text, fqdn, path=path, zone=zone))


def current_target(text: str, fqdn: str, *, path: str, zone: str | None = None) -> str:
    """Return where `fqdn` points in the template: an absolute name (CNAME) or the address."""
    return find_record(text, fqdn, path=path, zone=zone).absolute_target


def edit_record(text: str, fqdn: str, new_target: str, *, path: str,
                zone: str | None = None) -> ZoneEdit:
    """Return the edit that points `fqdn`'s record at `new_target`, changing only that token.

    A CNAME target is written absolute (a trailing dot is added). When the record already
    points there the edit has `changed=False` and no diff (nothing to do, no error).

    Raises:
        ZoneError: as find_record, or `new_target` is not a host name or address, or its type
            does not fit the record (a host name for an A record, an IP address for a CNAME,
            IPv6 for an A record).
    """
    res = _scan(text, fqdn, path=path, zone=zone)
    rec = _only_record(res)
    written = _target_as_written(new_target, rec)
    lines = res.text_lines
    idx = rec.line - 1
    old_line = lines[idx]
    if normalize_target(rec.absolute_target) == normalize_target(written):
        return ZoneEdit(path=path, record=rec, old_target=rec.target, new_target=written,
                        old_line=rec.line_text, new_line=rec.line_text, diff="", changed=False,
                        old_text=text, new_text=text)
    start, end = rec.span
    new_line = old_line[:start] + written + old_line[end:]
    lines[idx] = new_line
    try:
        new_text = "\n".join(lines)
        diff = _unified_diff(lines, idx, old_line, path)
    finally:
        lines[idx] = old_line
    return ZoneEdit(path=path, record=rec, old_target=rec.target, new_target=written,
                    old_line=rec.line_text, new_line=new_line.removesuffix("\r"), diff=diff,
                    changed=True, old_text=text, new_text=new_text)


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


def _scan(text: str, fqdn: str, *, path: str, zone: str | None) -> ScanResult:
    zone = zone or zone_name(path)
    want = absolute_name(fqdn, ".", ".")
    zone_abs = absolute_name(zone, ".", ".")
    if want != zone_abs and not want.endswith("." + zone_abs):
        raise ZoneError(
            f"{path}: {fqdn} is not inside zone {zone_abs} (a template serves the zone named "
            "after the file)",
            hint="point [dns].zone_file at the template of the zone that holds the name, or fix "
                 "the region's fqdn",
        )
    return scan(text, fqdn, path=path, zone=zone)


def _only_record(res: ScanResult) -> ZoneRecord:
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
        raise ZoneError(
            f"{path}: {fqdn} has no A, AAAA or CNAME record, only {where}",
            hint="the failover changes an A, AAAA or CNAME record; fix the region's fqdn or "
                 "write the record in a reviewed change",
        )
    label, _, parent = res.fqdn.partition(".")
    raise ZoneError(
        f"{path}: no line defines {fqdn} (read {res.lines} lines of zone {res.zone})",
        hint=f"check the region's fqdn and [dns].zone_file; the record is written like "
             f"`{label}  5M  IN CNAME  host.example.org.` under `$ORIGIN {parent}`",
    )


def _target_as_written(new_target: str, rec: ZoneRecord) -> str:
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
    if want == "CNAME":
        return new if new.endswith(".") else new + "."
    return str(ipaddress.ip_address(new))


def _a(rtype: str) -> str:
    return f"an {rtype}" if rtype[0] in "AEIOU" else f"a {rtype}"


def _unified_diff(lines: list[str], idx: int, old_line: str, path: str) -> str:
    """Return git's unified diff of a one-line change: `lines` holds the new line at idx."""
    ends_nl = bool(lines) and lines[-1] == ""
    count = len(lines) - (1 if ends_nl else 0)
    start = max(0, idx - DIFF_CONTEXT)
    stop = min(count, idx + DIFF_CONTEXT + 1)
    size = stop - start

    def rng(n: int) -> str:
        return f"{start + 1}" if n == 1 else f"{start + 1},{n}"

    def emit(prefix: str, i: int, text: str) -> list[str]:
        last_without_nl = i == count - 1 and not ends_nl
        return [f"{prefix}{text}\n"] + (["\\ No newline at end of file\n"] if last_without_nl
                                         else [])

    func = next((ln for ln in reversed(lines[:start])
                 if ln and ln[0].isascii() and (ln[0].isalpha() or ln[0] in "_$")), None)
    # git's default funcname: the last line before the hunk starting with a letter, `_` or
    # `$` (in a zone: the $ORIGIN or owner above), cut to 80 bytes, trailing space dropped
    heading = " " + func.encode("utf-8", "surrogateescape")[:80].decode(
        "utf-8", "ignore").rstrip() if func else ""
    out = [f"--- a/{path}\n", f"+++ b/{path}\n",
           f"@@ -{rng(size)} +{rng(size)} @@{heading}\n"]
    for i in range(start, stop):
        if i == idx:
            out += emit("-", i, old_line) + emit("+", i, lines[i])
        else:
            out += emit(" ", i, lines[i])
    return "".join(out)
