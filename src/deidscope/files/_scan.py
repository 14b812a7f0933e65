"""The structure of a DICOM byte stream, checked without pydicom and without recursion.

Both readers need to know where a file's data set starts and whether its
bytes hold whole elements: :func:`data_set_start` finds the end of the file
meta information, :func:`find_damage` walks the element headers of a data
set (any encoding, any nesting depth, with an explicit stack) and says where
the file ends too early, and :func:`inflate` inflates a deflated data set up
to :data:`INFLATE_LIMIT` bytes. The bounds on hostile input live here:

- :data:`MAX_DEPTH`: sequences nested deeper than this are refused (the
  frame's ``depth`` column and the rows' uids grow with the depth; a file
  of a few hundred kilobytes could otherwise ask for gigabytes of uids);
- :data:`INFLATE_LIMIT`: a deflated data set that inflates past this many
  bytes is refused before pydicom inflates it (a 3 MB file can inflate to
  gigabytes);
- declared lengths are only ever compared with the file's size, never
  allocated.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from typing import Final

from pydicom._dicom_dict import DicomDictionary
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

__all__ = [
    "INFLATE_LIMIT",
    "MAX_DEPTH",
    "data_set_start",
    "find_damage",
    "inflate",
    "too_deep",
]

#: Sequences may nest this deep (the top level is depth 0); deeper is refused.
MAX_DEPTH: Final = 127
#: A deflated data set may inflate to at most this many bytes (256 MiB).
INFLATE_LIMIT: Final = 256 << 20

_ITEM: Final = 0xFFFEE000
_ITEM_END: Final = 0xFFFEE00D
_SEQUENCE_END: Final = 0xFFFEE0DD
_UNDEFINED: Final = 0xFFFFFFFF
_PIXEL_DATA: Final = 0x7FE00010
_VRS: Final = frozenset(vr.value.encode("ascii") for vr in VR if len(vr.value) == 2)
_LONG_VRS: Final = frozenset(str(vr).encode("ascii") for vr in EXPLICIT_VR_LENGTH_32)
_HEADER_LE = struct.Struct("<HH2sH").unpack_from
_HEADER_BE = struct.Struct(">HH2sH").unpack_from
_TAG_LENGTH_LE = struct.Struct("<HHL").unpack_from
_TAG_LENGTH_BE = struct.Struct(">HHL").unpack_from
_LONG_LE = struct.Struct("<L").unpack_from
_LONG_BE = struct.Struct(">L").unpack_from


def too_deep(where: str = "") -> str:
    """Return the reason given for a file nested deeper than :data:`MAX_DEPTH`."""
    return (
        f"sequences nested deeper than {MAX_DEPTH} levels{where}: refused "
        "(deidscope.files MAX_DEPTH)"
    )


def data_set_start(buf: bytes | mmap.mmap, size: int) -> tuple[int, bytes] | None:
    """Return where the data set starts and the raw transfer syntax UID.

    The file meta information (group 0002, explicit VR little endian) is
    read from byte 132 after a ``DICM`` marker, else from byte 0 if the file
    starts with it; a file without any starts its data set at 0 (with an
    empty transfer syntax).

    Returns
    -------
    tuple of (int, bytes) or None
        The offset, and the transfer syntax value (padding stripped); None
        if the file meta cannot be walked (then nothing is claimed about it).
    """
    offset = 132 if size >= 132 and bytes(buf[128:132]) == b"DICM" else 0
    syntax = b""
    while size - offset >= 8:
        group, element, vr, length = _HEADER_LE(buf, offset)
        if group != 2:
            break
        if not (b"AA" <= vr <= b"ZZ"):
            return None  # an implicit VR file meta: pydicom's business
        header = 8
        if vr in _LONG_VRS:
            if size - offset < 12:
                return None
            (length,) = _LONG_LE(buf, offset + 8)
            header = 12
        if length == _UNDEFINED:
            return None
        if element == 0x0010:
            syntax = bytes(buf[offset + header : offset + header + length])
        offset += header + length
    if offset > size:
        return None
    return offset, syntax.strip(b" \x00")


def inflate(data: bytes, limit: int | None = None) -> tuple[bytes, int]:
    """Inflate a deflated data set, refusing to go past `limit` bytes.

    Parameters
    ----------
    data : bytes
        The deflated bytes (all of the file after its file meta).
    limit : int or None, optional
        The most bytes it may inflate to; None is :data:`INFLATE_LIMIT`.

    Returns
    -------
    tuple of (bytes, int)
        The inflated bytes, and how many bytes follow the end of the
        deflate stream (stray bytes: 0 in a whole file).

    Raises
    ------
    ValueError
        If it would inflate past `limit` (the message says so), or is not a
        valid deflate stream.
    """
    if limit is None:
        limit = INFLATE_LIMIT
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    parts: list[bytes] = []
    total = 0
    pending = data
    try:
        while not inflater.eof:
            part = inflater.decompress(pending, 1 << 20)  # at most 1 MiB a step
            pending = inflater.unconsumed_tail
            if not part and not pending:
                break
            total += len(part)
            if total > limit:
                raise ValueError(
                    f"the deflated data set inflates past {limit >> 20} MiB "
                    "(deidscope.files INFLATE_LIMIT): refused"
                )
            parts.append(part)
    except zlib.error as exc:
        raise ValueError(f"the deflated data set cannot be inflated: {exc}") from None
    return b"".join(parts), len(inflater.unused_data)


def find_damage(
    buf: bytes | mmap.mmap,
    start: int,
    end: int,
    *,
    implicit: bool,
    little: bool,
) -> str | None:
    """Say where a data set's bytes end too early, or None if they hold whole elements.

    Walks the element headers from `start` to `end` with an explicit stack
    (no recursion, any depth), into sequences and items of either length;
    values are only checked to fit in the file (never read). Claims only
    what the bytes prove:

    - a value (or an item) that runs past the end of the file, also
      inside an item whose own length ends sooner;
    - stray bytes after the last element, too few for an element header;
    - an undefined-length sequence, item or pixel data not closed before
      the end of the file;
    - items nested deeper than :data:`MAX_DEPTH` (the reason is
      :func:`too_deep`'s; the caller refuses the file).

    Anything else unusual (an unknown tag where an item should be, an
    element running past its item) ends the walk without a claim: it is not
    a sign of truncation.

    Parameters
    ----------
    buf : bytes or mmap.mmap
        The bytes.
    start, end : int
        Where the data set starts and where the bytes end.
    implicit, little : bool
        The data set's encoding (explicit VR inside an undefined-length
        ``UN`` switches to implicit VR, as the standard says).

    Returns
    -------
    str or None
        The reason, naming the offset, or None.
    """
    header_of = _HEADER_LE if little else _HEADER_BE
    tag_length_of = _TAG_LENGTH_LE if little else _TAG_LENGTH_BE
    long_of = _LONG_LE if little else _LONG_BE
    sequences = _sequence_tags()
    # the open containers: (holds items, implicit VR, end or -1 if it ends
    # with a delimiter, the end of the innermost one of defined length, its
    # items are pixel data fragments); the top level is an element list, a
    # sequence holds items, an item holds elements (a fragment holds bytes)
    stack: list[tuple[bool, bool, int, int, bool]] = [
        (False, implicit, end, end, False)
    ]
    depth = 0  # items open
    offset = start
    while True:
        # bound: the end of the innermost container of defined length
        in_sequence, is_implicit, limit, bound, fragments = stack[-1]
        if limit >= 0 and offset >= limit:
            if offset > limit:
                return None  # ran past its container: not a cut, not claimed
            if len(stack) == 1:
                return None
            stack.pop()
            depth -= not in_sequence
            continue
        if offset >= end:
            what = "a sequence or pixel data" if in_sequence else "a sequence item"
            return (
                f"truncated: the file ends inside {what} of undefined length "
                f"(nesting level {depth}) at offset {offset}"
            )
        if end - offset < 8:
            return (
                f"truncated: {end - offset} stray bytes after the last element "
                f"(offset {offset}): an element header cut short"
            )
        if in_sequence:
            group, element, length = tag_length_of(buf, offset)
            tag = group << 16 | element
            offset += 8
            if tag == _SEQUENCE_END and limit < 0:
                stack.pop()
                continue
            if tag != _ITEM:
                return None  # not an item: damage of another kind, not claimed
            if length != _UNDEFINED and offset + length > bound:
                if offset + length <= end:
                    return None  # past its sequence's end, in the file: not a cut
                return (
                    f"truncated: an item needs {length} bytes from offset "
                    f"{offset}, but the file ends at {end} bytes"
                )
            if fragments:  # encapsulated pixel data: bytes, not elements
                if length == _UNDEFINED:
                    return None  # a fragment has a length: not claimed
                offset += length
                continue
            if depth >= MAX_DEPTH:
                return too_deep()
            depth += 1
            if length == _UNDEFINED:
                stack.append((False, is_implicit, -1, bound, False))
            else:
                item_end = offset + length
                stack.append((False, is_implicit, item_end, item_end, False))
            continue
        if is_implicit:
            group, element, length = tag_length_of(buf, offset)
            vr = b""
            value_tell = offset + 8
        else:
            group, element, vr, length = header_of(buf, offset)
            value_tell = offset + 8
            if vr not in _VRS and group != 0xFFFE:
                return None  # not a VR: pydicom read it its own way
            if vr in _LONG_VRS and group != 0xFFFE:
                if end - offset < 12:
                    return (
                        f"truncated: {end - offset} stray bytes after the last "
                        f"element (offset {offset}): an element header cut short"
                    )
                (length,) = long_of(buf, offset + 8)
                value_tell = offset + 12
        tag = group << 16 | element
        if group == 0xFFFE:
            if tag == _ITEM_END and len(stack) > 1 and limit < 0:
                stack.pop()
                depth -= 1
                offset += 8
                continue
            return None  # a delimiter out of place: not claimed
        if length == _UNDEFINED:
            # a sequence, or encapsulated pixel data: items up to a delimiter;
            # inside an explicit UN of undefined length, items are implicit VR
            pixels = tag == _PIXEL_DATA or vr in (b"OB", b"OW")
            stack.append((True, is_implicit or vr == b"UN", -1, bound, pixels))
            offset = value_tell
            continue
        offset = value_tell + length
        if offset > bound:
            if offset <= end:
                return None  # past its item's end, in the file: not claimed
            return (
                f"truncated: element ({group:04x}, {element:04x}) needs "
                f"{length} bytes from offset {value_tell}, but the file ends "
                f"at {end} bytes"
            )
        if length and (vr == b"SQ" or (is_implicit and tag in sequences)):
            stack.append((True, is_implicit, offset, offset, False))  # its items
            offset = value_tell


_SEQUENCES: set[int] = set()


def _sequence_tags() -> set[int]:
    """Return the tags the DICOM dictionary gives the VR ``SQ`` (built once)."""
    if not _SEQUENCES:
        _SEQUENCES.update(
            tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ"
        )
    return _SEQUENCES
