"""The deid-compatible facade: ``get_files``, ``get_identifiers``, ``DicomField``.

The walkthrough of deid's documentation runs unchanged but for the package
name::

    from deidscope.data import get_dataset
    from deidscope.dicom import get_files, get_identifiers

    base = get_dataset("dicom-cookies")
    dicom_files = list(get_files(base))
    ids = get_identifiers(dicom_files)
    ids[dicom_files[0]]["(0010, 0010)"]

Unlike deid, reading a header never loads its pixel data, a file that cannot
be read does not stop the others, and nothing is written to the caller's
datasets.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.fileutil import read_undefined_length_value
from pydicom.sequence import Sequence as PydicomSequence
from pydicom.tag import BaseTag, SequenceDelimiterTag

from deidscope.errors import (
    BatchErrors,
    Errors,
    InputError,
    ReadError,
    ReadErrorsWarning,
    ReplaceErrorsWarning,
)
from deidscope.fields import (
    DEFAULT_SKIP,
    DicomField,
    FieldMap,
    WalkedField,
    format_tag,
    iter_fields,
    private_name,
)
from deidscope.fields._walk import (
    _TAG_INFO,
    _creator_of,
    _encoding_of,
    _in_tag_order,
    _skip_sets,
    _tag_info,
)
from deidscope.files import (
    MAX_DEPTH,
    PathLike,
    RawDataset,
    RawItem,
    as_input_list,
    check_paths,
    iter_dicom_files,
    not_a_regular_file,
    read_config_skip,
    read_header,
)
from deidscope.files._items import ItemList
from deidscope.files._scan import too_deep
from deidscope.frame._builder import walked_text
from deidscope.frame._values import TEXT_VRS, format_raw, format_walked
from deidscope.recipe._apply import ReplaceResult
from deidscope.recipe._apply import replace_identifiers as _replace_identifiers
from deidscope.recipe._types import RecipeLike

__all__ = [
    "DEFAULT_SKIP",
    "DicomField",
    "FieldMap",
    "ReadErrorsWarning",
    "ReplaceErrorsWarning",
    "ReplaceResult",
    "get_files",
    "get_identifiers",
    "replace_identifiers",
]

logger = logging.getLogger(__name__)


def get_files(
    contenders: PathLike | Iterable[PathLike],
    check: bool = True,
    pattern: str | None = None,
    force: bool = False,
    tempdir: PathLike | None = None,
) -> Iterator[str]:
    """Yield the DICOM files in files and folders, folders searched recursively.

    As deid's ``get_files``, with a stable order (folders are walked sorted)
    and no duplicates. Files left out are logged at INFO level on the
    ``deidscope.files`` logger.

    Parameters
    ----------
    contenders : str, os.PathLike or iterable of them
        Files and folders.
    check : bool, optional
        Yield only files that look like DICOM (default True).
    pattern : str or None, optional
        A glob pattern (``fnmatch``) for the names of files found in folders.
    force : bool, optional
        With `check`, also yield files without the ``DICM`` marker whose
        first bytes are any DICOM element (a data set written without
        preamble and file meta); default False, as deid, yields those that
        start with the groups 0000-0008 only.
    tempdir : str, os.PathLike or None, optional
        Where deid unpacks zip archives. deidscope never unpacks an archive
        (a zip's member names and sizes are untrusted): zip files are skipped
        and logged whatever `tempdir` is, and nothing is written there.

    Yields
    ------
    str
        Paths of DICOM files.

    Raises
    ------
    FileNotFoundError
        If a contender does not exist.
    InputError
        If `tempdir` is given but is not a folder.

    Examples
    --------
    >>> import os
    >>> from deidscope.data import get_dataset
    >>> [os.path.basename(f) for f in get_files(get_dataset("dicom-cookies"))][:3]
    ['image1.dcm', 'image2.dcm', 'image3.dcm']
    """
    if tempdir is not None and not os.path.isdir(tempdir):
        raise InputError(
            f"get_files: expected tempdir to be a folder, but got {tempdir!r}"
        )
    return iter_dicom_files(contenders, check=check, pattern=pattern, force=force)


def _is_private_path(uid: str) -> bool:
    """Whether a nested uid's element, or a sequence it is in, is private."""
    return any(int(part[1:5], 16) % 2 for part in uid.split("__")[::2])


#: The longest reason an unconvertible element's stand-in carries.
_MAX_REASON = 900


def _unconvertible_element(tag: int, reason: str) -> DataElement:
    """Return a stand-in for an element pydicom cannot convert, saying why.

    An ``UN`` element whose bytes are the reason as text, so that
    ``str(field)``, ``to_frame`` and every other use show the reason
    instead of raising.

    Parameters
    ----------
    tag : int
        The element's tag.
    reason : str
        Why it cannot be converted.

    Returns
    -------
    pydicom.dataelem.DataElement
        The stand-in.
    """
    text = f"<cannot be converted: {reason}>"[:_MAX_REASON]
    data = text.encode("ascii", "backslashreplace")
    elem = DataElement(tag, "UN", data + b" " * (len(data) % 2))
    elem.VR = "UN"  # pydicom gives a public tag its dictionary's VR
    return elem


def _empty_element(dataset: Any, tag: int) -> DataElement | None:
    """Return an element pydicom refuses but that has no value, as it was read.

    An unknown VR with no value: its raw VR and no value, as
    ``read_identifiers`` shows it (there is nothing to convert, so nothing
    to say why). None if the element has a value.
    """
    try:
        stored = dataset.get_item(tag, keep_deferred=True)
    except Exception:  # pragma: no cover - get_item of a raw element
        return None
    if type(stored) is not RawDataElement or stored.length or stored.VR is None:
        return None
    return DataElement(tag, stored.VR, None, already_converted=True)


class _Source:
    """Makes the DataElements of one data set (or sequence item) on first use.

    One per data set, shared by its fields (each field keeps only its tag).
    It never raises: an element pydicom cannot convert becomes
    :func:`_unconvertible_element`, which says why, and pydicom's warnings
    are logged at DEBUG level.

    What it makes is what deid users get, whichever reader read the file:
    a value the quick reader left on disk (bulk data over
    :data:`~deidscope.files.DEFER_SIZE` bytes) is read from `path` then, in
    full; a sequence the quick reader read as raw items
    (:class:`~deidscope.files.RawItem`) becomes a pydicom ``Sequence`` of
    ``Dataset`` objects.
    """

    __slots__ = ("dataset", "path")

    def __init__(self, dataset: Dataset | RawItem, path: PathLike | None) -> None:
        self.dataset = dataset
        self.path = path

    def __call__(self, field: DicomField) -> DataElement:
        spec = field._tag
        tag = spec[0] if isinstance(spec, tuple) else int(spec)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if isinstance(spec, tuple):
                    elem = _from_value(self.dataset, tag, spec[1], field._element)
                else:
                    elem = _make_element(self.dataset, tag, self.path)
            except Exception as exc:  # pydicom raises many kinds on bad values
                reason = f"cannot be read: {type(exc).__name__}: {exc}"
                logger.info("(%08x): %s", tag, reason)
                empty = None
                if not isinstance(spec, tuple):
                    empty = _empty_element(self.dataset, tag)
                if empty is None:
                    empty = _unconvertible_element(tag, reason)
                elem = empty
        for warning in caught:
            logger.debug("(%08x): %s", tag, warning.message)
        return elem


def _from_value(dataset: Any, tag: int, vr: str, value: bytes) -> DataElement:
    """Convert a value the quick reader read (explicit VR, little endian).

    `dataset` holds the data set's private creators and character set.
    """
    raw = RawDataElement(BaseTag(tag), vr, len(value), value, 0, False, True)
    elem = convert_raw_data_element(raw, encoding=dataset.encoding, ds=dataset)
    return _with_creator(dataset, elem)


def _make_element(
    dataset: Dataset | RawItem, tag: int, path: PathLike | None
) -> DataElement:
    """Return the converted element `tag` of `dataset` (see :class:`_Source`)."""
    if isinstance(dataset, RawItem):
        stored = dataset.get_item(tag)
        if type(stored) is RawDataElement:
            whole = _as_read_by_pydicom(stored, path)
            if whole is not stored:
                elem = (
                    whole
                    if isinstance(whole, DataElement)
                    else convert_raw_data_element(
                        whole,
                        encoding=dataset.encoding,
                        ds=dataset,  # type: ignore[arg-type]
                    )
                )
                return _with_creator(dataset, elem)
    return dataset[tag]


def _as_read_by_pydicom(
    stored: RawDataElement, path: PathLike | None
) -> RawDataElement | DataElement:
    """Return a quick reader's raw element as pydicom's reader would hold it.

    A sequence of raw items becomes a ``Sequence`` of Datasets, a value
    left on disk is read from `path` in full; anything else is returned as
    it is.
    """
    value: Any = stored.value
    if type(value) is ItemList:
        return DataElement(
            stored.tag,
            "SQ",
            PydicomSequence([_item_dataset(item, path) for item in value]),
            stored.value_tell,
        )
    if value is None and stored.length and path is not None:
        return _with_value(stored, _read_value(path, stored))
    return stored


def _with_creator(dataset: RawItem, elem: DataElement) -> DataElement:
    """Give a private element its creator, as pydicom does on access."""
    tag = elem.tag
    if tag.is_private and tag.element >> 8:
        elem.private_creator = dataset.creator_of(tag)
    return elem


def _item_dataset(item: RawItem, path: PathLike | None) -> Dataset:
    """Return a sequence item read by the quick reader as a pydicom Dataset.

    Its elements stay raw (pydicom converts them on access, with the item's
    character set); nested sequences become Sequences, and values left on
    disk are read from `path`, so the Dataset holds what pydicom's reader
    would give. Nesting is bounded by the reader (``MAX_DEPTH`` levels).
    """
    elements: dict[BaseTag, RawDataElement | DataElement] = {}
    flags: tuple[bool, bool] | None = None
    for key, stored in item.items():
        if type(stored) is RawDataElement:
            flags = flags or (stored.is_implicit_VR, stored.is_little_endian)
            stored = _as_read_by_pydicom(stored, path)
        elements[key] = stored
    ds = Dataset(elements, parent_encoding=item.encoding)
    if flags is not None:
        ds.set_original_encoding(*flags, item.encoding)
    return ds


def _with_value(raw: RawDataElement, value: bytes) -> RawDataElement:
    """`raw` with its value read (the quick reader's tuples have 7 fields)."""
    return RawDataElement(
        raw.tag,
        raw.VR,
        raw.length,
        value,
        raw.value_tell,
        raw.is_implicit_VR,
        raw.is_little_endian,
    )


def _read_value(path: PathLike, raw: RawDataElement) -> bytes:
    """Read a value the quick reader left on disk, in full, from its file."""
    with open(path, "rb") as fp:
        size = os.fstat(fp.fileno()).st_size
        fp.seek(raw.value_tell)
        if raw.length == 0xFFFFFFFF:  # encapsulated: up to its delimiter
            value = read_undefined_length_value(
                fp, raw.is_little_endian, SequenceDelimiterTag
            )
            return value or b""
        if raw.value_tell + raw.length > size:
            raise ValueError(
                f"truncated: element {format_tag(raw.tag)} needs {raw.length} "
                f"bytes from offset {raw.value_tell}, but the file now ends at "
                f"{size} bytes"
            )
        return fp.read(raw.length)


def fields_of(
    ds: Dataset,
    *,
    expand_sequences: bool = True,
    skip: Collection[str | int] = DEFAULT_SKIP,
    strip_sequences: bool = False,
    remove_private: bool = False,
) -> FieldMap:
    """Return the fields of a dataset as a :class:`FieldMap`.

    Elements are converted by pydicom when first used, not before. `ds` is
    not changed (sequences and ambiguous VRs are converted as any access by
    pydicom would): a private element whose creator pydicom left unset is
    given to its field as a copy that carries it.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset.
    expand_sequences : bool, optional
        Include the elements of sequence items (default True).
    skip : collection of str or int, optional
        Keywords or tags to leave out (default: deid's skip list).
    strip_sequences : bool, optional
        Leave out sequences and everything in them.
    remove_private : bool, optional
        Leave out private elements and everything in them.

    Returns
    -------
    FieldMap
        ``{uid: DicomField}`` in deid's order.

    Raises
    ------
    Exception
        Whatever pydicom raises converting a sequence or an element with an
        ambiguous VR that it cannot read (such as ``BytesLengthException``);
        :func:`get_identifiers` reports it as the file's error. An element
        that cannot be converted later never raises: its field's element
        is :func:`_unconvertible_element`, which says why.
    """
    return _fields(
        ds,
        None,
        expand_sequences=expand_sequences,
        skip=skip,
        strip_sequences=strip_sequences,
        remove_private=remove_private,
        check=False,
        strings={},
    )


def _fields(
    ds: Dataset | RawItem,
    path: PathLike | None,
    *,
    expand_sequences: bool,
    skip: Collection[str | int],
    strip_sequences: bool,
    remove_private: bool,
    check: bool,
    strings: dict[str, str],
) -> FieldMap:
    """:func:`fields_of` for a dataset, or a file as ``read_header`` read it.

    A file (`path` given) is walked as ``read_identifiers`` walks it, the
    items of sequences read without pydicom Datasets. With `check`, each
    field's value is also turned into the frame's text as
    ``read_identifiers`` does it (``format_walked``), which converts with
    pydicom exactly the elements ``read_identifiers`` converts: a file
    fails here exactly when it fails there, with the same exception.
    Nothing else is converted: fields make their elements on first use
    (:class:`_Source`). Names and uids already in `strings` are shared, so
    the fields of many files hold one copy of each.
    """
    if isinstance(ds, RawDataset) and path is not None and check:
        return _quick_fields(
            ds,
            path,
            expand_sequences=expand_sequences,
            skip=skip,
            strip_sequences=strip_sequences,
            remove_private=remove_private,
            strings=strings,
        )
    fields = FieldMap()
    intern = strings.setdefault
    walk = iter_fields(
        ds,  # type: ignore[arg-type]  # a RawDataset is walked as a Dataset
        expand_sequences=expand_sequences and not strip_sequences,
        skip=skip,
        fast_items=path is not None,
    )
    holder: Any = None
    source = _Source(ds, path)
    for walked in walk:
        uid, name, tag, _, vr, dataset, raw, is_filemeta, _, creator = walked
        if strip_sequences and vr == "SQ":
            continue
        if remove_private and _is_private_path(uid):
            continue
        if check:
            format_walked(walked)  # raises where read_identifiers does
        uid = intern(uid, uid)
        name = intern(name, name)
        if isinstance(raw, DataElement):
            element = raw
            if creator and not raw.private_creator:
                # read whole (an undefined-length sequence), pydicom left it
                # unset: the field gets a copy that has it, `ds` is not changed
                element = copy.copy(raw)
                element.private_creator = creator
            field = DicomField(element, name, uid, is_filemeta)
        else:
            if dataset is not holder:
                holder = dataset
                source = _Source(dataset, path)
            field = _keyed_field(source, tag, name, uid, is_filemeta)
        fields[uid] = field
    return fields


#: Where :func:`_quick_fields` keeps the skip list's sets in its `strings`.
_SKIP_SETS = ("skip sets",)

#: Raw VRs a compact field cannot be made from: the field keeps its tag.
_KEYED_VRS: frozenset[str | None] = frozenset({None, "UN", "SQ"})


def _quick_fields(
    ds: RawDataset,
    path: PathLike,
    *,
    expand_sequences: bool,
    skip: Collection[str | int],
    strip_sequences: bool,
    remove_private: bool,
    strings: dict[Any, Any],
) -> FieldMap:
    """:func:`_fields` of a file the quick reader read, in one pass.

    The fields of ``iter_fields(ds, fast_items=True)`` (the test suite
    checks both agree), made without a WalkedField each, and each value
    checked as ``read_identifiers``' one-pass builder checks it: what it
    formats from bytes is left as read, and what it gives pydicom
    (``format_walked``) is converted here too, so a file fails here exactly
    when it fails there.

    A top-level field of explicit VR keeps only its value (bytes), tag and
    VR; the data set itself is not kept, but for what the fields need to
    make their elements: the private creators, the sequences (their items
    hold the nested fields' elements) and values left on disk.
    """
    # the skip list's tags and keywords, worked out once per call
    sets = strings.get(_SKIP_SETS)
    if sets is None or sets[0] is not skip:
        sets = strings[_SKIP_SETS] = (skip, *_skip_sets(skip))
    _, skip_tags, skip_keywords = sets
    tag_info = _TAG_INFO.get
    intern = strings.setdefault
    raw_type = RawDataElement
    item_list = ItemList
    text_vrs = TEXT_VRS
    fast = format_raw
    new_field = DicomField.__new__
    field_type = DicomField
    expand = expand_sequences and not strip_sequences
    fields = FieldMap()
    seen: set[str] = set()
    queue: list[tuple[Any, str | None, str | None, bool, int, Any]]
    queue = [(ds, None, None, False, 0, default_encoding)]
    if len(ds.file_meta):
        queue.append((ds.file_meta, None, None, True, 0, default_encoding))
    position = 0
    while position < len(queue):
        dataset, name_prefix, uid_prefix, is_filemeta, depth, encoding = queue[position]
        position += 1
        encoding = _encoding_of(dataset, encoding)
        top = uid_prefix is None
        kept: dict[BaseTag, Any] = {}
        source = _Source(RawItem(kept, encoding) if top else dataset, path)
        creators: dict[int, str | None] = {}
        for key, stored in _in_tag_order(dataset):
            tag = int(key)
            private = tag >> 16 & 1
            if top and private and not tag & 0xFF00:
                kept[key] = stored  # a private creator: the fields' creator
            own_uid, keyword = tag_info(tag) or _tag_info(tag)
            if tag in skip_tags or keyword in skip_keywords:
                continue
            if private and remove_private:
                continue
            uid = own_uid if top else f"{uid_prefix}__{own_uid}"
            if uid in seen:
                continue
            seen.add(uid)
            creator: str | None = None
            name = keyword
            if private:
                creator = _creator_of(dataset, tag, creators)
                if creator is not None:
                    name = private_name(tag, creator)
                else:
                    name = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            if name_prefix is not None:
                name = f"{name_prefix}__{name}"
            # the check, as the builder's one pass makes it
            vr = raw_vr = stored.VR
            value: Any = stored.value
            children: Any = None
            slow = True
            if type(stored) is raw_type and vr is not None and vr != "UN":
                if vr == "SQ":
                    if type(value) is item_list:
                        slow = False
                        children = value
                elif value and vr in text_vrs and value.isascii():
                    slow = False  # formatted from its bytes: nothing to convert
                else:
                    little = stored.is_little_endian
                    slow = fast(vr, value, stored.length, little) is None
            if slow:  # the builder's own check: pydicom converts what it must
                vr, _, items = walked_text(
                    dataset,
                    WalkedField(
                        uid,
                        name,
                        tag,
                        keyword,
                        "",
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
                stored = dataset.get_item(key)  # converted, maybe
            if strip_sequences and vr == "SQ":
                continue
            if not top or private:
                uid = intern(uid, uid)
                name = intern(name, name)
            field = new_field(field_type)
            if type(stored) is not raw_type:  # converted by the check
                field._element = stored
                field._source = None
                field._tag = 0
            elif (
                top
                and type(value) is bytes
                and value
                and raw_vr not in _KEYED_VRS
                and not stored.is_implicit_VR
            ):
                # compact: the value, and a (tag, VR) pair shared by every
                # file; short values (most repeat across a series) shared too
                field._element = intern(value, value) if len(value) <= 64 else value
                field._source = source
                pair = (tag, raw_vr)
                field._tag = intern(pair, pair)
            else:
                if top:
                    kept[key] = stored
                field._element = None
                field._source = source
                field._tag = key
            field.name = name
            field.uid = uid
            field.is_filemeta = is_filemeta
            fields[uid] = field
            if expand and children:
                if depth >= MAX_DEPTH:
                    raise ValueError(too_deep(f" at {uid}"[:80]))
                for index, item in enumerate(children):
                    if isinstance(item, Dataset | RawItem):
                        queue.append(
                            (item, name, f"{uid}__{index}", False, depth + 1, encoding)
                        )
    return fields


def _keyed_field(
    source: _Source, tag: int, name: str, uid: str, is_filemeta: bool
) -> DicomField:
    """Return a field whose element `source` makes from the element `tag`."""
    field = DicomField.__new__(DicomField)
    field._element = None
    field._source = source
    field._tag = tag
    field.name = name
    field.uid = uid
    field.is_filemeta = is_filemeta
    return field


def get_identifiers(
    dicom_files: PathLike | Dataset | Iterable[PathLike | Dataset],
    force: bool = True,
    config: PathLike | None = None,
    strip_sequences: bool = False,
    remove_private: bool = False,
    disable_skip: bool = False,
    expand_sequences: bool = True,
    skip: Collection[str | int] = DEFAULT_SKIP,
    *,
    errors: Errors = "warn",
) -> dict[Any, FieldMap]:
    """Return every field of every file, as deid's ``get_identifiers``.

    deid 0.4.13's parameters, in deid's order, then `skip` (the contract's)
    and `errors`.

    Files are read as :func:`~deidscope.read_identifiers` reads them (the
    same reader and checks): both list the same files, for the same
    reasons. Each field's pydicom ``DataElement`` is made when its
    ``.element`` is first used, as deid's would be (a sequence as a
    ``Sequence`` of ``Dataset`` objects, bulk values over
    :data:`~deidscope.files.DEFER_SIZE` bytes read from the file then, in
    full); until then a field holds what the reader read, so memory grows
    with the number of fields, not with the files' sizes. It never raises:
    an element that cannot be converted then is an ``UN`` element whose
    value says why (the entry's ``error`` is not changed).

    Parameters
    ----------
    dicom_files : str, os.PathLike, pydicom Dataset, or an iterable of them
        The files, or datasets already read; a single one is accepted.
    force : bool, optional
        Also read files without the ``DICM`` marker that start with a DICOM
        element (default True, as deid); False reports them as unreadable.
    config : str, os.PathLike or None, optional
        A deid configuration file (JSON); its ``get.skip`` list replaces the
        default `skip`, as deid's ``config`` does.
    strip_sequences : bool, optional
        Leave out sequences and everything in them (deid 0.4.13 accepts this
        and ignores it).
    remove_private : bool, optional
        Leave out private elements and everything in them (ignored by deid).
    disable_skip : bool, optional
        Skip nothing: the fields of the skip list are listed too (their
        values summarised: pixel data is never read). deid ignores it.
    expand_sequences : bool, optional
        Include the elements of sequence items, with nested uids such as
        ``(0008, 1115)__0__(0008, 1150)`` (default True).
    skip : collection of str or int, optional
        Keywords or tags to leave out at every depth; default
        :data:`~deidscope.fields.DEFAULT_SKIP`, deid's list (pixel data,
        palette data and file-meta bookkeeping).
    errors : {"warn", "ignore", "raise"}, optional
        What to do about files that cannot be read: their entry is an empty
        :class:`FieldMap` whose ``error`` says why (a file cut short after
        its header keeps the fields it has, and its ``error`` says where it
        ends), and with ``"warn"`` (default) one :class:`ReadErrorsWarning`
        gives the count; ``"raise"`` raises
        :class:`~deidscope.errors.ReadError` on the first.

    Returns
    -------
    dict
        ``{key: FieldMap}``, one entry per input: a path keyed exactly as
        given; a dataset by its ``filename`` when it has one, else by
        ``"<dataset N>"`` (N its place in the input, from 0). Each
        :class:`FieldMap` maps uid to :class:`DicomField`.

    Raises
    ------
    FileNotFoundError
        If a path (or `config`) does not exist (checked before any file is
        read).
    InputError
        If an input is neither a path nor a dataset, or `config` is not a
        deid configuration.
    ReadError
        With ``errors="raise"``, for the first file that cannot be read.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> files = list(get_files(get_dataset("dicom-cookies")))
    >>> ids = get_identifiers(files)
    >>> ids[files[0]]["PatientID"].element.value
    'cookie-47'
    """
    caller = "get_identifiers"
    batch = BatchErrors(caller, errors, listed_in="ids[path].error")
    if config is not None and skip is DEFAULT_SKIP:
        skip = read_config_skip(config, caller=caller)
    if disable_skip:
        skip = ()
    inputs = as_input_list(
        dicom_files, caller=caller, also=(Dataset,), what="paths or pydicom Datasets"
    )
    check_paths([p for p in inputs if not isinstance(p, Dataset)], caller=caller)
    options = {
        "expand_sequences": expand_sequences,
        "skip": skip,
        "strip_sequences": strip_sequences,
        "remove_private": remove_private,
        "check": True,
        "strings": {},  # names and uids, shared by every file's fields
    }
    result: dict[Any, FieldMap] = {}
    for position, item in enumerate(inputs):
        key: Any = item
        truncation = None
        try:
            if isinstance(item, Dataset):
                name = item.get("filename")
                key = name if isinstance(name, str) else f"<dataset {position}>"
                ds: Dataset | RawItem = item
                path = None
            else:
                ds, truncation = _read(item, force)
                path = item
                if truncation is not None and batch.raises:
                    raise ReadError(item, truncation)
            try:
                fields = _fields(ds, path, **options)  # type: ignore[arg-type]
            except Exception as exc:  # a value pydicom cannot convert, say
                raise ReadError(
                    key, f"cannot be read: {type(exc).__name__}: {exc}"
                ) from exc
        except ReadError as exc:
            logger.info("get_identifiers: %s", exc)
            batch.add(key, exc.reason)
            result[key] = FieldMap(error=exc.reason)
            continue
        if truncation is not None:  # the header is there: keep it, say so
            fields.error = truncation
            batch.add(key, truncation)
        result[key] = fields
    batch.finish(total=len(inputs))
    return result


def _read(path: PathLike, force: bool) -> tuple[Any, str | None]:
    """Read a file for :func:`get_identifiers`: every failure a ReadError.

    The reader and its checks are ``read_identifiers``' own
    (:func:`~deidscope.files.read_header`: the quick reader, else pydicom
    and the truncation checks), so both list the same files for the same
    reasons. Anything but a regular file is refused unopened (a named pipe
    would block, ``/dev/zero`` never ends); a file that vanished since it
    was named, a reader that runs out of memory or recursion, is that
    file's error, not the batch's.
    """
    special = not_a_regular_file(path)
    if special is not None:
        raise ReadError(path, special)
    try:
        return read_header(path, force=force)
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError(path, f"cannot be read: {type(exc).__name__}: {exc}") from exc


def replace_identifiers(
    dicom_files: PathLike | Dataset | Iterable[PathLike | Dataset],
    ids: Mapping[Any, Any] | None = None,
    deid: RecipeLike | Sequence[RecipeLike] | None = None,
    save: bool = False,
    overwrite: bool = False,
    output_folder: PathLike | None = None,
    force: bool = True,
    config: PathLike | None = None,
    strip_sequences: bool = False,
    remove_private: bool = False,
    disable_skip: bool = False,
    *,
    lookup: Mapping[str, Any] | None = None,
    errors: Errors = "warn",
    progress: bool | None = None,
    keep_preamble: bool = False,
    key: str | bytes | None = None,
    crosswalk: PathLike | None = None,
    crosswalk_in_output: bool = False,
) -> ReplaceResult:
    r"""Apply a recipe's ``%header`` to files, as deid's ``replace_identifiers``.

    The lines run as :meth:`deidscope.recipe.Recipe.preview` shows (the same
    engine, deid 0.4.13's rules), on nested sequences, private elements and
    the file meta; ``MediaStorageSOPInstanceUID`` follows a changed
    ``SOPInstanceUID``, and random ``deid_func`` UIDs are the same for the
    same original UID across the files of one call.

    deid 0.4.13's parameters, in deid's order, then deidscope's own
    (keyword-only).

    Parameters
    ----------
    dicom_files : str, os.PathLike, pydicom Dataset, or an iterable of them
        The files (a single one is accepted; folders are not: use
        :func:`get_files`), or datasets already read: each is copied, never
        changed (deid changes it in place); with `save` it is written under
        its file name (or ``dataset<N>.dcm``) in `output_folder`.
    ids : mapping or None, optional
        deid's per-file lookup, ``{path: {name: value_or_function}}``
        (``get_identifiers`` output with names added works).
    deid : Recipe, str, os.PathLike or list of them
        The recipe, recipe text, a recipe file, or several combined as deid
        combines them. deidscope has no default recipe: one is required.
    save : bool, optional
        Write files (True) or return the changed datasets (False, default).
    overwrite : bool, optional
        Replace existing outputs; with no `output_folder`, write over the
        input files themselves (default False). An `output_folder` that
        would put an output onto one of the inputs is refused even so.
    output_folder : str, os.PathLike or None, optional
        Where to write. The input folder structure is kept below it
        (relative to the inputs' common folder). None and not `overwrite`:
        a new temporary folder, as deid does.
    force : bool, optional
        Read files without the ``DICM`` marker too (default True, as deid);
        False reports them as failed.
    config : str, os.PathLike or None, optional
        A deid configuration file (JSON): its ``get.skip`` list replaces
        deid's skip list (the fields no line can touch). Its ``put``
        actions are not run (deid's own config has one, ``KEEP PixelData``).
    strip_sequences : bool, optional
        Remove the top-level sequences first, as deid's option does.
    remove_private : bool, optional
        Remove private elements first, as deid's option does.
    disable_skip : bool, optional
        Skip nothing: the recipe's lines reach the fields of the skip list
        too (pixel data included), as deid's option does.
    lookup : mapping or None, optional
        Names for ``var:`` and ``func:`` that hold for every file (``ids``
        entries win). ``func:`` names resolve only here and in `ids`.
    errors : {"warn", "ignore", "raise"}, optional
        A file that cannot be read, changed or written is left out (None in
        the result) and listed in ``result.errors``; ``"warn"`` (default)
        warns once with the count, ``"raise"`` raises on the first.
    progress : bool or None, optional
        Progress bar: None after a couple of seconds, True always, False
        never.
    keep_preamble : bool, optional
        Write the input's 128-byte preamble back (default False: zeroed,
        since text there, as in dual TIFF/DICOM files, survives any recipe).
    key : str, bytes or None, optional
        A secret for keyed pseudonyms (HMAC-SHA256): ``deid_func:pydicom_uuid``
        UIDs become ``2.25.<int>`` of the keyed hash, a profile recipe's
        PatientID, AccessionNumber and StudyID keyed pseudonyms, and
        ``var:jitter`` (dates of the Retain Longitudinal Modified Dates
        Option) one offset per patient, from its PatientID. The same key
        gives the same values in every run; another key others. Keep it out
        of recipes and command lines.
    crosswalk : str, os.PathLike or None, optional
        With `key`, write the old-to-new table here (CSV, owner-only
        permissions): per file written, the old and new PatientID,
        AccessionNumber, StudyID, Study, Series and SOP Instance UIDs and
        the date offset in days. Refused without a key, over an existing
        file unless `overwrite`, and inside `output_folder` (what gets
        released) unless `crosswalk_in_output`.
    crosswalk_in_output : bool, optional
        Allow the crosswalk inside the output folder (default False).

    Returns
    -------
    ReplaceResult
        A list with one entry per file: the changed ``pydicom`` dataset, or
        with `save` the path written; None for a file that failed. Its
        ``errors`` attribute lists those (an
        :class:`~deidscope.errors.ErrorsFrame`: ``file``, ``error``).

    Raises
    ------
    FileNotFoundError
        If a file does not exist (before any work).
    InputError
        If `deid` is not a recipe, or an option is invalid.
    RecipeSyntaxError
        If a recipe file cannot be read.
    ReadError
        With ``errors="raise"``, for the first file that fails.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> from deidscope.recipe import Recipe
    >>> files = list(get_files(get_dataset("dicom-cookies")))
    >>> recipe = Recipe.from_text("FORMAT dicom\n%header\nREPLACE PatientID var:id")
    >>> cleaned = replace_identifiers(files, deid=recipe, lookup={"id": "anon"})
    >>> cleaned[0].PatientID
    'anon'
    """
    return _replace_identifiers(
        dicom_files,
        ids,
        deid,
        save,
        overwrite,
        output_folder,
        force,
        config,
        strip_sequences,
        remove_private,
        disable_skip,
        lookup=lookup,
        errors=errors,
        progress=progress,
        keep_preamble=keep_preamble,
        key=key,
        crosswalk=crosswalk,
        crosswalk_in_output=crosswalk_in_output,
    )
