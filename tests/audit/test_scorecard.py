"""deidscope.audit.scorecard: the MIDI-B style checks, one by one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

import deidscope
from deidscope.audit import Scorecard, scorecard
from deidscope.audit._scorecard import CHECKS, FAILURE_COLUMNS
from deidscope.errors import InputError
from samples import deid_data_files, write_dicom

Edit = Callable[[int, Dataset], None]


def _cookies() -> list[str]:
    return [f for f in deid_data_files() if "dicom-cookies" in f]


def _profile_like(i: int, ds: Dataset) -> None:
    """What the Basic Profile does to the cookies, by hand."""
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "StudyID",
        "ReferringPhysicianName",
    ):
        if keyword in ds:
            setattr(ds, keyword, "")
    for keyword in (
        "InstitutionName",
        "NameOfPhysiciansReadingStudy",
        "OperatorsName",
        "ImageComments",
    ):
        if keyword in ds:
            delattr(ds, keyword)
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        ds[keyword].value = "2.25." + str(abs(hash(ds[keyword].value)) % 10**20)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def _make(
    tmp_path: Path, edit: Edit, folder: str = "after"
) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    before_files, after_files = [], []
    for i, source in enumerate(_cookies()):
        before = tmp_path / "before" / os.path.basename(source)
        after = tmp_path / folder / os.path.basename(source)
        before.parent.mkdir(parents=True, exist_ok=True)
        after.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, before)
        ds = pydicom.dcmread(before)
        edit(i, ds)
        ds.save_as(after)
        before_files.append(before)
        after_files.append(after)
    return (
        deidscope.read_identifiers(before_files),
        deidscope.read_identifiers(after_files),
        after_files,
    )


def _failed(card: Scorecard, check: str) -> pd.DataFrame:
    return card.failures[card.failures["check"] == check]


def test_a_profile_like_cleaning_scores_100(tmp_path: Path) -> None:
    before, after, _ = _make(tmp_path, _profile_like)
    card = scorecard(before, after)
    assert isinstance(card, Scorecard)
    assert list(card.summary["check"]) == list(CHECKS)
    assert tuple(card.failures.columns) == FAILURE_COLUMNS
    assert card.ok, card.failures
    assert card.rate == 1.0
    totals = card.summary.set_index("check")["total"]
    for check in ("kept", "text_removed", "uids_changed", "uids_consistent", "pixels"):
        assert totals[check] > 0, check
    assert set(card.files["check"]) <= set(CHECKS)
    assert card.files["file"].nunique() == len(_cookies())


def test_each_check_fails_where_it_should(tmp_path: Path) -> None:
    def edit(i: int, ds: Dataset) -> None:
        _profile_like(i, ds)
        if i == 0:
            ds.ConversionType = "XX"  # kept: changed
            ds.InstitutionName = "STANFORD"  # text removed: kept
            ds.PatientID = "P-1"
            ds.SOPInstanceUID = pydicom.dcmread(_cookies()[0]).SOPInstanceUID
        if i == 1:
            ds.StudyInstanceUID = "2.25.99"  # another study became this one
        if i == 2:
            ds.StudyInstanceUID = "2.25.99"
            arr = bytearray(ds.PixelData)
            arr[-10] ^= 0xFF
            ds.PixelData = bytes(arr)

    before, after, after_files = _make(tmp_path, edit)
    card = scorecard(before, after)
    assert not card.ok
    assert set(_failed(card, "kept")["name"]) == {"ConversionType"}
    assert set(_failed(card, "text_removed")["name"]) == {"InstitutionName"}
    assert set(_failed(card, "uids_changed")["name"]) == {"SOPInstanceUID"}
    assert set(_failed(card, "uids_consistent")["name"]) == {"StudyInstanceUID"}
    # the cookies are one patient: P-1 in one file, empty in the others
    patients = _failed(card, "patient_ids_consistent")
    assert set(patients["reason"]) == {
        "this patient's files carry 2 different PatientIDs"
    }
    assert {Path(f) for f in patients["file"]} == set(after_files)
    assert len(_failed(card, "pixels")) == 1
    rate = card.summary.set_index("check")["rate"]
    assert 0 < rate["kept"] < 1
    assert rate["not_empty"] == 1.0  # nothing to judge
    # the same UID changed differently in two files
    assert "2.25.99" in set(_failed(card, "uids_consistent")["after"])


def test_two_patients_with_one_new_id(tmp_path: Path) -> None:
    before = [
        write_dicom(tmp_path / "b" / f"{i}.dcm", PatientID=f"ID-{i}") for i in range(3)
    ]
    after = []
    for i, path in enumerate(before):
        ds = pydicom.dcmread(path)
        ds.PatientID = "SAME" if i < 2 else "OTHER"
        ds.PatientName = ""
        target = tmp_path / "a" / path.name
        target.parent.mkdir(exist_ok=True)
        ds.save_as(target)
        after.append(target)
    card = scorecard(
        deidscope.read_identifiers(before), deidscope.read_identifiers(after)
    )
    patients = _failed(card, "patient_ids_consistent")
    assert sorted(Path(f).name for f in patients["file"]) == ["0.dcm", "1.dcm"]
    assert set(patients["reason"]) == {"two patients share this new PatientID"}


def test_dates_move_by_one_offset_per_patient(tmp_path: Path) -> None:
    def edit(i: int, ds: Dataset) -> None:
        _profile_like(i, ds)
        original = pydicom.dcmread(_cookies()[i])
        ds.PatientID = "SAME"  # every cookie is one patient here, before too
        shift = 11 if i == 3 else 10
        day = pd.Timestamp(original.StudyDate) + pd.Timedelta(days=shift)
        ds.StudyDate = day.strftime("%Y%m%d")

    def prepare(i: int, ds: Dataset) -> None:
        ds.PatientID = "ONE-PATIENT"

    # the originals share one patient
    source = tmp_path / "src"
    source.mkdir()
    for path in _cookies():
        ds = pydicom.dcmread(path)
        prepare(0, ds)
        ds.save_as(source / os.path.basename(path))
    before_files, after_files = [], []
    for i, path in enumerate(sorted(source.iterdir())):
        ds = pydicom.dcmread(path)
        edit(i, ds)
        target = tmp_path / "after" / path.name
        target.parent.mkdir(exist_ok=True)
        ds.save_as(target)
        before_files.append(path)
        after_files.append(target)
    before = deidscope.read_identifiers(before_files)
    after = deidscope.read_identifiers(after_files)
    card = scorecard(before, after, options=["retain_long_modified_dates"])
    failed = _failed(card, "dates_shifted")
    assert list(failed["name"]) == ["StudyDate"]
    assert "moved 11 days, others 10" in failed["reason"].iloc[0]
    assert card.summary.set_index("check").loc["dates_shifted", "total"] == 7
    with pytest.raises(InputError, match="unknown options"):
        scorecard(before, after, options=["retain_all"])


def _image(path: Path, pixels: np.ndarray) -> Path:
    write_dicom(path, Rows=8, Columns=8, BitsAllocated=8, BitsStored=8, HighBit=7)
    ds = pydicom.dcmread(path)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    ds.add_new(0x7FE00010, "OB", pixels.astype(np.uint8).tobytes())
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path)
    return path


def test_pixels_hidden_in_boxes_and_unchanged_elsewhere(tmp_path: Path) -> None:
    pixels = np.arange(64).reshape(8, 8) + 1
    before = _image(tmp_path / "b" / "a.dcm", pixels)
    hidden = pixels.copy()
    hidden[0:2, 0:4] = 0
    good = _image(tmp_path / "good" / "a.dcm", hidden)
    spilled = hidden.copy()
    spilled[7, 7] = 0
    bad = _image(tmp_path / "bad" / "a.dcm", spilled)
    before_df = deidscope.read_identifiers([before])
    box = {str(before): [(0, 0, 4, 2)]}
    for path, ok in ((good, True), (bad, False)):
        after_df = deidscope.read_identifiers([path])
        card = scorecard(before_df, after_df, boxes=box)
        assert card.summary.set_index("check").loc["pixels", "total"] == 1
        assert (len(_failed(card, "pixels")) == 0) is ok, path
    # without the box the change is a failure
    card = scorecard(before_df, deidscope.read_identifiers([good]))
    assert len(_failed(card, "pixels")) == 1
    assert len(_failed(scorecard(before_df, before_df), "pixels")) == 0
    skipped = scorecard(before_df, deidscope.read_identifiers([good]), pixels=False)
    assert skipped.summary.set_index("check").loc["pixels", "total"] == 0


def test_the_page_is_escaped_and_not_written_over(tmp_path: Path) -> None:
    def edit(i: int, ds: Dataset) -> None:
        _profile_like(i, ds)
        ds.ConversionType = "XX"

    before, after, _ = _make(tmp_path, edit, folder="after<b>x")
    card = scorecard(before, after)
    page = card.to_html(tmp_path / "card.html")
    text = page.read_text()
    assert "<b>" not in text
    assert "after&lt;b&gt;x" in text
    assert "some checks failed" in text
    with pytest.raises(FileExistsError):
        card.to_html(tmp_path / "card.html")
    assert card.to_html(tmp_path / "card.html", overwrite=True) == page
    assert "<table>" in card._repr_html_()


@pytest.mark.parametrize(
    ("choice", "failed"), [("new uids", 0), ("removed", 0), ("kept as it was", 1)]
)
def test_a_uid_sequence_may_go_or_stay_with_new_uids(
    tmp_path: Path, choice: str, failed: int
) -> None:
    """ReferencedImageSequence is X/Z/U*: removed, or kept with its UIDs replaced.

    The referenced SOP class is not judged, a vendor's (Siemens CSA non-image
    here, outside the standard's root) included: it names a kind of object.
    """
    item = Dataset()
    item.ReferencedSOPClassUID = "1.3.12.2.1107.5.9.1"
    item.ReferencedSOPInstanceUID = "2.25.5"
    item.ReferencedFrameNumber = "1"
    before = write_dicom(
        tmp_path / "b" / "a.dcm", ReferencedImageSequence=pydicom.Sequence([item])
    )
    ds = pydicom.dcmread(before)
    ds.PatientName = ""
    ds.PatientID = ""
    ds.SOPInstanceUID = "2.25.77"
    if choice == "new uids":
        ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "2.25.6"
    elif choice == "removed":
        del ds.ReferencedImageSequence
    after = tmp_path / "a" / "a.dcm"
    after.parent.mkdir()
    ds.save_as(after)
    card = scorecard(
        deidscope.read_identifiers([before]),
        deidscope.read_identifiers([after]),
        pixels=False,
    )
    assert len(card.failures) == failed, card.failures[["check", "name", "before"]]
    if failed:
        assert card.failures["name"].iloc[0].endswith("ReferencedSOPInstanceUID")
