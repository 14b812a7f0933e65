"""The on-disk format: the Arrow schema, the errors sidecar, reading back."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from deidscope.errors import ERROR_COLUMNS, ErrorsFrame, InputError
from deidscope.files import PathLike, check_paths
from deidscope.frame import COLUMNS, STRING, check_frame, empty_frame
from deidscope.frame._columns import CATEGORY_COLUMNS

__all__ = [
    "SCHEMA",
    "errors_path",
    "frame_to_table",
    "read_identifiers_parquet",
]

#: The key of deidscope's entry in the Parquet key-value metadata.
METADATA_KEY = b"deidscope"
#: The suffix the errors sidecar adds to the output's name.
ERRORS_SUFFIX = ".errors.csv"
#: Output formats by suffix.


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
    check_frame(df, caller="frame_to_table", columns=tuple(COLUMNS))
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
        codes, categories=pd.Index(categories, dtype=STRING)
    )


def _read_errors_sidecar(path: Path) -> ErrorsFrame:
    table = pd.read_csv(
        path,
        dtype={"file": STRING, "error": STRING},
        keep_default_na=False,
        encoding="utf-8",
    )
    return ErrorsFrame(table[list(ERROR_COLUMNS)])


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
    table = _read_table(source, caller)
    data: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        chunks = table.column(column)
        if dtype == "category":
            data[column] = _categorical(chunks)
        elif column == "value":
            data[column] = pd.array(chunks.cast(pa.string()), dtype=STRING)
        else:
            data[column] = chunks.to_numpy().astype(dtype, copy=False)
    df = pd.DataFrame(data, columns=list(COLUMNS))
    sidecar = errors_path(source)
    if sidecar.is_file():
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


def _part_order(path: Path) -> tuple[object, ...]:
    """Sort key: ``part.2`` before ``part.10`` (numbers compared as numbers)."""
    return tuple(
        (0, int(piece), "") if piece.isdigit() else (1, 0, piece)
        for piece in re.split(r"(\d+)", path.name)
    )


def _read_table(source: Path, caller: str) -> pa.Table:
    """Read a file, or a folder's ``*.parquet`` parts in order, as SCHEMA."""
    if source.is_dir():
        parts = sorted(source.glob("*.parquet"), key=_part_order)
        if not parts:
            raise InputError(f"{caller}: no .parquet files in the folder {source}")
    else:
        parts = [source]
    target = SCHEMA.remove_metadata()
    tables = []
    for part in parts:
        table = pq.read_table(part)
        missing = [column for column in COLUMNS if column not in table.column_names]
        if missing:
            raise InputError(
                f"{caller}: expected the identifier frame's columns in {part}, but "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
            )
        table = table.select(list(COLUMNS)).replace_schema_metadata(None)
        tables.append(table if table.schema.equals(target) else table.cast(target))
    return pa.concat_tables(tables)


def _recorded_errors(path: Path) -> int:
    """Return the error count in the footer of a write_identifiers file."""
    raw = (pq.read_metadata(path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        return 0
    try:
        return int(json.loads(raw).get("errors", 0))
    except (ValueError, TypeError, AttributeError):
        return 0
