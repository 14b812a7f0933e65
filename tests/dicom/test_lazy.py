"""get_identifiers' fields are made on first use, and are then what deid gives."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidscope import read_identifiers, to_frame
from deidscope.dicom import fields_of, get_identifiers
from deidscope.files import read_checked, read_header, read_raw_file
from fuzz_corpus import element_bytes, part10
from samples import all_sample_files


def _item(body: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def _bulky_file(path: Path) -> Path:
    """A private OB over the deferral size, at the top and inside an item."""
    top = bytes(range(256)) * 40  # 10,240 bytes
    inner = b"\x05" * 6000
    item = _item(
        element_bytes(0x00080100, b"SH", b"CODE1")
        + element_bytes(0x00290010, b"LO", b"DEIDSCOPE TEST")
        + element_bytes(0x00291002, b"OB", inner)
    )
    sequence = (
        struct.pack("<HH2sHI", 0x0008, 0x1032, b"SQ", 0, 0xFFFFFFFF)
        + item
        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    )
    body = (
        element_bytes(0x00080005, b"CS", b"ISO_IR 100")
        + sequence
        + element_bytes(0x00100010, b"PN", b"M\xfcller^Ann")
        + element_bytes(0x00290010, b"LO", b"DEIDSCOPE TEST")
        + element_bytes(0x00291001, b"OB", top)
    )
    path.write_bytes(part10(b"1.2.840.10008.1.2.1", body))
    return path


def test_elements_are_made_once_on_first_use(tmp_path: Path) -> None:
    path = _bulky_file(tmp_path / "bulky.dcm")
    assert type(read_header(path)[0]).__name__ == "RawDataset"  # the quick reader's
    fields = get_identifiers(path, disable_skip=True)[path]
    field = fields["PatientName"]
    assert field.tag == "(0010, 0010)"  # known without making the element
    assert field.stripped_tag == "00100010"
    assert field.element is field.element
    assert field.element.value == "Müller^Ann"


def test_touched_fields_are_what_pydicom_reads(tmp_path: Path) -> None:
    path = _bulky_file(tmp_path / "bulky.dcm")
    fields = get_identifiers(path, disable_skip=True)[path]
    theirs = pydicom.dcmread(path)
    bulk = fields["(0029, 1001)"].element
    assert bulk.value == theirs[0x00291001].value  # read from the file, in full
    assert len(bulk.value) == 10_240
    assert bulk.private_creator == "DEIDSCOPE TEST"
    sequence = fields["(0008, 1032)"].element
    assert isinstance(sequence.value, Sequence)
    assert all(isinstance(item, Dataset) for item in sequence.value)
    assert sequence.value == theirs[0x00081032].value
    inner = sequence.value[0][0x00291002]
    assert inner.value == b"\x05" * 6000
    assert inner.private_creator == "DEIDSCOPE TEST"
    nested = fields["(0008, 1032)__0__(0029, 1002)"].element
    assert nested.value == b"\x05" * 6000


def test_both_readers_list_the_same_rows(tmp_path: Path) -> None:
    path = _bulky_file(tmp_path / "bulky.dcm")
    fields = get_identifiers(path)[path]
    df = read_identifiers(path)
    assert list(fields) == df["uid"].astype(str).tolist()
    assert [f.name for f in fields.values()] == df["name"].astype(str).tolist()


def test_names_and_uids_are_shared_across_files(tmp_path: Path) -> None:
    first = _bulky_file(tmp_path / "a.dcm")
    second = _bulky_file(tmp_path / "b.dcm")
    ids = get_identifiers([first, second])
    uid = "(0008, 1032)__0__(0008, 0100)"
    assert ids[first][uid].uid is ids[second][uid].uid
    assert ids[first][uid].name is ids[second][uid].name


OPTIONS = [
    {},
    {"skip": ()},
    {"expand_sequences": False},
    {"strip_sequences": True},
    {"remove_private": True},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_the_one_pass_walk_gives_the_walks_fields(options: dict[str, Any]) -> None:
    """The quick reader's one pass and iter_fields list the same fields."""
    compared = 0
    for path in all_sample_files():
        quick = read_raw_file(path)
        if quick is None:
            continue
        slow = read_checked(path)[0]
        ours = get_identifiers(path, errors="ignore", **options)[path]
        theirs = fields_of(slow, **options)
        assert list(ours) == list(theirs), path
        for uid, field in ours.items():
            other = theirs[uid]
            assert (field.name, field.is_filemeta, field.tag) == (
                other.name,
                other.is_filemeta,
                other.tag,
            ), (path, uid)
        compared += 1
    assert compared > 100


def test_an_unknown_vr_without_a_value_reads_alike_both_ways(tmp_path: Path) -> None:
    body = (
        element_bytes(0x00080060, b"CS", b"OT")
        + element_bytes(0x00080081, b"S\xd4", b"")  # a damaged VR, no value
        + element_bytes(0x00100010, b"PN", b"Doe^Jane")
    )
    path = tmp_path / "unknown_vr.dcm"
    path.write_bytes(part10(b"1.2.840.10008.1.2.1", body))
    df = read_identifiers(path, errors="ignore")
    ids = get_identifiers(path, errors="ignore")
    assert ids[path].error is None
    assert df.attrs["errors"].empty
    element = ids[path]["InstitutionAddress"].element  # pydicom refuses it
    assert element.value is None
    pd.testing.assert_frame_equal(df, to_frame(ids), check_categorical=False)


def test_a_public_element_that_cannot_be_read_later_is_un_saying_why(
    tmp_path: Path,
) -> None:
    document = b"%PDF" + b"\x01" * 6000  # public, OB, left on disk
    body = element_bytes(0x00100010, b"PN", b"Doe^Jane") + element_bytes(
        0x00420011, b"OB", document
    )
    path = tmp_path / "document.dcm"
    path.write_bytes(part10(b"1.2.840.10008.1.2.1", body))
    ids = get_identifiers(path)
    path.write_bytes(b"")  # gone before the value is read
    element = ids[path]["EncapsulatedDocument"].element
    assert element.VR == "UN"
    assert element.value.decode().startswith("<cannot be converted: ")
    assert ids[path].error is None


def test_a_creator_damaged_into_numbers_gives_its_text(tmp_path: Path) -> None:
    # a private creator whose VR byte says US (fuzz seed 14): pydicom converts
    # it to a list of numbers, which as a field's creator made to_frame raise
    # "unhashable type: 'list'" for the whole batch
    path = tmp_path / "creator-us.dcm"
    body = (
        element_bytes(0x00100010, b"PN", b"Doe^Jane")
        + element_bytes(0x00110010, b"US", b"GEMS_GENIE_1")
        + element_bytes(0x00111001, b"LO", b"secret")
    )
    path.write_bytes(part10(b"1.2.840.10008.1.2.1", body))
    fields = get_identifiers(path)[path]
    private = next(f for f in fields.values() if f.element.tag == 0x00111001)
    assert private.element.private_creator == "GEMS_GENIE_1"
    ours = to_frame({path: fields})
    frame = read_identifiers(path, progress=False)
    theirs = frame.loc[frame["tag"] == "(0011, 1001)", "private_creator"]
    assert list(theirs.astype(str)) == ["GEMS_GENIE_1"]
    assert "GEMS_GENIE_1" in set(ours["private_creator"].dropna().astype(str))
