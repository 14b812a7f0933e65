"""A LUT descriptor's first number is unsigned whatever its VR, in every reader."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest

from deidscope import read_identifiers, to_frame
from deidscope.dicom import get_identifiers
from fuzz_corpus import element_bytes, part10

EXPLICIT, IMPLICIT = b"1.2.840.10008.1.2.1", b"1.2.840.10008.1.2"


def _numbers(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}h", *values)


def _item(body: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def _lut_file(path: Path, explicit: bool) -> Path:
    """Palette and modality LUT descriptors whose first number is negative as SS."""
    item = _item(
        element_bytes(0x00283002, b"SS", _numbers(-1, 0, 16), explicit)
        + element_bytes(0x00283006, b"US", _numbers(0, 1), explicit)
    )
    modality = struct.pack("<HH", 0x0028, 0x3000) + (
        b"SQ\x00\x00" + struct.pack("<I", len(item))
        if explicit
        else struct.pack("<I", len(item))
    )
    body = (
        element_bytes(0x00100010, b"PN", b"Doe^Jane", explicit)
        + element_bytes(0x00280103, b"US", struct.pack("<H", 1), explicit)
        + element_bytes(0x00281101, b"SS", _numbers(-32768, -5, 16), explicit)
        + element_bytes(0x00281102, b"SS", _numbers(4096, 0, 16), explicit)
        + modality
        + item
    )
    path.write_bytes(part10(EXPLICIT if explicit else IMPLICIT, body))
    return path


def _pydicom_text(value: object) -> str:
    if isinstance(value, pydicom.multival.MultiValue | list):
        return "\\".join(str(v) for v in value)
    return str(value)


# pydicom checks the first number as US, and warns when it reads it negative
@pytest.mark.filterwarnings("ignore:Invalid value. a value for a tag with VR US")
@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "implicit"])
def test_the_first_number_is_unsigned_as_pydicom_reads_it(
    tmp_path: Path, explicit: bool
) -> None:
    path = _lut_file(tmp_path / "lut.dcm", explicit)
    ds = pydicom.dcmread(path)
    expected = {
        "(0028, 1101)": _pydicom_text(ds[0x00281101].value),
        "(0028, 1102)": _pydicom_text(ds[0x00281102].value),
        "(0028, 3000)__0__(0028, 3002)": _pydicom_text(
            ds.ModalityLUTSequence[0][0x00283002].value
        ),
    }
    if explicit:  # pydicom adds 65536 to a negative first SS number read raw
        assert expected["(0028, 1101)"] == "32768\\-5\\16"
        assert expected["(0028, 3000)__0__(0028, 3002)"] == "65535\\0\\16"
    else:  # but not to one whose VR it settles later (implicit "US or SS")
        assert expected["(0028, 1101)"] == "-32768\\-5\\16"
    ours = read_identifiers(path, progress=False)
    theirs = to_frame(get_identifiers(path))
    for frame in (ours, theirs):
        values = dict(zip(frame["uid"].astype(str), frame["value"], strict=True))
        assert {uid: values[uid] for uid in expected} == expected
