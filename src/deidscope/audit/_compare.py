"""Before and after de-identification: what survived, and what changed.

Both functions take two identifier frames, one read before and one after
de-identification, and pair their files (:func:`pair_files`): by path when
the files were cleaned in place, by the path under each side's common folder
(``replace_identifiers`` keeps the input folder structure), by file name when
that is unique, or as the caller says.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from deidscope.audit._pairs import files_of, pair_files
from deidscope.audit._partial import check_frame, derived, is_dask, triples
from deidscope.audit._rules import KINDS, RULES, WELL_KNOWN_UID_ROOTS
from deidscope.errors import InputError
from deidscope.fields import SINGLE_VALUE_TEXT_VRS

__all__ = [
    "COMPARE_COLUMNS",
    "LEAK_COLUMNS",
    "LEAK_KINDS",
    "compare",
    "leaks",
]

logger = logging.getLogger(__name__)

#: The columns of :func:`leaks`.
LEAK_COLUMNS: tuple[str, ...] = (
    "file",
    "uid",
    "name",
    "value",
    "source_file",
    "source_uid",
    "source_name",
    "source_value",
    "kind",
    "match",
)
#: The kinds of identifier :func:`leaks` looks for by default.
LEAK_KINDS: tuple[str, ...] = (
    "person_name",
    "id",
    "date",
    "uid",
    "address",
    "phone",
    "email",
)
#: The columns of :func:`compare`.
COMPARE_COLUMNS: tuple[str, ...] = (
    "name",
    "n_files",
    "kept",
    "changed",
    "emptied",
    "removed",
    "added",
    "uid_inconsistent",
)

# where an identifying value of the originals was, in the columns of leaks
_AS_SOURCE = {column: f"source_{column}" for column in ("file", "uid", "name", "value")}
# the words of a name: PN components (^), groups (=), commas, spaces, and the
# values of a multi-valued element (\)
_NAME_PARTS = re.compile(r"[\^=,\\\s]+")
# VRs whose value is one text that may hold a backslash (not a multi-value)
_ALNUM = re.compile(r"[^\W_]")
_KIND_COLUMNS = {
    kind: [i for i, r in enumerate(RULES) if r.kind == kind] for kind in KINDS
}


def _frame(df: Any, *, caller: str, side: str) -> pd.DataFrame:
    check_frame(df, caller=caller)
    if is_dask(df):
        raise InputError(
            f"{caller}: expected pandas DataFrames, but the {side} frame is a Dask "
            f"DataFrame; call .compute() on it first"
        )
    frame: pd.DataFrame = derived(df)
    return frame


def _sources(before: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """List the identifying values of `before`: file, uid, name, value, kind, part."""
    empty = pd.DataFrame(columns=["file", "uid", "name", "value", "kind", "part"])
    if len(before) == 0:
        return empty
    tri = triples(before)
    kind_rows = []
    for kind in kinds:
        columns = _KIND_COLUMNS[kind]
        hit = np.asarray(tri.hits[:, columns].any(axis=1))[tri.inverse]
        if hit.any():
            kind_rows.append((kind, np.flatnonzero(hit)))
    if not kind_rows:
        return empty
    parts = []
    for kind, rows in kind_rows:
        sub = before.iloc[rows]
        parts.append(
            pd.DataFrame(
                {
                    "file": sub["file"].astype(str).to_numpy(),
                    "uid": sub["uid"].astype(str).to_numpy(),
                    "name": sub["name"].astype(str).to_numpy(),
                    "value": sub["value"].astype(str).to_numpy(),
                    "VR": sub["VR"].astype(str).to_numpy(),
                    "kind": kind,
                    "row": rows,
                }
            )
        )
    found = pd.concat(parts, ignore_index=True)
    # one kind per element: the first of `kinds`; nothing without a letter or digit
    found = found.drop_duplicates("row").drop(columns="row")
    # each value of a multi-valued element is an identifying value of its own
    multi = found[
        found["value"].str.contains("\\", regex=False)
        & ~found["VR"].isin(SINGLE_VALUE_TEXT_VRS)
    ]
    values = [
        (file, uid, name, value, kind)
        for file, uid, name, text, kind in zip(
            multi["file"],
            multi["uid"],
            multi["name"],
            multi["value"],
            multi["kind"],
            strict=True,
        )
        for value in str(text).split("\\")
        if value
    ]
    if values:
        found = pd.concat(
            [
                found,
                pd.DataFrame(values, columns=["file", "uid", "name", "value", "kind"]),
            ],
            ignore_index=True,
        )
    found = found.drop(columns="VR")
    found = found[[_alnum(value) > 0 for value in found["value"]]]
    found["part"] = False
    names = found[found["kind"] == "person_name"]
    pieces = []
    for file, uid, name, value in zip(
        names["file"], names["uid"], names["name"], names["value"], strict=True
    ):
        for piece in _NAME_PARTS.split(str(value)):
            if piece and piece != value:
                pieces.append((file, uid, name, piece))
    if pieces:
        words = pd.DataFrame(pieces, columns=["file", "uid", "name", "value"])
        words["kind"], words["part"] = "person_name", True
        found = pd.concat([found, words], ignore_index=True)
    return found.reset_index(drop=True)


def _alnum(text: str) -> int:
    return len(_ALNUM.findall(text))


def _pattern(sources: pd.DataFrame) -> re.Pattern[str] | None:
    """One regular expression that finds any source value in a text."""
    alternatives = []
    for value, kind, part in sorted(
        set(zip(sources["value"], sources["kind"], sources["part"], strict=True)),
        key=lambda item: (-len(item[0]), item[0]),
    ):
        escaped = re.escape(value)
        if part:
            alternatives.append(rf"\b{escaped}\b")
        elif kind == "uid":
            alternatives.append(rf"(?<![0-9]){escaped}(?![0-9])")
        else:
            alternatives.append(escaped)
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _searchable(sources: pd.DataFrame, min_length: int) -> pd.DataFrame:
    """Keep the sources long enough to look for inside other values."""
    keep = [
        _alnum(value) >= (3 if part else min_length)
        for value, part in zip(sources["value"], sources["part"], strict=True)
    ]
    return sources[keep]


def leaks(
    before_df: pd.DataFrame,
    after_df: pd.DataFrame,
    *,
    kinds: Iterable[str] = LEAK_KINDS,
    min_length: int = 4,
    pairs: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Find identifying values of the original that survive in the result.

    The identifying values are those of `before_df` that the heuristics of
    :data:`~deidscope.audit.RULES` flag as one of `kinds` (person names, IDs
    and accession numbers, dates, UIDs outside the standard's root,
    addresses, phone numbers, e-mail addresses), in any element, nested or
    private, and the words of each person name. Each is looked for in every
    element of the paired file after de-identification (see
    :func:`pair_files`), case-insensitively:

    - ``"kept"``: the same element still holds the same value (any length);
    - ``"contained"``: the value appears in any element, as the whole value
      or inside it (values with at least `min_length` letters or digits;
      name words with at least 3, as whole words; UIDs not inside a longer
      number);
    - ``"copied"``: an element of another file holds exactly an identifying
      value of the original dataset.

    Parameters
    ----------
    before_df, after_df : pandas.DataFrame
        Frames of :func:`deidscope.read_identifiers` before and after
        de-identification.
    kinds : iterable of str, optional
        The kinds of :data:`~deidscope.audit.KINDS` to look for (the default
        leaves out times of day, which are too short to trace).
    min_length : int, optional
        The fewest letters and digits a value needs to be looked for inside
        other values.
    pairs : mapping or None, optional
        ``{after_file: before_file}`` where file paths alone cannot pair them.

    Returns
    -------
    pandas.DataFrame
        One row per surviving value and element, with the columns of
        :data:`LEAK_COLUMNS`: where it survives (``file``, ``uid``, ``name``,
        ``value``, after), where it came from (``source_file``,
        ``source_uid``, ``source_name``, ``source_value``), its ``kind`` and
        how it ``match``-ed. Empty when nothing survived.

    Raises
    ------
    InputError
        If a frame is not an identifier frame, or `kinds` names an unknown
        kind.
    """
    before = _frame(before_df, caller="leaks", side="before")
    after = _frame(after_df, caller="leaks", side="after")
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise InputError(f"leaks: unknown kinds {unknown}; choose from {list(KINDS)}")
    if (
        isinstance(min_length, bool)
        or not isinstance(min_length, int)
        or min_length < 1
    ):
        raise InputError(
            f"leaks: min_length must be a positive int, got {min_length!r}"
        )
    sources = _sources(before, kinds)
    paired = pair_files(files_of(before), files_of(after), pairs=pairs)
    after_text = pd.DataFrame(
        {
            "file": after["file"].astype(str).to_numpy(),
            "uid": after["uid"].astype(str).to_numpy(),
            "name": after["name"].astype(str).to_numpy(),
            "value": after["value"].astype(str).fillna("").to_numpy(),
        }
    )
    found: list[pd.DataFrame] = []
    if len(sources) and len(after_text):
        found.append(_kept(sources, after_text, paired))
        found.append(_contained(sources, after_text, paired, min_length))
        found.append(_copied(sources, after_text, min_length))
    if not found:
        # the columns and dtypes of a frame of findings, with no rows
        return pd.DataFrame({column: pd.Series(dtype="str") for column in LEAK_COLUMNS})
    out = pd.concat(found, ignore_index=True)
    out = out.drop_duplicates(["file", "uid", "source_value"], keep="first")
    order = {file: i for i, file in enumerate(files_of(after))}
    out = out.assign(_order=out["file"].map(order)).sort_values(
        ["_order", "uid"], kind="stable"
    )
    return out.loc[:, list(LEAK_COLUMNS)].reset_index(drop=True)


def _kept(
    sources: pd.DataFrame, after: pd.DataFrame, paired: dict[str, str]
) -> pd.DataFrame:
    whole = sources[~sources["part"]]
    mapped = after.assign(source_file=after["file"].map(paired)).dropna(
        subset=["source_file"]
    )
    merged = mapped.merge(
        whole.rename(columns=_AS_SOURCE),
        left_on=["source_file", "uid"],
        right_on=["source_file", "source_uid"],
    )
    same = merged["value"].str.casefold() == merged["source_value"].str.casefold()
    return merged[same].assign(match="kept")


def _contained(
    sources: pd.DataFrame,
    after: pd.DataFrame,
    paired: dict[str, str],
    min_length: int,
) -> pd.DataFrame:
    searchable = _searchable(sources, min_length)
    by_file = dict(list(searchable.groupby("file", sort=False)))
    rows: list[tuple[Any, ...]] = []
    for file, group in after.groupby("file", sort=False):
        source_file = paired.get(str(file))
        mine = by_file.get(source_file) if source_file is not None else None
        if mine is None:
            continue
        pattern = _pattern(mine)
        if pattern is None:
            continue
        lookup: dict[str, tuple[str, str, str, str]] = {}
        for uid, name, value, kind in zip(
            mine["uid"], mine["name"], mine["value"], mine["kind"], strict=True
        ):
            lookup.setdefault(str(value).casefold(), (uid, name, value, kind))
        for uid, name, value in zip(
            group["uid"], group["name"], group["value"], strict=True
        ):
            if not value:
                continue
            for match in pattern.finditer(value):
                source = lookup.get(match.group().casefold())
                if source is not None:
                    rows.append((file, uid, name, value, source_file, *source))
    columns = [column for column in LEAK_COLUMNS if column != "match"]
    return pd.DataFrame(rows, columns=columns).assign(match="contained")


def _copied(
    sources: pd.DataFrame, after: pd.DataFrame, min_length: int
) -> pd.DataFrame:
    whole = _searchable(sources[~sources["part"]], min_length)
    first = whole.drop_duplicates("value").rename(columns=_AS_SOURCE)
    merged = after.merge(first, left_on="value", right_on="source_value")
    return merged.assign(match="copied")


def _split_uids(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Pairs of (before UID, after UID), multi-valued elements split in step."""
    left, right, rows = [], [], []
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        bs, as_ = b.split("\\"), a.split("\\")
        if len(bs) != len(as_):
            continue
        for x, y in zip(bs, as_, strict=True):
            if x and y and not x.startswith(WELL_KNOWN_UID_ROOTS):
                left.append(x)
                right.append(y)
                rows.append(i)
    return pd.DataFrame({"row": rows, "before": left, "after": right})


def _uid_check(both: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Flag UIDs mapped to several new UIDs, or sharing one new UID."""
    uids = both[both["VR"] == "UI"]
    pairs = _split_uids(uids["value_before"], uids["value_after"])
    columns = ["before_uid", "after_uids", "names", "n_files", "problem"]
    if pairs.empty:
        return pd.Series(False, index=both.index), pd.DataFrame(columns=columns)
    pairs["index"] = uids.index.to_numpy()[pairs["row"]]
    targets = pairs.groupby("before")["after"].nunique()
    sources = pairs.groupby("after")["before"].nunique()
    split = set(targets[targets > 1].index)
    shared_after = set(sources[sources > 1].index)
    bad = pairs["before"].isin(split) | pairs["after"].isin(shared_after)
    flagged = pd.Series(False, index=both.index)
    flagged[pairs.loc[bad, "index"].unique()] = True
    details = []
    for before_uid, group in pairs[bad].groupby("before", sort=True):
        after_uids = sorted(set(group["after"]))
        rows = both.loc[group["index"]]
        if before_uid in split:
            kept = before_uid in after_uids
            problem = (
                "kept in some elements, changed in others"
                if kept
                else f"changed to {len(after_uids)} different UIDs"
            )
        else:
            problem = "its new UID is also the new UID of another UID"
        details.append(
            (
                before_uid,
                after_uids,
                sorted(set(rows["name"])),
                int(rows["file"].nunique()),
                problem,
            )
        )
    return flagged, pd.DataFrame(details, columns=columns)


def compare(
    before_df: pd.DataFrame,
    after_df: pd.DataFrame,
    *,
    pairs: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Summarise, per field, what de-identification did to each element.

    Elements are matched by file (see :func:`pair_files`) and uid, so an
    element of a sequence item is compared with the same item's element.

    Parameters
    ----------
    before_df, after_df : pandas.DataFrame
        Frames of :func:`deidscope.read_identifiers` before and after.
    pairs : mapping or None, optional
        ``{after_file: before_file}`` where file paths alone cannot pair them.

    Returns
    -------
    pandas.DataFrame
        One row per field name, with the columns of :data:`COMPARE_COLUMNS`:
        ``n_files`` (paired files that carry it on either side) and how many
        elements were ``kept`` (same value), ``changed`` (another non-empty
        value), ``emptied`` (now ``""``), ``removed`` or ``added``, and
        ``uid_inconsistent``: elements whose UIDs were not remapped
        consistently (one original UID became several new ones, was kept in
        some elements and changed in others, or two originals became one).
        ``attrs["uid_inconsistencies"]`` lists those UIDs (``before_uid``,
        ``after_uids``, ``names``, ``n_files``, ``problem``) and
        ``attrs["unpaired"]`` the files left out (``file``, ``side``).

    Raises
    ------
    InputError
        If a frame is not an identifier frame.
    """
    before = _frame(before_df, caller="compare", side="before")
    after = _frame(after_df, caller="compare", side="after")
    before_files, after_files = files_of(before), files_of(after)
    paired = pair_files(before_files, after_files, pairs=pairs)
    used = set(paired.values())
    unpaired = pd.DataFrame(
        [(f, "before") for f in before_files if f not in used]
        + [(f, "after") for f in after_files if f not in paired],
        columns=["file", "side"],
    )

    def plain(frame: pd.DataFrame, file: pd.Series) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "file": file.to_numpy(),
                "uid": frame["uid"].astype(str).to_numpy(),
                "name": frame["name"].astype(str).to_numpy(),
                "VR": frame["VR"].astype(str).to_numpy(),
                "value": frame["value"].astype(str).fillna("").to_numpy(),
            }
        )

    left = plain(before, before["file"].astype(str))
    left = left[left["file"].isin(used)]
    right = plain(after, after["file"].astype(str).map(paired))
    right = right.dropna(subset=["file"])
    both = left.merge(
        right,
        on=["file", "uid"],
        how="outer",
        suffixes=("_before", "_after"),
        indicator=True,
    )
    present_before = both["_merge"] != "right_only"
    present_after = both["_merge"] != "left_only"
    same = both["value_before"] == both["value_after"]
    status = np.select(
        [
            ~present_after,
            ~present_before,
            same,
            both["value_after"] == "",
        ],
        ["removed", "added", "kept", "emptied"],
        default="changed",
    )
    both["name"] = both["name_before"].fillna(both["name_after"])
    both["VR"] = both["VR_before"].fillna(both["VR_after"])
    both["status"] = status
    flagged, details = _uid_check(both[present_before & present_after])
    both["uid_inconsistent"] = flagged.reindex(both.index, fill_value=False)
    counts = pd.crosstab(both["name"], both["status"])
    counts = counts.reindex(columns=list(COMPARE_COLUMNS[2:7]), fill_value=0)
    summary = pd.DataFrame(
        {
            "name": counts.index.astype(str),
            "n_files": both.groupby("name")["file"].nunique().reindex(counts.index),
            **{column: counts[column] for column in counts.columns},
            "uid_inconsistent": both.groupby("name")["uid_inconsistent"].sum(),
        }
    ).reset_index(drop=True)
    first_seen = {name: i for i, name in enumerate(pd.unique(both["name"]))}
    summary = summary.iloc[np.argsort(summary["name"].map(first_seen), kind="stable")]
    summary = summary.reset_index(drop=True).loc[:, list(COMPARE_COLUMNS)]
    summary = summary.astype(dict.fromkeys(COMPARE_COLUMNS[1:], np.int64))
    summary.attrs["uid_inconsistencies"] = details
    summary.attrs["unpaired"] = unpaired
    return summary
