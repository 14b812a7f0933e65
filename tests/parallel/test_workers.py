"""read_identifiers with a process pool: the same rows, in the same order."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from deidscope.frame import COLUMNS, read_identifiers
from deidscope.frame._read import CHUNK_FILES, PARENT_STEP, pool_context
from samples import write_dicom


@pytest.fixture
def scale_reference(scale_mixed_files: list[str]) -> pd.DataFrame:
    return read_identifiers(scale_mixed_files, workers=1, errors="ignore")


def test_reference_holds_what_the_comparison_needs(
    scale_reference: pd.DataFrame, scale_mixed_files: list[str]
) -> None:
    # enough files for the pool to give the worker several chunks (with two
    # processes a chunk is at most a quarter of the files left), and errors
    assert len(scale_mixed_files) // 4 > PARENT_STEP
    errors = scale_reference.attrs["errors"]
    assert errors["file"].tolist() == [
        scale_mixed_files[0],
        # pydicom's truncated samples (DICOMDIR-nooffset: its last item
        # declares 248 bytes, 224 are there)
        *[
            f
            for f in scale_mixed_files
            if f.endswith(("truncated.dcm", "DICOMDIR-nooffset"))
        ],
        scale_mixed_files[-1],
    ]
    assert scale_reference["file"].nunique() > 150


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 3], ids=["workers2", "workers3"])
@pytest.mark.usefixtures("pool_always")
def test_rows_and_errors_do_not_depend_on_workers(
    workers: int, scale_mixed_files: list[str], scale_reference: pd.DataFrame
) -> None:
    df = read_identifiers(scale_mixed_files, workers=workers, errors="ignore")
    assert list(df.dtypes) == list(scale_reference.dtypes)
    assert list(df.columns) == list(COLUMNS)
    pd.testing.assert_frame_equal(df, scale_reference)
    pd.testing.assert_frame_equal(df.attrs["errors"], scale_reference.attrs["errors"])
    # the order of files is the order given, not the order chunks finished
    order = list(dict.fromkeys(df["file"].tolist()))
    assert order == [f for f in scale_mixed_files if f in set(order)]


@pytest.mark.usefixtures("pool_always")
def test_folders_give_the_same_order_with_workers(
    tmp_path: Path, scale_bad_files: list[str]
) -> None:
    for i in range(CHUNK_FILES * 2 + 5):
        write_dicom(
            tmp_path / "tree" / f"s{i % 3}" / f"f{i:03d}.dcm", PatientID=f"P{i}"
        )
    paths = [tmp_path / "tree", tmp_path / "bad"]
    one = read_identifiers(paths, workers=1, errors="ignore")
    two = read_identifiers(paths, workers=2, errors="ignore")
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one.attrs["errors"], two.attrs["errors"])
    ids = one.loc[one.keyword == "PatientID", "value"].tolist()
    # the tree's files in sorted folder order, then the truncated cookie's header
    assert ids[:3] == ["P0", "P3", "P6"]
    assert len(set(ids[:-1])) == CHUNK_FILES * 2 + 5
    assert ids[-1] == "cookie-47"


@pytest.mark.slow
@pytest.mark.usefixtures("pool_always")
def test_workers_from_the_forkserver_give_the_same_rows(
    scale_mixed_files: list[str], scale_reference: pd.DataFrame
) -> None:
    # another thread, as in a Jupyter kernel: the workers come from the server
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert pool_context().get_start_method() == "forkserver"
        df = read_identifiers(scale_mixed_files, workers=2, errors="ignore")
    finally:
        stop.set()
        thread.join()
    pd.testing.assert_frame_equal(df, scale_reference)
    pd.testing.assert_frame_equal(df.attrs["errors"], scale_reference.attrs["errors"])
