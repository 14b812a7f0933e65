"""deidscope identifiers: output, bad input, --force, progress, workers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import deidscope.parallel._write
from deidscope.cli import main
from deidscope.cli._common import EXIT_INPUT, EXIT_OK
from deidscope.data import get_dataset
from deidscope.frame import read_identifiers
from deidscope.parallel import errors_path, read_identifiers_parquet
from samples import deid_data_files, write_dicom


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def cli_bad_folder(tmp_path: Path) -> Path:
    """Two synthetic files, an empty file and a text file."""
    folder = tmp_path / "mixed"
    write_dicom(folder / "a.dcm", PatientID="A")
    write_dicom(folder / "b.dcm", PatientID="B")
    (folder / "empty.dcm").write_bytes(b"")
    (folder / "readme.txt").write_text("hello")
    return folder


def test_sample_to_csv_without_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cookies.csv"
    assert main(["identifiers", "-o", str(out)]) == EXIT_OK
    captured = capsys.readouterr()
    expected = read_identifiers(get_dataset("dicom-cookies"))
    assert captured.out == f"{len(expected)} rows of 7 files written to {out}\n"
    assert captured.err == (
        "deidscope identifiers: no PATH given: reading the dicom-cookies sample\n"
    )
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert back["value"].tolist() == expected["value"].astype(str).tolist()
    assert back["name"].tolist() == expected["name"].astype(str).tolist()
    assert errors_path(out).read_text().splitlines() == ["file,error"]
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("workers", ["1", "2"], ids=["workers1", "workers2"])
def test_parquet_equals_read_identifiers(
    workers: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = list(deid_data_files())
    out = tmp_path / "ids.parquet"
    argv = ["identifiers", *files, "-o", str(out), "--workers", workers]
    assert main([*argv, "--files-per-row-group", "3"]) == EXIT_OK
    assert f"files written to {out}" in capsys.readouterr().out
    expected = read_identifiers(files, errors="ignore")
    back = read_identifiers_parquet(out)
    pd.testing.assert_frame_equal(back, expected)
    pd.testing.assert_frame_equal(back.attrs["errors"], expected.attrs["errors"])


def test_unreadable_files_are_listed_and_the_command_succeeds(
    cli_bad_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ids.csv"
    assert main(["identifiers", str(cli_bad_folder), "-o", str(out)]) == EXIT_OK
    captured = capsys.readouterr()
    n_rows = len(read_identifiers(cli_bad_folder, errors="ignore"))
    assert captured.out == f"{n_rows} rows of 4 files written to {out}\n"
    assert captured.err.splitlines() == [
        f"deidscope identifiers: warning: 2 of 4 files could not be read (or only "
        f"in part); {errors_path(out)} lists them with the reason"
    ]
    errors = pd.read_csv(errors_path(out))
    assert sorted(Path(f).name for f in errors["file"]) == ["empty.dcm", "readme.txt"]


def test_strict_stops_at_the_first_unreadable_file(
    cli_bad_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ids.csv"
    argv = ["identifiers", str(cli_bad_folder), "-o", str(out), "--strict"]
    assert main(argv) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("deidscope identifiers: error: ")
    assert "empty.dcm: empty file (0 bytes)" in err
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed"]


@pytest.mark.usefixtures("cli_no_work")
def test_missing_input_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-here"
    argv = ["identifiers", str(missing), "-o", str(tmp_path / "x.csv")]
    assert main(argv) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"deidscope identifiers: error: no such file or folder: {missing}\n"
    )


@pytest.mark.usefixtures("cli_no_work")
def test_output_that_is_an_input_is_refused_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.csv"
    victim.write_text("precious")
    argv = ["identifiers", str(victim), "-o", str(victim), "--force"]
    assert main(argv) == EXIT_INPUT
    assert "would replace an input file" in capsys.readouterr().err
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("existing", ["output", "sidecar"], ids=str)
def test_existing_output_needs_force(
    existing: str,
    cookie_files: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "ids.parquet"
    target = out if existing == "output" else errors_path(out)
    target.write_text("old")
    assert main(["identifiers", *cookie_files, "-o", str(out)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"the output exists (pass --force to replace it): {target}" in err
    assert target.read_text() == "old"
    assert main(["identifiers", *cookie_files, "-o", str(out), "--force"]) == EXIT_OK
    assert len(read_identifiers_parquet(out)) == len(read_identifiers(cookie_files))
    assert errors_path(out).read_text().splitlines() == ["file,error"]
    assert _hidden(tmp_path) == []


def test_failure_leaves_no_temporary_files(
    cookie_files: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deidscope.parallel._write, "frame_to_table", broken)
    out = tmp_path / "ids.parquet"
    assert main(["identifiers", *cookie_files, "-o", str(out)]) == EXIT_INPUT
    assert "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_only_when_asked_off_a_terminal(
    cookie_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["identifiers", *cookie_files, "-o"]
    assert main([*argv, str(tmp_path / "a.csv")]) == EXIT_OK
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    assert main([*argv, str(tmp_path / "b.csv"), "--progress"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "7/7" in err
    assert "file/s" in err


def test_progress_bar_on_a_terminal(
    cookie_files: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    argv = ["identifiers", *cookie_files, "-o", str(tmp_path / "a.csv")]
    assert main(argv) == EXIT_OK
    assert "7/7" in capsys.readouterr().err
    argv = ["identifiers", *cookie_files, "-o", str(tmp_path / "b.csv")]
    assert main([*argv, "--no-progress"]) == EXIT_OK
    assert capsys.readouterr().err == ""
