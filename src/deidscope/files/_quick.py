"""A quick header reader for the common DICOM file, without pydicom Datasets.

Most files a deidscope user meets are Part 10 files in little endian,
explicit VR (native or encapsulated pixel data) or implicit VR. One scanner
reads such a file's elements straight from a memory map, with an explicit
stack (no recursion, memory in proportion to the file): :func:`scan_file`
gives them as flat tuples (the frame's reader), and :func:`read_raw_file`
turns those into :class:`RawDataset`, a
:class:`~deidscope.files._items.RawItem` with its file meta, which the walk
reads as it reads a pydicom ``Dataset``: elements stay raw until someone
converts them, and binary values over :data:`DEFER_SIZE` bytes (pixel data
above all) are never read. Bulk values are read as bytes, text as bytes.
Sequences are read in the same pass, whatever their lengths (defined or
undefined); items nested deeper than
:data:`~deidscope.files._scan.MAX_DEPTH` levels are refused (``ReadError``).

It reads only files it can read completely and exactly as pydicom would:
anything else (no ``DICM`` marker, big endian, deflate, an
unknown VR, an element that runs past the end of the file or its item,
stray bytes, an undefined length outside a sequence or the pixel data, an
item in implicit VR in an explicit VR file, ``UN`` elements -- or, for
:func:`read_raw_file`, implicit VR ones -- whose dictionary VR is ambiguous)
returns None, and the caller reads the file with pydicom as usual, with its
error messages and truncation checks. The test suite checks that both
readers give the same rows for every sample file.
"""

from __future__ import annotations

import mmap
import os
import struct
from typing import Any, Final, NamedTuple, cast

from pydicom.charset import default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.tag import BaseTag
from pydicom.uid import UID
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from deidscope.errors import ReadError
from deidscope.files._items import Encoding, ItemList, RawItem, charset_encoding
from deidscope.files._read import DEFER_SIZE
from deidscope.files._scan import MAX_DEPTH, too_deep

__all__ = ["DEFER_SIZE", "RawDataset", "ScannedFile", "read_raw_file", "scan_file"]


_HEADER = struct.Struct("<HH2sH").unpack_from
_LONG = struct.Struct("<L").unpack_from
_ITEM_HEADER = struct.Struct("<HHL").unpack_from
_ITEM: Final = 0xFFFEE000
_ITEM_END: Final = 0xFFFEE00D
_SEQUENCE_END: Final = 0xFFFEE0DD
_UNDEFINED: Final = 0xFFFFFFFF
_PIXEL_DATA: Final = 0x7FE00010
_CHARSET: Final = 0x00080005
_CHARSET_TAG: Final = BaseTag(_CHARSET)
_TRANSFER_SYNTAX: Final = 0x00020010

#: The two-letter VRs by their bytes, and those with a 4-byte length.
_VRS: Final = {vr.value.encode("ascii"): vr.value for vr in VR if len(vr.value) == 2}
_LONG_VRS: Final = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
#: The VRs with a 2-byte length, by their bytes: never a sequence, never
#: deferred, never undefined.
_SHORT_VRS: Final = {
    code: vr for code, vr in _VRS.items() if vr not in _LONG_VRS and vr != "UN"
}
#: Binary VRs whose long values are summarised, never read (UN is not here:
#: its VR may be replaced by the dictionary's, and its value read as that).
#: "OB or OW" stands for any ambiguous dictionary VR that may be bulk (implicit VR).
_DEFERRED_VRS: Final = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "OB or OW"})
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


def _encoding(
    elements: dict[BaseTag, RawDataElement | DataElement], inherited: Encoding
) -> Encoding:
    """Return the character set(s) of an element list read so far."""
    charset = elements.get(_CHARSET_TAG)
    if charset is None or not charset.value:
        return inherited
    return charset_encoding(charset.value, inherited)


class _TooDeepError(Exception):
    """Sequence items nest deeper than MAX_DEPTH."""


#: One element as :func:`scan_file` gives it: tag, VR (None in implicit VR,
#: "SQ" for a sequence), length, value (bytes; None when left on disk or
#: undefined; for a sequence the list of its items, each a list of
#: elements) and where the value starts in the file.
ScannedElement = tuple[int, "str | None", int, Any, int]

# what is saved of the element list holding a sequence while its items are
# read: its elements, its end, whether it ends with a delimiter; then the
# sequence's tag, value offset, items, end and whether it ends with a delimiter
_Open = tuple[list[Any], int, bool, int, int, list[Any], int, bool]


def _scan(
    buf: mmap.mmap,
    offset: int,
    end: int,
    elements: list[Any],
    *,
    meta: bool = False,
    implicit: bool = False,
) -> int:
    """Read little endian elements into `elements`; return where it stopped.

    Each element is a :data:`ScannedElement` tuple, in file order; a
    sequence's items are read in the same pass, with an explicit stack
    (never recursion). Anything this reader does not handle exactly as
    pydicom raises :class:`_NotQuickError`. `meta` stops before the first
    element that is not in group 0002. With `implicit`, the elements are
    implicit VR: kept without a VR (as pydicom keeps them), sequences found
    by the dictionary; a private or unknown one of undefined length is left
    to pydicom, one whose dictionary VR is ambiguous is kept (its value
    read unless it may be bulk and is long): the caller decides.
    """
    implicit_vr = _IMPLICIT_VRS.get
    vrs = _VRS
    short_vrs = _SHORT_VRS
    long_vrs = _LONG_VRS
    header_of = _HEADER
    item_header_of = _ITEM_HEADER
    long_of = _LONG
    empty = _EMPTY
    deferred = _DEFERRED_VRS
    defer_size = DEFER_SIZE
    stack: list[_Open] = []
    add = elements.append
    limit = end  # where the current element list ends
    delimited = False  # it ends with an item delimiter (undefined length)
    while True:
        # -- the elements of the data set or of an item
        if offset >= limit:
            if offset != limit or delimited:
                raise _NotQuickError  # past an item's end, or an item never closed
            if not stack:
                return offset
            stack[-1][5].append(elements)
        else:
            if limit - offset < 8:
                raise _NotQuickError  # stray bytes: an element header cut short
            group, element, vr_bytes, length = header_of(buf, offset)
            if meta and group != 2:
                return offset
            tag = group << 16 | element
            if group == 0xFFFE:
                if not (delimited and tag == _ITEM_END):
                    raise _NotQuickError
                offset += 8
                stack[-1][5].append(elements)
            else:
                if group == 2 and not meta and not stack:
                    raise _NotQuickError  # file meta inside the data set
                if not implicit:
                    vr = short_vrs.get(vr_bytes)
                    if vr is not None:  # the commonest element: a short value
                        value_tell = offset + 8
                        offset = value_tell + length
                        if offset > limit:
                            raise _NotQuickError  # the value runs past its end
                        value: bytes | None = (
                            buf[value_tell:offset] if length else empty[vr]
                        )
                        add((tag, vr, length, value, value_tell))
                        continue
                if implicit:
                    (length,) = long_of(buf, offset + 4)
                    value_tell = offset + 8
                    known = implicit_vr(tag)
                    if known is None:
                        known = _implicit_vr(tag)
                    if known != "SQ":
                        offset = value_tell + length
                        if length == _UNDEFINED or offset > limit:
                            raise _NotQuickError
                        leaf: bytes | None = None
                        if length and not (length > defer_size and known in deferred):
                            leaf = buf[value_tell:offset]
                        add((tag, None, length, leaf, value_tell))
                        continue
                    vr_bytes = b"SQ"
                vr = vrs.get(vr_bytes)
                if vr is None:
                    raise _NotQuickError  # implicit VR, or an unknown VR
                if implicit:
                    pass
                elif vr in long_vrs:
                    if limit - offset < 12:
                        raise _NotQuickError
                    (length,) = long_of(buf, offset + 8)
                    value_tell = offset + 12
                else:
                    value_tell = offset + 8
                if vr == "SQ":
                    if length == _UNDEFINED:
                        seq_end, seq_delimited = limit, True
                    else:
                        seq_end, seq_delimited = value_tell + length, False
                        if seq_end > limit:
                            raise _NotQuickError
                    stack.append(
                        (
                            elements,
                            limit,
                            delimited,
                            tag,
                            value_tell,
                            [],
                            seq_end,
                            seq_delimited,
                        )
                    )
                    offset = value_tell
                elif length == _UNDEFINED:
                    if tag != _PIXEL_DATA:
                        raise _NotQuickError
                    offset = _fragments_end(buf, value_tell, limit)
                    add((tag, vr, length, None, value_tell))
                    continue
                else:
                    offset = value_tell + length
                    if offset > limit:
                        raise _NotQuickError  # the value runs past its end
                    if not length:
                        value = empty[vr]
                    elif length > defer_size and vr in deferred:
                        value = None
                    else:
                        value = buf[value_tell:offset]
                    if vr == "UN" and " or " in _dictionary_vr(tag):
                        raise _NotQuickError  # pydicom corrects ambiguous VRs
                    add((tag, vr, length, value, value_tell))
                    continue
        # -- the items of the innermost open sequence
        (
            parent,
            parent_limit,
            parent_delimited,
            seq_tag,
            seq_tell,
            items,
            seq_end,
            seq_delimited,
        ) = stack[-1]
        while True:
            if offset >= seq_end:
                if offset != seq_end or seq_delimited:
                    raise _NotQuickError
                closed = True
                break
            if seq_end - offset < 8:
                raise _NotQuickError
            group, element, length = item_header_of(buf, offset)
            tag = group << 16 | element
            offset += 8
            if seq_delimited and tag == _SEQUENCE_END:
                closed = True
                break
            if tag != _ITEM:
                raise _NotQuickError
            if len(stack) > MAX_DEPTH:
                raise _TooDeepError
            # an item: read its elements
            elements = []
            add = elements.append
            if length == _UNDEFINED:
                limit, delimited = seq_end, True
            else:
                limit, delimited = offset + length, False
                if limit > seq_end:
                    raise _NotQuickError
            closed = False
            break
        if closed:
            stack.pop()
            elements, limit, delimited = parent, parent_limit, parent_delimited
            add = elements.append
            add((seq_tag, "SQ", offset - seq_tell, items, seq_tell))


_IMPLICIT_VRS: dict[int, str] = {}


def _implicit_vr(tag: int) -> str:
    """Return what the reader needs of an implicit element's VR (cached).

    The dictionary's VR ("" if private or unknown); "OB or OW" for any
    ambiguous one that may be bulk (the pixel data, overlays, LUT data), so
    that a long value stays on disk, as pydicom leaves it.
    """
    vr = "" if tag >> 16 & 1 else _dictionary_vr(tag)
    if " or " in vr and ("OB" in vr or "OW" in vr):
        vr = "OB or OW"
    if len(_IMPLICIT_VRS) < 1 << 16:
        _IMPLICIT_VRS[tag] = vr
    return vr


def _dictionary_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return ""


class ScannedFile(NamedTuple):
    """A file read by :func:`scan_file`.

    Attributes
    ----------
    meta : list of ScannedElement
        The file meta information's elements, in file order.
    elements : list of ScannedElement
        The data set's elements, in file order; a sequence's value is the
        list of its items, each a list of elements.
    implicit : bool
        Whether the data set is implicit VR (its elements have no VR but
        the sequences).
    """

    meta: list[Any]
    elements: list[Any]
    implicit: bool


def scan_file(path: str | os.PathLike[str]) -> ScannedFile | None:
    """Read a file's elements as flat tuples, or None.

    The elements of the file meta and the data set as :data:`ScannedElement`
    tuples, read as :func:`read_raw_file` reads them, but that in implicit
    VR elements whose dictionary VR is ambiguous are kept too. None when the
    file is not one this reader handles (see the module documentation) or
    cannot be opened: then read it with pydicom, which says why.

    Raises
    ------
    ReadError
        If sequence items nest deeper than :data:`MAX_DEPTH` levels.
    """
    try:
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if size < 144:
                return None
            with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                if buf[128:132] != b"DICM":
                    return None
                meta: list[Any] = []
                start = _scan(buf, 132, size, meta, meta=True)
                syntax = _transfer_syntax(meta)
                if (
                    not syntax.is_transfer_syntax
                    or not syntax.is_little_endian
                    or syntax.is_deflated
                ):
                    return None
                implicit = syntax.is_implicit_VR
                elements: list[Any] = []
                _scan(buf, start, size, elements, implicit=implicit)
                if not elements:
                    return None
                return ScannedFile(meta, elements, implicit)
    except _TooDeepError:
        raise ReadError(path, too_deep()) from None
    except (OSError, ValueError, _NotQuickError, struct.error, UnicodeDecodeError):
        return None


def _transfer_syntax(meta: list[Any]) -> UID:
    """Return the transfer syntax the file meta names (the last, as pydicom keeps)."""
    found = [value for tag, _, _, value, _ in meta if tag == _TRANSFER_SYNTAX]
    if not found or not found[-1] or not isinstance(found[-1], bytes):
        raise _NotQuickError
    return UID(found[-1].decode("ascii", "replace").strip(" \x00"))


def read_raw_file(path: str | os.PathLike[str]) -> RawDataset | None:
    """Read a Part 10 little endian (explicit or implicit VR) file's elements, or None.

    The elements :func:`scan_file` reads, as pydicom's reader stores them.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    RawDataset or None
        Every element of the file meta and the data set (also those after
        the pixel data), raw, sequences with their items read; None if the
        file is not one this reader handles exactly as pydicom does (see the
        module documentation), or cannot be opened: then read it with
        pydicom, which says why.

    Raises
    ------
    ReadError
        If sequence items nest deeper than :data:`MAX_DEPTH` levels.
    """
    scanned = scan_file(path)
    if scanned is None:
        return None
    try:
        elements = _raw_elements(scanned.elements, default_encoding)
        meta = _raw_elements(scanned.meta, default_encoding)
    except (ValueError, _NotQuickError):
        return None
    return RawDataset(
        elements,
        _encoding(elements, default_encoding),
        RawItem(meta, default_encoding),
    )


def _raw_elements(
    elements: list[Any], inherited: Encoding
) -> dict[BaseTag, RawDataElement | DataElement]:
    """Return scanned elements by tag, as pydicom's reader stores them.

    A sequence's items become :class:`~deidscope.files._items.RawItem`
    objects whose text inherits the character sets of the elements before
    the sequence. The recursion is as deep as the items nest: at most
    :data:`MAX_DEPTH` levels, which :func:`_scan` checked.
    """
    stored: dict[BaseTag, RawDataElement | DataElement] = {}
    new_raw = tuple.__new__
    for tag, vr, length, value, tell in elements:
        if vr is None:  # implicit VR
            known = _IMPLICIT_VRS.get(tag)
            if known is None:
                known = _implicit_vr(tag)
            if " or " in known and tag != _PIXEL_DATA:
                raise _NotQuickError  # pydicom corrects ambiguous VRs
        elif vr == "SQ":
            encoding = _encoding(stored, inherited) if value else inherited
            items = ItemList()
            for item in value:
                held = _raw_elements(item, encoding)
                items.append(RawItem(held, _encoding(held, encoding)))
            value = items
        key = BaseTag(tag)
        stored[key] = new_raw(
            RawDataElement, (key, vr, length, value, tell, vr is None, True)
        )
    return stored
