"""deidscope.audit.leaks, compare and pair_files on before/after frames."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import deidscope
from deidscope.audit import compare, leaks, pair_files
from deidscope.audit._compare import COMPARE_COLUMNS, LEAK_COLUMNS
from deidscope.errors import InputError
from samples import deid_data_files

Edit = Callable[[int, Dataset], None]


def _cookies() -> list[str]:
    return [f for f in deid_data_files() if "dicom-cookies" in f]


def _make(
    tmp_path: Path, edit: Edit, prepare: Edit | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copy the cookies to before/ (changed by `prepare`), edit copies into
    after/, read both."""
    before_files, after_files = [], []
    for i, source in enumerate(_cookies()):
        sub = f"s{i % 2}"
        before = tmp_path / "before" / sub / os.path.basename(source)
        after = tmp_path / "after" / sub / os.path.basename(source)
        before.parent.mkdir(parents=True, exist_ok=True)
        after.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, before)
        if prepare is not None:
            original = pydicom.dcmread(before)
            prepare(i, original)
            original.save_as(before)
        ds = pydicom.dcmread(before)
        edit(i, ds)
        ds.save_as(after)
        before_files.append(before)
        after_files.append(after)
    return (
        deidscope.read_identifiers(before_files),
        deidscope.read_identifiers(after_files),
    )


def _clean(i: int, ds: Dataset) -> None:
    """A thorough cleaning: every identifier blanked or consistently replaced."""
    for keyword in (
        "PatientName",
        "PatientID",
        "ReferringPhysicianName",
        "NameOfPhysiciansReadingStudy",
        "OperatorsName",
        "InstitutionName",
        "StudyDate",
        "StudyTime",  # PS3.15 Z: a leak of kind "profile" when kept
        "PatientSex",  # Z too
        "PatientBirthDate",
        "AccessionNumber",
        "StudyID",
        "ImageComments",
    ):
        if keyword in ds:
            setattr(ds, keyword, "")
    ds.SOPInstanceUID = f"2.25.{i + 1}"
    ds.file_meta.MediaStorageSOPInstanceUID = f"2.25.{i + 1}"
    ds.StudyInstanceUID = f"2.25.100{i}"
    ds.SeriesInstanceUID = f"2.25.200{i}"


def test_leaks_none_after_a_thorough_cleaning(tmp_path: Path) -> None:
    before, after = _make(tmp_path, _clean)
    found = leaks(before, after)
    assert tuple(found.columns) == LEAK_COLUMNS
    assert found.empty, found[["name", "value", "source_name"]]


def _leaky(i: int, ds: Dataset) -> None:
    name = str(ds.PatientName)
    _clean(i, ds)
    ds.PatientID = "cookie-47"  # kept as it was
    ds.ImageComments = f"scan of {name.split()[-1].upper()}, ok"  # a name word
    block = ds.private_block(0x0011, "ACME LEAKY", create=True)
    block.add_new(0x01, "LO", name)  # the whole name, in a private element
    item = Dataset()
    item.TextValue = f"study of 20131210 at {i}"  # the date, inside text
    ds.ContentSequence = Sequence([item])


def test_leaks_finds_values_anywhere(tmp_path: Path) -> None:
    before, after = _make(tmp_path, _leaky)
    found = leaks(before, after)
    assert set(found["match"]) == {"kept", "contained"}
    n_files = len(_cookies())
    kept = found[found["match"] == "kept"]
    assert kept["name"].tolist() == ["PatientID"] * n_files
    assert (kept["uid"] == kept["source_uid"]).all()
    private = found[found["name"] == '(0011,"ACME LEAKY",01)']
    assert len(private) == n_files
    assert set(private["source_name"]) == {"PatientName"}
    assert (private["value"] == private["source_value"]).all()
    comments = found[found["name"] == "ImageComments"]
    assert len(comments) == n_files
    assert set(comments["match"]) == {"contained"}
    assert set(comments["kind"]) == {"person_name"}
    nested = found[found["name"] == "ContentSequence__TextValue"]
    assert set(nested["source_value"]) == {"20131210"}
    assert set(nested["source_name"]) == {"StudyDate"}
    assert (nested["uid"] == "(0040, a730)__0__(0040, a160)").all()
    # each leak points at the original it came from, in the paired file
    for row in found[found["match"] != "copied"].itertuples():
        assert row.file.replace(
            os.sep + "after" + os.sep, os.sep + "before" + os.sep
        ) == (row.source_file)


def test_leaks_says_when_a_value_moved_to_another_file(tmp_path: Path) -> None:
    names: list[str] = []

    def edit(i: int, ds: Dataset) -> None:
        names.append(str(ds.PatientName))
        _clean(i, ds)
        if i == 1:
            ds.ImageComments = names[0]  # file 0's patient name, in file 1

    before, after = _make(tmp_path, edit)
    found = leaks(before, after)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["match"] == "copied"
    assert row["value"] == names[0]
    assert os.path.basename(row["source_file"]) != os.path.basename(row["file"])


def test_leaks_kinds_and_min_length(tmp_path: Path) -> None:
    before, after = _make(tmp_path, _leaky)
    only_ids = leaks(before, after, kinds=["id"])
    assert set(only_ids["kind"]) == {"id"}
    with pytest.raises(InputError, match="unknown kinds"):
        leaks(before, after, kinds=["shoe_size"])
    with pytest.raises(InputError, match="min_length must be a positive int"):
        leaks(before, after, min_length=0)


def test_leaks_finds_surviving_uids_and_accession(tmp_path: Path) -> None:
    def prepare(i: int, ds: Dataset) -> None:
        ds.AccessionNumber = f"ACC{i:04d}7731"

    def edit(i: int, ds: Dataset) -> None:
        study, series = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)
        accession = str(ds.AccessionNumber)
        _clean(i, ds)
        if i == 0:
            ds.SeriesInstanceUID = series  # kept as it was
        ds.ImageComments = f"follow-up of {study}"  # a UID inside text
        block = ds.private_block(0x0011, "ACME LEAKY", create=True)
        block.add_new(0x02, "LO", f"order {accession}")  # the accession number

    before, after = _make(tmp_path, edit, prepare)
    found = leaks(before, after)
    n_files = len(_cookies())
    kept = found[found["match"] == "kept"]
    assert kept[["name", "kind"]].values.tolist() == [["SeriesInstanceUID", "uid"]]
    comments = found[found["name"] == "ImageComments"]
    assert len(comments) == n_files
    assert set(comments["kind"]) == {"uid"}
    assert set(comments["source_name"]) == {"StudyInstanceUID"}
    assert set(comments["match"]) == {"contained"}
    orders = found[found["name"] == '(0011,"ACME LEAKY",02)']
    assert len(orders) == n_files
    assert set(orders["kind"]) == {"id"}
    assert set(orders["source_name"]) == {"AccessionNumber"}
    assert sorted(orders["source_value"]) == [f"ACC{i:04d}7731" for i in range(n_files)]
    # the new UIDs share no original: nothing else is reported
    assert set(found["name"]) == {
        "SeriesInstanceUID",
        "ImageComments",
        '(0011,"ACME LEAKY",02)',
    }


def test_leaks_splits_multi_values(tmp_path: Path) -> None:
    """Each value of a multi-valued element is looked for on its own."""

    def prepare(i: int, ds: Dataset) -> None:
        ds.OtherPatientNames = ["John", "Roe"]
        ds.OtherPatientIDs = ["PAT12345", "PAT67890"]

    def edit(i: int, ds: Dataset) -> None:
        _clean(i, ds)
        del ds.OtherPatientNames
        ds.OtherPatientIDs = "PAT67890"  # one of the two values, kept
        ds.ImageComments = "reviewed with Roe"  # a name that was one of two

    before, after = _make(tmp_path, edit, prepare)
    found = leaks(before, after)
    n_files = len(_cookies())
    comments = found[found["name"] == "ImageComments"]
    assert comments["source_value"].tolist() == ["Roe"] * n_files
    assert set(comments["source_name"]) == {"OtherPatientNames"}
    assert set(comments["kind"]) == {"person_name"}
    ids = found[found["name"] == "OtherPatientIDs"]
    assert ids["source_value"].tolist() == ["PAT67890"] * n_files
    assert set(ids["match"]) == {"kept"}
    assert set(ids["kind"]) == {"id"}


def test_leaks_refuses_dask_frames(tmp_path: Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    before, after = _make(tmp_path, _clean)
    with pytest.raises(InputError, match=r"call \.compute\(\) on it first"):
        leaks(dd.from_pandas(before, npartitions=2), after)


def test_compare_counts_each_kind_of_change(tmp_path: Path) -> None:
    def edit(i: int, ds: Dataset) -> None:
        _clean(i, ds)
        del ds.OperatorsName
        ds.PatientIdentityRemoved = "YES"

    before, after = _make(tmp_path, edit)
    summary = compare(before, after)
    assert tuple(summary.columns) == COMPARE_COLUMNS
    table = summary.set_index("name")
    n = len(_cookies())
    expected = {
        "PatientName": "emptied",
        "OperatorsName": "removed",
        "PatientIdentityRemoved": "added",
        "SOPInstanceUID": "changed",
        "Rows": "kept",
    }
    for name, status in expected.items():
        row = table.loc[name]
        assert row[status] == n, (name, row.to_dict())
        assert row[list(COMPARE_COLUMNS[2:7])].sum() == n
        assert row["n_files"] == n
    assert table["uid_inconsistent"].sum() == 0
    assert summary.attrs["uid_inconsistencies"].empty
    assert summary.attrs["unpaired"].empty


@pytest.mark.parametrize(
    ("case", "problem", "names"),
    [
        (
            "split",
            "changed to 2 different UIDs",
            ["MediaStorageSOPInstanceUID", "SOPInstanceUID"],
        ),
        (
            "half-kept",
            "kept in some elements, changed in others",
            ["MediaStorageSOPInstanceUID", "SOPInstanceUID"],
        ),
        (
            "collision",
            "its new UID is also the new UID of another UID",
            ["SeriesInstanceUID"],
        ),
    ],
    ids=["split", "half-kept", "collision"],
)
def test_compare_flags_uids_not_remapped_consistently(
    tmp_path: Path, case: str, problem: str, names: list[str]
) -> None:
    def edit(i: int, ds: Dataset) -> None:
        original = ds.SOPInstanceUID
        _clean(i, ds)
        if case == "split":  # the file meta got another new UID
            ds.file_meta.MediaStorageSOPInstanceUID = f"2.25.9{i}"
        elif case == "half-kept":  # the file meta kept the original
            ds.file_meta.MediaStorageSOPInstanceUID = original
        else:  # every series became one
            ds.SeriesInstanceUID = "2.25.777"

    before, after = _make(tmp_path, edit)
    summary = compare(before, after)
    details = summary.attrs["uid_inconsistencies"]
    assert set(details["problem"]) == {problem}
    assert sorted({name for row in details["names"] for name in row}) == names
    flagged = summary[summary["uid_inconsistent"] > 0]["name"].tolist()
    assert sorted(flagged) == names


def test_compare_lists_unpaired_files(tmp_path: Path) -> None:
    before, after = _make(tmp_path, _clean)
    first = str(before["file"].iloc[0])
    fewer = before[before["file"] != first]
    summary = compare(
        before,
        after[
            after["file"].astype(str)
            != first.replace(os.sep + "before" + os.sep, os.sep + "after" + os.sep)
        ],
    )
    assert summary.attrs["unpaired"]["file"].tolist() == [first]
    assert summary.attrs["unpaired"]["side"].tolist() == ["before"]
    assert (
        summary.set_index("name").loc["PatientName", "n_files"]
        == fewer["file"].nunique()
    )


@pytest.mark.parametrize(
    ("before", "after", "pairs", "expected"),
    [
        (["a/x.dcm"], ["a/x.dcm"], None, {"a/x.dcm": "a/x.dcm"}),
        (
            ["in/1/x.dcm", "in/2/x.dcm"],
            ["out/2/x.dcm", "out/1/x.dcm"],
            None,
            {"out/2/x.dcm": "in/2/x.dcm", "out/1/x.dcm": "in/1/x.dcm"},
        ),
        (
            ["in/deep/a.dcm", "in/b.dcm"],
            ["flat/a.dcm", "flat/b.dcm"],
            None,
            {"flat/a.dcm": "in/deep/a.dcm", "flat/b.dcm": "in/b.dcm"},
        ),
        (["in/x.dcm"], ["out/renamed.dcm"], None, {"out/renamed.dcm": "in/x.dcm"}),
        (
            ["in/a/x.dcm", "in/b/x.dcm", "in/c.dcm"],
            ["out/q.dcm", "out/r.dcm"],
            {"out/q.dcm": "in/b/x.dcm"},
            {"out/q.dcm": "in/b/x.dcm"},
        ),
    ],
    ids=["same-path", "relative", "basename", "last-one-left", "explicit"],
)
def test_pair_files(
    before: list[str],
    after: list[str],
    pairs: dict[str, str] | None,
    expected: dict[str, str],
) -> None:
    assert pair_files(before, after, pairs=pairs) == expected


def test_pair_files_rejects_unknown_pairs() -> None:
    with pytest.raises(InputError, match="not in the frames"):
        pair_files(["a.dcm"], ["b.dcm"], pairs={"c.dcm": "a.dcm"})
