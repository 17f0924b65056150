"""The zone template: scan it (`scan`), find and change the region's record (`edit`), and
validate the result as the repository's CI does (`check`). Callers import from here."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from failover.lazy import resolve

if TYPE_CHECKING:
    from failover.zone.check import lint_zone, render_template, validate_zone
    from failover.zone.edit import (
        RecordChange,
        ZoneEdit,
        ZoneEdits,
        ZoneWriteError,
        current_target,
        edit_record,
        edit_records,
        find_record,
        list_records,
        read_zone,
        write_atomic,
        zone_name,
    )
    from failover.zone.scan import ZoneError, ZoneRecord

_WHERE = {
    "lint_zone": "check", "render_template": "check", "validate_zone": "check",
    "RecordChange": "edit", "ZoneEdit": "edit", "ZoneEdits": "edit", "ZoneWriteError": "edit",
    "current_target": "edit", "edit_record": "edit", "edit_records": "edit",
    "find_record": "edit", "list_records": "edit", "read_zone": "edit", "write_atomic": "edit",
    "zone_name": "edit", "ZoneError": "scan", "ZoneRecord": "scan",
}
"""Where each name of the package is defined. The modules are imported when a name is first
asked for, not when one module of the package is: `failover history` reads the scanner alone,
without the editor and the checker (gdnsd, the CI's rules)."""


def __getattr__(name: str) -> object:
    """Return the package's `name` (PEP 562), its modules imported at the first one asked."""
    return resolve(globals(), _WHERE, name, _modules)


def _modules() -> dict[str, ModuleType]:
    from failover.zone import check, edit, scan

    return {"check": check, "edit": edit, "scan": scan}


__all__ = [
    "RecordChange",
    "ZoneEdit",
    "ZoneEdits",
    "ZoneError",
    "ZoneRecord",
    "ZoneWriteError",
    "current_target",
    "edit_record",
    "edit_records",
    "find_record",
    "lint_zone",
    "list_records",
    "read_zone",
    "render_template",
    "validate_zone",
    "write_atomic",
    "zone_name",
]
