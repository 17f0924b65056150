"""The zone template: scan it (`scan`), find and change the region's record (`edit`), and
validate the result as the repository's CI does (`check`). Callers import from here."""

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
