"""Identifiers of datasets that outgrow memory or one machine.

Two ways out of "read everything into one DataFrame":

- :func:`write_identifiers` streams the long frame to a Parquet (or CSV)
  file, a few hundred files at a time, each batch one Parquet row group. Only
  one batch per process is in memory at once, so the peak stays flat however
  many files there are. :func:`read_identifiers_parquet` reads the file back
  into the frame :func:`~deidscope.frame.read_identifiers` would have built,
  dtypes and ``attrs["errors"]`` included.
- :func:`read_identifiers_dask` builds the same frame as a
  :class:`dask.dataframe.DataFrame` whose partitions are read by tasks on
  whatever Dask cluster the current client points at (a laptop's
  ``LocalCluster`` or hundreds of machines); :func:`read_errors_dask` lists
  the files that could not be read, from the same tasks.

Errors
------
:func:`write_identifiers` writes the files that cannot be read, one row each
with the columns ``file`` and ``error``, to a CSV sidecar named by
:func:`errors_path`: the output's name plus ``.errors.csv``
(``ids.parquet`` -> ``ids.parquet.errors.csv``). It is always written,
header only when every file read, so a stale list never survives a new run.
The Parquet file's key-value metadata (key ``deidscope``, JSON; read it with
``pyarrow.parquet.read_metadata(path).metadata``) records the number of
files, rows and errors and the sidecar's name.

With Dask, the errors are a second lazy DataFrame, :func:`read_errors_dask`,
built from the same tasks as :func:`read_identifiers_dask` (the task keys
are deterministic); computing both in one ``dask.compute`` call reads every
file once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import dataclasses
import json
import logging
import os
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from deidscope._optional import import_optional
from deidscope._version import __version__
from deidscope.dicom import Errors, ReadErrorsWarning, check_errors_option
from deidscope.errors import InputError, ReadError
from deidscope.files import PathLike, check_paths
from deidscope.frame import (
    CATEGORY_COLUMNS,
    COLUMNS,
    ERROR_COLUMNS,
    ReadErrors,
    _expand,
    _pool_context,
    empty_frame,
    read_files_frame,
)

__all__ = [
    "FILES_PER_PARTITION",
    "FILES_PER_ROW_GROUP",
    "SCHEMA",
    "IdentifiersWritten",
    "errors_path",
    "frame_to_table",
    "read_errors_dask",
    "read_identifiers_dask",
    "read_identifiers_parquet",
    "write_identifiers",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_STRING = pd.StringDtype("pyarrow")

#: Files per Parquet row group (and per task with several processes).
FILES_PER_ROW_GROUP = 500
#: Files per Dask partition (one task reads one partition).
FILES_PER_PARTITION = 500
#: Keep at most this many batches per worker process in flight.
_IN_FLIGHT_PER_WORKER = 2
#: The key of deidscope's entry in the Parquet key-value metadata.
METADATA_KEY = b"deidscope"
#: The suffix the errors sidecar adds to the output's name.
ERRORS_SUFFIX = ".errors.csv"
#: Output formats by suffix.
_FORMATS: dict[str, Literal["parquet", "csv"]] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}


def _pandas_metadata() -> dict[bytes, bytes]:
    """Return the frame's ``pandas`` schema metadata (dtypes for read_parquet)."""
    frame = empty_frame()
    frame.attrs = {}  # a fresh frame of our own; attrs do not serialise
    metadata = pa.Schema.from_pandas(frame, preserve_index=False).metadata or {}
    return {b"pandas": metadata[b"pandas"]} if b"pandas" in metadata else {}


def _schema() -> pa.Schema:
    fields = []
    for column, dtype in COLUMNS.items():
        if dtype == "category":
            fields.append(pa.field(column, pa.dictionary(pa.int32(), pa.string())))
        elif column == "value":
            fields.append(pa.field(column, pa.string(), nullable=False))
        else:
            fields.append(pa.field(column, pa.from_numpy_dtype(np.dtype(dtype))))
    return pa.schema(fields, metadata=_pandas_metadata())


#: The Arrow schema of the identifier frame, the same for every row group:
#: categorical columns as dictionary-encoded strings (int32 indices),
#: ``value`` as string, ``depth`` int8, ``is_filemeta`` bool.
SCHEMA: pa.Schema = _schema()


def frame_to_table(df: pd.DataFrame) -> pa.Table:
    """Convert an identifier frame to an Arrow table with :data:`SCHEMA`.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame with the columns of :data:`deidscope.frame.COLUMNS` (as
        :func:`~deidscope.frame.read_identifiers` returns); not modified.

    Returns
    -------
    pyarrow.Table
        The same rows; missing values stay missing.

    Raises
    ------
    InputError
        If a column is missing or a categorical column is not categorical.

    Examples
    --------
    >>> from deidscope.frame import empty_frame
    >>> frame_to_table(empty_frame()).schema.field("file").type
    DictionaryType(dictionary<values=string, indices=int32, ordered=0>)
    """
    missing = [column for column in COLUMNS if column not in df.columns]
    if missing:
        raise InputError(
            f"frame_to_table: expected the identifier frame's columns, but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
        )
    arrays: list[pa.Array] = []
    for column in COLUMNS:
        series = df[column]
        if column in CATEGORY_COLUMNS:
            if not isinstance(series.dtype, pd.CategoricalDtype):
                raise InputError(
                    f"frame_to_table: expected column {column!r} to be "
                    f"categorical, but got {series.dtype}"
                )
            codes = series.cat.codes.to_numpy().astype(np.int32, copy=False)
            indices = pa.array(codes, mask=codes < 0, type=pa.int32())
            dictionary = pa.array(
                series.cat.categories.to_numpy(dtype=object), type=pa.string()
            )
            arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary))
        else:
            arrays.append(
                pa.array(series, type=SCHEMA.field(column).type, from_pandas=True)
            )
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def errors_path(path: PathLike) -> Path:
    """Return the errors sidecar of an output file: its name + ``.errors.csv``.

    Parameters
    ----------
    path : str or os.PathLike
        The output of :func:`write_identifiers`.

    Returns
    -------
    pathlib.Path
        The sidecar, in the same folder.

    Examples
    --------
    >>> errors_path("out/ids.parquet").as_posix()
    'out/ids.parquet.errors.csv'
    """
    path = Path(path)
    return path.with_name(path.name + ERRORS_SUFFIX)


@dataclasses.dataclass(frozen=True)
class IdentifiersWritten:
    """What :func:`write_identifiers` wrote.

    Parameters
    ----------
    path : pathlib.Path
        The Parquet or CSV file.
    errors_path : pathlib.Path
        The errors sidecar (columns ``file``, ``error``).
    n_files : int
        Files read or tried (read errors included).
    n_rows : int
        Rows written.
    n_errors : int
        Files listed in the sidecar.
    """

    path: Path
    errors_path: Path
    n_files: int
    n_rows: int
    n_errors: int


def _check_positive(value: object, name: str, caller: str, *, none: bool) -> None:
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f"{caller}: {name} must be a positive int{' or None' if none else ''}, "
            f"but got {value!r}"
        )


def _output_format(path: Path, caller: str) -> Literal["parquet", "csv"]:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{caller}: expected an output ending in "
            f"{', '.join(_FORMATS)}, but got {os.fspath(path)!r}"
        )
    return fmt


def _check_output(path: Path, *, overwrite: bool, caller: str) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            2,
            f"{caller}: the output's folder does not exist (create it first)",
            os.fspath(parent),
        )
    for target in (path, errors_path(path)):
        if target.is_dir():
            raise InputError(
                f"{caller}: the output is a folder, expected a file: {target}"
            )
        if target.exists() and not overwrite:
            raise FileExistsError(
                17,
                f"{caller}: the output exists (pass overwrite=True to replace it)",
                os.fspath(target),
            )


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


class _PortableReadError(ReadError):
    """A ReadError raised in a worker process; it unpickles as a ReadError.

    ``ReadError(path, reason)`` does not survive pickling by itself (its
    ``args`` hold the message only), so a worker raises this instead.
    """

    def __reduce__(self) -> tuple[type[ReadError], tuple[Any, str]]:
        return ReadError, (self.path, self.reason)


def _read_batch(files: Sequence[str], errors: Errors) -> pd.DataFrame:
    """Read `files` in a worker process (errors raised in a portable form)."""
    try:
        return read_files_frame(files, errors)
    except ReadError as exc:
        raise _PortableReadError(exc.path, exc.reason) from None


def _batches(
    files: Sequence[str], size: int, workers: int | None, errors: Errors
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield ``(n_files, frame)`` per batch of `files`, in order.

    With several workers, at most a couple of batches per worker are read
    ahead of the one being written, so memory stays bounded.
    """
    mode: Errors = "raise" if errors == "raise" else "ignore"
    chunks = (files[start : start + size] for start in range(0, len(files), size))
    if workers is None or workers == 1 or len(files) <= size:
        for chunk in chunks:
            yield len(chunk), read_files_frame(chunk, mode)
        return
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context()
    ) as pool:
        pending: collections.deque[tuple[int, concurrent.futures.Future[Any]]] = (
            collections.deque()
        )
        limit = workers * _IN_FLIGHT_PER_WORKER
        try:
            for chunk in chunks:
                pending.append((len(chunk), pool.submit(_read_batch, chunk, mode)))
                if len(pending) >= limit:
                    n, future = pending.popleft()
                    yield n, future.result()
            while pending:
                n, future = pending.popleft()
                yield n, future.result()
        finally:
            for _, future in pending:
                future.cancel()


class _ErrorsWriter:
    """Streams ``(file, error)`` rows to the CSV sidecar."""

    def __init__(self, fp: Any) -> None:
        self._writer = csv.writer(fp)
        self._writer.writerow(ERROR_COLUMNS)
        self.count = 0

    def write(self, errors: pd.DataFrame | Sequence[tuple[str, str]]) -> None:
        rows = (
            errors.itertuples(index=False, name=None)
            if isinstance(errors, pd.DataFrame)
            else errors
        )
        for file, error in rows:
            self._writer.writerow((file, error))
            self.count += 1


def _progress_bar(total: int, progress: bool | None, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit="file",
        desc=desc,
        disable=progress is False,
        delay=0 if progress else 2.0,
        leave=bool(progress),
    )


def write_identifiers(
    paths: PathLike | Iterable[PathLike],
    path: PathLike,
    *,
    workers: int | None = None,
    files_per_row_group: int = FILES_PER_ROW_GROUP,
    progress: bool | None = None,
    errors: Errors = "warn",
    overwrite: bool = False,
) -> IdentifiersWritten:
    """Stream the identifier frame of DICOM files to a Parquet or CSV file.

    The files are read `files_per_row_group` at a time; each batch becomes
    one Parquet row group (or a run of CSV lines) and is dropped before the
    next, so memory stays flat whatever the number of files. The rows are
    those of :func:`~deidscope.frame.read_identifiers` on the same paths, in
    the same order; :func:`read_identifiers_parquet` reads them back.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and folders (searched recursively, every file in them read).
    path : str or os.PathLike
        The output: ``.parquet`` (or ``.pq``) for Parquet with
        :data:`SCHEMA`, ``.csv`` for CSV (UTF-8, a header line, a missing
        ``private_creator`` as an empty field). Written to a temporary name
        and renamed when complete.
    workers : int or None, optional
        Processes to read with; None or 1 reads in this process. The output
        is the same whatever the number.
    files_per_row_group : int, optional
        Files per batch (and per Parquet row group).
    progress : bool or None, optional
        Show a progress bar: None only when the run lasts more than a couple
        of seconds, True always, False never.
    errors : {"warn", "ignore", "raise"}, optional
        Files that cannot be read are written to the sidecar
        (:func:`errors_path`); ``"warn"`` also warns once with the count,
        ``"ignore"`` does not, ``"raise"`` raises on the first (and writes
        nothing).
    overwrite : bool, optional
        Replace an existing output (and sidecar); by default they are left
        alone and an error raised before any work.

    Returns
    -------
    IdentifiersWritten
        The paths written and the counts of files, rows and errors.

    Raises
    ------
    FileNotFoundError
        If an input path or the output's folder does not exist (before any
        file is read).
    FileExistsError
        If the output or its sidecar exists and `overwrite` is false.
    InputError
        For an unsupported output suffix or bad options.
    ReadError
        With ``errors="raise"``, for the first file that cannot be read.
    """
    caller = "write_identifiers"
    check_errors_option(errors, caller=caller)
    _check_positive(workers, "workers", caller, none=True)
    _check_positive(files_per_row_group, "files_per_row_group", caller, none=False)
    output = Path(path)
    fmt = _output_format(output, caller)
    items = check_paths(paths, caller=caller)
    _check_output(output, overwrite=overwrite, caller=caller)
    files, skipped = _expand(items)
    if skipped and errors == "raise":
        raise ReadError(*skipped[0])

    sidecar = errors_path(output)
    tmp_output, tmp_sidecar = _temporary(output), _temporary(sidecar)
    n_rows = 0
    try:
        with (
            open(tmp_sidecar, "w", newline="", encoding="utf-8") as error_fp,
            _progress_bar(len(files), progress, caller) as bar,
        ):
            error_writer = _ErrorsWriter(error_fp)
            error_writer.write(skipped)
            batches = _batches(files, files_per_row_group, workers, errors)
            if fmt == "parquet":
                n_rows = _write_parquet(
                    tmp_output,
                    batches,
                    error_writer,
                    bar,
                    n_files=len(files) + len(skipped),
                    sidecar=sidecar.name,
                )
            else:
                n_rows = _write_csv(tmp_output, batches, error_writer, bar)
        n_errors = error_writer.count
        for tmp, final in ((tmp_sidecar, sidecar), (tmp_output, output)):
            if final.exists() and not overwrite:
                raise FileExistsError(
                    17, f"{caller}: the output appeared while writing", os.fspath(final)
                )
            os.replace(tmp, final)
    finally:
        for tmp in (tmp_output, tmp_sidecar):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    logger.info("%s: %d rows of %d files to %s", caller, n_rows, len(files), output)
    if n_errors and errors == "warn":
        warnings.warn(
            f"{caller}: {n_errors} of {len(files) + len(skipped)} files could not be "
            f"read; {sidecar} lists them with the reason "
            "(pass errors='ignore' to silence this warning)",
            ReadErrorsWarning,
            stacklevel=2,
        )
    return IdentifiersWritten(
        path=output,
        errors_path=sidecar,
        n_files=len(files) + len(skipped),
        n_rows=n_rows,
        n_errors=n_errors,
    )


def _write_parquet(
    path: Path,
    batches: Iterable[tuple[int, pd.DataFrame]],
    error_writer: _ErrorsWriter,
    bar: Any,
    *,
    n_files: int,
    sidecar: str,
) -> int:
    rows = 0
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for batch_files, frame in batches:
            error_writer.write(frame.attrs["errors"])
            if len(frame):
                writer.write_table(frame_to_table(frame), row_group_size=len(frame))
                rows += len(frame)
            bar.update(batch_files)
        summary = {
            "version": __version__,
            "files": n_files,
            "rows": rows,
            "errors": error_writer.count,
            "errors_file": sidecar,
        }
        writer.add_key_value_metadata({METADATA_KEY: json.dumps(summary).encode()})
    return rows


def _write_csv(
    path: Path,
    batches: Iterable[tuple[int, pd.DataFrame]],
    error_writer: _ErrorsWriter,
    bar: Any,
) -> int:
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fp:
        csv.writer(fp).writerow(COLUMNS)
        for n_files, frame in batches:
            error_writer.write(frame.attrs["errors"])
            # CRLF line ends, as csv.writer: a value holding a lone CR is quoted
            frame.to_csv(fp, header=False, index=False, lineterminator="\r\n")
            rows += len(frame)
            bar.update(n_files)
    return rows


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """Return a dictionary (or string) column as a string Categorical.

    Categories come in order of first appearance, as
    :func:`~deidscope.frame.read_identifiers` makes them.
    """
    if pa.types.is_dictionary(column.type):
        unified = column.to_pandas()
        codes = unified.cat.codes.to_numpy()
        categories = unified.cat.categories.to_numpy(dtype=object)
    else:
        codes, categories = pd.factorize(column.to_pandas(), use_na_sentinel=True)
    return pd.Categorical.from_codes(
        codes, categories=pd.Index(categories, dtype=_STRING)
    )


def _read_errors_sidecar(path: Path) -> ReadErrors:
    table = pd.read_csv(
        path,
        dtype={"file": _STRING, "error": _STRING},
        keep_default_na=False,
        encoding="utf-8",
    )
    return ReadErrors(table[list(ERROR_COLUMNS)])


def read_identifiers_parquet(path: PathLike) -> pd.DataFrame:
    """Read identifiers written as Parquet back into the long frame.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`write_identifiers`, or a folder of Parquet
        files (``read_identifiers_dask(...).to_parquet(folder)``).

    Returns
    -------
    pandas.DataFrame
        The frame, with the dtypes of :data:`deidscope.frame.COLUMNS` and
        its rows in the order written; ``attrs["errors"]`` is read from the
        errors sidecar (:func:`errors_path`) when there is one, else empty.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    InputError
        If the data lacks a column of the identifier frame.

    Warns
    -----
    UserWarning
        If the file records read errors but its sidecar is missing.
    """
    caller = "read_identifiers_parquet"
    source = Path(check_paths(path, caller=caller)[0])
    table = pq.read_table(source)
    missing = [column for column in COLUMNS if column not in table.column_names]
    if missing:
        raise InputError(
            f"{caller}: expected the identifier frame's columns in {source}, "
            f"but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
        )
    data: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        chunks = table.column(column)
        if dtype == "category":
            data[column] = _categorical(chunks)
        elif column == "value":
            data[column] = pd.array(chunks.cast(pa.string()), dtype=_STRING)
        else:
            data[column] = chunks.to_numpy().astype(dtype, copy=False)
    df = pd.DataFrame(data, columns=list(COLUMNS))
    sidecar = errors_path(source)
    if source.is_file() and sidecar.is_file():
        df.attrs["errors"] = _read_errors_sidecar(sidecar)
    else:
        df.attrs["errors"] = empty_frame().attrs["errors"]
        recorded = _recorded_errors(source) if source.is_file() else 0
        if recorded:
            warnings.warn(
                f"{caller}: {source} records {recorded} files that could not be "
                f"read, but their list, {sidecar}, is missing; attrs['errors'] "
                "is empty",
                UserWarning,
                stacklevel=2,
            )
    return df


def _recorded_errors(path: Path) -> int:
    """Return the error count in the footer of a write_identifiers file."""
    raw = (pq.read_metadata(path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        return 0
    try:
        return int(json.loads(raw).get("errors", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def _read_partition(
    files: tuple[str, ...], errors: Errors
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One Dask task: the rows of `files` and the files that failed."""
    frame = _read_batch(list(files), errors)
    failed = frame.attrs["errors"]
    frame.attrs = {}  # our own fresh frame; Dask partitions carry no attrs
    return frame, failed


def _check_dask_errors(errors: str, caller: str) -> None:
    if errors not in ("ignore", "raise"):
        raise InputError(
            f"{caller}: errors must be 'ignore' (list them with read_errors_dask) "
            f"or 'raise', but got {errors!r}"
        )


def _dask_partitions(
    paths: PathLike | Iterable[PathLike],
    files_per_partition: int,
    errors: str,
    caller: str,
) -> tuple[list[Any], list[tuple[str, str]]]:
    """Return the delayed read tasks, one per partition, and the files skipped."""
    dask = import_optional("dask", extra="dask", feature=caller)
    _check_dask_errors(errors, caller)
    _check_positive(files_per_partition, "files_per_partition", caller, none=False)
    items = check_paths(paths, caller=caller)
    files, skipped = _expand(items)
    if skipped and errors == "raise":
        raise ReadError(*skipped[0])
    read = dask.delayed(_read_partition, pure=True)
    parts = [
        read(tuple(files[start : start + files_per_partition]), errors)
        for start in range(0, len(files), files_per_partition)
    ]
    return parts, skipped


def read_identifiers_dask(
    paths: PathLike | Iterable[PathLike],
    *,
    files_per_partition: int = FILES_PER_PARTITION,
    errors: Literal["ignore", "raise"] = "ignore",
) -> Any:
    """Read the identifier frame lazily, as a Dask DataFrame.

    The folders are listed here, in the calling process; the files are read
    by Dask tasks, `files_per_partition` per task, on whatever scheduler is
    active when the result is computed: the cluster of the current
    ``dask.distributed.Client``, or Dask's default local scheduler. Every
    worker must see the paths under the same names (a shared file system)
    and have deidscope installed.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and folders (searched recursively, every file in them read).
    files_per_partition : int, optional
        Files read by each task, i.e. per partition.
    errors : {"ignore", "raise"}, optional
        ``"ignore"`` (default) leaves unreadable files out of the rows;
        :func:`read_errors_dask` with the same arguments lists them.
        ``"raise"`` makes the computation fail on the first.

    Returns
    -------
    dask.dataframe.DataFrame
        The columns and dtypes of :data:`deidscope.frame.COLUMNS`
        (categorical columns with categories unknown until computed). The
        partitions follow the order of the files, so ``.compute()`` gives
        the rows of :func:`~deidscope.frame.read_identifiers` in the same
        order; the index restarts at 0 in each partition.

    Raises
    ------
    MissingDependencyError
        If Dask is not installed (``pip install 'deidscope[dask]'``).
    FileNotFoundError
        If a path does not exist.
    InputError
        For bad options.
    """
    caller = "read_identifiers_dask"
    dd = import_optional("dask.dataframe", extra="dask", feature=caller)
    utils = import_optional("dask.dataframe.utils", extra="dask", feature=caller)
    parts, _ = _dask_partitions(paths, files_per_partition, errors, caller)
    meta = empty_frame()
    meta.attrs = {}
    if not parts:
        return dd.from_pandas(meta, npartitions=1)
    meta = utils.clear_known_categories(meta)
    frames = [part[0] for part in parts]
    return dd.from_delayed(frames, meta=meta, verify_meta=False)


def read_errors_dask(
    paths: PathLike | Iterable[PathLike],
    *,
    files_per_partition: int = FILES_PER_PARTITION,
) -> Any:
    """List the files :func:`read_identifiers_dask` could not read, lazily.

    Built from the same tasks as ``read_identifiers_dask(paths,
    files_per_partition=...)`` with the same arguments: compute both in one
    call (``dask.compute(ddf, errors)``, or a ``to_parquet(...,
    compute=False)`` and the errors) and every file is read once.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        As given to :func:`read_identifiers_dask`.
    files_per_partition : int, optional
        As given to :func:`read_identifiers_dask`.

    Returns
    -------
    dask.dataframe.DataFrame
        Columns ``file`` and ``error`` (strings): zip archives found in
        folders first, then unreadable files in order.

    Raises
    ------
    MissingDependencyError
        If Dask is not installed.
    FileNotFoundError
        If a path does not exist.
    """
    caller = "read_errors_dask"
    dd = import_optional("dask.dataframe", extra="dask", feature=caller)
    dask = import_optional("dask", extra="dask", feature=caller)
    parts, skipped = _dask_partitions(paths, files_per_partition, "ignore", caller)
    meta = empty_frame().attrs["errors"]
    first = dask.delayed(_skipped_frame, pure=True)(tuple(skipped))
    return dd.from_delayed(
        [first, *(part[1] for part in parts)], meta=meta, verify_meta=False
    )


def _skipped_frame(skipped: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    if not skipped:
        errors: pd.DataFrame = empty_frame().attrs["errors"]
        return errors
    return ReadErrors(
        {
            "file": pd.array([file for file, _ in skipped], dtype=_STRING),
            "error": pd.array([error for _, error in skipped], dtype=_STRING),
        }
    )
