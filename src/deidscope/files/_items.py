"""Sequence items read straight from a sequence's bytes, without pydicom Datasets.

Opening a sequence through pydicom builds a ``Dataset`` per item, which costs
more than reading the item's elements. :func:`read_items` reads the items of
an explicit-VR sequence of defined length into :class:`RawItem` objects that
hold the raw elements, and converts an element with pydicom only when
someone asks for it. Anything out of the ordinary (implicit VR, an item that
switches VR, a malformed item) returns None, and the caller lets pydicom
read the sequence as usual: the result is the same, only slower.
"""

from __future__ import annotations

import struct
from collections.abc import ItemsView, KeysView, MutableSequence
from io import BytesIO
from typing import Any

from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.filereader import data_element_generator
from pydicom.tag import BaseTag

__all__ = ["ItemList", "RawItem", "charset_encoding", "read_items"]

_ITEM = 0xFFFEE000
_SEQUENCE_END = 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_CHARSET = BaseTag(0x00080005)

Encoding = str | MutableSequence[str]


def charset_encoding(value: Any, inherited: Encoding) -> Encoding:
    """Return the character set(s) a Specific Character Set value selects.

    Parameters
    ----------
    value : bytes, str, list of str or None
        The value of (0008, 0005), raw or converted.
    inherited : str or list of str
        The encoding to use when `value` is empty or missing.

    Returns
    -------
    str or list of str
        Python codec names, as ``pydicom.charset.convert_encodings`` gives.
    """
    if isinstance(value, bytes):
        value = [v.strip(" \x00") for v in value.decode("latin-1").split("\\")]
    if not value:
        return inherited
    return convert_encodings(value)


class RawItem:
    """One sequence item: its elements as read, converted on request.

    It offers the part of ``pydicom.dataset.Dataset`` the walk and the value
    formatting use: ``items()``, ``keys()``, ``get_item()``, ``get()`` and
    ``item[tag]`` (which converts the element as pydicom would, once).

    Parameters
    ----------
    elements : dict
        The item's elements by tag, raw or converted.
    encoding : str or list of str
        The character set(s) its text is encoded with.
    """

    __slots__ = ("_elements", "encoding")

    def __init__(
        self, elements: dict[BaseTag, RawDataElement | DataElement], encoding: Encoding
    ) -> None:
        self._elements = elements
        self.encoding = encoding

    def __len__(self) -> int:
        return len(self._elements)

    def __contains__(self, tag: object) -> bool:
        return tag in self._elements

    def items(self) -> ItemsView[BaseTag, RawDataElement | DataElement]:
        """Return the (tag, element) pairs, elements as stored."""
        return self._elements.items()

    def keys(self) -> KeysView[BaseTag]:
        """Return the tags."""
        return self._elements.keys()

    def get_item(
        self, tag: int, *, keep_deferred: bool = True
    ) -> RawDataElement | DataElement | None:
        """Return the element at `tag` as stored (raw or converted), or None."""
        return self._elements.get(BaseTag(tag))

    def get(self, tag: int, default: Any = None) -> Any:
        """Return the converted element at `tag`, or `default`."""
        return self[tag] if BaseTag(tag) in self._elements else default

    def __getitem__(self, tag: int) -> DataElement:
        key = BaseTag(tag)
        stored = self._elements[key]
        if isinstance(stored, DataElement):
            return stored
        elem = convert_raw_data_element(stored, encoding=self.encoding, ds=self)  # type: ignore[arg-type]
        if key.is_private and key.element >> 8:
            elem.private_creator = self.creator_of(key)
        self._elements[key] = elem
        return elem

    def creator_of(self, tag: int) -> str | None:
        """Return the private creator of `tag`'s block, or None.

        The creator's value converted as pydicom converts it, without
        storing the conversion; a creator whose value is not text (its VR
        damaged, say ``US``) gives its bytes as text, as the frame shows it,
        never a list that would make a field unhashable.
        """
        group, element = tag >> 16, tag & 0xFFFF
        stored = self._elements.get(BaseTag(group << 16 | element >> 8))
        if stored is None or element >> 8 == 0 or stored.tag == tag:
            return None
        if isinstance(stored, DataElement):
            value = stored.value
        else:
            try:
                value = convert_raw_data_element(
                    stored,
                    encoding=self.encoding,
                    ds=self,  # type: ignore[arg-type]
                ).value
            except Exception:  # a damaged creator: its bytes' text below
                value = None
            if not isinstance(value, str) and isinstance(stored.value, bytes):
                value = stored.value.decode("latin-1").strip(" \x00") or None
        return value if isinstance(value, str) else None


class ItemList(list[RawItem]):
    """The items of a sequence, read without pydicom Datasets.

    The quick reader stores one as the value of a raw ``SQ`` element; the
    walk gives one as such a sequence's ``raw``.
    """


def read_items(raw: RawDataElement, encoding: Encoding) -> list[RawItem] | None:
    """Read the items of a raw sequence element, or None to leave it to pydicom.

    Parameters
    ----------
    raw : pydicom.dataelem.RawDataElement
        A sequence (explicit VR ``SQ``) whose value was read with its length.
    encoding : str or list of str
        The character set(s) of the dataset holding it.

    Returns
    -------
    list of RawItem or None
        The items in order, or None if the sequence is implicit VR, has an
        item that is not explicit VR, or cannot be read this way.
    """
    value = raw.value
    if raw.is_implicit_VR or raw.VR != "SQ" or not isinstance(value, bytes):
        return None
    header = struct.Struct("<HHL" if raw.is_little_endian else ">HHL")
    fp = BytesIO(value)
    end = len(value)
    items: list[RawItem] = []
    try:
        while fp.tell() < end:
            chunk = fp.read(8)
            if len(chunk) < 8:
                return None
            group, element, length = header.unpack(chunk)
            tag = group << 16 | element
            if tag == _SEQUENCE_END:
                break
            if tag != _ITEM:
                return None
            start = fp.tell()
            if length and not b"AA" <= value[start + 4 : start + 6] <= b"ZZ":
                return None  # an item in implicit VR inside an explicit file
            elements: dict[BaseTag, RawDataElement | DataElement] = {}
            generator = data_element_generator(
                fp, False, raw.is_little_endian, encoding=encoding
            )
            if length == _UNDEFINED:
                for elem in generator:  # stops after the item delimiter
                    elements[elem.tag] = elem
            else:
                while fp.tell() - start < length:
                    elem = next(generator)
                    elements[elem.tag] = elem
                if fp.tell() - start != length:
                    return None
            item_encoding = encoding
            charset = elements.get(_CHARSET)
            if isinstance(charset, RawDataElement) and charset.value:
                names = charset.value.decode("latin-1").strip(" \x00").split("\\")
                item_encoding = convert_encodings([n.strip() for n in names])
            items.append(RawItem(elements, item_encoding))
    except Exception:  # anything unusual: pydicom reads it (and reports it)
        return None
    return items
