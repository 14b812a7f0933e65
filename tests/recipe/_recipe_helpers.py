"""Helpers for the recipe tests: recipe files, and running deid quietly."""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deid

DATA = Path(__file__).parent / "data"
DEID_DATA = Path(deid.__file__).parent / "data"


def shipped_recipes() -> list[Path]:
    """Every recipe shipped inside deid 0.4.13."""
    return sorted(DEID_DATA.glob("deid.*"))


def example_recipes() -> list[Path]:
    """deid's example and documentation recipes (typed in as test data)."""
    return sorted((DATA / "examples").iterdir()) + sorted((DATA / "docs").iterdir())


def all_recipes() -> list[Path]:
    return shipped_recipes() + example_recipes()


def recipe_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence deid's printing logger and its warnings."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def plain(data: Any) -> Any:
    """OrderedDicts to dicts, for comparing."""
    return json.loads(json.dumps(data))


def deid_load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """deid's own parse of one recipe file, as plain dicts, empty sections out."""
    from deid.config.utils import load_deid

    with quiet():
        loaded = plain(load_deid(os.fspath(path)))
    return {key: value for key, value in loaded.items() if value not in ([], {})}
