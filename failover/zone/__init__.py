"""The zone template: scan it (`scan`), find and change the region's record (`edit`), and
validate the result as the repository's CI does (`check`). Callers import from here."""

from failover.zone.check import GEN_ZONES_HEADER, lint_zone, render_template, validate_zone
from failover.zone.edit import (
    ZoneEdit,
    ZoneWriteError,
    current_target,
    edit_record,
    find_record,
    read_zone,
    write_atomic,
    zone_name,
)
from failover.zone.scan import ZoneError, ZoneRecord

__all__ = [
    "GEN_ZONES_HEADER", "ZoneEdit", "ZoneError", "ZoneRecord", "ZoneWriteError",
    "current_target", "edit_record", "find_record", "lint_zone", "read_zone",
    "render_template", "validate_zone", "write_atomic", "zone_name",
]
