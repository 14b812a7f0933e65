"""Shared fixtures, and the markers given by folder.

Sample files come from tests/helpers/samples.py. The markers (declared in
pyproject.toml) are given three ways: ``browser`` and ``notebook`` here, to
every test of their folder; ``parity`` and ``slow`` on the tests themselves
(``pytestmark`` or a decorator), or in :data:`PENDING_MARKERS` for files that
do not carry their own yet. Every browser test runs in one xdist group, so
``-n 2 --dist loadgroup`` never starts two browsers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from samples import deid_data_files

TESTS = Path(__file__).resolve().parent

#: Every test under these folders of tests/ carries the marker.
FOLDER_MARKERS = {"browser": "browser", "notebooks": "notebook"}

#: Markers of tests in files that do not carry them yet: file (relative to
#: tests/) -> test function -> markers. Move each into its file when the file is
#: next edited, and drop it here.
PENDING_MARKERS: dict[str, dict[str, tuple[str, ...]]] = {
    "audit/test_audit_coverage.py": {
        "test_coverage_agrees_with_what_deid_does": ("parity",),
    },
    "recipe/test_recipe_apply.py": {
        "test_datasets_as_deid_leaves_them": ("parity",),
        "test_written_files_as_deid_writes_them": ("parity",),
    },
    "recipe/test_recipe_lint.py": {
        "test_splitval_really_is_ignored_by_deid": ("parity",),
    },
    "recipe/test_recipe_preview_parity.py": {
        "test_preview_gives_deids_headers": ("parity",),
        "test_recipes_deid_fails_on_still_preview": ("parity",),
    },
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give the folder markers, the pending markers and the browser group."""
    for item in items:
        try:
            parts = item.path.relative_to(TESTS).parts
        except ValueError:  # not under tests/ (pytest --nbmake notebooks/, say)
            continue
        if parts[0] in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[parts[0]])
        pending = PENDING_MARKERS.get("/".join(parts), {})
        module = getattr(item, "module", None)
        for name, markers in pending.items():
            if not hasattr(module, name):
                raise pytest.UsageError(
                    f"PENDING_MARKERS in {__file__}: {'/'.join(parts)} has no {name}"
                )
            if getattr(item, "originalname", None) == name:
                for marker in markers:
                    item.add_marker(marker)
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture
def cookie_files() -> list[str]:
    """The seven dicom-cookies files, sorted."""
    return [f for f in deid_data_files() if "dicom-cookies" in f]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Leave the deidscope loggers as each test found them."""
    loggers = [logging.getLogger(name) for name in ("deidscope", "pydicom")]
    saved = [(lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    yield
    for lg, (level, handlers, propagate) in zip(loggers, saved, strict=True):
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate
