"""The quick header reader: the same rows as pydicom's, or None to let pydicom read."""

from __future__ import annotations

import codecs
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from deidscope.files import RawDataset, read_checked, read_raw_file
from deidscope.files._items import ItemList, RawItem
from deidscope.files._quick import scan_file
from deidscope.frame import read_identifiers
from deidscope.frame._builder import FrameBuilder
from samples import all_sample_files, nested_dataset, short_id, write_dicom


def _rows(path: str | Path, *, quick: bool) -> pd.DataFrame:
    ds = read_raw_file(path) if quick else read_checked(path)[0]
    assert ds is not None
    builder = FrameBuilder()
    builder.add_dataset(str(path), ds)
    return builder.build()


SAMPLES = [f for f in all_sample_files() if read_raw_file(f) is not None]


def test_most_sample_files_are_read_quickly() -> None:
    # deid-data and pydicom's test files are mostly explicit VR little endian
    assert len(SAMPLES) >= 0.75 * len(all_sample_files())


@pytest.mark.parametrize("path", SAMPLES, ids=short_id)
def test_same_rows_as_pydicom(path: str) -> None:
    pd.testing.assert_frame_equal(_rows(path, quick=True), _rows(path, quick=False))


def _nested_file(path: Path, *, undefined: bool) -> Path:
    write_dicom(path)
    ds = pydicom.dcmread(path)
    ds.update(nested_dataset())
    sequence = ds["ReferencedImageSequence"]
    inner = sequence.value[0]["PurposeOfReferenceCodeSequence"]
    for elem in (sequence, inner):
        elem.is_undefined_length = undefined
        for item in elem.value:
            item.is_undefined_length_sequence_item = undefined
    ds.save_as(path)
    # an undefined length is written as FFFFFFFF
    assert (b"\xff\xff\xff\xff" in path.read_bytes()) is undefined
    return path


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
def test_sequences_of_both_lengths(tmp_path: Path, undefined: bool) -> None:
    path = _nested_file(tmp_path / "nested.dcm", undefined=undefined)
    quick = _rows(path, quick=True)
    pd.testing.assert_frame_equal(quick, _rows(path, quick=False))
    uids = set(quick.uid)
    assert "(0008, 1140)__0__(0040, a170)__0__(0008, 0104)" in uids
    assert "(0008, 1140)__1__(0008, 1155)" in uids
    assert set(quick.loc[quick.uid == "(0008, 1140)", "value"]) == {"<2 items>"}
    private = quick.loc[quick.name == '(0009,"DEIDSCOPE TEST",01)', "value"]
    assert private.tolist() == ["Private^Name"]


def test_pixel_data_is_not_read_but_what_follows_is(tmp_path: Path) -> None:
    pixels = bytes(range(256)) * 64  # 16 KiB
    path = write_dicom(
        tmp_path / "px.dcm",
        Rows=64,
        Columns=256,
        BitsAllocated=8,
        BitsStored=8,
        HighBit=7,
        SamplesPerPixel=1,
        PixelRepresentation=0,
        PhotometricInterpretation="MONOCHROME2",
        PixelData=pixels,
    )
    ds = pydicom.dcmread(path)
    ds.add_new(0xFFFAFFFA, "SQ", [])  # DigitalSignaturesSequence, after the pixels
    ds.DataSetTrailingPadding = b"\x00" * 8
    ds.save_as(path)
    raw = read_raw_file(path)
    assert isinstance(raw, RawDataset)
    pixel_element = raw.get_item(0x7FE00010)
    assert pixel_element is not None
    assert pixel_element.value is None  # left on disk
    assert pixel_element.length == len(pixels)
    assert 0xFFFCFFFC in raw
    assert 0xFFFAFFFA in raw
    pd.testing.assert_frame_equal(_rows(path, quick=True), _rows(path, quick=False))


def test_encapsulated_pixel_data_is_skipped_by_its_fragments(tmp_path: Path) -> None:
    cookie = next(f for f in all_sample_files() if f.endswith("image1.dcm"))
    assert pydicom.dcmread(cookie).file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    path = tmp_path / "cookie.dcm"
    shutil.copy(cookie, path)
    ds = pydicom.dcmread(path)
    ds.DataSetTrailingPadding = b"\x00" * 4
    ds.save_as(path)
    raw = read_raw_file(path)
    assert raw is not None
    assert 0xFFFCFFFC in raw  # found after the fragments' delimiter
    pd.testing.assert_frame_equal(_rows(path, quick=True), _rows(path, quick=False))


def _cut(path: Path, keep: int) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - keep])
    return path


def _rewrite(path: Path, syntax: str) -> Path:
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(path, enforce_file_format=True)
    return path


def _with_trailing(path: Path, extra: bytes) -> Path:
    path.write_bytes(path.read_bytes() + extra)
    return path


def _undefined_length_text(path: Path) -> Path:
    # (0010,4000) LT with an undefined length: not a sequence, not pixels
    element = struct.pack("<HH2sHL", 0x0010, 0x4000, b"UT", 0, 0xFFFFFFFF)
    end = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    return _with_trailing(path, element + b"abcd" + end)


def _ambiguous_un(path: Path) -> Path:
    # (0028,0106) Smallest Image Pixel Value is "US or SS"; stored as UN here
    ds = pydicom.dcmread(path)
    ds.add_new(0x00280106, "US", 1)
    ds.save_as(path)
    short = struct.pack("<HH2sH", 0x0028, 0x0106, b"US", 2)
    long = struct.pack("<HH2sHL", 0x0028, 0x0106, b"UN", 0, 2)
    data = path.read_bytes()
    assert data.count(short) == 1
    path.write_bytes(data.replace(short, long))
    return path


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: _cut(p, 3), "the last value is cut short"),
        (lambda p: _with_trailing(p, b"\x08\x00\x20"), "stray bytes at the end"),
        (lambda p: _rewrite(p, DeflatedExplicitVRLittleEndian), "deflated"),
        (lambda p: _rewrite(p, "1.2.3.4"), "an unknown transfer syntax"),
        (_undefined_length_text, "an undefined length outside a sequence"),
        (_ambiguous_un, "UN with an ambiguous VR"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_unusual_files_are_left_to_pydicom(
    tmp_path: Path, make: Callable[[Path], Path], why: str
) -> None:
    path = make(write_dicom(tmp_path / "f.dcm", StudyDescription="study"))
    assert read_raw_file(path) is None, why
    assert scan_file(path) is None, why
    # and the frame still reads them, the same way as before
    df = read_identifiers(path, errors="ignore")
    assert "study" in set(df.value) or len(df.attrs["errors"]) == 1


def _implicit_ambiguous(path: Path) -> Path:
    # (0028,0106) Smallest Image Pixel Value is "US or SS" in the dictionary
    ds = pydicom.dcmread(path)
    ds.add_new(0x00280106, "US", 1)
    ds.save_as(path)
    return _rewrite(path, ImplicitVRLittleEndian)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _implicit_ambiguous(p),
        lambda p: _with_trailing(
            _rewrite(p, ImplicitVRLittleEndian), b"\x09\x00\x10\x10\xff\xff\xff\xff"
        ),
    ],
    ids=["ambiguous VR", "private undefined length"],
)
def test_implicit_files_pydicom_must_correct_are_left_to_it(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    path = make(write_dicom(tmp_path / "f.dcm", StudyDescription="study"))
    assert read_raw_file(path) is None


def _codecs(encoding: str | list[str]) -> list[str]:
    """The codecs an encoding names ("iso8859" and "latin_1" are one)."""
    names = [encoding] if isinstance(encoding, str) else encoding
    return [codecs.lookup(name).name for name in names]


def _assert_read_as_pydicom(
    quick: RawItem, ds: Dataset, where: str, base: int = 0
) -> None:
    """Assert `quick` holds the elements pydicom's reader gives, raw, alike.

    Where pydicom read a sequence from its value's bytes, its offsets start
    at `base` in the file; the quick reader's are the file's.
    """
    assert list(quick.keys()) == list(ds.keys()), where
    assert _codecs(quick.encoding) == _codecs(ds._character_set), where
    for tag, raw in quick.items():
        at = f"{where} {tag}"
        assert isinstance(raw, RawDataElement), at
        stored = ds.get_item(tag)  # as pydicom's reader stored it
        assert stored is not None, at
        if isinstance(raw.value, ItemList):  # items read in the same pass
            items = ds[tag].value  # pydicom's Datasets (converted if raw)
            assert raw.VR == "SQ", at
            assert len(raw.value) == len(items), at
            if isinstance(stored, RawDataElement):  # read from its bytes
                assert raw.value_tell - base == stored.value_tell, at
                inner = raw.value_tell
            else:
                inner = base
            pairs = zip(raw.value, items, strict=True)
            for index, (item, expected) in enumerate(pairs):
                _assert_read_as_pydicom(item, expected, f"{at}[{index}]", inner)
            continue
        if not isinstance(stored, RawDataElement):  # converted while reading
            elem = quick[tag]
            assert (elem.VR, elem.value) == (stored.VR, stored.value), at
            continue
        assert raw.length == stored.length, at
        assert raw.value_tell - base == stored.value_tell, at
        assert raw.VR == stored.VR, at
        assert raw.is_implicit_VR == stored.is_implicit_VR, at
        if raw.value is None and raw.length:  # left on disk: pydicom read it
            assert raw.VR in {"OB", "OW", "OF", "OD", "OL", "OV", None}, at
            assert raw.length in {len(stored.value), 0xFFFFFFFF}, at
        else:
            assert raw.value == stored.value, at


@pytest.mark.parametrize("path", SAMPLES, ids=short_id)
def test_the_quick_reader_reads_what_pydicom_reads(path: str) -> None:
    quick = read_raw_file(path)
    assert quick is not None
    ds = pydicom.dcmread(path)
    _assert_read_as_pydicom(quick.file_meta, ds.file_meta, "meta")
    _assert_read_as_pydicom(quick, ds, "data set")


@pytest.mark.parametrize("path", all_sample_files(), ids=short_id)
def test_the_scanner_reads_what_the_quick_reader_reads(path: str) -> None:
    found = scan_file(path)
    if path in SAMPLES:  # the quick reader's elements are the scanner's
        assert found is not None
    elif found is not None:  # only implicit VR: ambiguous VRs are kept
        assert found.implicit
        assert read_raw_file(path) is None


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
def test_implicit_vr_is_read_quickly_with_pydicoms_rows(
    tmp_path: Path, undefined: bool
) -> None:
    path = _nested_file(tmp_path / "nested.dcm", undefined=undefined)
    _rewrite(path, ImplicitVRLittleEndian)
    quick = read_raw_file(path)
    assert quick is not None
    pd.testing.assert_frame_equal(_rows(path, quick=True), _rows(path, quick=False))
    assert "<2 items>" in set(_rows(path, quick=True).value)


@pytest.mark.parametrize(
    "content",
    [b"", b"DICM", b"\x00" * 200],
    ids=["empty", "tiny", "no-marker"],
)
def test_not_part10_returns_none(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.dcm"
    path.write_bytes(content)
    assert read_raw_file(path) is None


def test_missing_file_returns_none(tmp_path: Path) -> None:
    assert read_raw_file(tmp_path / "missing.dcm") is None


def test_a_file_without_preamble_is_left_to_pydicom(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "nopre.dcm", preamble=False)
    assert read_raw_file(path) is None
    assert set(read_identifiers(path).value) >= {"SYN-0001"}


def test_character_sets_follow_the_data_set(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "latin1.dcm",
        SpecificCharacterSet="ISO_IR 100",
        PatientName="Müller^Jörg",
    )
    quick = _rows(path, quick=True)
    assert quick.loc[quick.keyword == "PatientName", "value"].tolist() == [
        "Müller^Jörg"
    ]
    pd.testing.assert_frame_equal(quick, _rows(path, quick=False))


def test_items_hold_sequences(tmp_path: Path) -> None:
    item = Dataset()
    item.CodeValue = "1"
    path = write_dicom(tmp_path / "s.dcm", ConceptNameCodeSequence=Sequence([item]))
    raw = read_raw_file(path)
    assert raw is not None
    assert raw.get_item(0x0040A043) is not None
