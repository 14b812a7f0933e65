"""PS3.15 coverage of a recipe: what the standard says must go, and the recipe keeps."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydicom.datadict import tag_for_keyword

from deidscope.audit._partial import check_frame, codes, derived, is_dask, tag_int
from deidscope.errors import InputError
from deidscope.ps315 import ACTION_CODES, OPTIONS, lookup_many
from deidscope.recipe import RecipeRun
from deidscope.recipe._profile import CLEANED_SEQUENCES

__all__ = ["COVERAGE_COLUMNS", "coverage"]

#: The columns of :func:`coverage`.
COVERAGE_COLUMNS: tuple[str, ...] = (
    "name",
    "tag",
    "VR",
    "private_creator",
    "basic_profile",
    "decision",
    "line",
    "n_files",
    "n_rows",
    "example",
    "reason",
)

#: The sequences whose items decide them: X/Z/U* (kept with new UIDs) and
#: those the profile's C keeps (:data:`CLEANED_SEQUENCES`).
_BY_ITEMS = [
    int(tag_for_keyword(keyword) or 0)
    for keyword in (
        "ReferencedImageSequence",
        "SourceImageSequence",
        *sorted(CLEANED_SEQUENCES),
    )
]

#: Actions that keep a value: the profile asks for nothing then.
_KEEPS = frozenset({"", "K"})


def _effective(tags: list[int], options: tuple[str, ...]) -> np.ndarray:
    """Look up each tag's action under the Basic Profile with `options` applied."""
    table = lookup_many(tags)
    action = table["basic_profile"].to_numpy(dtype=object).copy()
    for option in options:
        change = table[option].to_numpy(dtype=object)
        action = np.where(change != "", change, action)
    return action


def _check_options(options: Iterable[str]) -> tuple[str, ...]:
    if isinstance(options, str):
        options = (options,)
    chosen = tuple(options)
    unknown = [option for option in chosen if option not in OPTIONS]
    if unknown:
        raise InputError(
            f"coverage: unknown options {unknown}; expected some of {list(OPTIONS)}"
        )
    return chosen


def coverage(
    df: pd.DataFrame,
    recipe: Any,
    *,
    options: Iterable[str] = (),
    lookup: Mapping[Any, Any] | None = None,
) -> pd.DataFrame:
    r"""List what the PS3.15 Basic Profile says must go but the recipe leaves.

    Every element of the data is looked up in DICOM PS3.15 Table E.1-1 (with
    the chosen options applied) and checked against what the recipe does to
    it (:meth:`deidscope.recipe.Recipe.preview`, which follows deid's rules;
    or the preview of a run of the recipe over `df`, which is not run again).
    An element is a gap when the table asks for anything but keeping it
    (remove, blank, dummy, clean, new UID) while no line of the recipe
    touches it, a ``KEEP`` line protects it, or the line that decides leaves
    its value as it was (but a line that empties a value already empty,
    where the table allows a zero-length value, ``Z``, has done its job).
    Private elements are the table's ``private`` row:
    one without a decision is always listed.

    Parameters
    ----------
    df : pandas.DataFrame
        The long frame of :func:`deidscope.read_identifiers`.
    recipe : deidscope.recipe.Recipe or deidscope.recipe.RecipeRun
        The recipe to check (anything with a ``preview(df, lookup)`` method),
        or a run of it over `df` (``recipe.run(df)``): its preview is read.
    options : iterable of str, optional
        Options of :data:`deidscope.ps315.OPTIONS` the release uses
        (``"retain_uids"``, ...); where an option sets an action, it wins.
    lookup : mapping or None, optional
        Passed to the recipe's ``preview`` for ``var:`` and ``func:`` values
        (a run has its own: pass it to ``Recipe.run``).

    Returns
    -------
    pandas.DataFrame
        One row per field name and decision, with the columns of
        :data:`COVERAGE_COLUMNS`: the field (``name``, ``tag``, ``VR``,
        ``private_creator``), the action the profile asks for
        (``basic_profile``, after options), what the recipe does
        (``decision``: ``"none"``, ``"KEEP"`` or ``"unchanged"``, and the
        recipe ``line`` that decided, <NA> for none), how many files and
        elements, an ``example`` value and the ``reason`` in words. Empty
        when the recipe covers everything.

    Raises
    ------
    InputError
        If `df` is not an identifier frame, `recipe` has no ``preview``, a
        run is over another frame or comes with a `lookup`, or an option is
        unknown.

    Examples
    --------
    >>> from deidscope import read_identifiers
    >>> from deidscope.data import get_dataset
    >>> from deidscope.recipe import Recipe
    >>> df = read_identifiers(get_dataset("dicom-cookies"))
    >>> recipe = Recipe.from_text("FORMAT dicom\n%header\nREMOVE PatientName\n")
    >>> gaps = coverage(df, recipe)
    >>> "PatientName" in set(gaps["name"]), "PatientID" in set(gaps["name"])
    (False, True)
    """
    check_frame(df, caller="coverage")
    if is_dask(df):
        raise InputError(
            "coverage: expected a pandas DataFrame, but got a Dask DataFrame; "
            "call .compute() on it first"
        )
    is_run = isinstance(recipe, RecipeRun)
    if is_run:
        if lookup is not None and lookup is not recipe.lookup:
            raise InputError(
                "coverage: the run has its lookup; pass lookup to Recipe.run, "
                "not with the run"
            )
        if not recipe.is_over(df):
            raise InputError(
                "coverage: expected a run over this frame, but the run is over "
                "another one (make it with recipe.run(df))"
            )
    elif not callable(getattr(recipe, "preview", None)):
        raise InputError(
            f"coverage: expected a deidscope.recipe.Recipe, but got "
            f"{type(recipe).__name__}"
        )
    chosen = _check_options(options)
    if len(df) == 0:
        return _empty()
    frame = derived(df)
    decided = recipe.preview() if is_run else recipe.preview(frame, lookup)

    # what the profile asks of each row, through its tag
    tag_codes, tags = codes(frame["tag"])
    tag_ints = [tag_int(tag) for tag in tags]
    asked = _effective([max(t, 0) for t in tag_ints], chosen)
    asked[[t < 0 for t in tag_ints]] = ""
    row_action = asked[tag_codes]
    private = np.asarray([t >= 0 and bool(t >> 16 & 1) for t in tag_ints])[tag_codes]
    wanted = ~np.isin(row_action, list(_KEEPS)) | private
    # a sequence kept with its UIDs replaced (X/Z/U*), or cleaned by keeping
    # it (the profile's C on the sequences its items' own lines clean), is
    # decided through its items: their rows say what is left
    by_items = np.isin(tag_ints, _BY_ITEMS)[tag_codes]
    by_items &= np.isin(row_action, ["X/Z/U*", "C"])
    wanted &= ~(by_items & (frame["VR"].astype(str).to_numpy() == "SQ"))
    asked_of = frame.loc[wanted]  # only these rows are turned into text
    # object columns while joining and grouping (pandas' str dtype would
    # convert every value to Arrow and back); the result gets str at the end
    rows = pd.DataFrame(
        {
            "file": _texts(asked_of["file"]),
            "uid": _texts(asked_of["uid"]),
            "name": _texts(asked_of["name"]),
            "tag": _texts(asked_of["tag"]),
            "VR": _texts(asked_of["VR"]),
            "private_creator": asked_of["private_creator"].astype(object).to_numpy(),
            "value": _texts(asked_of["value"]),
            "basic_profile": pd.Series(row_action[wanted], dtype=object),
            "private": private[wanted],
        }
    )

    actions = pd.DataFrame(
        {
            "file": _texts(decided["file"]),
            "uid": _texts(decided["uid"]),
            "action": _texts(decided["action"]),
            "after": pd.Series(
                decided["after"].astype(object).to_numpy(), dtype=object
            ),
            "line": decided["line"].to_numpy(),
        }
    ).drop_duplicates(["file", "uid"], keep="last")
    merged = rows.merge(actions, on=["file", "uid"], how="left")
    untouched = merged["action"].isna()
    kept = merged["action"] == "KEEP"
    same = merged["after"].notna() & (merged["after"] == merged["value"])
    same &= ~untouched & ~kept
    # a line that empties a value already empty, where the table allows a
    # zero-length value (Z, Z/D, X/Z, X/Z/D...), has done what was asked
    allows_empty = merged["basic_profile"].astype(str).str.contains("Z", regex=False)
    same &= ~(allows_empty & (merged["value"] == "") & (merged["after"] == ""))
    gaps = merged[untouched | kept | same].copy()
    gaps["decision"] = np.select(
        [untouched[gaps.index], kept[gaps.index]], ["none", "KEEP"], "unchanged"
    )
    gaps.loc[gaps["decision"] == "none", "line"] = pd.NA
    if gaps.empty:
        return _empty()

    grouped = gaps.groupby(["name", "decision"], sort=False, dropna=False)
    vrs: dict[tuple[str, str], set[str]] = {}
    for name, decision, vr in (
        gaps[["name", "decision", "VR"]]
        .drop_duplicates(ignore_index=True)
        .itertuples(index=False)
    ):
        vrs.setdefault((name, decision), set()).add(vr)
    out = grouped.agg(
        tag=("tag", "first"),
        private_creator=("private_creator", "first"),
        basic_profile=("basic_profile", "first"),
        line=("line", "first"),
        n_files=("file", "nunique"),
        n_rows=("uid", "size"),
        example=("value", "max"),
        private=("private", "first"),
    ).reset_index()
    out["VR"] = [
        "/".join(sorted(vrs[(name, decision)]))
        for name, decision in zip(out["name"], out["decision"], strict=True)
    ]
    out["private_creator"] = [
        value if isinstance(value, str) else None for value in out["private_creator"]
    ]
    out["line"] = out["line"].astype("Int64")
    for column in ("name", "tag", "VR", "basic_profile", "decision", "example"):
        out[column] = out[column].astype("str")
    out["reason"] = [_reason(row) for row in out.to_dict("records")]
    order = np.lexsort((out["name"].to_numpy(), out["private"].to_numpy()))
    result: pd.DataFrame = out.iloc[order].reset_index(drop=True)
    return result.loc[:, list(COVERAGE_COLUMNS)]


def _texts(column: pd.Series) -> pd.Series:
    """Return ``column.astype(str)`` as an object Series (row labels dropped)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = np.array([str(c) for c in column.cat.categories] + [np.nan], object)
        return pd.Series(names[column.cat.codes.to_numpy()], dtype=object)
    return pd.Series(column.astype(str).to_numpy(dtype=object), dtype=object)


def _reason(row: Mapping[Hashable, Any]) -> str:
    code = row["basic_profile"]
    meaning = ACTION_CODES.get(code, code)
    if row["private"]:
        asked = f"a private element (PS3.15: {code}, {meaning})"
    else:
        asked = f"PS3.15 Basic Profile says {code}: {meaning}"
    decision = row["decision"]
    if decision == "none":
        return f"{asked}; no line of the recipe decides it"
    if decision == "KEEP":
        return f"{asked}; line {row['line']} keeps it"
    return f"{asked}; line {row['line']} leaves its value as it was"


def _empty() -> pd.DataFrame:
    """Return no gaps, with the columns and dtypes of a table of gaps."""
    dtypes: dict[str, Any] = dict.fromkeys(COVERAGE_COLUMNS, "str")
    dtypes.update(
        private_creator=object, line="Int64", n_files=np.int64, n_rows=np.int64
    )
    return pd.DataFrame(
        {column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()}
    )
