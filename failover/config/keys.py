"""The TOML keys of each section, read from the model's own dataclass fields.

One list of keys: a field's name is its key unless its metadata says otherwise, so adding a
field to `failover.config.model` adds the key the parser accepts (and `unknown key (known
here: ...)` names it). A schema library would do the same at a start-up cost (pydantic v2's
`BaseModel` imports in ~0.2 s here, more than the whole `failover status` path may take);
msgspec would be a new compiled dependency for what `dataclasses.fields` already gives.

Examples:
    >>> from failover.config.model import Health, Recursor
    >>> sorted(toml_keys(Recursor))
    ['address', 'wipe']
    >>> sorted(toml_keys(Health, "tcp"))
    ['host', 'kind', 'port', 'timeout']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

TOML = "toml"
"""Field metadata: the keys the field is read from (a tuple, or variant -> tuple)."""
ONLY = "only"
"""Field metadata: the variants (a health kind, `services`/`groups`) that take the field."""

NOT_READ: Mapping[str, Any] = {TOML: ()}
"""Metadata of a field no key fills: the table's own name, or one built from other keys."""


def read_from(*keys: str) -> dict[str, Any]:
    """Return the metadata of a field read from `keys` rather than from its own name."""
    return {TOML: keys}


def per_variant(**keys: tuple[str, ...]) -> dict[str, Any]:
    """Return the metadata of a field read from other keys in each variant (`services=(...)`)."""
    return {TOML: dict(keys)}


def only(*variants: str) -> dict[str, Any]:
    """Return the metadata of a field (read from its name) that only `variants` take."""
    return {ONLY: variants}


def toml_keys(cls: type, variant: str | None = None) -> frozenset[str]:
    """Return the TOML keys the dataclass `cls` is read from (in `variant`, when it has some)."""
    keys: set[str] = set()
    for f in fields(cls):
        spec = f.metadata.get(TOML, (f.name,))
        if isinstance(spec, Mapping):
            spec = spec.get(variant, ())
        elif variant is not None and variant not in f.metadata.get(ONLY, (variant,)):
            continue
        keys.update(spec)
    return frozenset(keys)
