"""Shared fixtures, and the markers given by folder.

Sample files come from tests/helpers/samples.py. The markers (declared in
pyproject.toml) are given three ways: ``browser`` and ``notebook`` here, to
every test of their folder; ``parity`` and ``slow`` on the tests themselves
(``pytestmark`` or a decorator).

Under ``-n 2`` only one module with browser tests runs at a time (a lock shared
by the workers), so two JupyterLab servers and Chromiums never start at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from samples import deid_data_files

TESTS = Path(__file__).resolve().parent
BROWSER_MODULES = pytest.StashKey[set[Path]]()

#: Every test under these folders of tests/ carries the marker.
FOLDER_MARKERS = {"browser": "browser", "notebooks": "notebook"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Give the folder markers, note the browser modules, run the slow first."""
    browser_modules = config.stash.setdefault(BROWSER_MODULES, set())
    for item in items:
        try:
            parts = item.path.relative_to(TESTS).parts
        except ValueError:  # not under tests/ (pytest --nbmake notebooks/, say)
            continue
        if parts[0] in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[parts[0]])
        if item.get_closest_marker("browser"):
            browser_modules.add(item.path)
            # one worker for them all under --dist=loadgroup; pytest-xdist 3.8 no
            # longer groups under pytest 9.2 (pytest-xdist#1386): the lock below does
            item.add_marker(pytest.mark.xdist_group("browser"))
    # The slow tests first, the slow notebook ones (each builds a fresh venv, for
    # minutes) before them, so that under -n 2 each worker starts on one of those
    # and no worker is left with a long tail. The sort is stable.
    items.sort(
        key=lambda item: (
            not item.get_closest_marker("slow"),
            not item.get_closest_marker("notebook"),
        )
    )


@pytest.fixture(scope="module", autouse=True)
def _one_browser_module_at_a_time(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Hold a lock shared by this run's xdist workers while a browser module runs.

    Module-scoped and autouse, it is taken before the module's JupyterLab and
    Chromium start, and released after they stop.
    """
    if request.path not in request.config.stash.get(BROWSER_MODULES, set()):
        yield
        return
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers: pytest-N/ above popen-gwN/
    with (base / "browser.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


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
