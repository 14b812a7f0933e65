"""Imports point one way: between the layers of DESIGN.md, and inside each package.

Every import counts, at module level or inside a function; only imports made
for type checkers (``if TYPE_CHECKING:``) are left out, as they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "deidscope"

#: The layers of DESIGN.md's table, bottom first, with the small shared modules.
#: ``ps315`` (the standard's tables, which import nothing) sits below ``frame``
#: because ``filter_fields`` filters by PS3.15 action.
LAYERS = (
    "_version",
    "errors",
    "_optional",
    "_progress",
    "data",
    "files",
    "fields",
    "ps315",
    "frame",
    "parallel",
    "recipe",
    "audit",
    "pixels",
    "dicom",
    "widgets",
    "cli",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, leaving out the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The deidscope modules `path` imports, resolved to the known modules."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        for target in targets:
            # the longest known module the name starts with
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}
GRAPH = {name: _imports(path, set(MODULES)) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_every_module_has_a_layer() -> None:
    layers = {_layer(m) for m in MODULES} - {"", "__main__"}
    assert layers - set(LAYERS) == set(), "add new modules to LAYERS"
    assert set(LAYERS) - layers == set(), "LAYERS names a module that is gone"


def test_imports_between_layers_point_down() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = sorted(
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(module) in rank
        and _layer(target) in rank
        and rank[_layer(target)] > rank[_layer(module)]
    )
    assert upward == []


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph`, or [] if there is none."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


@pytest.mark.parametrize("layer", [name for name in LAYERS if not name.startswith("_")])
def test_no_import_cycle_inside_a_layer(layer: str) -> None:
    # a package's __init__ re-exports its modules, so a module that imports
    # its own package (not the module it needs) closes a cycle too
    inside = {
        module: {t for t in targets if _layer(t) == layer}
        for module, targets in GRAPH.items()
        if _layer(module) == layer
    }
    assert _cycle(inside) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
