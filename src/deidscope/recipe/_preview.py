"""What :class:`~deidscope.recipe._run.RecipeRun` needs around the engine.

Identifier data as a frame, one lookup per file, and the preview table of an
outcome (:meth:`Recipe.preview`'s frame).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from deidscope.errors import InputError
from deidscope.frame import STRING
from deidscope.recipe._state import Outcome

__all__ = ["PREVIEW_COLUMNS", "as_frame", "file_lookups", "outcome_frame"]

#: The columns of :meth:`Recipe.preview`.
PREVIEW_COLUMNS: tuple[str, ...] = ("file", "uid", "before", "after", "action", "line")


def as_frame(df_or_ids: Any, *, caller: str) -> pd.DataFrame:
    """Return an identifier frame from a frame or ``get_identifiers`` output."""
    if isinstance(df_or_ids, pd.DataFrame):
        missing = {"file", "uid", "name", "VR", "value", "private_creator"} - set(
            df_or_ids.columns
        )
        if missing:
            raise InputError(
                f"{caller}: expected an identifier frame (read_identifiers, to_frame), "
                f"but it lacks columns {sorted(missing)}"
            )
        return df_or_ids
    if isinstance(df_or_ids, Mapping):
        from deidscope.frame import to_frame

        return to_frame(df_or_ids)
    raise InputError(
        f"{caller}: expected an identifier DataFrame or get_identifiers output, "
        f"but got {type(df_or_ids).__name__}"
    )


def file_lookups(
    files: list[str], lookup: Mapping[Any, Any] | None, *, caller: str
) -> list[dict[str, Any]]:
    """One lookup per file: the global entries, then the file's own.

    An entry whose key is one of `files` (as a path) and whose value is a
    mapping is that file's lookup, as in deid's ``ids`` argument; every other
    entry applies to all files.
    """
    if lookup is None:
        return [{} for _ in files]
    if not isinstance(lookup, Mapping):
        raise InputError(
            f"{caller}: lookup must be a mapping of names to values or functions, "
            f"but got {type(lookup).__name__}"
        )
    known = set(files)
    common: dict[str, Any] = {}
    own: dict[str, Mapping[str, Any]] = {}
    for key, value in lookup.items():
        path = os.fspath(key) if isinstance(key, str | os.PathLike) else None
        if path in known and isinstance(value, Mapping):
            own[path] = value
        else:
            common[str(key)] = value
    return [{**common, **own.get(file, {})} for file in files]


def _categorical(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    """Return ``pd.Categorical([names[c] for c in codes])``, without the loop.

    The categories are the names used, sorted, as ``pd.Categorical`` makes
    them; two codes with the same name become one category.
    """
    used = np.unique(codes)
    labels = np.array([names[int(c)] for c in used], dtype=object)
    categories, inverse = np.unique(labels, return_inverse=True)
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[used] = inverse
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(categories))


def outcome_frame(outcome: Outcome) -> pd.DataFrame:
    """Return the preview table of an outcome."""
    rows = outcome.touched()
    before = outcome.before[rows]
    after = outcome.text[rows].copy()
    after[outcome.removed[rows]] = None
    return pd.DataFrame(
        {
            "file": _categorical(outcome.file[rows], outcome.files),
            "uid": _categorical(outcome.rowkey[rows], outcome.keys.uids),
            "before": pd.array(before, dtype=STRING),
            "after": pd.array(after, dtype=STRING),
            "action": pd.Categorical(outcome.action[rows]),
            "line": pd.array(outcome.line[rows], dtype="Int64"),
        },
        columns=list(PREVIEW_COLUMNS),
    )
