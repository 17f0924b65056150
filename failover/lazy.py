"""A package's names imported when first asked for (PEP 562's module `__getattr__`).

`failover.repo` and `failover.zone` export the names of their modules; importing one module
of them (`failover.repo.history`, `failover.zone.scan`) runs the package's `__init__`, which
would import every module. Their `__getattr__` calls `resolve` instead, with a function
importing each module by a written-out import (so tests/unit/test_imports.py sees the edges).

Examples:
    >>> def __getattr__(name: str) -> object:                            # doctest: +SKIP
    ...     return resolve(globals(), {"fetch": "checkout"}, name, _module)
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from types import ModuleType


def resolve(namespace: MutableMapping[str, object], where: dict[str, str], name: str,
            load: Callable[[str], ModuleType]) -> object:
    """Return `name` from the module `load(where[name])`, kept in `namespace` (the package's
    globals) so the next access is a plain lookup (and a monkeypatch of it holds).

    Raises:
        AttributeError: `name` is none of the package's.
    """
    if name not in where:
        raise AttributeError(f"module {namespace.get('__name__')!r} has no attribute {name!r}")
    value = getattr(load(where[name]), name)
    namespace[name] = value
    return value
