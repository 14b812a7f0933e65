"""DICOM fields: tags and uids as text, :class:`DicomField`, and the walk.

A *field* is one data element of a file, addressed by a *uid* that records
where it sits: ``(0010, 0010)`` for a top-level element, and
``(0008, 1115)__0__(0008, 1150)`` for an element of the first item of a
sequence. Its *name* joins keywords the same way
(``ReferencedSeriesSequence__ReferencedSOPClassUID``). These are the forms
of deid's documentation (``../spec``); deid running on pydicom 3 writes the
tag without the space, ``(0008,1115)__0__(0008,1150)``, and that form is
accepted wherever a uid is looked up.

:func:`iter_fields` walks a dataset in deid's order: the elements of the
dataset, then those of its file meta, then the items of sequences,
breadth-first. Everything that lists fields (``get_identifiers``, the long
DataFrame, recipes) uses this one walk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any, NamedTuple

from pydicom import config as pydicom_config
from pydicom.datadict import (
    dictionary_has_tag,
    dictionary_keyword,
    dictionary_VR,
    private_dictionary_VR,
    tag_for_keyword,
)
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

from deidscope.errors import InputError

__all__ = [
    "DEFAULT_SKIP",
    "DicomField",
    "FieldMap",
    "WalkedField",
    "format_tag",
    "format_uid",
    "iter_fields",
    "normalize_uid",
    "parse_tag",
    "private_name",
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


class DicomField:
    """One data element of a file, where it sits, and what it is called.

    The class of deid's ``get_identifiers`` results, with the same attributes
    and methods.

    Parameters
    ----------
    element : pydicom.dataelem.DataElement
        The element, or a callable returning it (a value not yet read from
        its file is read on first access).
    name : str
        The nested name, e.g. ``ReferencedImageSequence__ReferencedSOPClassUID``.
    uid : str
        The nested uid, e.g. ``(0008, 1140)__0__(0008, 1150)``.
    is_filemeta : bool, optional
        True for elements of the file meta information (group 0002).

    Examples
    --------
    >>> from pydicom.dataelem import DataElement
    >>> field = DicomField(DataElement(0x00100010, "PN", "falling disk"),
    ...                    "PatientName", "(0010, 0010)")
    >>> field
    (0010, 0010) Patient's Name                      PN: 'falling disk'  [PatientName]
    >>> field.stripped_tag, field.name_contains("patient")
    ('00100010', True)
    """

    __slots__ = ("_element", "is_filemeta", "name", "uid")

    def __init__(
        self,
        element: DataElement | Callable[[], DataElement],
        name: str,
        uid: str,
        is_filemeta: bool = False,
    ) -> None:
        self._element = element
        self.name = name
        self.uid = uid
        self.is_filemeta = is_filemeta

    @property
    def element(self) -> DataElement:
        """The pydicom data element."""
        if not isinstance(self._element, DataElement):
            self._element = self._element()
        return self._element

    @property
    def tag(self) -> str:
        """The element's own tag, as ``(gggg, eeee)``."""
        return format_tag(self.element.tag)

    @property
    def stripped_tag(self) -> str:
        """The element's own tag as 8 hex digits, e.g. ``00100010``."""
        return f"{int(self.element.tag):08X}"

    def __str__(self) -> str:
        elem = self.element
        width = elem.descripWidth
        return (
            f"{format_tag(elem.tag)} {elem.name[:width]:<{width}} "
            f"{elem.VR}: {elem.repval}  [{self.name}]"
        )

    __repr__ = __str__

    def name_contains(self, expression: str | re.Pattern[str]) -> bool:
        """Tell whether the name, keyword or tag matches a regular expression.

        As deid's: the nested name, the tag as ``(gggg,eeee)`` or
        ``ggggeeee``, the element's dictionary name and keyword, and for a
        private element its ``(gggg,"CREATOR",ee)`` form are searched,
        ignoring case.

        Parameters
        ----------
        expression : str or re.Pattern
            A regular expression.

        Returns
        -------
        bool
            True if any of them matches.
        """
        if isinstance(expression, str):
            expression = re.compile(expression, re.IGNORECASE)
        elem = self.element
        tag = elem.tag
        candidates = [
            self.name.lower(),
            f"({tag.group:04x},{tag.element:04x})",
            self.stripped_tag,
            elem.name,
            elem.keyword,
        ]
        if elem.is_private and elem.private_creator is not None:
            stripped = private_name(tag, elem.private_creator)[1:-1]
            candidates += [stripped, f"({stripped})"]
        return any(expression.search(text) for text in candidates)

    def value_contains(self, expression: str | re.Pattern[str]) -> bool:
        """Tell whether any value of the element matches a regular expression.

        As deid's: each value (a multi-valued element has several) is turned
        into text with ``str`` and searched, ignoring case.

        Parameters
        ----------
        expression : str or re.Pattern
            A regular expression.

        Returns
        -------
        bool
            True if any value matches.
        """
        values = self.element.value
        if not isinstance(values, list):
            values = [values]
        flags = 0 if isinstance(expression, re.Pattern) else re.IGNORECASE
        return any(re.search(expression, str(value), flags) for value in values)

    def select_matches(self, expression: str) -> bool:
        """Tell whether the element has a VR or group, as deid's ``select:``.

        Parameters
        ----------
        expression : str
            ``"VR:PN"`` (the first two letters count) or ``"group:0010"``
            (hex), ignoring case.

        Returns
        -------
        bool
            True if the element has that VR or is in that group; False for
            any other attribute.

        Raises
        ------
        InputError
            If `expression` has no ``:`` or the group is not hex.
        """
        attribute, sep, value = expression.partition(":")
        if not sep:
            raise InputError(
                f"select_matches: expected 'VR:<vr>' or 'group:<hex>', "
                f"but got {expression!r}"
            )
        attribute = attribute.upper()
        if attribute == "VR":
            return bool(self.element.VR == value[:2].upper())
        if attribute == "GROUP":
            try:
                group = int(value, 16)
            except ValueError:
                raise InputError(
                    f"select_matches: group must be hex like '0010', but got {value!r}"
                ) from None
            return bool(self.element.tag.group == group)
        return False


class FieldMap(dict[str, DicomField]):
    """The fields of one file: ``{uid: DicomField}`` with forgiving lookups.

    Keys are uids in the spec's form. Looking up also accepts deid's
    pydicom-3 form ``(0008,1115)__0__(0008,1150)``, bare hex ``00100010``,
    and, for top-level fields, a keyword such as ``PatientName``.

    Attributes
    ----------
    error : str or None
        Why the file could not be read, or None when it was read. A file
        that could not be read has no fields.
    """

    __slots__ = ("error",)

    def __init__(self, *args: Any, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error = error

    def _resolve(self, key: object) -> str | None:
        if not isinstance(key, str):
            return None
        if "__" not in key and _HEX_TAG.match(key) is None and _BARE_TAG.match(key) is None:
            tag = tag_for_keyword(key)
            return None if tag is None else format_tag(tag)
        try:
            return normalize_uid(key)
        except InputError:
            return None

    def __missing__(self, key: str) -> DicomField:
        uid = self._resolve(key)
        if uid is not None and uid != key and dict.__contains__(self, uid):
            return dict.__getitem__(self, uid)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        uid = self._resolve(key)
        return uid is not None and dict.__contains__(self, uid)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """Return the field at `key` in any accepted form, or `default`."""
        try:
            return self[key]
        except KeyError:
            return default

    def __reduce__(self) -> tuple[Any, ...]:
        return (FieldMap, (dict(self),), {"error": self.error})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.error = state.get("error")


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
    dataset : pydicom.dataset.Dataset
        The dataset (or sequence item) that holds it.
    raw : DataElement or RawDataElement
        The element as stored in `dataset`: raw (unconverted) until someone
        converts it.
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
    dataset: Dataset
    raw: DataElement | RawDataElement
    is_filemeta: bool
    depth: int
    private_creator: str | None


def _creator_of(ds: Dataset, tag: int, cache: dict[int, str | None]) -> str | None:
    """The private creator of `tag`'s block in `ds`, or None."""
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
    """The VR pydicom gives a raw element once converted (before ambiguity).

    Implicit VR elements take the dictionary's VR (a private one through its
    creator); an explicit ``UN`` is replaced by the known VR, as pydicom does
    with its default ``replace_un_with_known_vr``.
    """
    tag = raw.tag
    vr = raw.VR
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
    if vr == "UN" and raw.value is not None and len(raw.value) >= 0xFFFF:
        return "UN"
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        if vr is None and tag & 0xFFFF == 0:
            return "UL"
        return "UN"


def _skip_matcher(skip: Collection[str | int]) -> Callable[[int, str], bool]:
    """A predicate telling whether an element (tag, keyword) is skipped."""
    keywords: set[str] = set()
    tags: set[int] = set()
    for item in skip:
        if isinstance(item, int):
            tags.add(item)
            continue
        if _HEX_TAG.match(item) or _BARE_TAG.match(item):
            tags.add(parse_tag(item))
        else:
            keywords.add(item)
    for keyword in list(keywords):
        tag = tag_for_keyword(keyword)
        if tag is not None:
            tags.add(int(tag))
    return lambda tag, keyword: tag in tags or keyword in keywords


def iter_fields(
    ds: Dataset,
    *,
    expand_sequences: bool = True,
    skip: Collection[str | int] = DEFAULT_SKIP,
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

    Yields
    ------
    WalkedField
        One per element, with its uid, name, VR, depth and parent dataset.
    """
    is_skipped = _skip_matcher(skip)
    seen: set[str] = set()
    queue: list[tuple[Dataset, str | None, str | None, bool, int]] = [
        (ds, None, None, False, 0)
    ]
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None and len(file_meta):
        queue.append((file_meta, None, None, True, 0))
    position = 0
    while position < len(queue):
        dataset, name_prefix, uid_prefix, is_filemeta, depth = queue[position]
        position += 1
        creators: dict[int, str | None] = {}
        for key in sorted(dataset.keys()):
            tag = int(key)
            # DataElement.keyword's rule: repeating groups (60xx) have none
            keyword = dictionary_keyword(tag) if dictionary_has_tag(tag) else ""
            if is_skipped(tag, keyword):
                continue
            own_uid = format_tag(tag)
            uid = own_uid if uid_prefix is None else f"{uid_prefix}__{own_uid}"
            if uid in seen:
                continue
            seen.add(uid)
            raw = dataset.get_item(key, keep_deferred=True)
            creator: str | None = None
            label = keyword
            if tag >> 16 & 1:
                creator = _creator_of(dataset, tag, creators)
                if creator is not None:
                    label = private_name(tag, creator)
                else:
                    label = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            name = label if name_prefix is None else f"{name_prefix}__{label}"
            if isinstance(raw, RawDataElement):
                vr = resolve_vr(raw, creator)
                if vr == "SQ" or " or " in vr:
                    raw = dataset[key]
                    vr = raw.VR
            else:
                vr = raw.VR
            yield WalkedField(
                uid, name, tag, keyword, vr, dataset, raw, is_filemeta, depth, creator
            )
            if expand_sequences and vr == "SQ" and isinstance(raw, DataElement):
                for index, item in enumerate(raw.value or ()):
                    if isinstance(item, Dataset):
                        queue.append((item, name, f"{uid}__{index}", False, depth + 1))
