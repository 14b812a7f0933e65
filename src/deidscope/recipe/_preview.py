"""``Recipe.preview`` and ``Recipe.matches``: what a recipe does, without writing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from deidscope.errors import InputError
from deidscope.frame import STRING
from deidscope.recipe._engine import Outcome, run_header
from deidscope.recipe._model import Action

if TYPE_CHECKING:
    from deidscope.recipe._recipe import Recipe

__all__ = ["PREVIEW_COLUMNS", "as_frame", "file_lookups", "matches", "preview"]

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


def numbered(recipe: Recipe) -> list[tuple[int, Action]]:
    """Return the header actions with their line numbers."""
    return recipe._numbered()


def _outcome(
    recipe: Recipe, df: pd.DataFrame, lookup: Mapping[Any, Any] | None, caller: str
) -> Outcome:
    files = df["file"]
    categories = (
        files.cat.categories
        if isinstance(files.dtype, pd.CategoricalDtype)
        else pd.Index(sorted(set(files.astype(str))))
    )
    lookups = file_lookups([str(f) for f in categories], lookup, caller=caller)
    return run_header(
        numbered(recipe), recipe.values, recipe.fields, df, lookups, caller=caller
    )


def outcome_frame(outcome: Outcome) -> pd.DataFrame:
    """Return the preview table of an outcome."""
    rows = outcome.touched()
    before = outcome.before[rows]
    after = outcome.text[rows].copy()
    after[outcome.removed[rows]] = None
    return pd.DataFrame(
        {
            "file": pd.Categorical([outcome.files[int(f)] for f in outcome.file[rows]]),
            "uid": pd.Categorical([outcome.uid(int(r)) for r in rows]),
            "before": pd.array(before, dtype=STRING),
            "after": pd.array(after, dtype=STRING),
            "action": pd.Categorical(outcome.action[rows]),
            "line": pd.array(outcome.line[rows], dtype="Int64"),
        },
        columns=list(PREVIEW_COLUMNS),
    )


def preview(
    recipe: Recipe, df_or_ids: Any, lookup: Mapping[Any, Any] | None = None
) -> pd.DataFrame:
    """Implement :meth:`Recipe.preview`."""
    df = as_frame(df_or_ids, caller="Recipe.preview")
    return outcome_frame(_outcome(recipe, df, lookup, "Recipe.preview"))


def matches(
    recipe: Recipe,
    line: Action | int | str,
    df_or_ids: Any,
    lookup: Mapping[Any, Any] | None = None,
) -> pd.DataFrame:
    """Implement :meth:`Recipe.matches`."""
    df = as_frame(df_or_ids, caller="Recipe.matches")
    if isinstance(line, int) and not isinstance(line, bool):
        try:
            action = recipe.action_at(line)
        except KeyError:
            raise InputError(
                f"Recipe.matches: no %header line {line} in the recipe"
            ) from None
    elif isinstance(line, Action):
        action = line
    elif isinstance(line, str):
        action = Action("BLANK", line)
    else:
        raise InputError(
            f"Recipe.matches: expected an Action, a line number or a field "
            f"expression, but got {type(line).__name__}"
        )
    probe = Action("BLANK", action.field)
    without_keep = recipe.copy()
    without_keep.header = [a for a in without_keep.header if a.action != "KEEP"]
    files = df["file"]
    categories = (
        files.cat.categories
        if isinstance(files.dtype, pd.CategoricalDtype)
        else pd.Index(sorted(set(files.astype(str))))
    )
    lookups = file_lookups(
        [str(f) for f in categories], lookup, caller="Recipe.matches"
    )
    outcome = run_header(
        [(1, probe)], without_keep.values, without_keep.fields, df, lookups
    )
    hit = np.zeros(len(df), dtype=bool)
    rows = np.flatnonzero(outcome.line[: outcome.n_original] == 1)
    # blanking a sequence also takes its items: only the rows named count
    named = [r for r in rows if outcome.action[r] == "BLANK" and not outcome.removed[r]]
    hit[named] = True
    return df.loc[hit]
