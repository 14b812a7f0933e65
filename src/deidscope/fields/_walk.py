"""The walk over a dataset's elements, in deid's order."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import NamedTuple

from pydicom import config as pydicom_config
from pydicom.charset import default_encoding
from pydicom.datadict import (
    dictionary_has_tag,
    dictionary_keyword,
    dictionary_VR,
    private_dictionary_VR,
    tag_for_keyword,
)
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from deidscope.fields._tags import format_tag, is_tag_text, parse_tag, private_name
from deidscope.files._items import (
    Encoding,
    ItemList,
    RawItem,
    charset_encoding,
    read_items,
)
from deidscope.files._scan import MAX_DEPTH, too_deep

__all__ = [
    "DEFAULT_SKIP",
    "ItemList",
    "WalkedField",
    "element_vr",
    "iter_fields",
    "resolve_vr",
]

#: Elements deid leaves out of ``get_identifiers`` (its ``config.json``):
#: pixel and palette data, and file-meta bookkeeping. Matched by keyword at
#: every depth, as deid does.
DEFAULT_SKIP: tuple[str, ...] = (
    "PixelData",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "VOILUTSequence",
    "FileMetaInformationGroupLength",
    "FileMetaInformationVersion",
    "TransferSyntaxUID",
    "ImplementationClassUID",
)


class WalkedField(NamedTuple):
    """One element met by :func:`iter_fields`.

    Attributes
    ----------
    uid : str
        Its nested uid.
    name : str
        Its nested name.
    tag : int
        Its own tag.
    keyword : str
        Its DICOM keyword, as ``DataElement.keyword`` gives it ("" for
        private elements, unknown tags and repeating groups).
    vr : str
        Its VR, as pydicom gives it once converted.
    dataset : pydicom.dataset.Dataset or RawItem
        The dataset (or sequence item) that holds it.
    raw : DataElement, RawDataElement or ItemList
        The element as stored in `dataset`: raw (unconverted) until someone
        converts it; with ``fast_items``, a sequence read without pydicom is
        an :class:`ItemList` of its items.
    is_filemeta : bool
        True for elements of the file meta information.
    depth : int
        0 at the top level, 1 inside a sequence item, and so on.
    private_creator : str or None
        The private creator of a private element's block, if it has one.
    """

    uid: str
    name: str
    tag: int
    keyword: str
    vr: str
    dataset: Dataset | RawItem
    raw: DataElement | RawDataElement | ItemList
    is_filemeta: bool
    depth: int
    private_creator: str | None


def _creator_of(
    ds: Dataset | RawItem, tag: int, cache: dict[int, str | None]
) -> str | None:
    """Return the private creator of `tag`'s block in `ds`, or None."""
    block = tag >> 8 & 0xFF
    if block < 0x10:  # a private creator element itself, or no block
        return None
    creator_tag = (tag & 0xFFFF0000) | block
    if creator_tag in cache:
        return cache[creator_tag]
    creator: str | None = None
    raw = ds.get_item(creator_tag, keep_deferred=True)
    if raw is not None:
        value = raw.value
        if isinstance(value, bytes):
            creator = value.decode("latin-1").strip(" \x00") or None
        elif isinstance(value, str):
            creator = value.strip(" \x00") or None
    cache[creator_tag] = creator
    return creator


def resolve_vr(raw: RawDataElement, creator: str | None) -> str:
    """Return the VR pydicom gives a raw element once converted.

    Implicit VR elements take the dictionary's VR (a private one through its
    creator); an explicit ``UN`` is replaced by the known VR, as pydicom does
    with its default ``replace_un_with_known_vr``.
    """
    return resolve_tag_vr(raw.tag, raw.VR, raw.value, creator)


def resolve_tag_vr(tag: int, vr: str | None, value: object, creator: str | None) -> str:
    """Return the VR pydicom gives an element stored raw with `vr` (None if implicit).

    :func:`resolve_vr` from the raw element's parts: its `tag`, stored
    `vr` and raw `value`, and its block's private `creator`.
    """
    if vr is not None and not (vr == "UN" and pydicom_config.replace_un_with_known_vr):
        return str(vr)
    if tag >> 16 & 1:
        if tag & 0xFF00 == 0:
            return "LO" if tag & 0xFF >= 0x10 else "UN"
        if creator:
            try:
                return str(private_dictionary_VR(tag, creator))
            except KeyError:
                pass
        return "UN"
    if vr == "UN" and value is not None and len(value) >= 0xFFFF:  # type: ignore[arg-type]
        return "UN"
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        if vr is None and tag & 0xFFFF == 0:
            return "UL"
        return "UN"


def _skip_sets(skip: Collection[str | int]) -> tuple[set[int], set[str]]:
    """Return the tags and keywords to skip (keywords' tags included)."""
    keywords: set[str] = set()
    tags: set[int] = set()
    for item in skip:
        if isinstance(item, int):
            tags.add(item)
            continue
        if is_tag_text(item):
            tags.add(parse_tag(item))
        else:
            keywords.add(item)
    for keyword in list(keywords):
        tag = tag_for_keyword(keyword)
        if tag is not None:
            tags.add(int(tag))
    return tags, keywords


_TAG_INFO: dict[int, tuple[str, str]] = {}
_TAG_INFO_LIMIT = 1 << 16


def _tag_info(tag: int) -> tuple[str, str]:
    """Return a tag's text and its keyword by ``DataElement.keyword``'s rule.

    Repeating groups (``60xx``) and private tags have no keyword. Cached: a
    dataset of a million files holds a few thousand distinct tags.
    """
    info = _TAG_INFO.get(tag)
    if info is None:
        if len(_TAG_INFO) >= _TAG_INFO_LIMIT:
            _TAG_INFO.clear()
        keyword = (
            dictionary_keyword(tag)
            if not tag >> 16 & 1 and dictionary_has_tag(tag)
            else ""
        )
        info = _TAG_INFO[tag] = (format_tag(tag), keyword)
    return info


def _encoding_of(dataset: Dataset | RawItem, inherited: Encoding) -> Encoding:
    """Return the character set(s) of a dataset's text, as pydicom decides."""
    if isinstance(dataset, RawItem):
        return dataset.encoding
    stored = dataset.get_item(0x00080005, keep_deferred=True)
    return charset_encoding(getattr(stored, "value", None), inherited)


def _in_tag_order(
    dataset: Dataset | RawItem,
) -> list[tuple[BaseTag, DataElement | RawDataElement]]:
    """Return a dataset's (tag, stored element) pairs sorted by tag.

    Read from a file they nearly always are already; checking that on plain
    ints is much cheaper than sorting ``BaseTag`` objects.
    """
    items: list[tuple[BaseTag, DataElement | RawDataElement]] = list(dataset.items())
    tags = list(map(int, dataset.keys()))
    ordered = sorted(tags)
    if tags == ordered:
        return items
    position = {tag: i for i, tag in enumerate(tags)}
    return [items[position[tag]] for tag in ordered]


def element_vr(
    dataset: Dataset | RawItem,
    key: BaseTag,
    stored: DataElement | RawDataElement,
    creator: str | None,
    encoding: Encoding,
    fast_items: bool,
) -> tuple[str, DataElement | RawDataElement | ItemList]:
    """Return an element's VR, and what the walk gives as its ``raw``.

    The VR is pydicom's once converted; a sequence read without pydicom
    (by the quick reader, or by :func:`read_items` with `fast_items`) is an
    :class:`ItemList`; other sequences and ambiguous VRs are converted by
    pydicom (in `dataset`, as any access would).
    """
    if isinstance(stored, DataElement):
        return stored.VR, stored
    vr = (
        resolve_vr(stored, creator)
        if stored.VR is None or stored.VR == "UN"
        else str(stored.VR)
    )
    items: list[RawItem] | None = None
    value: object = stored.value
    if vr == "SQ" and type(value) is ItemList:
        items = value  # read with the file (quick reader)
    elif vr == "SQ" and fast_items:
        items = read_items(stored, encoding)
    if items is not None:
        return vr, items if isinstance(items, ItemList) else ItemList(items)
    if vr == "SQ" or " or " in vr:
        converted = dataset[key]
        return converted.VR, converted
    return vr, stored


def iter_fields(
    ds: Dataset,
    *,
    expand_sequences: bool = True,
    skip: Collection[str | int] = DEFAULT_SKIP,
    fast_items: bool = False,
) -> Iterator[WalkedField]:
    """Walk a dataset's elements in deid's order, converting as little as possible.

    The elements of `ds` come first, then those of ``ds.file_meta``, then the
    elements of sequence items, breadth-first, as in deid's
    ``get_identifiers``. A sequence is listed itself and, when
    `expand_sequences` is true, followed (later) by its items' elements.
    Values are not decoded: ``raw`` is whatever `ds` holds, so values that
    were deferred at read time stay on disk. Sequences and elements with an
    ambiguous VR (``US or SS``) are converted by pydicom, as any access
    would; nothing else about `ds` changes.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset to walk.
    expand_sequences : bool, optional
        Walk into sequence items (default True).
    skip : collection of str or int, optional
        Keywords and tags (``"PixelData"``, ``"(7fe0, 0010)"``, ``0x7FE00010``)
        to leave out at every depth; a skipped sequence's items are not
        walked. Defaults to :data:`DEFAULT_SKIP`.
    fast_items : bool, optional
        Read the items of explicit-VR sequences straight from their bytes
        (:func:`~deidscope.files._items.read_items`) instead of building
        pydicom Datasets: several times faster, with the same fields and
        values. The items are then :class:`RawItem` objects, and such a
        sequence's ``raw`` an :class:`ItemList`. Default False.

    Yields
    ------
    WalkedField
        One per element, with its uid, name, VR, depth and parent dataset.

    Raises
    ------
    ValueError
        If sequence items nest deeper than
        :data:`deidscope.files.MAX_DEPTH` levels (a hostile file: the uids
        would grow with the square of the depth).
    """
    skip_tags, skip_keywords = _skip_sets(skip)
    tag_info = _TAG_INFO.get
    new_field = tuple.__new__
    seen: set[str] = set()
    queue: list[tuple[Dataset | RawItem, str | None, str | None, bool, int, Encoding]]
    queue = [(ds, None, None, False, 0, default_encoding)]
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None and len(file_meta):
        queue.append((file_meta, None, None, True, 0, default_encoding))
    position = 0
    while position < len(queue):
        dataset, name_prefix, uid_prefix, is_filemeta, depth, encoding = queue[position]
        position += 1
        if fast_items:
            encoding = _encoding_of(dataset, encoding)
        creators: dict[int, str | None] = {}
        # items() holds the elements as stored: raw ones stay raw (and deferred)
        for key, stored in _in_tag_order(dataset):
            tag = int(key)
            own_uid, keyword = tag_info(tag) or _tag_info(tag)
            if tag in skip_tags or keyword in skip_keywords:
                continue
            uid = own_uid if uid_prefix is None else f"{uid_prefix}__{own_uid}"
            if uid in seen:
                continue
            seen.add(uid)
            raw: DataElement | RawDataElement | ItemList = stored
            vr: str
            creator: str | None = None
            label = keyword
            if tag >> 16 & 1:
                creator = _creator_of(dataset, tag, creators)
                if creator is not None:
                    label = private_name(tag, creator)
                else:
                    label = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            name = label if name_prefix is None else f"{name_prefix}__{label}"
            vr, raw = element_vr(
                dataset, key, stored, creator, encoding, fast_items and expand_sequences
            )
            # tuple.__new__ skips the NamedTuple's Python-level __new__ (hot path)
            yield new_field(
                WalkedField,
                (
                    uid,
                    name,
                    tag,
                    keyword,
                    vr,
                    dataset,
                    raw,
                    is_filemeta,
                    depth,
                    creator,
                ),
            )
            if not expand_sequences or vr != "SQ":
                continue
            children = raw if isinstance(raw, ItemList) else raw.value or ()
            if depth >= MAX_DEPTH and children:
                # uids and names grow with the depth: bounded, as the reader is
                raise ValueError(too_deep(f" at {uid}"[:80]))
            for index, item in enumerate(children):
                if isinstance(item, Dataset | RawItem):
                    queue.append(
                        (item, name, f"{uid}__{index}", False, depth + 1, encoding)
                    )
