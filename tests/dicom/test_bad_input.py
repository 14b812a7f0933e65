"""Bad input: a clear error naming the file and the reason, and nothing else lost."""

from __future__ import annotations

import hashlib
import shutil
import struct
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from deidscope import read_identifiers
from deidscope.dicom import get_identifiers
from deidscope.errors import InputError, ReadError, ReadErrorsWarning
from samples import write_dicom


@pytest.fixture
def batch(tmp_path: Path, cookie_files: list[str]) -> dict[str, Path]:
    """Two good files and one of each kind of bad file, in one folder."""
    folder = tmp_path / "batch"
    folder.mkdir()
    good = [
        Path(shutil.copy(f, folder / f"good{i}.dcm"))
        for i, f in enumerate(cookie_files[:2])
    ]
    data = Path(cookie_files[2]).read_bytes()
    files = {
        "good0": good[0],
        "good1": good[1],
        "empty": folder / "empty.dcm",
        "text": folder / "notes.dcm",
        "cut_header": folder / "cut_header.dcm",
        "cut_pixels": folder / "cut_pixels.dcm",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("Patient list\nnot a DICOM file\n" * 20)
    files["cut_header"].write_bytes(data[:300])
    files["cut_pixels"].write_bytes(data[: len(data) // 2])
    return files


def _digest(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_bad_files_are_listed_and_cost_no_other_rows(batch: dict[str, Path]) -> None:
    paths = list(batch.values())
    before = _digest(paths)
    given = list(paths)
    with pytest.warns(
        ReadErrorsWarning, match=r"4 of 6 files could not be read"
    ) as record:
        df = read_identifiers(paths)
    assert len(record) == 1
    errors = df.attrs["errors"].set_index("file")["error"]
    assert errors[str(batch["empty"])] == "empty file (0 bytes)"
    assert errors[str(batch["text"])].startswith("not a DICOM file")
    assert errors[str(batch["cut_header"])].startswith(
        ("truncated", "cannot be parsed")
    )
    assert errors[str(batch["cut_pixels"])].startswith(
        "truncated: the file ends inside the pixel data (7fe0, 0010)"
    )
    # the good files' rows are all there, the same as read alone
    for name in ("good0", "good1"):
        alone = (
            read_identifiers(batch[name]).drop(columns="file").reset_index(drop=True)
        )
        mine = (
            df[df.file == str(batch[name])].drop(columns="file").reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(mine, alone, check_categorical=False)
    # a file cut in its pixel data keeps its header's rows
    cut = df[df.file == str(batch["cut_pixels"])]
    assert "PatientName" in set(cut.name)
    assert df[df.file == str(batch["empty"])].empty
    assert _digest(paths) == before  # inputs untouched
    assert given == paths


def test_a_folder_with_bad_files_and_an_archive(batch: dict[str, Path]) -> None:
    folder = batch["good0"].parent
    with zipfile.ZipFile(folder / "more.zip", "w") as archive:
        archive.write(batch["good0"], "inside.dcm")
    df = read_identifiers(folder, errors="ignore")
    errors = df.attrs["errors"].set_index("file")["error"]
    assert errors[str(folder / "more.zip")].startswith("a zip archive")
    assert len(errors) == 5
    # two good files, and the two cut short keep what they hold (their header,
    # or just their file meta)
    assert df["file"].nunique() == 4
    assert errors[str(batch["cut_header"])] == (
        "truncated: no data set after the file meta information"
    )


def test_errors_ignore_does_not_warn(batch: dict[str, Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read_identifiers(list(batch.values()), errors="ignore")
    assert len(df.attrs["errors"]) == 4


@pytest.mark.parametrize("name", ["empty", "text", "cut_pixels"])
def test_errors_raise_raises_on_the_first_bad_file(
    batch: dict[str, Path], name: str
) -> None:
    paths = [batch["good0"], batch[name], batch["good1"]]
    with pytest.raises(ReadError, match=str(batch[name].name)) as info:
        read_identifiers(paths, errors="raise")
    assert info.value.path == str(batch[name])
    with pytest.raises(ReadError, match=str(batch[name].name)):
        get_identifiers(paths, errors="raise")


def test_get_identifiers_keeps_one_entry_per_input(batch: dict[str, Path]) -> None:
    paths = list(batch.values())
    with pytest.warns(ReadErrorsWarning, match="4 of 6 files"):
        ids = get_identifiers(paths)
    assert list(ids) == paths  # keyed by the path exactly as given (Path objects here)
    assert ids[batch["empty"]].error == "empty file (0 bytes)"
    assert len(ids[batch["empty"]]) == 0
    assert ids[batch["good0"]].error is None
    assert ids[batch["cut_pixels"]].error.startswith("truncated")
    assert "PatientName" in ids[batch["cut_pixels"]]


def _bad_ambiguous_vr_file(path: Path) -> Path:
    """An implicit VR file whose SmallestImagePixelValue (US or SS) holds 3 bytes.

    The file reads, but pydicom raises converting that element, which the
    walk over the header must do to resolve its VR.
    """
    write_dicom(path, PatientName="Bad^Walk")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(path, implicit_vr=True, little_endian=True)
    with path.open("ab") as handle:  # (0028,0106), length 3, after every tag
        handle.write(struct.pack("<HHI", 0x0028, 0x0106, 3) + b"abc")
    return path


def test_get_identifiers_a_failing_walk_costs_no_other_field(
    batch: dict[str, Path], tmp_path: Path
) -> None:
    bad = _bad_ambiguous_vr_file(tmp_path / "bad_walk.dcm")
    paths = [batch["good0"], bad, batch["good1"]]
    alone = get_identifiers([batch["good0"], batch["good1"]])
    with pytest.warns(ReadErrorsWarning, match="1 of 3 files could not be read"):
        ids = get_identifiers(paths)
    assert list(ids) == paths
    assert len(ids[bad]) == 0
    assert ids[bad].error.startswith("cannot be read: BytesLengthException")
    for good in (batch["good0"], batch["good1"]):
        assert ids[good].error is None
        assert list(ids[good]) == list(alone[good])
        assert [f.element.value for f in ids[good].values()] == [
            f.element.value for f in alone[good].values()
        ]
    with pytest.raises(ReadError, match=r"bad_walk\.dcm.*BytesLengthException"):
        get_identifiers(paths, errors="raise")


def test_read_identifiers_a_failing_walk_costs_no_other_row(
    batch: dict[str, Path], tmp_path: Path
) -> None:
    bad = _bad_ambiguous_vr_file(tmp_path / "bad_walk.dcm")
    good = [batch["good0"], batch["good1"]]
    df = read_identifiers([good[0], bad, good[1]], errors="ignore")
    assert df.attrs["errors"]["file"].tolist() == [str(bad)]
    columns = ["file", "uid", "name", "VR", "value"]
    expected = read_identifiers(good)
    assert df[columns].astype(str).values.tolist() == (
        expected[columns].astype(str).values.tolist()
    )


def test_a_single_path_is_accepted(batch: dict[str, Path]) -> None:
    as_str = str(batch["good0"])
    assert list(get_identifiers(as_str)) == [as_str]
    assert list(get_identifiers(batch["good0"])) == [batch["good0"]]
    assert read_identifiers(as_str)["file"].nunique() == 1


def test_missing_path_raises_before_any_work(
    tmp_path: Path, batch: dict[str, Path]
) -> None:
    missing = tmp_path / "gone.dcm"
    for call in (read_identifiers, get_identifiers):
        with pytest.raises(FileNotFoundError, match=r"gone\.dcm"):
            call([batch["good0"], missing])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"errors": "loud"}, "errors must be 'warn', 'ignore' or 'raise'"),
        ({"workers": 0}, "workers must be a positive int"),
        ({"workers": "2"}, "workers must be a positive int"),
    ],
    ids=["errors", "workers-zero", "workers-str"],
)
def test_bad_options_are_rejected(
    batch: dict[str, Path], kwargs: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        read_identifiers(batch["good0"], **kwargs)


def test_several_processes_give_the_same_frame(
    batch: dict[str, Path], cookie_files: list[str]
) -> None:
    paths = [*cookie_files * 10, batch["text"], *cookie_files * 2]  # > one chunk
    alone = read_identifiers(paths, errors="ignore")
    pooled = read_identifiers(paths, workers=2, errors="ignore")
    pd.testing.assert_frame_equal(pooled, alone, check_categorical=False)
    pd.testing.assert_frame_equal(pooled.attrs["errors"], alone.attrs["errors"])


def test_progress_bar_is_shown_only_when_asked(
    cookie_files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    read_identifiers(cookie_files, progress=False)
    assert capsys.readouterr().err == ""
    read_identifiers(cookie_files)  # short run: no bar
    assert capsys.readouterr().err == ""
    read_identifiers(cookie_files, progress=True)
    err = capsys.readouterr().err
    assert "read_identifiers" in err
    assert "7/7" in err


def test_write_dicom_helper_makes_readable_files(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "x.dcm", StudyDescription="Synthetic")
    assert (
        read_identifiers(path).set_index("name").loc["StudyDescription", "value"]
        == "Synthetic"
    )
