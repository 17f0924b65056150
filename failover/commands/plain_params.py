"""Typer's coercion of the commands' plain parameters (str, int, float, Path), without pydantic.

Typer 0.29 coerces every parameter that is not a flag through a pydantic `TypeAdapter`,
built the first time the parameter is read, even when it was not given: importing pydantic
and building the schemas was about a quarter of the imports of `failover status NAME` (and
of every other command taking a NAME), and a bare Typer app's `--help` pays none of it. For
the types failover's commands declare (str, int with `min`, float, Path, bool, lists of str), the
coercion is the type's own constructor; this module gives Typer exactly that, with
pydantic's messages for a bad number. Any other annotation, or option (a parser, a clamp,
an enum, a file), is left to Typer; a Typer without this layer (before 0.29, click does the
coercion) is left as it is. `install()` is idempotent.

Examples:
    >>> install()
    >>> plain_coerce(int, "5", minimum=1)
    5
    >>> plain_coerce(int, "x", minimum=None)
    Traceback (most recent call last):
    ...
    ValueError: Input should be a valid integer, unable to parse string as an integer
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLAIN = (str, int, float, Path, bool)
"""The annotations coerced here."""
TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
FALSE = frozenset({"", "0", "off", "f", "false", "n", "no"})
"""The words pydantic reads as a boolean (case aside)."""


def plain_coerce(kind: type[Any], value: Any, *, minimum: float | None) -> Any:
    """Return `value` (a command-line word) as `kind`; raise ValueError with pydantic's message.

    Raises:
        ValueError: not a number, or below `minimum`.
    """
    if kind is str:
        return value if isinstance(value, str) else os.fsdecode(value)
    if kind is Path:
        return value if isinstance(value, Path) else Path(os.fsdecode(value))
    if kind is bool:
        return _boolean(value)
    number: int | float
    try:
        number = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        word = "integer" if kind is int else "number"
        raise ValueError(f"Input should be a valid {word}, unable to parse string as "
                         f"{what}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"Input should be greater than or equal to {minimum:g}")
    return number


def _boolean(value: Any) -> bool:
    """Return a flag's value, or a word (`yes`, `0`) read as pydantic reads it."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def _plain(annotation: Any, info: Any) -> tuple[type[Any], bool] | None:
    """Return (the plain type, whether a list of it) when this module may coerce it."""
    from typing import get_args, get_origin

    many = get_origin(annotation) is list
    kind = get_args(annotation)[0] if many and len(get_args(annotation)) == 1 else annotation
    if kind not in PLAIN or (many and kind is not str):
        return None
    if info.parser is not None or info.max is not None or info.clamp or \
            (info.min is not None and kind not in (int, float)):
        return None
    return kind, many


def install() -> None:
    """Make Typer coerce the plain parameters here; leave every other parameter to Typer."""
    try:
        from typer import core
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam
        from typer._param_types import coerce_cli_path
    except ImportError:  # an older Typer: click coerces, pydantic is not involved
        return
    base = getattr(core, "_TyperParameter", None)
    built = getattr(base, "get_runtime_param", None)
    if base is None or built is None or getattr(built, "_failover_plain", False):
        return

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        """Coercion by the type's constructor (Typer's RuntimeParam contract)."""

        kind: type[Any]
        many: bool

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            words = list(value) if self.many else [value]
            try:
                out = [plain_coerce(self.kind, w, minimum=self.parameter_info.min)
                       for w in words]
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None
            if self.kind is Path:  # Typer's own checks (exists=, dir_okay=, ...)
                out = [coerce_cli_path(p, self.parameter_info, path_type=Path, param=param,
                                       ctx=ctx) for p in out]
            return out if self.many else out[0]

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            desc = self.type_descriptor
            found = None if desc.file_annotation is not None else \
                _plain(desc.annotation, desc.parameter_info)
            if found is not None:
                self._runtime_param = PlainRuntimeParam(
                    parameter_info=desc.parameter_info, annotation=desc.annotation,
                    kind=found[0], many=found[1])
        return built(self)

    get_runtime_param._failover_plain = True  # type: ignore[attr-defined]
    base.get_runtime_param = get_runtime_param
