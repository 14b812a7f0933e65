"""deidscope.audit.profile on a Dask DataFrame: partition by partition."""

from __future__ import annotations

import pandas as pd
import pytest

from deidscope.audit import profile

dd = pytest.importorskip("dask.dataframe")


@pytest.mark.parametrize("npartitions", [1, 4, 40], ids=lambda n: f"{n}-partitions")
def test_dask_profile_equals_pandas_profile(
    samples_df: pd.DataFrame, samples_profile: pd.DataFrame, npartitions: int
) -> None:
    ddf = dd.from_pandas(samples_df, npartitions=npartitions, sort=False)
    got = profile(ddf)
    pd.testing.assert_frame_equal(
        got.drop(columns="top_values"), samples_profile.drop(columns="top_values")
    )
    exact = dict(
        zip(samples_profile["name"], samples_profile["top_values"], strict=True)
    )
    for name, values in zip(got["name"], got["top_values"], strict=True):
        if npartitions == 1:
            assert values == exact[name]
        # counts can only fall short, never exceed the true count
        true_counts = dict(exact[name])
        for value, count in values:
            assert count <= true_counts.get(value, count), (name, value)


def test_dask_profile_with_files_split_apart(
    samples_df: pd.DataFrame, samples_profile: pd.DataFrame
) -> None:
    """Rows of a file spread over partitions: n_files is still exact."""
    shuffled = samples_df.sample(frac=1.0, random_state=2)
    got = profile(dd.from_pandas(shuffled, npartitions=6, sort=False))
    columns = ["name", "n_files", "n_rows", "n_values", "n_empty", "looks_like"]
    pd.testing.assert_frame_equal(
        got[columns].sort_values("name").reset_index(drop=True),
        samples_profile[columns].sort_values("name").reset_index(drop=True),
    )


def test_dask_profile_never_computes_the_whole_frame(
    samples_df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only per-partition aggregates come back to the client."""
    ddf = dd.from_pandas(samples_df, npartitions=3, sort=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole frame was computed")

    monkeypatch.setattr(type(ddf), "compute", refuse)
    result = profile(ddf)
    assert len(result) == samples_df["name"].nunique()
