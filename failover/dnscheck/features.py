"""dnspython's one start-up question answered without importlib.metadata (imported for its effect,
before dnspython: `failover/dnscheck/__init__.py` does so first).

Importing `dns.name` asks `dns._features.have("idna")`: is the idna package (IDNA 2008)
installed and recent enough? To read that one version number, `dns._features` imports
`importlib.metadata` (email, zipfile, csv: ~35 ms of CPU, a tenth of `failover verify`).
Here `dns._features` is imported with `importlib.metadata` standing in as a module that
imports the real one on first use, and the idna answer is given (`force`) from idna's own
version against dnspython's own requirement. Any other feature question (DNSSEC, DoH: not
used here) imports importlib.metadata then, as before; so does anyone else who asks for it.
When anything is not as expected (dnspython already imported, another layout of its
module), nothing is done: dnspython asks as it always did.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

METADATA = "importlib.metadata"


class _Deferred(types.ModuleType):
    """Stands for importlib.metadata until an attribute is asked: then imports the real one
    (which takes its place in sys.modules and on the importlib package) and answers."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(METADATA) is self:
            del sys.modules[METADATA]
        real = importlib.import_module(METADATA)
        return getattr(real, name)


def _idna_version() -> str | None:
    """Return the installed idna package's version, or None without one."""
    try:
        from idna.package_data import __version__
    except ImportError:
        return None
    return str(__version__)


def prime() -> None:
    """Answer dnspython's idna question before `dns.name` asks it (see the module's text)."""
    if "dns._features" in sys.modules or METADATA in sys.modules:
        return  # too late, or nothing to gain
    stand_in = _Deferred(METADATA)
    sys.modules[METADATA] = stand_in
    importlib.metadata = stand_in  # what dns._features reads: `importlib.metadata.version`
    try:
        import dns._features as features
    finally:
        if sys.modules.get(METADATA) is stand_in:
            del sys.modules[METADATA]  # the next `import importlib.metadata` loads the real
    try:
        (requirement,) = features._requirements["idna"]
        package, minimum = requirement.split(">=")
        parse = features._tuple_from_text
    except (AttributeError, KeyError, ValueError):
        return  # another dnspython: let it ask
    version = _idna_version() if package == "idna" else None
    features.force("idna", version is not None and parse(version) >= parse(minimum))


prime()
