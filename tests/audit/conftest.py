"""Fixtures of the audit tests: every sample file's frame and its profile."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import deidscope
from deidscope.audit import profile
from samples import all_sample_files


@pytest.fixture(scope="module")
def samples_df() -> pd.DataFrame:
    """Every sample file's rows (a couple of files cannot be read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return deidscope.read_identifiers(all_sample_files(), errors="ignore")


@pytest.fixture(scope="module")
def samples_profile(samples_df: pd.DataFrame) -> pd.DataFrame:
    """The pandas profile of :func:`samples_df`."""
    return profile(samples_df)
