"""Streaming the identifier frame to Parquet or CSV, batch by batch.

Header values are untrusted text, and a spreadsheet runs a CSV cell that
starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a carriage return)
as a formula. Every CSV deidscope writes (the identifiers CSV and the
errors sidecar here, the command line's reports) goes through
:func:`escape_formulas` or :func:`escape_cell`, which put a single quote in
front of such a cell (OWASP's advice against CSV injection). Parquet keeps
every value as it is.

Every CSV deidscope writes ends its lines with CRLF (:data:`CSV_LINE_END`,
RFC 4180 and :mod:`csv`'s default): with it a value holding a lone carriage
return or line feed is quoted, so ``pandas.read_csv`` gives it back whole
(with LF line ends pandas leaves a lone CR unquoted, and the row splits).
:func:`frame_to_csv` writes a frame that way.
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq

from deidscope._progress import progress_bar
from deidscope._version import __version__
from deidscope.errors import ERROR_COLUMNS, BatchErrors, Errors, InputError
from deidscope.files import (
    PathLike,
    atomic_output,
    check_output,
    check_paths,
    expand_paths,
)
from deidscope.frame import COLUMNS
from deidscope.frame._read import pool_context, read_files_frame
from deidscope.parallel._format import (
    METADATA_KEY,
    SCHEMA,
    errors_path,
    frame_to_table,
)

__all__ = [
    "CSV_LINE_END",
    "FILES_PER_ROW_GROUP",
    "FORMULA_STARTS",
    "IdentifiersWritten",
    "escape_cell",
    "escape_formulas",
    "frame_to_csv",
    "write_identifiers",
]

logger = logging.getLogger(__name__)

#: Files per Parquet row group (and per task with several processes).
FILES_PER_ROW_GROUP = 500
#: Files per Dask partition (one task reads one partition).
#: Keep at most this many batches per worker process in flight.
_IN_FLIGHT_PER_WORKER = 2
#: First characters that make a spreadsheet read a CSV cell as a formula.
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: The line end of every CSV deidscope writes (see the module documentation).
CSV_LINE_END = "\r\n"
_FORMATS: dict[str, Literal["parquet", "csv"]] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}


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


def escape_cell(text: str) -> str:
    """Return `text` with a ``'`` in front if a spreadsheet would run it.

    A cell that starts with one of :data:`FORMULA_STARTS` (``=``, ``+``,
    ``-``, ``@``, a tab, a carriage return) is read as a formula by Excel,
    LibreOffice and Google Sheets; the quote makes it text.

    Parameters
    ----------
    text : str
        The cell.

    Returns
    -------
    str
        `text`, or ``"'" + text``.

    Examples
    --------
    >>> print(escape_cell('=HYPERLINK("http://x")'))
    '=HYPERLINK("http://x")
    >>> print(escape_cell("Doe^Jane"))
    Doe^Jane
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def frame_to_csv(
    df: pd.DataFrame, target: Any = None, *, escape: bool = True, header: bool = True
) -> str | None:
    r"""Write `df` as deidscope writes every CSV: CRLF line ends, UTF-8.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows (the index is left out).
    target : str, os.PathLike or text file, optional
        Where to write; None returns the text.
    escape : bool, optional
        Put a quote in front of a cell a spreadsheet would run
        (:func:`escape_formulas`; default True). False keeps every value
        as it is (a table read back by programs, such as the crosswalk).
    header : bool, optional
        Write the column names first (default True).

    Returns
    -------
    str or None
        The CSV text if `target` is None.

    Examples
    --------
    >>> frame_to_csv(pd.DataFrame({"value": ["a\rb", "=1"]}))
    'value\r\n"a\rb"\r\n\'=1\r\n'
    """
    rows = escape_formulas(df) if escape else df
    text: str | None = rows.to_csv(
        target,
        header=header,
        index=False,
        encoding="utf-8",
        lineterminator=CSV_LINE_END,
    )
    return text


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with :func:`escape_cell` applied to every text cell.

    Columns of text (string, object or categorical) are escaped; numbers,
    booleans and missing values are left alone. `df` is not changed.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame about to be written to CSV.

    Returns
    -------
    pandas.DataFrame
        A frame with the same columns, index and dtypes (a categorical
        column with a cell to escape becomes object).

    Examples
    --------
    >>> escape_formulas(pd.DataFrame({"value": ["-1.5", "x"], "n": [1, 2]}))
       value  n
    0  '-1.5  1
    1      x  2
    """
    out = df.copy(deep=False)
    for position in range(df.shape[1]):
        column = df.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        elif not (
            pd.api.types.is_string_dtype(column.dtype)
            or pd.api.types.is_object_dtype(column.dtype)
        ):
            continue
        try:
            starts = column.str.startswith(FORMULA_STARTS, na=False)
        except AttributeError:  # an object column without text
            continue
        mask = starts.to_numpy(dtype=bool)
        if mask.any():
            escaped = column.where(~mask, "'" + column.astype(str))
            out.isetitem(position, escaped.array)
    return out


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
        max_workers=workers, mp_context=pool_context()
    ) as pool:
        pending: collections.deque[tuple[int, concurrent.futures.Future[Any]]] = (
            collections.deque()
        )
        limit = workers * _IN_FLIGHT_PER_WORKER
        try:
            for chunk in chunks:
                pending.append((len(chunk), pool.submit(read_files_frame, chunk, mode)))
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
            self._writer.writerow((escape_cell(str(file)), escape_cell(str(error))))
            self.count += 1


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
        ``private_creator`` as an empty field, and a cell that starts with
        ``=``, ``+``, ``-``, ``@``, a tab or a carriage return prefixed with
        ``'`` so that a spreadsheet does not run it as a formula: see
        :func:`escape_cell`). The errors sidecar is escaped the same way;
        Parquet keeps every value as it is. Written to a temporary name and
        renamed when complete.
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
    batch = BatchErrors(caller, errors)
    _check_positive(workers, "workers", caller, none=True)
    _check_positive(files_per_row_group, "files_per_row_group", caller, none=False)
    output = Path(path)
    fmt = _output_format(output, caller)
    items = check_paths(paths, caller=caller)
    sidecar = errors_path(output)
    check_output(output, overwrite=overwrite, caller=caller, also=[sidecar])
    batch.listed_in = os.fspath(sidecar)
    files, skipped = expand_paths(items)
    if batch.raises:
        batch.extend(skipped)

    n_rows = 0
    # the sidecar's block ends first: it is in place before the output is
    with (
        atomic_output(output, overwrite=overwrite, caller=caller) as tmp_output,
        atomic_output(sidecar, overwrite=overwrite, caller=caller) as tmp_sidecar,
        open(tmp_sidecar, "w", newline="", encoding="utf-8") as error_fp,
        progress_bar(len(files), progress, desc=caller) as bar,
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

    logger.info("%s: %d rows of %d files to %s", caller, n_rows, len(files), output)
    batch.finish(total=len(files) + len(skipped), count=n_errors)
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
            frame_to_csv(frame, fp, header=False)
            rows += len(frame)
            bar.update(n_files)
    return rows
