"""The modules a promote imports after its state step, imported while that step waits.

The state step waits on the network (Gerrit's list, then the fetch over SSH: a few hundred
milliseconds); the prepare step and the preview then import the template renderer (Jinja2),
the diff's highlighter and the promote's later modules (about 0.1-0.15 s of CPU). `preload`,
run in the state step's thread pool, imports them during that wait instead. The state step
waits for it before going on, so no import runs in two threads at once beyond that wait.
"""

from __future__ import annotations

import importlib

LATER_MODULES = ("failover.promote.setedit", "failover.promote.revert",
                 "failover.promote.standby", "failover.repo.history",
                 "failover.promote.prepared", "failover.promote.ttlchain",
                 "failover.promote.guard", "failover.promote.others", "jinja2",
                 "failover.zone.ci", "failover.render.health", "failover.alertmanager",
                 "rich.syntax", "pygments.lexers.diff")
"""What a promote imports after the fetch (measured with `python -X importtime`)."""


def preload() -> None:
    """Import LATER_MODULES; stop at the first that fails (its step imports it again and
    reports the error there, as without the preload)."""
    for name in LATER_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # reported where the module is needed
            return
