"""The packages' layering, read from their source: each imports only the layers below it, and
no module-level import cycle exists, so any module can be imported first."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom; a package may import only those after it.
LAYERS = ("server", "renderer", "themes", "scenes")


def modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, *, module_level_only: bool) -> Iterator[str]:
    """Names of project modules `path` imports (not under TYPE_CHECKING)."""

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                yield from ((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                yield child.module, top
                yield from ((f"{child.module}.{alias.name}", top) for alias in child.names)
            else:
                inside = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                yield from visit(child, top and not inside)

    for name, top in visit(ast.parse(path.read_text()), True):
        if name.split(".")[0] in LAYERS and (top or not module_level_only):
            yield name


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = []
    for name, path in modules().items():
        allowed = LAYERS[LAYERS.index(name.split(".")[0]) :]
        wrong += [
            f"{name} imports {target}"
            for target in imports(path, module_level_only=False)
            if target.split(".")[0] not in allowed
        ]
    assert not wrong


def test_no_module_level_import_cycle() -> None:
    known = modules()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    graph = {
        name: {
            found
            for target in imports(path, module_level_only=True)
            # A package importing its own modules to re-export them is no cycle.
            if (found := resolve(target)) and found != name and not found.startswith(name + ".")
        }
        for name, path in known.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in graph[name]:
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[name] = 2

    for name in graph:
        if name not in state:
            walk(name, [name])
    assert not cycles
