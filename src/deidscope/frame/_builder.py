"""Building the frame: rows gathered as codes, columns made once."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from deidscope.errors import InputError
from deidscope.fields import (
    DEFAULT_SKIP,
    WalkedField,
    format_tag,
    iter_fields,
    normalize_uid,
    private_name,
)
from deidscope.fields._walk import (
    _TAG_INFO,
    ItemList,
    _creator_of,
    _encoding_of,
    _in_tag_order,
    _skip_sets,
    _tag_info,
    element_vr,
    resolve_tag_vr,
)
from deidscope.files import MAX_DEPTH, PathLike, RawItem, shown_path
from deidscope.files._items import Encoding, charset_encoding
from deidscope.files._quick import ScannedFile
from deidscope.files._scan import too_deep
from deidscope.frame._columns import COLUMNS, STRING, errors_frame
from deidscope.frame._values import (
    _NUMBER_STRUCTS,
    TEXT_VRS,
    _sequence_summary,
    format_element,
    format_raw,
    format_walked,
)

__all__ = ["VALUE_TYPE", "FrameBuilder", "to_frame"]

_FieldKey = tuple[str, str, str, str, str, "str | None", int, bool]
# uid, name, VR, tag, keyword, private_creator, depth, is_filemeta: everything
# about a row but its file and value. Few distinct keys recur over many files,
# so a row costs one dict lookup and three appends while reading.
_KEY_COLUMNS = ("uid", "name", "VR", "tag", "keyword", "private_creator")
#: Values are moved into Arrow arrays every this many rows, between files.
_FLUSH_ROWS = 1 << 16
#: The Arrow type values are gathered in: the one pandas' pyarrow strings
#: keep, so that the frame is built without a cast.
VALUE_TYPE = pa.large_string()


def _code_type(categories: int) -> type[np.signedinteger[Any]]:
    """Return the integer type pandas keeps for the codes of so many categories."""
    if categories < np.iinfo(np.int8).max:
        return np.int8
    if categories < np.iinfo(np.int16).max:
        return np.int16
    return np.int32


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    # codes already of pandas' type are kept as they are, not copied
    return pd.Categorical.from_codes(
        codes, categories=pd.Index(categories, dtype=STRING), validate=False
    )


class FrameBuilder:
    """Accumulates rows as codes into a table of field keys, then builds once."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.file_rows = array("q")  # rows per file, in order
        self.keys: dict[_FieldKey, int] = {}
        self.key_codes = array("i")
        self.values: list[str] = []  # the values not yet moved into `chunks`
        self.chunks: list[pa.Array] = []
        self.flushed = 0  # rows whose values are in `chunks`
        self.errors: list[tuple[str, str]] = []
        self._contexts = _Contexts()

    def __len__(self) -> int:
        return self.flushed + len(self.values)

    def flush(self) -> None:
        """Move the values gathered so far into an Arrow array (compact text)."""
        if self.values:
            self.chunks.append(pa.array(self.values, type=VALUE_TYPE))
            self.flushed += len(self.values)
            self.values = []

    def add(self, file: str, key: _FieldKey, value: str) -> None:
        """Add one row (files must come one after the other)."""
        if not self.files or self.files[-1] != file:
            self.files.append(file)
            self.file_rows.append(0)
        self.file_rows[-1] += 1
        code = self.keys.get(key)
        if code is None:
            code = self.keys[key] = len(self.keys)
        self.key_codes.append(code)
        self.values.append(value)

    def add_dataset(
        self, file: str, ds: Any, skip: Collection[str | int] = DEFAULT_SKIP
    ) -> None:
        """Add the rows of one dataset, walked as ``get_identifiers`` does.

        `skip`: the fields left out (default deid's skip list; ``()`` for
        none, as ``replace_identifiers(disable_skip=True)``).

        All or nothing, by construction: the columns' lengths are saved
        before the walk, and any exception on the way (a value pydicom
        cannot convert, a ``MemoryError``, a ``RecursionError``...) cuts
        every column back to them before it propagates; the file is listed
        only once its last row is in. The other files' rows are untouched.
        """
        keys = self.keys
        codes = self.key_codes
        values = self.values
        add_code = codes.append
        add_value = values.append
        saved_codes, saved_values = len(codes), len(values)
        new_keys: list[_FieldKey] = []  # keys first met in this file
        try:
            if skip is DEFAULT_SKIP:  # the fused walk of the default
                _add_rows(ds, keys, add_code, add_value, new_keys)
            else:
                for walked in iter_fields(ds, skip=skip, fast_items=True):
                    uid, name, _, keyword, vr, _, _, meta, depth, creator = walked
                    # the value first: if it cannot be formatted, nothing is added
                    value = format_walked(walked)
                    # uid[-12:] is the element's own tag, "(gggg, eeee)"
                    key = (uid, name, vr, uid[-12:], keyword, creator, depth, meta)
                    code = keys.get(key)
                    if code is None:
                        code = keys[key] = len(keys)
                        new_keys.append(key)
                    add_code(code)
                    add_value(value)
        except BaseException:
            self._cut_back(saved_codes, saved_values, new_keys)
            raise
        self._file_done(file, saved_values)

    def _cut_back(
        self, saved_codes: int, saved_values: int, new_keys: list[_FieldKey]
    ) -> None:
        """Remove the rows and the keys of a file that failed half-way."""
        # a file never spans a flush: its rows are all at the end
        del self.key_codes[saved_codes:]
        del self.values[saved_values:]
        for key in new_keys:  # the newest codes: the others keep theirs
            del self.keys[key]

    def _file_done(self, file: str, saved_values: int) -> None:
        """List a file whose rows are all in, and flush if the columns are long."""
        rows = len(self.values) - saved_values
        if rows:
            self.files.append(file)
            self.file_rows.append(rows)
        if len(self.values) >= _FLUSH_ROWS:
            self.flush()

    def add_scanned(self, file: str, scanned: ScannedFile) -> bool:
        """Add the rows of a file read by :func:`~deidscope.files._quick.scan_file`.

        The rows :meth:`add_dataset` gives for the same file read by
        :func:`~deidscope.files.read_raw_file` (or pydicom), in one pass
        over the scanned elements. All or nothing: if anything is out of the
        ordinary (tags out of order, a sequence pydicom must convert, an
        ambiguous VR it cannot settle) or fails, no row of the file is kept
        and False is returned: read the file the usual way.

        Returns
        -------
        bool
            True if the file's rows were added.
        """
        keys = self.keys
        codes = self.key_codes
        values = self.values
        saved_codes, saved_values, saved_keys = len(codes), len(values), len(keys)
        new_keys: list[_FieldKey] = []
        try:
            _scanned_rows(
                scanned, keys, codes.append, values.append, new_keys, self._contexts
            )
        except BaseException as exc:
            self._cut_back(saved_codes, saved_values, new_keys)
            if len(keys) != saved_keys or new_keys:
                self._contexts = _Contexts()  # they may hold the codes cut
            if isinstance(exc, Exception):
                return False
            raise
        self._file_done(file, saved_values)
        return True

    def build(self) -> pd.DataFrame:
        """Return the frame of every row added, and the errors."""
        table = list(self.keys)  # unique keys, in order of first appearance
        codes = (
            np.frombuffer(self.key_codes, dtype=np.int32)
            if self.key_codes
            else np.empty(0, np.int32)
        )
        data: dict[str, Any] = {}
        # a file read twice (named twice) has one category
        file_index = {file: code for code, file in enumerate(dict.fromkeys(self.files))}
        file_codes = np.repeat(
            np.array(
                [file_index[file] for file in self.files],
                dtype=_code_type(len(file_index)),
            ),
            np.frombuffer(self.file_rows, dtype=np.int64)
            if self.file_rows
            else np.empty(0, np.int64),
        )
        data["file"] = _categorical(file_codes, list(file_index))
        for position, column in enumerate(_KEY_COLUMNS):
            uniques: dict[str, int] = {}
            per_key = np.empty(len(table), dtype=np.int32)
            for i, key in enumerate(table):
                value = cast("str | None", key[position])
                if value is None:
                    per_key[i] = -1
                    continue
                code = uniques.get(value)
                if code is None:
                    code = uniques[value] = len(uniques)
                per_key[i] = code
            per_key = per_key.astype(_code_type(len(uniques)), copy=False)
            data[column] = _categorical(per_key[codes], list(uniques))
        self.flush()
        values = pa.chunked_array(self.chunks, type=VALUE_TYPE)
        data["value"] = pd.array(values, dtype=STRING)
        data["depth"] = (
            np.minimum([key[6] for key in table], 127).astype(np.int8)[codes]
            if table
            else np.empty(0, np.int8)
        )
        data["is_filemeta"] = (
            np.array([key[7] for key in table], dtype=bool)[codes]
            if table
            else np.empty(0, bool)
        )
        df = pd.DataFrame(data, columns=list(COLUMNS), copy=False)
        df.attrs["errors"] = errors_frame(self.errors)
        return df


_SKIP_TAGS, _SKIP_KEYWORDS = _skip_sets(DEFAULT_SKIP)


def _add_rows(
    ds: Any,
    keys: dict[_FieldKey, int],
    add_code: Callable[[int], None],
    add_value: Callable[[str], None],
    new_keys: list[_FieldKey],
) -> None:
    """Walk `ds` and add its rows, in one pass: the walk and the formatting fused.

    The rows of ``iter_fields(ds, skip=DEFAULT_SKIP, fast_items=True)``
    with ``format_walked`` values (the test suite checks both ways agree on
    every sample file), without a :class:`~deidscope.fields.WalkedField` per
    element: raw values of an explicit VR are formatted from their bytes
    (:func:`format_raw`), anything else goes the walk's way.
    """
    skip_tags = _SKIP_TAGS
    skip_keywords = _SKIP_KEYWORDS
    tag_info = _TAG_INFO.get
    raw_type = RawDataElement
    item_list = ItemList
    fast = format_raw
    text_vrs = TEXT_VRS
    padding = " \x00"
    seen: set[str] = set()
    queue: list[tuple[Any, str | None, str | None, bool, int, Encoding]]
    queue = [(ds, None, None, False, 0, default_encoding)]
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None and len(file_meta):
        queue.append((file_meta, None, None, True, 0, default_encoding))
    position = 0
    while position < len(queue):
        dataset, name_prefix, uid_prefix, is_filemeta, depth, encoding = queue[position]
        position += 1
        encoding = _encoding_of(dataset, encoding)
        creators: dict[int, str | None] = {}
        for key, stored in _in_tag_order(dataset):
            tag = int(key)
            own_uid, keyword = tag_info(tag) or _tag_info(tag)
            if tag in skip_tags or keyword in skip_keywords:
                continue
            uid = own_uid if uid_prefix is None else f"{uid_prefix}__{own_uid}"
            if uid in seen:
                continue
            seen.add(uid)
            creator: str | None = None
            label = keyword
            if tag >> 16 & 1:
                creator = _creator_of(dataset, tag, creators)
                if creator is not None:
                    label = private_name(tag, creator)
                else:
                    label = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            name = label if name_prefix is None else f"{name_prefix}__{label}"
            text: str | None = None
            children: Any = None
            element: Any = stored  # raw, mostly: its explicit VR is the VR
            vr: str = element.VR
            if type(element) is raw_type and vr is not None and vr != "UN":
                value: Any = element.value
                if vr == "SQ":
                    if type(value) is item_list:
                        text = _sequence_summary(len(value))
                        children = value
                elif value and vr in text_vrs and value.isascii():
                    # the commonest field, inline: ASCII text (format_raw's rule)
                    decoded = value.decode("ascii")
                    if text_vrs[vr] or "\\" not in decoded:
                        text = decoded.strip(padding)
                    else:
                        text = "\\".join(
                            part.strip(padding) for part in decoded.split("\\")
                        )
                else:
                    text = fast(
                        vr, value, element.length, element.is_little_endian, tag
                    )
            if text is None:  # the walk's way: pydicom converts what it must
                vr, text, items = walked_text(
                    dataset,
                    WalkedField(
                        uid,
                        name,
                        tag,
                        keyword,
                        "",  # settled by walked_text
                        dataset,
                        stored,
                        is_filemeta,
                        depth,
                        creator,
                    ),
                    key,
                    encoding,
                )
                if vr == "SQ":
                    children = items
            # uid[-12:] is the element's own tag, "(gggg, eeee)"
            row_key = (uid, name, vr, uid[-12:], keyword, creator, depth, is_filemeta)
            code = keys.get(row_key)
            if code is None:
                code = keys[row_key] = len(keys)
                new_keys.append(row_key)
            add_code(code)
            add_value(text)
            if children:
                if depth >= MAX_DEPTH:
                    raise ValueError(too_deep(f" at {uid}"[:80]))
                for index, item in enumerate(children):
                    if isinstance(item, Dataset | RawItem):
                        queue.append(
                            (item, name, f"{uid}__{index}", False, depth + 1, encoding)
                        )


# how a row's value is formatted, by its VR
_MULTI_TEXT, _ONE_TEXT, _NUMBER, _SEQUENCE, _OTHER = range(5)
_Entry = tuple[
    str,
    "str | None",
    int,
    str,
    str,
    int,
    "Callable[[bytes], tuple[Any, ...]] | None",
    int,
]


class _NotHereError(Exception):
    """The scanned file needs the usual way (pydicom's conversions)."""


class _Context:
    """Where a data set's rows go, and the key codes met there by tag.

    A data set's place (its uid and name prefixes, depth, file meta or
    not) and an element's tag, VR and private creator make its row key:
    ``codes`` keeps, by tag, the VR, creator, code, uid and name last met,
    so a row seen before costs one dict lookup.
    """

    __slots__ = ("codes", "depth", "is_filemeta", "name_prefix", "uid_prefix")

    def __init__(
        self,
        uid_prefix: str | None,
        name_prefix: str | None,
        depth: int,
        is_filemeta: bool,
    ) -> None:
        self.codes: dict[int, _Entry] = {}
        self.uid_prefix = uid_prefix
        self.name_prefix = name_prefix
        self.depth = depth
        self.is_filemeta = is_filemeta


class _Contexts:
    """The contexts of one builder: the data set, the file meta, the items."""

    __slots__ = ("items", "meta", "top")

    def __init__(self) -> None:
        self.top = _Context(None, None, 0, False)
        self.meta = _Context(None, None, 0, True)
        # by the code of a sequence's row: its items' contexts, by index
        self.items: dict[int, list[_Context]] = {}


def _new_code(
    context: _Context,
    tag: int,
    vr: str,
    creator: str | None,
    keys: dict[_FieldKey, int],
    new_keys: list[_FieldKey],
) -> _Entry:
    """Return (and remember) the key code of a row met in `context`, and more.

    The entry: VR, creator, key code, uid, name, how its value is formatted
    (:data:`_MULTI_TEXT`...) and, for a number VR, its unpacking and size.
    """
    own_uid, keyword = _TAG_INFO.get(tag) or _tag_info(tag)
    uid_prefix, name_prefix = context.uid_prefix, context.name_prefix
    uid = own_uid if uid_prefix is None else f"{uid_prefix}__{own_uid}"
    label = keyword
    if tag >> 16 & 1:
        if creator is not None:
            label = private_name(tag, creator)
        else:
            label = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    name = label if name_prefix is None else f"{name_prefix}__{label}"
    key = (uid, name, vr, own_uid, keyword, creator, context.depth, context.is_filemeta)
    code = keys.get(key)
    if code is None:
        code = keys[key] = len(keys)
        new_keys.append(key)
    unpack: Callable[[bytes], tuple[Any, ...]] | None = None
    size = 0
    if vr == "SQ":
        kind = _SEQUENCE
    elif vr in TEXT_VRS:
        kind = _ONE_TEXT if TEXT_VRS[vr] else _MULTI_TEXT
    elif vr in _NUMBER_STRUCTS:
        kind = _NUMBER
        number = _NUMBER_STRUCTS[vr][0]  # little endian
        unpack, size = number.unpack, number.size
    else:
        kind = _OTHER
    entry = (vr, creator, code, uid, name, kind, unpack, size)
    context.codes[tag] = entry
    return entry


_CHARSET = 0x00080005
_PIXEL_REPRESENTATION = 0x00280103
#: Tags whose dictionary VR is "US or SS": pydicom settles them by the data
#: set's PixelRepresentation (but the LUT descriptors, whose first value it
#: also changes: those go the usual way).
_US_OR_SS_TAGS = frozenset(
    {
        0x00189810, 0x00221452, 0x00280104, 0x00280105, 0x00280106, 0x00280107,
        0x00280108, 0x00280109, 0x00280110, 0x00280111, 0x00280120, 0x00280121,
        0x00409211, 0x00409216, 0x00603004, 0x00603006,
    }
)  # fmt: skip
_IMPLICIT_VRS: dict[tuple[int, str | None], str] = {}
_ENCODINGS: dict[bytes, Encoding] = {}


def _list_encoding(elements: list[Any], inherited: Encoding) -> Encoding:
    """Return the character set(s) of a scanned element list, as the quick reader."""
    for tag, _, _, value, _ in elements:
        if tag == _CHARSET:
            return charset_encoding(value, inherited) if value else inherited
        if tag > _CHARSET:
            break
    return inherited


def _raw_item(elements: list[Any], encoding: Encoding) -> RawItem:
    """Return a scanned element list as the quick reader's item (for pydicom)."""
    stored: dict[BaseTag, Any] = {}
    for tag, vr, length, value, tell in elements:
        key = BaseTag(tag)
        # a sequence's items are never converted here: an empty list stands in
        stored_value: Any = ItemList() if type(value) is list else value
        stored[key] = RawDataElement(
            key, vr, length, stored_value, tell, vr is None, True
        )
    return RawItem(stored, encoding)


def _scanned_rows(
    scanned: ScannedFile,
    keys: dict[_FieldKey, int],
    add_code: Callable[[int], None],
    add_value: Callable[[str], None],
    new_keys: list[_FieldKey],
    contexts: _Contexts,
) -> None:
    """Add a scanned file's rows: the rows of :func:`_add_rows` on the same file.

    Raises :class:`_NotHereError` for what only pydicom settles.
    """
    skip_tags = _SKIP_TAGS
    specials = _SKIP_TAGS | {_CHARSET, _PIXEL_REPRESENTATION}
    multi_text, one_text, number, sequence = _MULTI_TEXT, _ONE_TEXT, _NUMBER, _SEQUENCE
    fast = format_raw
    padding = " \x00"
    implicit_vrs = _IMPLICIT_VRS
    item_contexts = contexts.items
    queue: list[tuple[list[Any], _Context, Encoding]]
    queue = [(scanned.elements, contexts.top, default_encoding)]
    if scanned.meta:
        queue.append((scanned.meta, contexts.meta, default_encoding))
    position = 0
    while position < len(queue):
        elements, context, inherited = queue[position]
        position += 1
        codes_get = context.codes.get
        depth = context.depth
        encoding = inherited  # as read so far: what the items inherit
        creators: dict[int, str | None] = {}
        pixel_rep: int | None = None
        item: RawItem | None = None  # built when pydicom must convert a value
        last = -1
        for tag, vr, length, value, _ in elements:
            if tag <= last:
                raise _NotHereError  # out of order, or twice
            last = tag
            creator: str | None = None
            if tag >> 16 & 1:
                low = tag & 0xFFFF
                if low < 0x100:
                    if low >= 0x10:  # a private creator
                        creators[tag] = (
                            value.decode("latin-1").strip(padding) or None
                            if type(value) is bytes
                            else None
                        )
                elif low >= 0x1000:
                    creator = creators.get(tag & 0xFFFF0000 | low >> 8)
            elif tag in specials:  # skipped, or telling about the others
                if tag in skip_tags:
                    continue
                if tag == _CHARSET and value:
                    found = _ENCODINGS.get(value)
                    if found is None:
                        found = charset_encoding(value, inherited)
                        if len(_ENCODINGS) < 256 and isinstance(found, str | list):
                            _ENCODINGS[value] = found
                    encoding = found
                elif (
                    tag == _PIXEL_REPRESENTATION
                    and depth == 0
                    and type(value) is bytes
                    and len(value) == 2
                ):
                    pixel_rep = value[0] | value[1] << 8
            if vr is None:
                found_vr = implicit_vrs.get((tag, creator))
                if found_vr is None:
                    found_vr = resolve_tag_vr(tag, None, value, creator)
                    if len(implicit_vrs) < 1 << 16:
                        implicit_vrs[tag, creator] = found_vr
                vr = found_vr
                if " or " in vr:
                    if (
                        vr != "US or SS"
                        or tag not in _US_OR_SS_TAGS
                        or depth
                        or pixel_rep is None
                        or not value
                    ):
                        raise _NotHereError
                    vr = "US" if pixel_rep == 0 else "SS"
            elif vr == "UN":
                vr = resolve_tag_vr(tag, vr, value, creator)
                if " or " in vr:
                    raise _NotHereError
            entry = codes_get(tag)
            if entry is None or entry[0] != vr or entry[1] != creator:
                entry = _new_code(context, tag, vr, creator, keys, new_keys)
            kind = entry[5]
            text: str | None = None
            if kind == multi_text:  # the commonest field, inline: ASCII text
                if value and value.isascii():
                    decoded = value.decode("ascii")
                    if "\\" not in decoded:
                        text = decoded.strip(padding)
                    else:
                        parts = decoded.split("\\")
                        text = "\\".join(part.strip(padding) for part in parts)
            elif kind == number:
                if length == entry[7]:  # one number
                    text = str(entry[6](value)[0])  # type: ignore[misc]
            elif kind == one_text:
                if value and value.isascii():
                    text = value.decode("ascii").strip(padding)
            elif kind == sequence:
                if type(value) is not list:
                    raise _NotHereError  # a sequence only pydicom can read
                text = _sequence_summary(len(value))
            if text is None:
                text = fast(vr, value, length, True, tag)
                if text is None:  # pydicom converts it, as in the quick reader's item
                    if tag < _CHARSET:
                        raise _NotHereError  # the item's encoding is not known yet
                    if item is None:
                        item = _raw_item(elements, _list_encoding(elements, inherited))
                    text = format_element(item[tag])
            add_code(entry[2])
            add_value(text)
            if kind == sequence and value:
                if depth >= MAX_DEPTH:
                    raise ValueError(too_deep(f" at {entry[3]}"[:80]))
                children = item_contexts.get(entry[2])
                if children is None:
                    children = item_contexts[entry[2]] = []
                for index, child in enumerate(value):
                    if index == len(children):
                        children.append(
                            _Context(f"{entry[3]}__{index}", entry[4], depth + 1, False)
                        )
                    queue.append((child, children[index], encoding))


def walked_text(
    dataset: Dataset | RawItem, field: WalkedField, key: Any, encoding: Encoding
) -> tuple[str, str, Any]:
    """Format one element the walk's way: pydicom converts what it must.

    The one check :meth:`FrameBuilder.add_dataset` and ``get_identifiers``
    share, so a file fails in both or in neither. `field` is the element's
    walked field with its stored element as ``raw`` and any ``vr`` (the VR
    is settled here, as pydicom settles it).

    Returns
    -------
    tuple
        The VR, the value's text, and for a sequence its items.
    """
    stored = cast("DataElement | RawDataElement", field.raw)
    vr, raw = element_vr(dataset, key, stored, field.private_creator, encoding, True)
    text = format_walked(field._replace(vr=vr, raw=raw))
    items = None
    if vr == "SQ":
        items = raw if isinstance(raw, ItemList) else raw.value
    return vr, text, items


def to_frame(ids: Mapping[PathLike, Mapping[str, Any]]) -> pd.DataFrame:
    """Turn ``get_identifiers`` output into the long DataFrame.

    Parameters
    ----------
    ids : mapping
        ``{path: {uid: DicomField}}`` as returned by
        :func:`deidscope.dicom.get_identifiers` (deid's own output works
        too). Entries whose :class:`~deidscope.fields.FieldMap` carries an
        ``error`` are listed in ``attrs["errors"]`` (and give rows for the
        fields they have, if any).

    Returns
    -------
    pandas.DataFrame
        One row per field, with the columns of :data:`COLUMNS`.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> from deidscope.dicom import get_files, get_identifiers
    >>> files = list(get_files(get_dataset("dicom-cookies")))[:1]
    >>> df = to_frame(get_identifiers(files))
    >>> df.loc[df.name == "PatientID", "value"].tolist()
    ['cookie-47']
    """
    if not isinstance(ids, Mapping):
        raise InputError(
            f"to_frame: expected the mapping get_identifiers returns, "
            f"but got {type(ids).__name__}"
        )
    builder = FrameBuilder()
    for path, fields in ids.items():
        file = shown_path(path)  # a name that is not UTF-8 is shown escaped
        error = getattr(fields, "error", None)
        if error:  # a truncated file keeps the fields it has
            builder.errors.append((file, str(error)))
        for uid, field in fields.items():
            elem = field.element
            tag = int(elem.tag)
            private = tag >> 16 & 1
            uid = _normalize(uid)
            key = (
                uid,
                field.name,
                str(elem.VR),
                format_tag(tag),
                "" if private else str(elem.keyword),
                (elem.private_creator or None) if private else None,
                min(uid.count("__") // 2, 127),
                bool(field.is_filemeta),
            )
            builder.add(file, key, format_element(elem))
    return builder.build()


def _normalize(uid: str) -> str:

    return uid if uid.startswith("(") and ", " in uid[:7] else normalize_uid(uid)
