"""The packages whose names are imported on first use (`failover.lazy`): mypy accepts any
name imported from them (their module `__getattr__`), so this checks what it no longer can:
every name the package lists resolves, and every `from failover.repo import X` /
`from failover.zone import X` in the tool names one of them or a module of the package."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "failover"
LAZY = ("failover.repo", "failover.zone")


@pytest.mark.parametrize("package", LAZY)
def test_every_listed_name_resolves_from_its_module(package: str) -> None:
    pkg = importlib.import_module(package)
    where, modules = pkg._WHERE, pkg._modules()
    assert sorted(where) == sorted(pkg.__all__)
    for name, module in where.items():
        assert getattr(pkg, name) is getattr(modules[module], name)


def test_every_import_from_a_lazy_package_names_one_of_its_names() -> None:
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in LAZY and node.level == 0:
                pkg = importlib.import_module(node.module)
                folder = ROOT.parent / node.module.replace(".", "/")
                for alias in node.names:
                    if alias.name not in pkg._WHERE and \
                            not (folder / f"{alias.name}.py").exists():
                        wrong.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: "
                                     f"{node.module} has no {alias.name!r}")
    assert wrong == []
