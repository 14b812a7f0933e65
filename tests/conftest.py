"""Shared fixtures. Sample files come from tests/samples.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from samples import deid_data_files


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
