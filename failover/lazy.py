"""A package's names imported when first asked for (PEP 562's module `__getattr__`).

`failover.repo` and `failover.zone` export the names of their modules; importing one module
of them (`failover.repo.history`, `failover.zone.scan`) runs the package's `__init__`, which
would import every module. Their `__getattr__` imports the modules (written out, so
tests/unit/test_imports.py sees the edges) only when a name of the package is first asked
for, and calls `resolve`.

Examples:
    >>> def _modules() -> dict[str, ModuleType]:                          # doctest: +SKIP
    ...     from failover.repo import checkout
    ...     return {"checkout": checkout}
    >>> def __getattr__(name: str) -> object:                            # doctest: +SKIP
    ...     return resolve(globals(), {"fetch": "checkout"}, name, _modules)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from types import ModuleType


def resolve(namespace: MutableMapping[str, object], where: Mapping[str, str], name: str,
            modules: Callable[[], Mapping[str, ModuleType]]) -> object:
    """Return `name` from its module (`modules()[where[name]]`), kept in `namespace` (the
    package's globals) so the next access is a plain lookup (and a monkeypatch of it holds).

    `modules` imports the package's modules: called only for a name of the package, since a
    `from package import submodule` asks `__getattr__` for the submodule first.

    Raises:
        AttributeError: `name` is none of the package's.
    """
    if name not in where:
        raise AttributeError(f"module {namespace.get('__name__')!r} has no attribute {name!r}")
    value = getattr(modules()[where[name]], name)
    namespace[name] = value
    return value
