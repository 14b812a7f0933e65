"""The frame's columns and dtypes, its errors table, and checks on frames."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from pandas.api.types import union_categoricals

from deidscope.errors import InputError

__all__ = [
    "CATEGORY_COLUMNS",
    "COLUMNS",
    "ERROR_COLUMNS",
    "STRING",
    "ReadErrors",
    "check_frame",
    "concat_frames",
    "errors_frame",
]

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
#: The columns of ``df.attrs["errors"]``.
ERROR_COLUMNS: tuple[str, ...] = ("file", "error")


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


def errors_frame(errors: Sequence[tuple[str, str]]) -> ReadErrors:
    return ReadErrors(
        {
            "file": pd.array([file for file, _ in errors], dtype=STRING),
            "error": pd.array([error for _, error in errors], dtype=STRING),
        },
        columns=list(ERROR_COLUMNS),
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
        return _empty()
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
            [e for e in errors if e is not None] or [errors_frame([])],
            ignore_index=True,
        )
    )
    return df


def _empty() -> pd.DataFrame:
    from deidscope.frame._builder import FrameBuilder

    return FrameBuilder().build()


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
