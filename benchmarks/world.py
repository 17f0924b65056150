"""Where the whole-process benchmarks get the sandbox world from.

One line names the sandbox's package, so moving it (issue 11: `failover.sandbox` ->
`sandbox`) changes only the import below.
"""

from __future__ import annotations

from sandbox.world import CONTROLLERS, REGION, ZONE_PATH, World, start_world

__all__ = ["CONTROLLERS", "REGION", "ZONE_PATH", "World", "start_world"]
