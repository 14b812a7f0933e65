"""write_identifiers: streaming Parquet/CSV, the errors sidecar, reading back."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from deidscope.errors import InputError, ReadError, ReadErrorsWarning
from deidscope.frame import COLUMNS, empty_frame, read_identifiers
from deidscope.parallel import (
    errors_path,
    read_identifiers_parquet,
    write_identifiers,
)
from deidscope.parallel._format import SCHEMA, frame_to_table
from deidscope.parallel._write import escape_cell


@pytest.fixture
def scale_expected(scale_mixed_files: list[str]) -> pd.DataFrame:
    return read_identifiers(scale_mixed_files, errors="ignore")


def _plain(series: pd.Series) -> list[object]:
    """The values as Python objects, any missing value as None."""
    return [None if pd.isna(v) else v for v in series.astype(object)]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "per_group"),
    [(None, 500), (None, 1), (None, 7), (2, 16), (3, 50)],
    ids=["one-group", "file-per-group", "groups-of-7", "workers2", "workers3"],
)
def test_parquet_reads_back_as_read_identifiers(
    workers: int | None,
    per_group: int,
    scale_mixed_files: list[str],
    scale_expected: pd.DataFrame,
    tmp_path: Path,
) -> None:
    out = tmp_path / "ids.parquet"
    written = write_identifiers(
        scale_mixed_files,
        out,
        workers=workers,
        files_per_row_group=per_group,
        errors="ignore",
    )
    assert written.path == out
    assert written.errors_path == tmp_path / "ids.parquet.errors.csv"
    assert written.n_files == len(scale_mixed_files)
    assert written.n_rows == len(scale_expected)
    assert written.n_errors == len(scale_expected.attrs["errors"]) >= 3
    back = read_identifiers_parquet(out)
    pd.testing.assert_frame_equal(back, scale_expected)
    assert dict(back.dtypes) == dict(scale_expected.dtypes)
    pd.testing.assert_frame_equal(back.attrs["errors"], scale_expected.attrs["errors"])
    meta = pq.ParquetFile(out).metadata
    # one row group per batch that had rows (the empty and text files have none)
    batches = [
        scale_mixed_files[i : i + per_group]
        for i in range(0, len(scale_mixed_files), per_group)
    ]
    with_rows = set(scale_expected["file"].unique().tolist())
    assert meta.num_row_groups == sum(bool(set(b) & with_rows) for b in batches)
    assert meta.num_row_groups >= math.ceil(len(scale_mixed_files) / per_group) - 2
    assert _leftovers(tmp_path) == []


def test_parquet_schema_and_summary(
    scale_mixed_files: list[str], scale_expected: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    written = write_identifiers(scale_mixed_files, out, errors="ignore")
    schema = pq.read_schema(out)
    assert schema.names == list(COLUMNS)
    assert schema.remove_metadata().equals(SCHEMA.remove_metadata())
    summary = json.loads(pq.read_metadata(out).metadata[b"deidscope"])
    assert summary["files"] == written.n_files
    assert summary["rows"] == written.n_rows
    assert summary["errors"] == len(scale_expected.attrs["errors"])
    assert summary["errors_file"] == "ids.parquet.errors.csv"


def test_plain_pandas_reads_the_same_values(
    scale_mixed_files: list[str], scale_expected: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    write_identifiers(scale_mixed_files, out, errors="ignore", files_per_row_group=9)
    plain = pd.read_parquet(out)
    assert list(plain.columns) == list(COLUMNS)
    for column, dtype in COLUMNS.items():
        if dtype == "category":
            assert isinstance(plain[column].dtype, pd.CategoricalDtype)
        assert _plain(plain[column]) == _plain(scale_expected[column])


def test_errors_sidecar_lists_unreadable_files(
    scale_mixed_files: list[str], scale_bad_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    write_identifiers(scale_mixed_files, out, errors="ignore")
    errors = pd.read_csv(errors_path(out), keep_default_na=False)
    assert list(errors.columns) == ["file", "error"]
    assert set(scale_bad_files) <= set(errors["file"])
    reasons = dict(zip(errors["file"], errors["error"], strict=True))
    assert reasons[scale_bad_files[0]].startswith("empty file")
    assert reasons[scale_bad_files[2]].startswith("truncated")


def test_sidecar_is_written_empty_when_every_file_reads(
    cookie_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    written = write_identifiers(cookie_files, out)
    assert written.n_errors == 0
    assert errors_path(out).read_text().splitlines() == ["file,error"]
    assert read_identifiers_parquet(out).attrs["errors"].empty


def test_folder_inputs_and_skipped_archives(tmp_path: Path) -> None:
    from samples import write_dicom

    tree = tmp_path / "tree"
    for i in range(12):
        write_dicom(tree / f"f{i:02d}.dcm", PatientID=f"P{i}")
    (tree / "bundle.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    out = tmp_path / "ids.parquet"
    with pytest.warns(ReadErrorsWarning, match="1 of 13 files could not be read"):
        write_identifiers(tree, out, files_per_row_group=5)
    expected = read_identifiers(tree, errors="ignore")
    back = read_identifiers_parquet(out)
    pd.testing.assert_frame_equal(back, expected)
    pd.testing.assert_frame_equal(back.attrs["errors"], expected.attrs["errors"])
    assert "zip archive" in back.attrs["errors"]["error"].iloc[0]


def test_csv_output_holds_the_same_rows(
    scale_mixed_files: list[str], scale_expected: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "ids.csv"
    written = write_identifiers(
        scale_mixed_files, out, errors="ignore", files_per_row_group=40
    )
    assert written.n_rows == len(scale_expected)
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(back.columns) == list(COLUMNS)
    assert len(back) == len(scale_expected)
    for column in ("file", "uid", "name", "VR", "value", "tag", "keyword"):
        # cells a spreadsheet would run as a formula get a leading quote
        expected = [escape_cell(v) for v in scale_expected[column].astype(str)]
        assert back[column].tolist() == expected
    creators = scale_expected["private_creator"].astype(object)
    assert (
        back["private_creator"].tolist()
        == creators.where(creators.notna(), "").tolist()
    )
    assert back["depth"].astype(int).tolist() == scale_expected["depth"].tolist()
    assert (back["is_filemeta"] == "True").tolist() == scale_expected[
        "is_filemeta"
    ].tolist()
    assert len(pd.read_csv(errors_path(out))) == len(scale_expected.attrs["errors"])


def test_warns_with_the_count_by_default(
    scale_mixed_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    with pytest.warns(ReadErrorsWarning, match=r"6 of 182 files could not be read"):
        write_identifiers(scale_mixed_files, out)
    assert out.exists()


@pytest.mark.parametrize("workers", [None, 2], ids=["in-process", "workers2"])
def test_raise_stops_and_writes_nothing(
    workers: int | None, scale_mixed_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    files = scale_mixed_files[1:]  # the first unreadable one is the truncated file
    with pytest.raises(ReadError, match="truncated"):
        write_identifiers(
            files, out, errors="raise", workers=workers, files_per_row_group=20
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_existing_output_is_kept_without_overwrite(
    cookie_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    out.write_text("keep me")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_identifiers(cookie_files, out)
    assert out.read_text() == "keep me"
    assert not errors_path(out).exists()
    written = write_identifiers(cookie_files, out, overwrite=True)
    assert written.n_rows == len(read_identifiers_parquet(out)) > 0


def test_existing_sidecar_is_kept_without_overwrite(
    cookie_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    errors_path(out).write_text("keep me")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_identifiers(cookie_files, out)
    assert not out.exists()
    assert errors_path(out).read_text() == "keep me"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"path": "nowhere/ids.parquet"},
            FileNotFoundError,
            "folder of the output does not exist",
        ),
        ({"path": "ids.json"}, InputError, r"ending in \.parquet, \.pq, \.csv"),
        ({"workers": 0}, InputError, "workers must be a positive int or None"),
        ({"files_per_row_group": 0}, InputError, "files_per_row_group must be"),
        ({"errors": "loud"}, InputError, "errors must be"),
        ({"paths": ["missing.dcm"]}, FileNotFoundError, "no such file or folder"),
    ],
    ids=["no-folder", "suffix", "workers", "group-size", "errors", "missing-input"],
)
def test_bad_arguments_fail_before_any_work(
    kwargs: dict[str, object],
    exc: type[Exception],
    match: str,
    cookie_files: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import deidscope.parallel._write

    def fail(*args: object, **kw: object) -> None:
        raise AssertionError("a file was read")

    monkeypatch.setattr(deidscope.parallel._write, "read_files_frame", fail)
    monkeypatch.chdir(tmp_path)
    args: dict[str, object] = {"paths": cookie_files, "path": "ids.parquet"}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        write_identifiers(args.pop("paths"), args.pop("path"), **args)  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_empty_input_gives_an_empty_frame(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "ids.parquet"
    written = write_identifiers(tmp_path / "empty", out)
    assert (written.n_files, written.n_rows, written.n_errors) == (0, 0, 0)
    back = read_identifiers_parquet(out)
    pd.testing.assert_frame_equal(back, empty_frame())


def test_missing_sidecar_warns_when_errors_were_recorded(
    scale_mixed_files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ids.parquet"
    write_identifiers(scale_mixed_files, out, errors="ignore")
    errors_path(out).unlink()
    with pytest.warns(UserWarning, match="records 6 files that could not be read"):
        back = read_identifiers_parquet(out)
    assert back.attrs["errors"].empty


def test_read_back_refuses_other_parquet(tmp_path: Path) -> None:
    out = tmp_path / "other.parquet"
    pd.DataFrame({"file": ["a"], "uid": ["b"]}).to_parquet(out)
    with pytest.raises(InputError, match=r"name, VR, value, .* are missing"):
        read_identifiers_parquet(out)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_identifiers_parquet(tmp_path / "nothing.parquet")


def test_frame_to_table_checks_its_input(cookie_files: list[str]) -> None:
    df = read_identifiers(cookie_files)
    table = frame_to_table(df)
    assert table.schema.equals(SCHEMA)
    assert table.num_rows == len(df)
    assert df["file"].dtype == "category"  # the input is left alone
    lacks_value = r"frame_to_table: .* but it lacks \[.value.\]"
    with pytest.raises(InputError, match=lacks_value):
        frame_to_table(df.drop(columns="value"))
    with pytest.raises(InputError, match="'uid' to be categorical"):
        frame_to_table(df.astype({"uid": str}))


@pytest.mark.parametrize(
    ("path", "expected"),
    [("ids.parquet", "ids.parquet.errors.csv"), ("a/b.csv", "a/b.csv.errors.csv")],
    ids=["parquet", "csv-in-folder"],
)
def test_errors_path(path: str, expected: str) -> None:
    assert errors_path(path) == Path(expected)
