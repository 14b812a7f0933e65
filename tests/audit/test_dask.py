"""deidscope.audit.profile on a Dask DataFrame: partition by partition."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deidscope.audit import profile, report
from deidscope.audit._profile import name_unnamed
from deidscope.errors import Errors
from deidscope.parallel import _dask, read_errors_dask, read_identifiers_dask
from samples import write_dicom

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")


@pytest.mark.parametrize(
    "npartitions",
    [1, 4, pytest.param(40, marks=pytest.mark.slow)],
    ids=lambda n: f"{n}-partitions",
)
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
    assert len(result) == name_unnamed(samples_df)["name"].nunique()


@pytest.fixture
def good_and_empty(tmp_path: Path) -> list[Path]:
    """A good file (Modality CT) and an empty .dcm file."""
    good = write_dicom(tmp_path / "good.dcm", Modality="CT", Manufacturer="ACME")
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    return [good, empty]


@pytest.fixture
def counted_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """The partitions read by Dask tasks, on the synchronous scheduler."""
    calls: list[tuple[str, ...]] = []
    read = _dask._read_partition

    def counting(files: tuple[str, ...], errors: Errors) -> Any:
        calls.append(files)
        return read(files, errors)

    monkeypatch.setattr(_dask, "_read_partition", counting)
    with dask.config.set(scheduler="synchronous"):
        yield calls


def _text(path: Path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def test_dask_report_without_errors_says_they_are_unknown(
    good_and_empty: list[Path],
    counted_reads: list[tuple[str, ...]],
    tmp_path: Path,
) -> None:
    ddf = read_identifiers_dask(good_and_empty, files_per_partition=1)
    text = _text(report(ddf, tmp_path / "audit.html"))
    assert "Every file was read" not in text
    assert "the files that could not be read are <b>unknown</b>" in text
    assert "Unknown: a Dask frame does not carry the files" in text
    assert "pass errors=read_errors_dask(paths, files_per_partition=...)" in text
    assert "<b>1</b> files" in text  # the good one
    assert "ACME" in text
    assert sorted(counted_reads) == [(str(f),) for f in sorted(good_and_empty)]


def test_dask_report_with_read_errors_dask_reads_each_file_once(
    good_and_empty: list[Path],
    counted_reads: list[tuple[str, ...]],
    tmp_path: Path,
) -> None:
    ddf = read_identifiers_dask(good_and_empty, files_per_partition=1)
    errors = read_errors_dask(good_and_empty, files_per_partition=1)
    text = _text(report(ddf, tmp_path / "audit.html", errors=errors))
    assert "<b>1</b> files could not be read" in text
    assert str(good_and_empty[1]) in text
    assert "unknown" not in text
    assert "Every file was read" not in text
    assert "ACME" in text
    # the profile, the equipment counts and the errors: one compute
    assert sorted(counted_reads) == [(str(f),) for f in sorted(good_and_empty)]


def test_dask_report_of_readable_files_says_every_file_was_read(
    good_and_empty: list[Path],
    counted_reads: list[tuple[str, ...]],
    tmp_path: Path,
) -> None:
    good = good_and_empty[:1]
    ddf = read_identifiers_dask(good, files_per_partition=1)
    errors = read_errors_dask(good, files_per_partition=1)
    text = _text(report(ddf, tmp_path / "audit.html", errors=errors))
    assert "Every file was read" in text
    assert "<b>0</b> files could not be read" in text
    assert counted_reads == [(str(good[0]),)]
