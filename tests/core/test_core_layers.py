"""Imports point one way: each module imports only from those before it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "deidscope"

#: The modules of DESIGN.md's table, bottom first, with the small shared ones.
LAYERS = (
    "_version",
    "errors",
    "_optional",
    "data",
    "files",
    "fields",
    "_values",
    "dicom",
    "frame",
    "parallel",
    "recipe",
    "audit",
    "pixels",
    "widgets",
    "cli",
)
#: Upward imports allowed on purpose, each made inside the function that needs it.
ALLOWED = {
    # deid's facade offers replace_identifiers; the engine lives in recipe
    ("dicom", "recipe"),
}


def _module_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "deidscope" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_module_has_a_layer() -> None:
    modules = {_module_of(p) for p in SRC.rglob("*.py")} - {"__init__", "__main__"}
    assert modules - set(LAYERS) == set(), "add new modules to LAYERS"
    assert set(LAYERS) - modules == set(), "LAYERS names a module that is gone"


def test_imports_point_down() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = set()
    for path in SRC.rglob("*.py"):
        module = _module_of(path)
        if module in ("__init__", "__main__"):
            continue
        for target in _imports(path) & set(rank):
            if rank[target] > rank[module] and (module, target) not in ALLOWED:
                upward.add((str(path.relative_to(SRC)), target))
    assert upward == set()


def test_the_allowed_exceptions_are_still_needed() -> None:
    used = {(_module_of(p), t) for p in SRC.rglob("*.py") for t in _imports(p)}
    assert used >= ALLOWED
