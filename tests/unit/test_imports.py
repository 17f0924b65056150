"""The modules of `failover/` import each other without a circle, imports inside functions
counted (issue 21): a circle held together by late imports is still a circle.

Imports under `if TYPE_CHECKING:` are left out: they never run, they only name types.
`from package import submodule` is an edge to the submodule; `from package import name`
to the package (its `__init__`).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "failover"


def _modules() -> dict[str, Path]:
    """Return {dotted module name: path} for every module of `failover/`."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_only(tree: ast.AST) -> set[int]:
    """Return the ids of the nodes under an `if TYPE_CHECKING:` block."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def _imported(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Return the `failover` modules `name` imports, anywhere in it (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                         for a in node.names)
    return {m for m in found if m in mods and m != name}


def import_graph() -> dict[str, set[str]]:
    """Return {module: the failover modules it imports}."""
    mods = _modules()
    return {name: _imported(name, path, mods) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle (its modules in order, the first again at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_circle() -> None:
    """No module of failover/ reaches itself through its imports, late ones included."""
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_graph_sees_imports_inside_functions() -> None:
    """A late import counts: promote.run imports failover.promote.outside inside a method."""
    assert "failover.promote.outside" in import_graph()["failover.promote.run"]


def test_a_circle_is_found() -> None:
    """The finder reports a circle made only of late imports."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_outside_systems_do_not_reach_into_promote() -> None:
    """The outside systems and sal are owned by the promote; they never import from it, not
    even for their types (they see an OutsideRun; sal takes any request with a region,
    target, reason, tasks)."""
    from failover.outside_systems import SYSTEMS

    graph = import_graph()
    names = ("failover.outside_systems", "failover.outside_systems.base", *SYSTEMS,
             "failover.sal")
    for name in names:
        assert not {m for m in graph[name] if m.startswith("failover.promote")}, name
    for path in (ROOT / "sal.py", *sorted((ROOT / "outside_systems").glob("*.py"))):
        assert "failover.promote" not in path.read_text(encoding="utf-8"), path


def test_an_outside_system_is_one_module_and_one_registration() -> None:
    """Every registered system's module makes its system (`make`), each an OutsideSystem
    with describe, start and end; every module of the package but the base is registered."""
    import importlib

    from failover.outside_systems import SYSTEMS
    from failover.outside_systems.base import OutsideSystem

    for name in SYSTEMS:
        loaded = importlib.import_module(name)
        assert callable(loaded.make), name
        made = [v for v in vars(loaded).values() if isinstance(v, type)
                and issubclass(v, OutsideSystem) and v is not OutsideSystem
                and v.__module__ == name]
        assert len(made) == 1, name
    modules = {f"failover.outside_systems.{p.stem}"
               for p in (ROOT / "outside_systems").glob("*.py") if p.stem != "__init__"}
    assert modules - set(SYSTEMS) == {"failover.outside_systems.base"}


def test_a_health_kind_is_one_module_and_one_registration() -> None:
    """Every registered kind has its module with `describe` and `read`, and the config
    accepts exactly the registered kinds."""
    import importlib

    from failover.config.model import HEALTH_KINDS
    from failover.health import KINDS

    assert tuple(KINDS) == HEALTH_KINDS
    for kind, module in KINDS.items():
        loaded = importlib.import_module(module)
        assert callable(loaded.describe) and callable(loaded.read), kind
