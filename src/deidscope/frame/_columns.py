"""The frame's columns and dtypes, its errors table, and checks on frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from deidscope.errors import ERROR_COLUMNS, ErrorsFrame, InputError, errors_frame

__all__ = [
    "CATEGORY_COLUMNS",
    "COLUMNS",
    "ERROR_COLUMNS",
    "STRING",
    "IdentifierData",
    "check_frame",
    "concat_frames",
    "empty_frame",
    "errors_frame",
]

#: What the functions that read identifiers accept: the long DataFrame, or
#: ``get_identifiers`` output (``{path: {uid: DicomField}}``).
IdentifierData: TypeAlias = pd.DataFrame | Mapping[Any, Mapping[str, Any]]

#: The dtype of text columns: pandas strings backed by Arrow.
STRING = pd.StringDtype("pyarrow")

#: The frame's columns and their dtypes, in order.
COLUMNS: dict[str, Any] = {
    "file": "category",
    "uid": "category",
    "name": "category",
    "VR": "category",
    "value": STRING,
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
    df.attrs["errors"] = ErrorsFrame(
        pd.concat(
            [e for e in errors if e is not None] or [errors_frame([])],
            ignore_index=True,
        )
    )
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
    data: dict[str, Any] = {}
    for column, dtype in COLUMNS.items():
        if dtype == "category":
            data[column] = pd.Categorical([], categories=pd.Index([], dtype=STRING))
        elif dtype is STRING:
            data[column] = pd.array([], dtype=STRING)
        else:
            data[column] = np.empty(0, dtype=dtype)
    df = pd.DataFrame(data, columns=list(COLUMNS))
    df.attrs["errors"] = errors_frame()
    return df


def check_frame(
    df: Any,
    *,
    caller: str,
    columns: Sequence[str] = ("file", "uid", "name", "VR", "value"),
    dask: bool = False,
) -> None:
    """Raise InputError unless `df` is an identifier frame with `columns`.

    Parameters
    ----------
    df : object
        What the caller was given.
    caller : str
        The public function's name, for the message.
    columns : sequence of str, optional
        The columns it needs.
    dask : bool, optional
        Accept a ``dask.dataframe.DataFrame`` too.

    Raises
    ------
    InputError
        Naming the function, what it expected and what it got.
    """
    is_dask = dask and type(df).__module__.startswith("dask")
    if not (isinstance(df, pd.DataFrame) or is_dask):
        raise InputError(
            f"{caller}: expected the identifier DataFrame that read_identifiers "
            f"returns, but got {type(df).__name__}"
        )
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise InputError(
            f"{caller}: expected a frame with the columns {list(columns)} (as "
            f"read_identifiers returns), but it lacks {missing}"
        )
