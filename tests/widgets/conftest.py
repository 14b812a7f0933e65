"""Widget test fixtures: a frame of the cookies and the cat, and a grid of it."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import deidscope
from deidscope.widgets import ThumbnailGrid
from samples import deid_data_files

COOKIES = [f for f in deid_data_files() if "dicom-cookies" in f]
CAT = next(f for f in deid_data_files() if f.endswith("cat.dcm"))


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return deidscope.read_identifiers([*COOKIES, CAT])


@pytest.fixture
def grid(df: pd.DataFrame) -> Iterator[ThumbnailGrid]:
    widget = ThumbnailGrid(df, page_size=4, size=64)
    assert widget.wait(timeout=60)
    yield widget
    widget.close()
