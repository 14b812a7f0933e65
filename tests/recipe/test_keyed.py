"""Keyed pseudonyms and the crosswalk: the same key, the same values."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from deidscope.dicom import replace_identifiers
from deidscope.errors import InputError
from deidscope.recipe import Recipe
from deidscope.recipe._apply import CROSSWALK_COLUMNS
from deidscope.recipe._keyed import Keyed
from write_helpers import write_file

MODIFIED = Recipe.from_profile(["retain_long_modified_dates"])
KEYED = ("PatientID", "AccessionNumber", "StudyID")
UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@pytest.fixture
def two_patients(tmp_path: Path) -> list[Path]:
    study = pydicom.uid.generate_uid()
    return [
        write_file(tmp_path / "in" / "a1.dcm", study_uid=study),
        write_file(tmp_path / "in" / "a2.dcm", study_uid=study, study_date="20200317"),
        write_file(tmp_path / "in" / "b.dcm", patient_id="PID-2"),
    ]


def _values(datasets: list[pydicom.Dataset]) -> list[tuple[str, ...]]:
    fields = (*KEYED, *UIDS, "StudyDate", "ContentDate")
    return [tuple(str(ds.get(f, "")) for f in fields) for ds in datasets]


def test_the_same_key_gives_the_same_pseudonyms_another_key_others(
    two_patients: list[Path],
) -> None:
    first = replace_identifiers(two_patients, deid=MODIFIED, key="k1")
    again = replace_identifiers(two_patients, deid=MODIFIED, key=b"k1")
    other = replace_identifiers(two_patients, deid=MODIFIED, key="k2")
    assert _values(first) == _values(again)
    for mine, theirs in zip(_values(first), _values(other), strict=True):
        assert all(a != b for a, b in zip(mine, theirs, strict=True))
    a1, a2, b = first
    keyed = Keyed(b"k1")
    assert a1.PatientID == keyed.pseudonym("PatientID", "PID-4711") == a2.PatientID
    assert b.PatientID == keyed.pseudonym("PatientID", "PID-2") != a1.PatientID
    assert len(a1.AccessionNumber) == 16
    assert a1.StudyInstanceUID == a2.StudyInstanceUID  # one study, one new UID
    assert a1.StudyInstanceUID.startswith("2.25.")
    assert len(a1.SOPInstanceUID) <= 64


def test_dates_move_by_one_offset_per_patient(two_patients: list[Path]) -> None:
    a1, a2, b = replace_identifiers(two_patients, deid=MODIFIED, key="k1")
    keyed = Keyed(b"k1")
    day = pd.Timestamp

    def moved(ds: pydicom.Dataset, was: str) -> int:
        return (day(ds.StudyDate) - day(was)).days

    assert (
        moved(a1, "20200315") == moved(a2, "20200317") == keyed.date_offset("PID-4711")
    )
    assert moved(b, "20200315") == keyed.date_offset("PID-2")
    # intervals and order within a patient are kept
    assert (day(a2.StudyDate) - day(a1.StudyDate)).days == 2
    assert a1.ContentDate == a1.StudyDate
    assert a1.LongitudinalTemporalInformationModified == "MODIFIED"


def test_modified_dates_need_a_key_or_a_jitter(two_patients: list[Path]) -> None:
    with pytest.raises(InputError, match="key="):
        replace_identifiers(two_patients, deid=MODIFIED)
    (ds, *_) = replace_identifiers(two_patients, deid=MODIFIED, lookup={"jitter": 1})
    assert ds.StudyDate == "20200316"


def test_without_a_key_the_profile_blanks(two_patients: list[Path]) -> None:
    (ds, *_) = replace_identifiers(two_patients, deid=Recipe.from_profile())
    # Z (Z/D: Z, since one dummy for every patient would join them)
    assert [ds[f].value for f in KEYED] == [None, None, None]


def test_the_crosswalk_links_old_to_new(
    two_patients: list[Path], tmp_path: Path
) -> None:
    table = tmp_path / "private" / "map.csv"
    table.parent.mkdir()
    written = replace_identifiers(
        two_patients,
        deid=MODIFIED,
        key="k1",
        save=True,
        output_folder=tmp_path / "out",
        crosswalk=table,
    )
    assert stat.S_IMODE(os.stat(table).st_mode) == 0o600
    rows = pd.read_csv(table, dtype=str, keep_default_na=False)
    assert tuple(rows.columns) == CROSSWALK_COLUMNS
    assert rows["output"].tolist() == list(written)
    assert rows["patient_old"].tolist() == ["PID-4711", "PID-4711", "PID-2"]
    for row, path in zip(rows.itertuples(), written, strict=True):
        ds = pydicom.dcmread(path)
        assert row.patient_new == ds.PatientID
        assert row.accession_new == ds.AccessionNumber
        assert row.study_new == ds.StudyInstanceUID
        assert row.series_new == ds.SeriesInstanceUID
        assert row.instance_new == ds.SOPInstanceUID
        assert row.instance_old != row.instance_new
    offsets = rows["date_offset_days"].astype(int).tolist()
    assert offsets[0] == offsets[1] == Keyed(b"k1").date_offset("PID-4711")
    # it is not written over unless asked
    with pytest.raises(FileExistsError):
        replace_identifiers(two_patients, deid=MODIFIED, key="k1", crosswalk=table)


def test_the_crosswalk_needs_a_key_and_stays_out_of_the_output(
    two_patients: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match="needs key="):
        replace_identifiers(
            two_patients,
            deid=Recipe.from_profile(),
            crosswalk=tmp_path / "map.csv",
        )
    with pytest.raises(InputError, match="inside the output folder"):
        replace_identifiers(
            two_patients,
            deid=Recipe.from_profile(),
            key="k",
            save=True,
            output_folder=out,
            crosswalk=out / "map.csv",
        )
    assert list(out.iterdir()) == []
    with pytest.raises(InputError, match="non-empty"):
        replace_identifiers(two_patients, deid=Recipe.from_profile(), key="")


def test_a_preview_with_a_key_shows_the_pseudonyms(two_patients: list[Path]) -> None:
    from deidscope import read_identifiers

    df = read_identifiers([str(p) for p in two_patients])
    run = Recipe.from_profile().run(df, key="k1")
    out = run.preview()
    ids = out[out.uid == "(0010, 0020)"]
    assert set(ids.after) == {
        Keyed(b"k1").pseudonym("PatientID", "PID-4711"),
        Keyed(b"k1").pseudonym("PatientID", "PID-2"),
    }


def test_the_crosswalk_keeps_line_breaks_and_formulas_as_they_are(
    tmp_path: Path,
) -> None:
    """CRLF line ends (a lone CR in an old ID is quoted), no formula quote:
    the table is read back by programs that re-link."""
    odd = ["P\r1", "=P\n2"]
    files = [
        write_file(tmp_path / "in" / f"{n}.dcm", patient_id=pid)
        for n, pid in enumerate(odd)
    ]
    table = tmp_path / "map.csv"
    replace_identifiers(files, deid=MODIFIED, key="k1", crosswalk=table)
    raw = table.read_bytes()
    assert raw.endswith(b"\r\n")
    assert raw.count(b"\r\n") == 3  # the header and two rows, nothing split
    rows = pd.read_csv(table, dtype=str, keep_default_na=False)
    assert rows["patient_old"].tolist() == odd
