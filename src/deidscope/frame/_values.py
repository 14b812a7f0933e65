"""Turn element values into the text of the frame's ``value`` column.

Two ways in, one set of rules (documented in :mod:`deidscope.frame`):
:func:`format_element` reads a converted pydicom ``DataElement``;
:func:`format_walked` reads a raw element straight from its bytes where that
is safe and quick (ASCII text, numbers, binary summaries) and otherwise
lets pydicom convert it and uses :func:`format_element`. The test suite
checks that both give the same text for every sample file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.tag import _LUT_DESCRIPTOR_TAGS

from deidscope.fields import BULK_VRS, WalkedField, format_tag
from deidscope.fields._walk import ItemList

__all__ = ["MAX_TEXT_BYTES", "format_element", "format_raw", "format_walked"]

#: VRs whose values are bytes rather than text or numbers.
#: Binary values of these VRs are shown as text when they are short printable text
#: (private elements read as UN, and some OB ones, often hide names there).
_TEXTLIKE_BULK_VRS = frozenset({"OB", "UN"})
#: The longest binary value shown as text.
MAX_TEXT_BYTES = 1024

_SINGLE_TEXT_VRS = frozenset({"ST", "LT", "UT"})
_MULTI_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR", "SH", "LO", "PN", "UC"}
)
_NUMBER_FORMATS = {
    "US": "H", "SS": "h", "UL": "L", "SL": "l",
    "FL": "f", "FD": "d", "UV": "Q", "SV": "q",
}  # fmt: skip
_PADDING = " \x00"
_PRINTABLE = (
    frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D} | frozenset(range(0xA0, 0x100))
)


def _bytes_summary(length: int) -> str:
    return f"<{length} bytes>"


def _sequence_summary(length: int) -> str:
    return f"<{length} item{'' if length == 1 else 's'}>"


def _bulk_text(value: bytes) -> str:
    """Printable text for a short binary value, or its summary."""
    stripped = value.rstrip(_PADDING.encode())
    if stripped and len(value) <= MAX_TEXT_BYTES and _PRINTABLE.issuperset(stripped):
        return stripped.decode("latin-1").strip(_PADDING)
    return _bytes_summary(len(value))


def _join(values: Iterable[Any]) -> str:
    return "\\".join(str(value).strip(_PADDING) for value in values)


def _join_text(text: str) -> str:
    """Strip each backslash-separated value of `text` of its padding."""
    if "\\" not in text:
        return text.strip(_PADDING)
    return "\\".join(value.strip(_PADDING) for value in text.split("\\"))


def format_element(elem: DataElement) -> str:
    """Return the frame's text for a converted element's value.

    Parameters
    ----------
    elem : pydicom.dataelem.DataElement
        The element.

    Returns
    -------
    str
        Its value as text, following the rules of :mod:`deidscope.frame`.
    """
    vr = elem.VR
    value = elem.value
    if vr == "SQ":
        return _sequence_summary(len(value or ()))
    if value is None:
        return ""
    if vr in BULK_VRS or isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value) if not isinstance(value, bytes) else value
        if vr in _TEXTLIKE_BULK_VRS:
            return _bulk_text(data)
        return _bytes_summary(len(data))
    if vr == "AT":
        tags = value if isinstance(value, list | MultiValue) else [value]
        return "\\".join(format_tag(int(tag)) for tag in tags)
    if isinstance(value, str):
        return value.strip(_PADDING)
    if isinstance(value, list | MultiValue):
        return _join(value)
    return str(value).strip(_PADDING)


def format_walked(field: WalkedField) -> str:
    """Return the frame's text for a walked element, reading raw bytes if safe.

    Parameters
    ----------
    field : deidscope.fields.WalkedField
        An element met by :func:`deidscope.fields.iter_fields`.

    Returns
    -------
    str
        The same text :func:`format_element` gives for the converted element.
    """
    raw = field.raw
    if isinstance(raw, DataElement):
        return format_element(raw)
    if isinstance(raw, ItemList):
        return _sequence_summary(len(raw))
    vr = field.vr
    value = raw.value
    if value is None:
        if raw.length == 0:
            return ""
        if vr in BULK_VRS and not (
            vr in _TEXTLIKE_BULK_VRS and raw.length <= MAX_TEXT_BYTES
        ):
            return _bytes_summary(raw.length)
        return format_element(field.dataset[field.tag])  # deferred: read it
    if not value:
        return ""
    if vr in BULK_VRS:
        if vr in _TEXTLIKE_BULK_VRS:
            return _bulk_text(value)
        return _bytes_summary(len(value))
    if vr in _MULTI_TEXT_VRS or vr in _SINGLE_TEXT_VRS:
        if not value.isascii():
            return format_element(field.dataset[field.tag])  # let pydicom decode
        text = value.decode("ascii")
        if vr in _SINGLE_TEXT_VRS:
            return text.strip(_PADDING)
        return _join_text(text)
    code = _NUMBER_FORMATS.get(vr)
    if code is not None:
        size = struct.calcsize("<" + code)
        if len(value) % size:
            return format_element(field.dataset[field.tag])  # malformed: pydicom's way
        order = "<" if raw.is_little_endian else ">"
        numbers = struct.unpack(f"{order}{len(value) // size}{code}", value)
        return "\\".join(str(number) for number in numbers)
    if vr == "AT" and len(value) % 4 == 0:
        order = "<" if raw.is_little_endian else ">"
        pairs = struct.unpack(f"{order}{len(value) // 2}H", value)
        return "\\".join(
            format_tag(pairs[i] << 16 | pairs[i + 1]) for i in range(0, len(pairs), 2)
        )
    return format_element(field.dataset[field.tag])


#: The text VRs read straight from ASCII bytes, and whether each holds one value
#: (ST, LT, UT: a backslash is text there, not a separator).
TEXT_VRS: dict[str, bool] = dict.fromkeys(_MULTI_TEXT_VRS, False) | dict.fromkeys(
    _SINGLE_TEXT_VRS, True
)
_NUMBER_STRUCTS = {
    vr: (struct.Struct("<" + code), struct.Struct(">" + code))
    for vr, code in _NUMBER_FORMATS.items()
}


def format_raw(
    vr: str, value: bytes | None, length: int, little: bool, tag: int = 0
) -> str | None:
    """Return the frame's text for a raw value, or None if pydicom must convert it.

    The one-pass builder's way in: the same text as :func:`format_walked`
    for an element stored raw with `vr` (its explicit VR, not ``SQ``), from
    its bytes (`value`, None when deferred) alone.

    Parameters
    ----------
    vr : str
        The element's VR.
    value : bytes or None
        Its raw value, None if it was left on disk.
    length : int
        Its length in the file.
    little : bool
        Whether numbers are little endian.
    tag : int, optional
        The element's tag: a LUT descriptor's first number is unsigned
        whatever its VR, as pydicom reads it (a negative ``SS`` one gains
        65536).

    Returns
    -------
    str or None
        The text, or None when only pydicom can say (non-ASCII text, a
        deferred value that is shown, a malformed number, an odd VR).
    """
    if value is None:
        if length == 0:
            return ""
        if vr in BULK_VRS and not (
            vr in _TEXTLIKE_BULK_VRS and length <= MAX_TEXT_BYTES
        ):
            return _bytes_summary(length)
        return None
    if not value:
        return ""
    single = TEXT_VRS.get(vr)
    if single is not None:
        if not value.isascii():
            return None
        if single:
            return value.decode("ascii").strip(_PADDING)
        return _join_text(value.decode("ascii"))
    if vr in BULK_VRS:
        if vr in _TEXTLIKE_BULK_VRS:
            return _bulk_text(value)
        return _bytes_summary(len(value))
    structs = _NUMBER_STRUCTS.get(vr)
    if structs is not None:
        item = structs[0] if little else structs[1]
        if len(value) % item.size:
            return None
        if len(value) == item.size:
            return str(item.unpack(value)[0])
        numbers = [number for (number,) in item.iter_unpack(value)]
        if tag in _LUT_DESCRIPTOR_TAGS and numbers[0] < 0:
            numbers[0] += 65536  # the first is always unsigned, as pydicom reads it
        return "\\".join(map(str, numbers))
    if vr == "AT" and not len(value) % 4:
        pairs = struct.unpack(f"{'<' if little else '>'}{len(value) // 2}H", value)
        return "\\".join(
            format_tag(pairs[i] << 16 | pairs[i + 1]) for i in range(0, len(pairs), 2)
        )
    return None
