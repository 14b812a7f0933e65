"""Damage is reported, never read as clean: cuts, stray bytes, zeros, bombs."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

import deidscope.files._scan as scan_module
from deidscope import read_identifiers, to_frame
from deidscope.dicom import get_identifiers
from deidscope.errors import ReadError
from deidscope.files import MAX_DEPTH, read_checked, read_header, read_raw_file
from samples import write_dicom

#: Sample files in each encoding the readers meet.
ENCODINGS = {
    "explicit": "CT_small.dcm",
    "implicit": "MR_small_implicit.dcm",
    "big_endian": "MR_small_bigendian.dcm",
}


def _no_meta(tmp_path: Path) -> Path:
    """A data set written without preamble and file meta (read with force)."""
    return write_dicom(
        tmp_path / "bare.dcm",
        preamble=False,
        PatientName="Bare^Data",
        PatientID="bare-1",
        StudyDescription="no preamble, no meta",
        SeriesDescription="still a data set",
    )


def _sample(tmp_path: Path, kind: str) -> Path:
    if kind == "no_meta":
        return _no_meta(tmp_path)
    return Path(str(get_testdata_file(ENCODINGS[kind])))


def _element_starts(path: Path) -> list[tuple[int, int, int]]:
    """Return (header start, value start, length) of the top-level elements."""
    ds = pydicom.dcmread(path, force=True, defer_size=16)
    implicit = ds.original_encoding[0]
    starts = []
    for elem in ds._dict.values():
        if not isinstance(elem, RawDataElement) or elem.length == 0xFFFFFFFF:
            continue
        header = 8 if implicit or elem.VR not in EXPLICIT_VR_LENGTH_32 else 12
        starts.append((elem.value_tell - header, elem.value_tell, elem.length))
    return starts


def _cut_in_header(data: bytes, starts: list[tuple[int, int, int]]) -> bytes:
    start = starts[len(starts) // 2][0]
    return data[: start + 5]


def _cut_in_value(data: bytes, starts: list[tuple[int, int, int]]) -> bytes:
    _, value, length = next(s for s in starts[len(starts) // 2 :] if s[2] >= 4)
    return data[: value + length // 2]


def _stray(data: bytes, starts: list[tuple[int, int, int]]) -> bytes:
    return data + b"\x01" * 7


DAMAGE: dict[str, Callable[[bytes, list[tuple[int, int, int]]], bytes]] = {
    "cut_in_header": _cut_in_header,
    "cut_in_value": _cut_in_value,
    "stray_bytes": _stray,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("kind", [*ENCODINGS, "no_meta"])
def test_damage_is_reported_and_rows_before_it_kept(
    tmp_path: Path, kind: str, damage: str
) -> None:
    good = _sample(tmp_path, kind)
    data = good.read_bytes()
    damaged = tmp_path / f"{kind}-{damage}.dcm"
    damaged.write_bytes(DAMAGE[damage](data, _element_starts(good)))
    assert read_header(good)[1] is None
    _, reason = read_header(damaged)
    assert reason is not None
    assert reason.startswith("truncated:")
    df = read_identifiers([good, damaged, good], errors="ignore")
    errors = df.attrs["errors"]
    assert errors.file.tolist() == [str(damaged)]
    assert errors.error.iloc[0] == reason
    good_rows = (df.file == str(good)).sum()
    assert good_rows == 2 * len(read_identifiers(good))
    kept = (df.file == str(damaged)).sum()
    assert kept > 0  # what was read before the cut is there
    if damage != "stray_bytes":
        assert kept < good_rows // 2


def test_cut_inside_specific_character_set(tmp_path: Path) -> None:
    data = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    at = data.index(b"\x08\x00\x05\x00CS")
    for cut in (at + 3, at + 8, at + 12):  # in its header, at its value, in it
        damaged = tmp_path / f"charset-{cut}.dcm"
        damaged.write_bytes(data[:cut])
        try:
            _, reason = read_checked(damaged)
        except ReadError as exc:  # nothing but the file meta is left
            reason = exc.reason
        assert reason is not None
        assert "truncated" in reason


@pytest.mark.parametrize("size", [132, 1000, 4096])
def test_all_zero_files_are_errors_not_rows(tmp_path: Path, size: int) -> None:
    zeros = tmp_path / "zeros.dcm"
    zeros.write_bytes(bytes(size))
    with pytest.raises(ReadError, match="no data element"):
        read_checked(zeros)
    df = read_identifiers([zeros], errors="ignore")
    assert len(df) == 0
    assert df.attrs["errors"].file.tolist() == [str(zeros)]


def _deflated(tmp_path: Path, payload: bytes) -> Path:
    """A file whose deflated data set is `payload` (plus a small header)."""
    path = write_dicom(tmp_path / "deflated.dcm", PatientName="Deflated^Bomb")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    layout = scan_module.data_set_start(data, len(data))
    assert layout is not None
    start = layout[0]
    inflated = zlib.decompress(data[start:], -zlib.MAX_WBITS)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(inflated + payload) + compressor.flush()
    path.write_bytes(data[:start] + body)
    return path


def test_a_deflate_bomb_stops_at_the_documented_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an OB element of 3 MiB of zeros: inflates far past a 1 MiB bound
    length = 3 << 20
    bomb = b"\x09\x00\x10\x10OB\x00\x00" + length.to_bytes(4, "little")
    path = _deflated(tmp_path, bomb + bytes(length))
    assert path.stat().st_size < 64 << 10
    monkeypatch.setattr(scan_module, "INFLATE_LIMIT", 1 << 20)
    with pytest.raises(ReadError, match=r"inflates past 1 MiB .*INFLATE_LIMIT"):
        read_checked(path)
    df = read_identifiers([path], errors="ignore")
    assert "INFLATE_LIMIT" in df.attrs["errors"].error.iloc[0]
    monkeypatch.setattr(scan_module, "INFLATE_LIMIT", 8 << 20)
    ds, reason = read_checked(path)
    assert reason is None
    assert str(ds.PatientName) == "Deflated^Bomb"


def test_a_cut_deflated_file_is_an_error(tmp_path: Path) -> None:
    path = _deflated(tmp_path, b"")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    try:
        _, reason = read_checked(path)  # read, but listed as cut
    except ReadError as exc:  # or refused: never read as clean
        reason = exc.reason
    assert reason is not None
    assert "truncated" in reason or "decompressing" in reason


def _nested(depth: int, *, undefined: bool = True) -> bytes:
    """A data set with `depth` sequences one inside the other, a name at the bottom."""
    name = b"\x10\x00\x10\x00PN\x0a\x00Deep^Down "
    body = name
    for _ in range(depth):
        if undefined:
            item = (
                b"\xfe\xff\x00\xe0\xff\xff\xff\xff" + body + b"\xfe\xff\x0d\xe0\0\0\0\0"
            )
            body = (
                b"\x08\x00\x40\x11SQ\0\0\xff\xff\xff\xff"
                + item
                + b"\xfe\xff\xdd\xe0\0\0\0\0"
            )
        else:
            item = b"\xfe\xff\x00\xe0" + len(body).to_bytes(4, "little") + body
            body = b"\x08\x00\x40\x11SQ\0\0" + len(item).to_bytes(4, "little") + item
    return body


def _nested_file(tmp_path: Path, depth: int, *, undefined: bool = True) -> Path:
    path = write_dicom(tmp_path / f"nested-{depth}.dcm", PatientID="nested")
    data = path.read_bytes()
    # the data set's elements are (0008, 0016), (0008, 0018)... then (0010, 0020):
    # the nesting goes just before the patient ID
    at = data.index(b"\x10\x00\x20\x00LO")
    path.write_bytes(data[:at] + _nested(depth, undefined=undefined) + data[at:])
    return path


@pytest.mark.parametrize("undefined", [True, False], ids=["undefined", "defined"])
def test_nesting_up_to_the_bound_is_read(tmp_path: Path, undefined: bool) -> None:
    path = _nested_file(tmp_path, MAX_DEPTH, undefined=undefined)
    df = read_identifiers(path, errors="raise")
    deepest = df.loc[df.value == "Deep^Down"]
    assert deepest.depth.tolist() == [MAX_DEPTH]
    assert deepest.keyword.tolist() == ["PatientName"]
    assert "nested" in df.value.tolist()
    quick = read_raw_file(path)  # its items made from the scanner's, as deep
    assert quick is not None
    item: Any = quick
    for _ in range(MAX_DEPTH):
        item = item.get_item(0x00081140).value[0]
    assert item[0x00100010].value == "Deep^Down"


@pytest.mark.parametrize("undefined", [True, False], ids=["undefined", "defined"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 5000])
def test_deeper_nesting_is_an_error_not_a_crash(
    tmp_path: Path, depth: int, undefined: bool
) -> None:
    path = _nested_file(tmp_path, depth, undefined=undefined)
    good = write_dicom(tmp_path / "good.dcm", PatientName="Good^One")
    tracemalloc.start()
    try:
        df = read_identifiers([good, path, good], errors="ignore")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # linear in the file: a few times its size, never its size times its depth
    assert peak < 64 * path.stat().st_size + (8 << 20)
    assert set(df.file) == {str(good)}
    errors = df.attrs["errors"]
    assert errors.file.tolist() == [str(path)]
    assert f"nested deeper than {MAX_DEPTH}" in errors.error.iloc[0]


@pytest.mark.parametrize("vr", [b"LO", b"UN", b"OB"])
def test_a_length_past_the_end_never_allocates_it(tmp_path: Path, vr: bytes) -> None:
    good = write_dicom(tmp_path / "good.dcm", PatientName="Good^One")
    # a last element that claims 768 MiB, with 40 bytes there
    if vr == b"LO":
        header = b"\x09\x00\x10\x10LO" + (0xFFFF).to_bytes(2, "little")
    else:
        header = b"\x09\x00\x10\x10" + vr + b"\0\0" + (768 << 20).to_bytes(4, "little")
    damaged = tmp_path / "claims.dcm"
    damaged.write_bytes(good.read_bytes() + header + b"x" * 40)
    tracemalloc.start()
    try:
        _, reason = read_checked(damaged)
        df = read_identifiers([good, damaged], errors="ignore")
        ids = get_identifiers([damaged], errors="ignore")
        via_ids = to_frame(ids)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    assert reason is not None
    assert reason.startswith("truncated: element (0009, 1010)")
    assert df.attrs["errors"].file.tolist() == [str(damaged)]
    mine = df[df.file == str(damaged)].drop(columns="file").reset_index(drop=True)
    theirs = via_ids.drop(columns="file").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs, check_categorical=False)
    value = mine.loc[mine.tag == "(0009, 1010)", "value"].tolist()
    assert value == ["x" * 40]  # what the file holds (OB: printable, shown)


def test_a_cut_after_encapsulated_pixel_data_is_found(tmp_path: Path) -> None:
    """The fragments of encapsulated pixel data are bytes, walked over, so a
    cut in the trailing padding after them is found (pydicom reads it short)."""
    source = Path(get_testdata_file("MR_small_RLE.dcm"))
    assert read_checked(source)[1] is None  # whole: the fragments walk to the end
    data = source.read_bytes()
    damaged = tmp_path / "cut.dcm"
    damaged.write_bytes(data[: len(data) - 114])  # inside (fffc, fffc)'s value
    _, reason = read_checked(damaged)
    assert reason is not None
    assert reason.startswith("truncated: element (fffc, fffc) needs 126 bytes")
    df = read_identifiers([damaged], errors="ignore")
    assert df.attrs["errors"].error.tolist() == [reason]
    via_ids = to_frame(get_identifiers([damaged], errors="ignore"))
    assert via_ids.attrs["errors"].error.tolist() == [reason]


@pytest.mark.parametrize(
    "name",
    ["JPEG2000.dcm", "SC_rgb_rle.dcm", "JPEG2000-embedded-sequence-delimiter.dcm"],
)
def test_whole_encapsulated_files_are_not_claimed(name: str) -> None:
    assert read_checked(get_testdata_file(name))[1] is None


def test_a_length_past_the_end_inside_an_item_is_found(tmp_path: Path) -> None:
    """An element of a defined-length item claims more than the file holds:
    past its item's end and past the file's (a DICOMDIR record, say)."""
    from fuzz_corpus import element_bytes, part10

    inner = element_bytes(0x00100020, b"LO", b"ABCD")
    item = b"\xfe\xff\x00\xe0" + len(inner).to_bytes(4, "little") + inner
    sequence = b"\x08\x00\x40\x11SQ\0\0" + len(item).to_bytes(4, "little") + item
    after = element_bytes(0x00200010, b"SH", b"S1")  # the item ends before the file
    data = bytearray(part10(b"1.2.840.10008.1.2.1", sequence + after))
    at = len(data) - len(after) - len(inner) + 6  # the LO's 2-byte length
    data[at : at + 2] = (5000).to_bytes(2, "little")
    damaged = tmp_path / "record.dcm"
    damaged.write_bytes(bytes(data))
    df = read_identifiers([damaged], errors="ignore")
    [reason] = df.attrs["errors"].error.tolist()
    assert reason.startswith("truncated: element (0010, 0020) needs 5000 bytes")
    via_ids = to_frame(get_identifiers([damaged], errors="ignore"))
    assert via_ids.attrs["errors"].error.tolist() == [reason]
