r"""The long identifier DataFrame: one row per field of every file.

Columns, declared once in :data:`COLUMNS` with their dtypes:

============== ================ ==============================================
column         dtype            what it holds
============== ================ ==============================================
file           category         the path, as given
uid            category         nested uid, ``(0008, 1115)__0__(0008, 1150)``
name           category         nested name, ``ReferencedSeriesSequence__...``
VR             category         the value representation (deid's spelling)
value          string[pyarrow]  the value as text (rules below)
tag            category         the element's own tag, ``(0008, 1150)``
keyword        category         its DICOM keyword ("" if private or unknown)
private_creator category        the creator of a private element's block
depth          int8             0 at the top level, 1 in a sequence item, ...
is_filemeta    bool             an element of the file meta information
============== ================ ==============================================

Rows come file by file, in the order the files were given, and within a
file in deid's order (see :func:`deidscope.fields.iter_fields`). Keys are
categorical, so a million rows take tens of megabytes.

Rules for ``value`` (always a string, never bytes):

- Text is shown as decoded, each value stripped of surrounding spaces and
  NUL padding; person names keep their ``^`` and ``=`` separators
  (``Doe^John``).
- A multi-valued element joins its values with ``\\`` (``ORIGINAL\\PRIMARY``).
- An empty value is ``""``.
- Dates, times and date-times are the text as stored (``20131210``,
  ``191929.000``), not reformatted; numbers stored as text (IS, DS) likewise.
- Binary numbers (US, SS, UL, SL, FL, FD, UV, SV) are written with ``str``;
  AT values as tags, ``(0028, 0010)``.
- Binary data (OB, OW, OF, OD, OL, OV, UN) is summarised as ``<N bytes>``,
  except that an OB or UN value of at most 1024 bytes that is printable text
  is shown as that text: private elements read as UN often hide names.
- A sequence is summarised as ``<N items>``; its items' elements have rows
  of their own.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import warnings
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from deidscope._values import format_element, format_walked
from deidscope.dicom import (
    Errors,
    ReadErrorsWarning,
    check_errors_option,
)
from deidscope.errors import InputError, ReadError
from deidscope.fields import DEFAULT_SKIP, format_tag, iter_fields
from deidscope.files import (
    PathLike,
    check_paths,
    iter_dicom_files,
    read_checked,
)

__all__ = [
    "CATEGORY_COLUMNS",
    "COLUMNS",
    "ERROR_COLUMNS",
    "ReadErrors",
    "concat_frames",
    "empty_frame",
    "read_files_frame",
    "read_identifiers",
    "to_frame",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_STRING = pd.StringDtype("pyarrow")

#: The frame's columns and their dtypes, in order.
COLUMNS: dict[str, Any] = {
    "file": "category",
    "uid": "category",
    "name": "category",
    "VR": "category",
    "value": _STRING,
    "tag": "category",
    "keyword": "category",
    "private_creator": "category",
    "depth": "int8",
    "is_filemeta": "bool",
}
#: The categorical columns.
CATEGORY_COLUMNS: tuple[str, ...] = tuple(
    name for name, dtype in COLUMNS.items() if dtype == "category"
)
#: The columns of ``df.attrs["errors"]``.
ERROR_COLUMNS: tuple[str, ...] = ("file", "error")

#: Show a progress bar when a run takes longer than this many seconds.
PROGRESS_DELAY = 2.0
#: Files per task when reading with several processes.
CHUNK_FILES = 64


class ReadErrors(pd.DataFrame):
    """The files a frame could not read: ``df.attrs["errors"]``.

    A DataFrame with columns ``file`` and ``error``. It differs from a plain
    DataFrame in one way: two ``ReadErrors`` compare with ``==`` as a whole
    (True or False), so that pandas can compare the ``attrs`` of frames when
    it concatenates or merges them (with a plain DataFrame in ``attrs``,
    ``pd.concat`` raises "The truth value of a DataFrame is ambiguous").
    Comparing with anything else is element-wise, as usual.
    """

    @property
    def _constructor(self) -> type[ReadErrors]:
        return ReadErrors

    def __eq__(self, other: object) -> Any:
        if isinstance(other, ReadErrors):
            return self.equals(other)
        return super().__eq__(other)

    def __ne__(self, other: object) -> Any:
        if isinstance(other, ReadErrors):
            return not self.equals(other)
        return super().__ne__(other)

    __hash__ = None


def _errors_frame(errors: Sequence[tuple[str, str]]) -> ReadErrors:
    return ReadErrors(
        {
            "file": pd.array([file for file, _ in errors], dtype=_STRING),
            "error": pd.array([error for _, error in errors], dtype=_STRING),
        },
        columns=list(ERROR_COLUMNS),
    )


_FieldKey = tuple[str, str, str, str, str, "str | None", int, bool]
# uid, name, VR, tag, keyword, private_creator, depth, is_filemeta: everything
# about a row but its file and value. Few distinct keys recur over many files,
# so a row costs one dict lookup and three appends while reading.
_KEY_COLUMNS = ("uid", "name", "VR", "tag", "keyword", "private_creator")


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(
        codes, categories=pd.Index(categories, dtype=_STRING), validate=False
    )


class _FrameBuilder:
    """Accumulates rows as codes into a table of field keys, then builds once."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.file_rows = array("q")  # rows per file, in order
        self.keys: dict[_FieldKey, int] = {}
        self.key_codes = array("i")
        self.values: list[str] = []
        self.errors: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.values)

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

    def add_dataset(self, file: str, ds: Any) -> None:
        """Add the rows of one dataset, walked as ``get_identifiers`` does."""
        keys = self.keys
        key_codes = self.key_codes
        values = self.values
        rows = 0
        for walked in iter_fields(ds, skip=DEFAULT_SKIP):
            key = (
                walked.uid,
                walked.name,
                walked.vr,
                walked.uid[-12:],  # the element's own tag, "(gggg, eeee)"
                walked.keyword,
                walked.private_creator,
                min(walked.depth, 127),
                walked.is_filemeta,
            )
            code = keys.get(key)
            if code is None:
                code = keys[key] = len(keys)
            key_codes.append(code)
            values.append(format_walked(walked))
            rows += 1
        if rows:
            self.files.append(file)
            self.file_rows.append(rows)

    def truncate(self, length: int) -> None:
        """Drop the rows added after the first `length` (a file failed half-way)."""
        extra = len(self.values) - length
        del self.key_codes[length:]
        del self.values[length:]
        while extra > 0 and self.file_rows:
            if self.file_rows[-1] <= extra:
                extra -= self.file_rows.pop()
                self.files.pop()
            else:
                self.file_rows[-1] -= extra
                extra = 0

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
        data["value"] = pd.array(pa.array(self.values, type=pa.string()), dtype=_STRING)
        data["depth"] = (
            np.array([key[6] for key in table], dtype=np.int8)[codes]
            if table
            else np.empty(0, np.int8)
        )
        data["is_filemeta"] = (
            np.array([key[7] for key in table], dtype=bool)[codes]
            if table
            else np.empty(0, bool)
        )
        df = pd.DataFrame(data, columns=list(COLUMNS))
        df.attrs["errors"] = _errors_frame(self.errors)
        return df


def empty_frame() -> pd.DataFrame:
    """Return a frame with the contract's columns and dtypes and no rows.

    Returns
    -------
    pandas.DataFrame
        Zero rows; ``attrs["errors"]`` is an empty errors frame.

    Examples
    --------
    >>> list(empty_frame().columns)[:5]
    ['file', 'uid', 'name', 'VR', 'value']
    """
    return _FrameBuilder().build()


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
    builder = _FrameBuilder()
    for path, fields in ids.items():
        file = os.fspath(path)
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
    from deidscope.fields import normalize_uid

    return uid if uid.startswith("(") and ", " in uid[:7] else normalize_uid(uid)


def concat_frames(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate identifier frames, keeping categorical columns categorical.

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Frames with the columns of :data:`COLUMNS`, e.g. from several runs
        of :func:`read_identifiers`.

    Returns
    -------
    pandas.DataFrame
        The rows of all frames in order, with a fresh index, and the errors
        of all frames in ``attrs["errors"]``.
    """
    frames = list(frames)
    if not frames:
        return empty_frame()
    data: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        parts = [frame[column] for frame in frames]
        if dtype == "category":
            data[column] = union_categoricals(parts)
        else:
            data[column] = pd.concat(parts, ignore_index=True)
    df = pd.DataFrame(data, columns=list(COLUMNS))
    errors = [frame.attrs.get("errors") for frame in frames]
    df.attrs["errors"] = ReadErrors(
        pd.concat(
            [e for e in errors if e is not None] or [_errors_frame([])],
            ignore_index=True,
        )
    )
    return df


def _expand(paths: Sequence[PathLike]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files named directly, plus every file found in the folders named."""
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(iter_dicom_files(path, check=False, skipped=skipped))
        else:
            files.append(os.fspath(path))
    return files, skipped


def _add_file(builder: _FrameBuilder, file: str, errors: Errors) -> None:
    """Add one file's rows, or its error, to `builder`."""
    try:
        ds, truncation = read_checked(file)
        if truncation is not None and errors == "raise":
            raise ReadError(file, truncation)
        mark = len(builder)
        try:
            builder.add_dataset(file, ds)
        except Exception as exc:  # a value pydicom cannot convert, say
            builder.truncate(mark)
            raise ReadError(
                file, f"cannot be read: {type(exc).__name__}: {exc}"
            ) from exc
    except ReadError as exc:
        if errors == "raise":
            raise
        builder.errors.append((file, exc.reason))
        return
    if truncation is not None:  # the header is there: keep its rows, say so
        builder.errors.append((file, truncation))


def read_files_frame(files: Sequence[str], errors: Errors = "ignore") -> pd.DataFrame:
    """Read `files` in this process into one frame, without warning.

    The unit of work of :func:`read_identifiers` with several processes and
    of the Dask backend; files that cannot be read are listed in
    ``attrs["errors"]``.

    Parameters
    ----------
    files : sequence of str
        Paths of files (not folders).
    errors : {"warn", "ignore", "raise"}, optional
        ``"raise"`` raises on the first unreadable file; otherwise they are
        only listed.

    Returns
    -------
    pandas.DataFrame
        The rows of `files`, in order.
    """
    builder = _FrameBuilder()
    for file in files:
        _add_file(builder, file, errors)
    return builder.build()


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _progress_bar(total: int, progress: bool | None) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit="file",
        desc="read_identifiers",
        disable=progress is False,
        delay=0 if progress else PROGRESS_DELAY,
        leave=bool(progress),
    )


def _pool_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        # fork from a kernel with threads can deadlock; spawn is slower to start
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["deidscope.frame"])
        return ctx
    return multiprocessing.get_context()


def read_identifiers(
    paths: PathLike | Iterable[PathLike],
    *,
    workers: int | None = None,
    progress: bool | None = None,
    errors: Errors = "warn",
) -> pd.DataFrame:
    """Read the fields of DICOM files into the long DataFrame.

    Headers are read without their pixel data; nothing is kept of a file
    once its rows are written, so memory grows with the number of rows, not
    with the size of the files.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and folders (searched recursively, every file in them read).
    workers : int or None, optional
        Processes to read with; None or 1 reads in this process. Rows come
        in the same order whatever the number.
    progress : bool or None, optional
        Show a progress bar (notebook-aware, by tqdm): None shows one only
        when the run lasts more than a couple of seconds, True always,
        False never.
    errors : {"warn", "ignore", "raise"}, optional
        Files that cannot be read are listed in ``df.attrs["errors"]``
        (columns ``file`` and ``error``); ``"warn"`` (default) also warns
        once with the count, ``"ignore"`` does not, ``"raise"`` raises
        :class:`~deidscope.errors.ReadError` on the first.

    Returns
    -------
    pandas.DataFrame
        One row per field; see :data:`COLUMNS` and the module documentation.

    Raises
    ------
    FileNotFoundError
        If a path does not exist (checked before any file is read).
    ReadError
        With ``errors="raise"``, for the first file that cannot be read.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> df = read_identifiers(get_dataset("dicom-cookies"))
    >>> df.file.nunique(), df.loc[df.keyword == "PatientSex", "value"].iloc[0]
    (7, 'F')
    """
    check_errors_option(errors, caller="read_identifiers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError(
            "read_identifiers: workers must be a positive int or None, "
            f"but got {workers!r}"
        )
    items = check_paths(paths, caller="read_identifiers")
    files, skipped = _expand(items)
    if skipped and errors == "raise":
        raise ReadError(*skipped[0])
    with _progress_bar(len(files), progress) as bar:
        if workers is None or workers == 1 or len(files) <= CHUNK_FILES:
            builder = _FrameBuilder()
            for file in files:
                _add_file(builder, file, errors)
                bar.update(1)
            df = builder.build()
        else:
            frames: list[pd.DataFrame] = []
            chunks = list(_chunks(files, CHUNK_FILES))
            with concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=_pool_context()
            ) as pool:
                results = pool.map(read_files_frame, chunks, [errors] * len(chunks))
                for chunk, frame in zip(chunks, results, strict=True):
                    frames.append(frame)
                    bar.update(len(chunk))
            df = concat_frames(frames)
    if skipped:
        df.attrs["errors"] = ReadErrors(
            pd.concat([_errors_frame(skipped), df.attrs["errors"]], ignore_index=True)
        )
    failures = len(df.attrs["errors"])
    if failures and errors == "warn":
        warnings.warn(
            f"read_identifiers: {failures} of {len(files) + len(skipped)} files could "
            "not be read; df.attrs['errors'] lists them with the reason "
            "(pass errors='ignore' to silence this warning)",
            ReadErrorsWarning,
            stacklevel=2,
        )
    return df
