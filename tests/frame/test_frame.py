"""The long DataFrame: columns, dtypes, value rules, and both ways to build it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import deidscope
from deidscope import read_identifiers, to_frame
from deidscope.dicom import get_identifiers
from deidscope.frame import COLUMNS, concat_frames, empty_frame
from deidscope.frame._columns import CATEGORY_COLUMNS
from samples import all_sample_files, deid_data_files, write_dicom

_CONTRACT = ["file", "uid", "name", "VR", "value", "tag", "keyword",
             "private_creator", "depth", "is_filemeta"]  # fmt: skip


@pytest.fixture(scope="module")
def value_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic file holding one element of each kind the value rules cover."""
    inner = Dataset()
    inner.CodeValue = "  T-D1100 "
    inner.CodeMeaning = "Head"
    path = tmp_path_factory.mktemp("values") / "values.dcm"
    write_dicom(
        path,
        PatientName="Doe^Jane^^Dr",
        OtherPatientNames=["Roe^Rick", "Poe^Pat"],
        ImageType=["ORIGINAL", "PRIMARY", "AXIAL"],
        AccessionNumber="",
        StudyDate="20131210",
        StudyTime="191929.000",
        AcquisitionDateTime="20131210191929",
        PatientWeight="72.5",
        SeriesNumber="7",
        PixelSpacing=["0.5", "0.25"],
        Rows=512,
        LUTDescriptor=[256, 0, 16],
        EchoTrainLength=None,
        FrameIncrementPointer=0x00181063,
        FrameTime=33.3,
        EncapsulatedDocument=b"\x00\x01\x02\xff" * 10,
        ImageComments="  free text with trailing padding   ",
        AnatomicRegionSequence=Sequence([inner, Dataset()]),
    )
    return path


@pytest.fixture(scope="module")
def value_rows(value_file: Path) -> pd.Series:
    df = read_identifiers(value_file)
    return df.set_index("name")["value"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("PatientName", "Doe^Jane^^Dr"),
        ("OtherPatientNames", "Roe^Rick\\Poe^Pat"),
        ("ImageType", "ORIGINAL\\PRIMARY\\AXIAL"),
        ("AccessionNumber", ""),
        ("StudyDate", "20131210"),
        ("StudyTime", "191929.000"),
        ("AcquisitionDateTime", "20131210191929"),
        ("PatientWeight", "72.5"),
        ("SeriesNumber", "7"),
        ("PixelSpacing", "0.5\\0.25"),
        ("Rows", "512"),
        ("LUTDescriptor", "256\\0\\16"),
        ("EchoTrainLength", ""),
        ("FrameIncrementPointer", "(0018, 1063)"),
        ("FrameTime", "33.3"),
        ("EncapsulatedDocument", "<40 bytes>"),
        ("ImageComments", "free text with trailing padding"),
        ("AnatomicRegionSequence", "<2 items>"),
        ("AnatomicRegionSequence__CodeValue", "T-D1100"),
    ],
    ids=lambda v: str(v)[:24],
)
def test_value_rules(value_rows: pd.Series, name: str, text: str) -> None:
    assert value_rows[name] == text


def test_printable_private_binary_is_shown_as_text(tmp_path: Path) -> None:
    ds = Dataset()
    block = ds.private_block(0x0011, "ACME 1.0", create=True)
    block.add_new(0x01, "UN", b"SMITH^JOHN ")
    block.add_new(0x02, "OB", b"\x00\x01\x02\x03")
    block.add_new(0x03, "UN", b"X" * 2000)
    path = write_dicom(tmp_path / "private.dcm", **{k.keyword: k.value for k in []})
    from pydicom import dcmread

    full = dcmread(path)
    full.update(ds)
    full.save_as(path)
    df = read_identifiers(path)
    values = df.set_index("name")["value"]
    assert values['(0011,"ACME 1.0",01)'] == "SMITH^JOHN"
    assert values['(0011,"ACME 1.0",02)'] == "<4 bytes>"
    assert values['(0011,"ACME 1.0",03)'] == "<2000 bytes>"
    creators = df.set_index("name")["private_creator"]
    assert creators['(0011,"ACME 1.0",01)'] == "ACME 1.0"
    assert pd.isna(creators["PatientName"])


def test_columns_and_dtypes_are_the_contract(value_file: Path) -> None:
    df = read_identifiers(value_file)
    assert list(df.columns) == _CONTRACT == list(COLUMNS)
    for column in CATEGORY_COLUMNS:
        assert isinstance(df[column].dtype, pd.CategoricalDtype), column
    assert isinstance(df["value"].dtype, pd.StringDtype)
    assert df["depth"].dtype == "int8"
    assert df["is_filemeta"].dtype == "bool"
    assert list(df.attrs["errors"].columns) == ["file", "error"]
    assert df.index.equals(pd.RangeIndex(len(df)))
    assert df["value"].notna().all()
    assert empty_frame().dtypes.astype(str).equals(df.dtypes.astype(str))


def test_depth_and_filemeta_columns(value_file: Path) -> None:
    df = read_identifiers(value_file).set_index("uid")
    assert df.loc["(0008, 2218)__0__(0008, 0100)", "depth"] == 1
    assert df.loc["(0008, 2218)", "depth"] == 0
    assert df.loc["(0002, 0003)", "is_filemeta"]
    assert not df.loc["(0010, 0010)", "is_filemeta"]


@pytest.mark.slow
def test_to_frame_and_read_identifiers_agree_on_every_sample() -> None:
    files = list(all_sample_files())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", deidscope.dicom.ReadErrorsWarning)
        direct = read_identifiers(files)
        via_ids = to_frame(get_identifiers(files))
    pd.testing.assert_frame_equal(direct, via_ids, check_categorical=False)
    pd.testing.assert_frame_equal(direct.attrs["errors"], via_ids.attrs["errors"])
    assert direct["file"].nunique() == len(files)


@pytest.mark.parity
def test_to_frame_reads_deids_own_output(cookie_files: list[str]) -> None:
    from deid.dicom import get_identifiers as deid_get_identifiers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = to_frame(deid_get_identifiers(cookie_files[:2]))
    ours = read_identifiers(cookie_files[:2])
    assert (
        theirs[["uid", "VR", "value"]]
        .astype(str)
        .equals(ours[["uid", "VR", "value"]].astype(str))
    )


def test_rows_follow_the_order_of_the_files_given(cookie_files: list[str]) -> None:
    order = list(reversed(cookie_files))
    df = read_identifiers(order)
    assert list(df["file"].unique()) == order


def test_folders_and_files_can_be_mixed(cookie_files: list[str]) -> None:
    folder = str(Path(cookie_files[0]).parent)
    df = read_identifiers([cookie_files[0], folder])
    assert set(df["file"].unique()) == set(cookie_files)


def test_concat_frames_keeps_categories_and_errors(
    cookie_files: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_text("nope")
    first = read_identifiers(cookie_files[:2])
    second = read_identifiers([cookie_files[2], bad], errors="ignore")
    both = concat_frames([first, second])
    assert len(both) == len(first) + len(second)
    assert isinstance(both["uid"].dtype, pd.CategoricalDtype)
    assert both.attrs["errors"]["file"].tolist() == [str(bad)]
    assert concat_frames([]).columns.tolist() == _CONTRACT


def test_to_frame_rejects_what_is_not_a_mapping() -> None:
    with pytest.raises(
        deidscope.errors.InputError, match="to_frame: expected the mapping"
    ):
        to_frame([1, 2])  # type: ignore[arg-type]


def test_a_large_frame_is_compact() -> None:
    """Keys are categorical: per row, a frame costs its value text plus ~20 bytes."""
    files = list(deid_data_files())
    df = read_identifiers(files * 40)  # same files many times: shared categories
    per_row = df.memory_usage(deep=True).sum() / len(df)
    value_bytes = df["value"].str.len().mean()
    assert per_row < value_bytes + 30, (per_row, value_bytes)


def test_pandas_can_concat_and_merge_identifier_frames(
    cookie_files: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_text("nope")
    first = read_identifiers([cookie_files[0], bad], errors="ignore")
    second = read_identifiers([cookie_files[1], bad], errors="ignore")
    third = read_identifiers(cookie_files[2])
    same = pd.concat([first, second])  # equal errors: pandas keeps them
    assert same.attrs["errors"]["file"].tolist() == [str(bad)]
    mixed = pd.concat([first, third])  # different errors: pandas drops them
    assert "errors" not in mixed.attrs
    merged = first.merge(second[["uid", "value"]], on="uid", suffixes=("", "_2"))
    assert len(merged) > 0
    subset = first[first.VR == "PN"]
    assert subset.attrs["errors"].equals(first.attrs["errors"])
    errors = first.attrs["errors"]
    assert (errors == errors.copy()) is True
    assert (errors["file"] == str(bad)).all()  # element-wise as usual
