"""Tags, uids and private names as text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydicom.datadict import tag_for_keyword

from deidscope.errors import InputError

__all__ = [
    "format_tag",
    "format_uid",
    "is_tag_text",
    "normalize_uid",
    "parse_tag",
    "private_name",
]

_HEX_TAG = re.compile(
    r"^\s*\(?\s*(?:0x)?([0-9a-fA-F]{4})\s*,\s*(?:0x)?([0-9a-fA-F]{4})\s*\)?\s*$"
)
_BARE_TAG = re.compile(r"^\s*(?:0x)?([0-9a-fA-F]{8})\s*$")
_PRIVATE_NAME = re.compile(
    r'^\(?([0-9a-fA-F]{4}),\s*"([^"]*)"\s*,\s*([0-9a-fA-F]{2})\)?$'
)


def format_tag(tag: int) -> str:
    """Write a tag as deid's documentation does: ``(gggg, eeee)``.

    Parameters
    ----------
    tag : int
        The tag as a 32-bit integer (a pydicom ``BaseTag`` is one).

    Returns
    -------
    str
        Lowercase hex, with a space after the comma.

    Examples
    --------
    >>> format_tag(0x0020000D)
    '(0020, 000d)'
    """
    return f"({tag >> 16:04x}, {tag & 0xFFFF:04x})"


def parse_tag(text: str | int) -> int:
    """Read a tag written in any of the usual forms.

    Parameters
    ----------
    text : str or int
        ``"(0010, 0010)"``, ``"(0010,0010)"``, ``"00100010"``,
        ``"0x00100010"``, a keyword such as ``"PatientName"``, or an int.

    Returns
    -------
    int
        The tag as a 32-bit integer.

    Raises
    ------
    InputError
        If `text` is none of these forms.

    Examples
    --------
    >>> hex(parse_tag("(0010,0010)")), hex(parse_tag("PatientID"))
    ('0x100010', '0x100020')
    """
    if isinstance(text, int):
        if not 0 <= text <= 0xFFFFFFFF:
            raise InputError(f"parse_tag: {text} is not a 32-bit DICOM tag")
        return int(text)
    if not isinstance(text, str):
        raise InputError(
            f"parse_tag: expected a tag as str or int, but got {type(text).__name__}"
        )
    match = _HEX_TAG.match(text)
    if match:
        return int(match.group(1), 16) << 16 | int(match.group(2), 16)
    match = _BARE_TAG.match(text)
    if match:
        return int(match.group(1), 16)
    tag = tag_for_keyword(text.strip())
    if tag is None:
        raise InputError(
            f"parse_tag: {text!r} is not a tag ('(0010, 0010)', '00100010') "
            "or a DICOM keyword"
        )
    return int(tag)


def format_uid(path: Iterable[int | str]) -> str:
    """Join tags and item indexes into a uid.

    Parameters
    ----------
    path : iterable of int or str
        Tags (int) alternating with item indexes (str or int after a tag).

    Returns
    -------
    str
        E.g. ``(0008, 1115)__0__(0008, 1150)``.

    Examples
    --------
    >>> format_uid([0x00081115, "0", 0x00081150])
    '(0008, 1115)__0__(0008, 1150)'
    """
    parts: list[str] = []
    for i, part in enumerate(path):
        if i % 2 == 0:
            parts.append(format_tag(parse_tag(part)))
        else:
            parts.append(str(int(part)))
    return "__".join(parts)


def normalize_uid(uid: str) -> str:
    """Rewrite a uid in any accepted tag form into the spec's form.

    Parameters
    ----------
    uid : str
        A uid such as ``(0008,1115)__0__(0008,1150)`` (deid on pydicom 3),
        ``00081115__0__00081150`` or the spec's own form.

    Returns
    -------
    str
        The same uid as ``(0008, 1115)__0__(0008, 1150)``.

    Raises
    ------
    InputError
        If a part is neither a tag nor an item index.

    Examples
    --------
    >>> normalize_uid("(0008,1115)__0__(0008,1150)")
    '(0008, 1115)__0__(0008, 1150)'
    """
    parts = uid.split("__")
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            if not part.strip().isdigit():
                raise InputError(
                    f"normalize_uid: expected an item index after a tag in {uid!r}, "
                    f"but got {part!r}"
                )
            out.append(str(int(part)))
            continue
        match = _HEX_TAG.match(part) or _BARE_TAG.match(part)
        if match is None:
            raise InputError(
                f"normalize_uid: {part!r} in {uid!r} is not a tag like '(0010, 0010)'"
            )
        out.append(format_tag(parse_tag(part)))
    return "__".join(out)


def private_name(tag: int, creator: str) -> str:
    """Name a private element the way deid's recipes do.

    Parameters
    ----------
    tag : int
        The element's tag.
    creator : str
        The private creator of its block.

    Returns
    -------
    str
        ``(gggg,"CREATOR",ee)``: uppercase hex group, the creator in double
        quotes, and the element's offset in its block.

    Examples
    --------
    >>> private_name(0x00091004, "GEMS_IDEN_01")
    '(0009,"GEMS_IDEN_01",04)'
    """
    return f'({tag >> 16:04X},"{creator}",{tag & 0xFF:02X})'


def is_tag_text(text: str) -> bool:
    """Tell whether `text` is a tag written as ``(gggg,eeee)`` or ``ggggeeee``.

    Parameters
    ----------
    text : str
        The text.

    Returns
    -------
    bool
        True for ``"(0010, 0010)"``, ``"(0010,0010)"``, ``"00100010"``; False
        for keywords and anything else.

    Examples
    --------
    >>> is_tag_text("(0010,0010)"), is_tag_text("PatientName")
    (True, False)
    """
    return _HEX_TAG.match(text) is not None or _BARE_TAG.match(text) is not None
