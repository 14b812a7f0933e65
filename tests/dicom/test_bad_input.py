"""Bad input: a clear error naming the file and the reason, and nothing else lost."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from deidscope import read_identifiers, to_frame
from deidscope.dicom import get_identifiers
from deidscope.errors import InputError, ReadError, ReadErrorsWarning
from fuzz_corpus import element_bytes, part10, run_isolated
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


# --- the two readers agree; fields never raise late --------------------------


def _unconvertible_file(path: Path) -> Path:
    """A file whose Rows (US) has 3 bytes: pydicom cannot convert it."""
    body = (
        element_bytes(0x00080060, b"CS", b"OT")
        + element_bytes(0x00100010, b"PN", b"Doe^Jane")
        + struct.pack("<HH2sH", 0x0028, 0x0010, b"US", 3)
        + b"\x01\x02\x03\x00"  # 3 bytes of value, then a stray pad byte
        + element_bytes(0x00280011, b"US", b"\x04\x00")
    )
    path.write_bytes(part10(b"1.2.840.10008.1.2.1", body))
    return path


def test_an_unconvertible_element_is_the_files_error_in_both_readers(
    tmp_path: Path, cookie_files: list[str]
) -> None:
    bad = str(_unconvertible_file(tmp_path / "bad.dcm"))
    files = [cookie_files[0], bad, cookie_files[1]]
    df = read_identifiers(files, errors="ignore")
    ids = get_identifiers(files, errors="ignore")
    assert ids[bad].error is not None
    assert ids[bad].error.startswith("cannot be read: ")
    assert dict(df.attrs["errors"].itertuples(index=False)) == {bad: ids[bad].error}
    assert [ids[f].error for f in cookie_files[:2]] == [None, None]
    via_ids = to_frame(ids)  # never raises
    pd.testing.assert_frame_equal(df, via_ids, check_categorical=False)
    pd.testing.assert_frame_equal(df.attrs["errors"], via_ids.attrs["errors"])


def test_a_field_whose_value_cannot_be_read_later_says_why(tmp_path: Path) -> None:
    # a private OB longer than the deferral size stays on disk; the file is
    # then cut short before anyone asks for it
    big = b"\x07" * 10_000
    body = element_bytes(0x00100010, b"PN", b"Doe^Jane") + element_bytes(
        0x00290010, b"LO", b"DEIDSCOPE TEST"
    )
    body += element_bytes(0x00291001, b"OB", big)
    path = tmp_path / "late.dcm"
    data = part10(b"1.2.840.10008.1.2.1", body)
    path.write_bytes(data)
    ids = get_identifiers(path, disable_skip=True)
    assert ids[path].error is None
    path.write_bytes(b"")  # gone before the value is read
    field = ids[path]["(0029, 1001)"]
    assert "(0029, 1001)" in str(field)  # never raises
    assert field.element.value.decode().startswith("<cannot be converted: ")
    assert field.element.VR == "UN"
    frame = to_frame(ids)
    value = frame.loc[frame.uid == "(0029, 1001)", "value"].iloc[0]
    assert value.startswith("<cannot be converted: ")
    assert ids[path]["PatientName"].element.value == "Doe^Jane"


def _read_pipe(pipe: str, good: str) -> tuple[Any, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_identifiers([good, pipe], errors="ignore")
        ids = get_identifiers([good, pipe], errors="ignore")
    return (
        dict(df.attrs["errors"].itertuples(index=False)),
        df.file.nunique(),
        ids[pipe].error,
        len(ids[good]),
    )


def test_a_named_pipe_is_listed_by_both_readers_never_opened(
    tmp_path: Path, cookie_files: list[str]
) -> None:
    pipe = str(tmp_path / "pipe.dcm")
    os.mkfifo(pipe)
    out = run_isolated(_read_pipe, pipe, cookie_files[0], timeout=30)
    assert out.status == "ok", out.value  # a timeout here is the hang
    errors, files, ids_error, fields = out.value
    reason = "a named pipe (FIFO), not a regular file: not opened"
    assert errors == {pipe: reason}
    assert ids_error == reason
    assert files == 1
    assert fields > 0


def test_a_folder_with_a_dangling_link_and_a_loop_is_read(
    tmp_path: Path, cookie_files: list[str]
) -> None:
    shutil.copy(cookie_files[0], tmp_path / "good.dcm")
    (tmp_path / "dangling.dcm").symlink_to(tmp_path / "gone.dcm")
    (tmp_path / "loop.dcm").symlink_to(tmp_path / "loop.dcm")
    df = read_identifiers(tmp_path, errors="ignore")
    errors = dict(df.attrs["errors"].itertuples(index=False))
    assert errors[str(tmp_path / "dangling.dcm")].startswith("a dangling symbolic link")
    assert errors[str(tmp_path / "loop.dcm")].startswith("a symbolic link loop")
    assert list(df.file.unique()) == [str(tmp_path / "good.dcm")]
    with pytest.raises(FileNotFoundError, match=r"dangling\.dcm"):
        read_identifiers(tmp_path / "dangling.dcm")  # named: the contract
    with pytest.raises(FileNotFoundError, match=r"dangling\.dcm"):
        get_identifiers(tmp_path / "dangling.dcm")


def test_file_names_that_are_not_utf8_are_read_and_shown_escaped(
    tmp_path: Path, cookie_files: list[str]
) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    good = os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9.dcm"))
    bad = os.fsdecode(os.path.join(os.fsencode(folder), b"bad\xff.dcm"))
    shutil.copy(cookie_files[0], good)
    Path(bad).write_bytes(b"not dicom at all" * 20)
    df = read_identifiers(folder, errors="ignore")
    assert list(df.file.unique()) == [str(folder / "caf\\xe9.dcm")]
    assert df.attrs["errors"].to_dict("records") == [
        {
            "file": str(folder / "bad\\xff.dcm"),
            "error": df.attrs["errors"]["error"].iloc[0],
        }
    ]
    alone = read_identifiers(cookie_files[0]).drop(columns="file")
    pd.testing.assert_frame_equal(
        df.drop(columns="file"), alone, check_categorical=False
    )
    ids = get_identifiers([good, bad], errors="ignore")
    assert list(ids) == [good, bad]  # keyed as given
    assert ids[good].error is None
    assert (
        ids[good]["PatientID"].element.value
        == alone.loc[alone.keyword == "PatientID", "value"].iloc[0]
    )
    assert ids[bad].error is not None


def test_a_value_left_on_disk_past_the_end_is_never_allocated(tmp_path: Path) -> None:
    body = element_bytes(0x00100010, b"PN", b"Doe^Jane")
    body += struct.pack("<HH2sHI", 0x0029, 0x1001, b"OB", 0, 0xFFFFFFF0)
    body += b"\x00" * 6000  # far fewer bytes than the ~4 GiB declared
    path = tmp_path / "huge.dcm"
    path.write_bytes(part10(b"1.2.840.10008.1.2.1", body))
    ids = get_identifiers(path, disable_skip=True, errors="ignore")
    assert ids[path].error is not None
    assert ids[path].error.startswith("truncated")
    assert "(0029, 1001)" in ids[path].error
    value = ids[path]["(0029, 1001)"].element.value  # what the file holds, or why not
    assert len(value) <= 6000
    assert ids[path]["PatientName"].element.value == "Doe^Jane"
