"""A quick header reader for the common DICOM file, without pydicom Datasets.

Most files a deidscope user meets are Part 10 files in explicit VR little
endian (native or encapsulated pixel data). :func:`read_raw_file` reads such
a file's elements straight from a memory map into :class:`RawDataset`, a
:class:`~deidscope.files._items.RawItem` with its file meta, which the walk
reads as it reads a pydicom ``Dataset``: elements stay raw until someone
converts them, and binary values over :data:`DEFER_SIZE` bytes (pixel data
above all) are never read. Bulk values are read as bytes, text as bytes.

It reads only files it can read completely and exactly as pydicom would:
anything else (no ``DICM`` marker, implicit VR, big endian, deflate, an
unknown VR, an element that runs past the end of the file, stray bytes, an
undefined length outside a sequence or the pixel data, an item in implicit
VR, ``UN`` elements whose dictionary VR is ambiguous) returns None, and the
caller reads the file with pydicom as usual, with its error messages and
truncation checks. The test suite checks that both readers give the same
rows for every sample file.
"""

from __future__ import annotations

import mmap
import os
import struct
from typing import Final, cast

from pydicom.charset import default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.tag import BaseTag
from pydicom.uid import UID
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from deidscope.files._items import Encoding, RawItem, charset_encoding
from deidscope.files._read import DEFER_SIZE

__all__ = ["DEFER_SIZE", "RawDataset", "read_raw_file"]


_HEADER = struct.Struct("<HH2sH").unpack_from
_LONG = struct.Struct("<L").unpack_from
_ITEM_HEADER = struct.Struct("<HHL").unpack_from
_ITEM: Final = 0xFFFEE000
_ITEM_END: Final = 0xFFFEE00D
_SEQUENCE_END: Final = 0xFFFEE0DD
_UNDEFINED: Final = 0xFFFFFFFF
_PIXEL_DATA: Final = 0x7FE00010
_CHARSET: Final = 0x00080005
_TRANSFER_SYNTAX: Final = 0x00020010

#: The two-letter VRs by their bytes, and those with a 4-byte length.
_VRS: Final = {vr.value.encode("ascii"): vr.value for vr in VR if len(vr.value) == 2}
_LONG_VRS: Final = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
#: Binary VRs whose long values are summarised, never read (UN is not here:
#: its VR may be replaced by the dictionary's, and its value read as that).
_DEFERRED_VRS: Final = frozenset({"OB", "OW", "OF", "OD", "OL", "OV"})
#: A raw empty value is b"" or None, by VR (pydicom's rule).
_EMPTY: Final[dict[str, bytes | None]] = {
    vr: cast("bytes | None", empty_value_for_VR(vr, raw=True)) for vr in _VRS.values()
}


class RawDataset(RawItem):
    """The top-level data set of a file read by :func:`read_raw_file`.

    A :class:`~deidscope.files._items.RawItem` with the file's meta
    information as another one in ``file_meta``.

    Parameters
    ----------
    elements : dict
        The data set's raw elements by tag.
    encoding : str or list of str
        The character set(s) of its text.
    file_meta : RawItem
        The file meta information (group 0002).
    """

    __slots__ = ("file_meta",)

    def __init__(
        self,
        elements: dict[BaseTag, RawDataElement | DataElement],
        encoding: Encoding,
        file_meta: RawItem,
    ) -> None:
        super().__init__(elements, encoding)
        self.file_meta = file_meta


class _NotQuickError(Exception):
    """The file is not one this reader handles: pydicom must read it."""


def _fragments_end(buf: mmap.mmap, offset: int, end: int) -> int:
    """Return the offset after the delimiter of encapsulated pixel data."""
    while offset + 8 <= end:
        group, element, length = _ITEM_HEADER(buf, offset)
        tag = group << 16 | element
        offset += 8
        if tag == _SEQUENCE_END:
            return offset
        if tag != _ITEM or length == _UNDEFINED:
            raise _NotQuickError
        offset += length
    raise _NotQuickError


def _sequence_end(buf: mmap.mmap, offset: int, end: int) -> int:
    """Return the offset of the delimiter ending an undefined-length sequence."""
    while offset + 8 <= end:
        group, element, length = _ITEM_HEADER(buf, offset)
        tag = group << 16 | element
        if tag == _SEQUENCE_END:
            return offset
        if tag != _ITEM:
            raise _NotQuickError
        offset += 8
        if length == _UNDEFINED:
            offset = _scan(buf, offset, end, None, in_item=True)
        else:
            offset += length
    raise _NotQuickError


def _scan(
    buf: mmap.mmap,
    offset: int,
    end: int,
    elements: dict[BaseTag, RawDataElement | DataElement] | None,
    *,
    in_item: bool = False,
    meta: bool = False,
) -> int:
    """Read explicit VR little endian elements from `offset`; return where it stopped.

    With `elements`, each element is stored there (raw, as pydicom's reader
    makes it); without, the elements are only skipped over (the inside of an
    undefined-length item). `meta` stops before the first element that is
    not in group 0002; `in_item` stops after an item delimiter.
    """
    vrs = _VRS
    long_vrs = _LONG_VRS
    while offset < end:
        if end - offset < 8:
            raise _NotQuickError  # stray bytes: an element header cut short
        group, element, vr_bytes, length = _HEADER(buf, offset)
        if meta and group != 2:
            return offset
        tag = group << 16 | element
        if group == 0xFFFE:
            if in_item and tag == _ITEM_END:
                return offset + 8
            raise _NotQuickError
        if group == 2 and not meta:
            raise _NotQuickError  # file meta inside the data set: pydicom's business
        vr = vrs.get(vr_bytes)
        if vr is None:
            raise _NotQuickError  # implicit VR, or an unknown VR
        if vr in long_vrs:
            if end - offset < 12:
                raise _NotQuickError
            (length,) = _LONG(buf, offset + 8)
            value_tell = offset + 12
        else:
            value_tell = offset + 8
        value: bytes | None
        if length == _UNDEFINED:
            if vr == "SQ":
                # read as if of defined length: its items, not the delimiter
                stop = _sequence_end(buf, value_tell, end)
                value, length = buf[value_tell:stop], stop - value_tell
                offset = stop + 8
            elif tag == _PIXEL_DATA:
                offset = _fragments_end(buf, value_tell, end)
                value = None
            else:
                raise _NotQuickError
        else:
            offset = value_tell + length
            if offset > end:
                raise _NotQuickError  # the value runs past the end of the file
            if elements is None:
                continue
            if not length:
                value = _EMPTY[vr]
            elif length > DEFER_SIZE and vr in _DEFERRED_VRS:
                value = None
            else:
                value = buf[value_tell:offset]
            if vr == "UN" and " or " in _dictionary_vr(tag):
                raise _NotQuickError  # pydicom corrects ambiguous VRs with the data set
        if elements is not None:
            key = BaseTag(tag)
            elements[key] = RawDataElement(
                key, vr, length, value, value_tell, False, True
            )
    if in_item:
        raise _NotQuickError  # the file ends inside an item
    return offset


def _dictionary_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return ""


def _transfer_syntax(meta: dict[BaseTag, RawDataElement | DataElement]) -> UID:
    raw = meta.get(BaseTag(_TRANSFER_SYNTAX))
    if raw is None or not raw.value:
        raise _NotQuickError
    return UID(raw.value.decode("ascii", "replace").strip(" \x00"))


def read_raw_file(path: str | os.PathLike[str]) -> RawDataset | None:
    """Read a Part 10 explicit VR little endian file's elements, or None.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    RawDataset or None
        Every element of the file meta and the data set (also those after
        the pixel data), raw; None if the file is not one this reader
        handles exactly as pydicom does (see the module documentation), or
        cannot be opened: then read it with pydicom, which says why.
    """
    try:
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if size < 144:
                return None
            with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _read(buf, size)
    except (OSError, ValueError, _NotQuickError, struct.error, UnicodeDecodeError):
        return None


def _read(buf: mmap.mmap, size: int) -> RawDataset | None:
    if buf[128:132] != b"DICM":
        return None
    meta: dict[BaseTag, RawDataElement | DataElement] = {}
    start = _scan(buf, 132, size, meta, meta=True)
    syntax = _transfer_syntax(meta)
    if (
        not syntax.is_transfer_syntax
        or syntax.is_implicit_VR
        or not syntax.is_little_endian
        or syntax.is_deflated
    ):
        return None
    elements: dict[BaseTag, RawDataElement | DataElement] = {}
    _scan(buf, start, size, elements)
    if not elements:
        return None
    charset = elements.get(BaseTag(_CHARSET))
    encoding = charset_encoding(
        None if charset is None else charset.value, default_encoding
    )
    return RawDataset(elements, encoding, RawItem(meta, default_encoding))
