"""Building the frame: rows gathered as codes, columns made once."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from pydicom.charset import default_encoding
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

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
)
from deidscope.files import MAX_DEPTH, PathLike, RawItem, shown_path
from deidscope.files._items import Encoding
from deidscope.files._scan import too_deep
from deidscope.frame._columns import COLUMNS, STRING, errors_frame
from deidscope.frame._values import (
    TEXT_VRS,
    _sequence_summary,
    format_element,
    format_raw,
    format_walked,
)

__all__ = ["FrameBuilder", "to_frame"]

_FieldKey = tuple[str, str, str, str, str, "str | None", int, bool]
# uid, name, VR, tag, keyword, private_creator, depth, is_filemeta: everything
# about a row but its file and value. Few distinct keys recur over many files,
# so a row costs one dict lookup and three appends while reading.
_KEY_COLUMNS = ("uid", "name", "VR", "tag", "keyword", "private_creator")
#: Values are moved into Arrow arrays every this many rows, between files.
_FLUSH_ROWS = 1 << 16


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
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

    def __len__(self) -> int:
        return self.flushed + len(self.values)

    def flush(self) -> None:
        """Move the values gathered so far into an Arrow array (compact text)."""
        if self.values:
            self.chunks.append(pa.array(self.values, type=pa.string()))
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
            # a file never spans a flush: its rows are all at the end
            del codes[saved_codes:]
            del values[saved_values:]
            for key in new_keys:  # the newest codes: the others keep theirs
                del keys[key]
            raise
        rows = len(values) - saved_values
        if rows:
            self.files.append(file)
            self.file_rows.append(rows)
        if len(values) >= _FLUSH_ROWS:
            self.flush()

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
            np.array([file_index[file] for file in self.files], dtype=np.int32),
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
            data[column] = _categorical(per_key[codes], list(uniques))
        self.flush()
        values = pa.chunked_array(self.chunks, type=pa.string())
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
        df = pd.DataFrame(data, columns=list(COLUMNS))
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
                    text = fast(vr, value, element.length, element.is_little_endian)
            if text is None:  # the walk's way: pydicom converts what it must
                vr, raw = element_vr(dataset, key, stored, creator, encoding, True)
                text = format_walked(
                    WalkedField(
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
                    )
                )
                if vr == "SQ":
                    children = raw if isinstance(raw, ItemList) else raw.value
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
