"""read_identifiers_dask on a real two-process LocalCluster."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import dask
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream

from deidscope.errors import InputError, MissingDependencyError, ReadError
from deidscope.frame import COLUMNS, empty_frame, read_identifiers
from deidscope.parallel import (
    errors_path,
    read_errors_dask,
    read_identifiers_dask,
    read_identifiers_parquet,
    write_identifiers_dask,
)
from deidscope.parallel._format import SCHEMA
from samples import write_dicom


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    """A scheduler and two single-threaded worker processes, closed after."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # never the fixed port 8787
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _computed(ddf: object) -> pd.DataFrame:
    frame = ddf.compute()  # type: ignore[attr-defined]
    return frame.reset_index(drop=True)


@pytest.mark.slow
def test_same_frame_as_read_identifiers(
    dask_client: Client, scale_mixed_files: list[str]
) -> None:
    ddf = read_identifiers_dask(scale_mixed_files, files_per_partition=40)
    assert ddf.npartitions == math.ceil(len(scale_mixed_files) / 40)
    assert list(ddf.columns) == list(COLUMNS)
    # categories are unknown until computed: compare the kinds of dtype
    assert (
        ddf.dtypes.astype(str).to_dict() == empty_frame().dtypes.astype(str).to_dict()
    )
    expected = read_identifiers(scale_mixed_files, errors="ignore")
    pd.testing.assert_frame_equal(_computed(ddf), expected)


@pytest.mark.slow
def test_errors_come_from_the_same_tasks(
    dask_client: Client, scale_mixed_files: list[str]
) -> None:
    ddf = read_identifiers_dask(scale_mixed_files, files_per_partition=50)
    errors = read_errors_dask(scale_mixed_files, files_per_partition=50)
    with get_task_stream(dask_client) as stream:
        rows, failed = dask.compute(ddf, errors)
    reads = [t for t in stream.data if "_read_partition" in str(t["key"])]
    assert len(reads) == ddf.npartitions  # every file read once
    assert {t["worker"] for t in stream.data} <= set(
        dask_client.scheduler_info()["workers"]
    )
    expected = read_identifiers(scale_mixed_files, errors="ignore")
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected)
    pd.testing.assert_frame_equal(
        failed.reset_index(drop=True),
        pd.DataFrame(expected.attrs["errors"]),
    )


@pytest.fixture(scope="module")
def dask_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 small files: a 200-file partition needs int16 category codes, a
    smaller one int8, so Parquet parts must be made to agree on a schema."""
    folder = tmp_path_factory.mktemp("dask") / "in"
    for i in range(300):
        write_dicom(folder / f"f{i:03d}.dcm", PatientID=f"P{i:03d}")
    (folder / "bundle.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    return folder


@pytest.mark.slow
def test_to_parquet_with_the_schema(
    dask_client: Client, dask_tree: Path, tmp_path: Path
) -> None:
    ddf = read_identifiers_dask(dask_tree, files_per_partition=200)
    with get_task_stream(dask_client) as stream:
        ddf.to_parquet(tmp_path / "out", schema=SCHEMA, write_index=False)
    assert any("toparquetdata" in str(t["key"]) for t in stream.data)
    parts = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert parts == ["part.0.parquet", "part.1.parquet"]
    back = read_identifiers_parquet(tmp_path / "out")
    expected = read_identifiers(dask_tree, errors="ignore")
    pd.testing.assert_frame_equal(back, expected)


@pytest.mark.slow
def test_write_identifiers_dask(
    dask_client: Client, dask_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ids"
    with get_task_stream(dask_client) as stream:
        written = write_identifiers_dask(dask_tree, out, files_per_partition=25)
    reads = [t for t in stream.data if "_read_partition" in str(t["key"])]
    assert len(reads) == 12  # each file read once, by the workers
    assert {t["worker"] for t in reads} <= set(dask_client.scheduler_info()["workers"])
    assert (written.path, written.errors_path) == (out, errors_path(out))
    assert errors_path(out) == tmp_path / "ids.errors.csv"
    assert (written.n_files, written.n_errors) == (301, 1)
    expected = read_identifiers(dask_tree, errors="ignore")
    assert written.n_rows == len(expected)
    assert len(list(out.iterdir())) == 12  # part.10 and part.11 read after part.9
    back = read_identifiers_parquet(out)
    pd.testing.assert_frame_equal(back, expected)
    pd.testing.assert_frame_equal(back.attrs["errors"], expected.attrs["errors"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids", "ids.errors.csv"]

    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_identifiers_dask(dask_tree, out)
    again = write_identifiers_dask(
        dask_tree, out, files_per_partition=200, overwrite=True
    )
    assert again.n_rows == written.n_rows
    assert len(list(out.iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids", "ids.errors.csv"]


def test_write_identifiers_dask_refuses_to_replace_other_folders(
    dask_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match=r"not replacing .* \(notes\.txt\)"):
        write_identifiers_dask(dask_tree, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "keep"
    with pytest.raises(FileNotFoundError, match="folder of the output does not exist"):
        write_identifiers_dask(dask_tree, tmp_path / "no" / "ids")


@pytest.mark.slow
def test_raise_fails_the_computation(
    dask_client: Client, scale_mixed_files: list[str]
) -> None:
    ddf = read_identifiers_dask(
        scale_mixed_files[1:], files_per_partition=60, errors="raise"
    )
    # whichever partition fails first on the cluster stops the computation
    with pytest.raises(ReadError, match=r": (truncated|not a DICOM file)"):
        ddf.compute()


def test_few_tasks_per_partition(tmp_path: Path) -> None:
    """Each task is a round trip through the scheduler: a partition costs its
    read, a getitem and the collection's alias, and the errors reuse the
    reads (from_delayed made four tasks a partition and its own keys)."""
    for i in range(6):
        write_dicom(tmp_path / f"{i}.dcm", PatientID=f"P{i}")
    (tmp_path / "bad.dcm").write_bytes(b"")
    ddf = read_identifiers_dask(tmp_path, files_per_partition=2)
    errors = read_errors_dask(tmp_path, files_per_partition=2)
    assert ddf.npartitions == 4
    rows_graph = dict(ddf.optimize().__dask_graph__())
    errors_graph = dict(errors.optimize().__dask_graph__())
    assert len(rows_graph) == 3 * ddf.npartitions
    reads = {k for k in rows_graph if "_read_partition" in str(k)}
    assert len(reads) == ddf.npartitions
    assert reads <= set(errors_graph)  # the same keys: computed together, read once
    frame, failed = dask.compute(ddf, errors, scheduler="sync")
    assert frame["file"].nunique() == 6
    assert failed["file"].tolist() == [str(tmp_path / "bad.dcm")]


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    ddf = read_identifiers_dask(tmp_path / "empty")
    frame = ddf.compute(scheduler="sync")
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 0
    assert len(read_errors_dask(tmp_path / "empty").compute(scheduler="sync")) == 0


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"files_per_partition": 0}, InputError, "files_per_partition must be"),
        ({"errors": "warn"}, InputError, "errors must be 'ignore'"),
        ({"paths": "missing"}, FileNotFoundError, "no such file or folder"),
    ],
    ids=["partition-size", "errors", "missing"],
)
def test_bad_arguments(
    kwargs: dict[str, object], exc: type[Exception], match: str, tmp_path: Path
) -> None:
    args: dict[str, object] = {"paths": str(tmp_path)}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        read_identifiers_dask(args.pop("paths"), **args)  # type: ignore[arg-type]


def test_without_dask_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, cookie_files: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(MissingDependencyError, match=r"deidscope\[dask\]"):
        read_identifiers_dask(cookie_files)


@pytest.mark.slow
def test_audit_profile_runs_on_the_cluster(
    dask_client: Client, scale_mixed_files: list[str]
) -> None:
    from deidscope.audit import profile

    ddf = read_identifiers_dask(scale_mixed_files, files_per_partition=40)
    with get_task_stream(dask_client) as stream:
        on_dask = profile(ddf)
    assert any("_read_partition" in str(t["key"]) for t in stream.data)
    expected = profile(read_identifiers(scale_mixed_files, errors="ignore"))
    pd.testing.assert_frame_equal(on_dask, expected)


def test_write_identifiers_dask_sidecar_escapes_formulas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path a spreadsheet would run as a formula is written as text."""
    monkeypatch.chdir(tmp_path)
    folder = Path("=scans")
    write_dicom(folder / "good.dcm", PatientID="P1")
    (folder / "empty.dcm").write_bytes(b"")
    # relative paths: read in this process, not by the workers of a cluster a
    # test before left as the default client (their folder is not tmp_path)
    with dask.config.set(scheduler="synchronous"):
        written = write_identifiers_dask(str(folder), "ids")
    assert written.n_errors == 1
    lines = errors_path(Path("ids")).read_text(encoding="utf-8").splitlines()
    assert lines == ["file,error", "'=scans/empty.dcm,empty file (0 bytes)"]


def test_write_identifiers_dask_sidecar_crlf_a_cr_in_a_name(tmp_path: Path) -> None:
    """The sidecar ends its lines with CRLF as every CSV deidscope writes: a
    file name holding a lone CR is quoted and reads back whole."""
    write_dicom(tmp_path / "in" / "good.dcm", PatientID="P1")
    bad = tmp_path / "in" / "bad\rname.dcm"
    bad.write_bytes(b"")
    written = write_identifiers_dask(str(tmp_path / "in"), str(tmp_path / "ids"))
    assert written.n_errors == 1
    raw = errors_path(tmp_path / "ids").read_bytes()
    assert raw.startswith(b"file,error\r\n")
    assert raw.endswith(b"\r\n")
    back = pd.read_csv(errors_path(tmp_path / "ids"), keep_default_na=False)
    assert back["file"].tolist() == [str(bad)]
