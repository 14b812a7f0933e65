"""Filter an identifier frame the way :class:`FieldBrowser` does, without widgets.

:func:`filter_fields` is the function behind the browser's filter boxes: a
script gets exactly the rows the widget shows. It works on the categories of
the frame's categorical columns (a few thousand distinct names, tags and
files) and maps the answer back to the rows through the category codes, so a
million-row frame filters in a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from deidscope import ps315
from deidscope.errors import InputError
from deidscope.fields import parse_tag
from deidscope.frame._columns import check_frame

__all__ = ["FieldQuery", "field_actions", "filter_fields", "filter_mask"]

#: Columns :func:`filter_fields` reads.
REQUIRED_COLUMNS: tuple[str, ...] = ("file", "uid", "name", "VR", "value", "tag")

#: The value the ``actions`` criterion uses for fields Table E.1-1 does not list.
NOT_LISTED = ""


@dataclasses.dataclass(frozen=True)
class FieldQuery:
    """What to keep of an identifier frame; empty criteria keep everything.

    Text criteria are case-insensitive substrings, or regular expressions
    (Python syntax, searched anywhere in the text) when `regex` is true.

    Parameters
    ----------
    text : str
        Matched against each row's ``name``, ``keyword``, ``tag`` and ``uid``.
    regex : bool
        Read `text`, `value` and `file` as regular expressions.
    vrs : tuple of str
        Keep rows whose VR is one of these.
    groups : tuple of int
        Keep rows whose element's group is one of these (``0x0010``).
    private : bool or None
        True keeps private elements only (odd group), False public only.
    nested : bool or None
        True keeps elements inside sequences only, False top-level only.
    value : str
        Matched against the value text.
    actions : tuple of str
        Keep rows whose PS3.15 Basic Profile action is one of these
        (``"X"``, ``"Z/D"``...; ``""`` for fields the table does not list).
    file : str
        Matched against the file path.

    Examples
    --------
    >>> FieldQuery(text="patient", vrs=("PN",)).is_empty()
    False
    >>> FieldQuery().is_empty()
    True
    """

    text: str = ""
    regex: bool = False
    vrs: tuple[str, ...] = ()
    groups: tuple[int, ...] = ()
    private: bool | None = None
    nested: bool | None = None
    value: str = ""
    actions: tuple[str, ...] = ()
    file: str = ""

    def __post_init__(self) -> None:
        for name in ("text", "value", "file"):
            if not isinstance(getattr(self, name), str):
                raise InputError(
                    f"FieldQuery: expected {name} as str, but got "
                    f"{type(getattr(self, name)).__name__}"
                )
        for name in ("vrs", "groups", "actions"):
            given = getattr(self, name)
            if isinstance(given, str | bytes) or not isinstance(given, Iterable):
                raise InputError(
                    f"FieldQuery: expected {name} as a tuple, but got {given!r}"
                )
            object.__setattr__(self, name, tuple(given))
        for group in self.groups:
            if not isinstance(group, int) or not 0 <= group <= 0xFFFF:
                raise InputError(
                    f"FieldQuery: expected groups as ints 0-0xFFFF, but got {group!r}"
                )
        if self.regex:
            for name in ("text", "value", "file"):
                _compile(getattr(self, name), what=name, caller="FieldQuery")

    def is_empty(self) -> bool:
        """Return True if the query keeps every row."""
        return self == FieldQuery(regex=self.regex)


def parse_groups(text: str) -> tuple[int, ...]:
    """Read groups typed as hex, separated by commas or spaces.

    Parameters
    ----------
    text : str
        ``"0010"``, ``"0008, 0010"``, ``"0x0009"``; empty for none.

    Returns
    -------
    tuple of int
        The groups.

    Raises
    ------
    InputError
        If a part is not a hex number of at most four digits.

    Examples
    --------
    >>> [hex(g) for g in parse_groups("0008, 0x0010")]
    ['0x8', '0x10']
    """
    groups = []
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        match = re.fullmatch(r"(?:0x)?([0-9a-fA-F]{1,4})", part)
        if not match:
            raise InputError(
                f"parse_groups: expected hex groups such as '0010, 0008', "
                f"but got {part!r}"
            )
        groups.append(int(match.group(1), 16))
    return tuple(groups)


def _compile(
    pattern: str, *, what: str, caller: str = "filter_fields"
) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(
            f"{caller}: {what} is not a valid regular expression ({exc}): {pattern!r}"
        ) from exc


def _categorical(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    return series.astype("category")


def _lut_rows(series: pd.Series, hits: np.ndarray) -> np.ndarray:
    """Map a boolean per category to a boolean per row (missing is False)."""
    codes = series.cat.codes.to_numpy()
    lut = np.append(np.asarray(hits, dtype=bool), False)
    out: np.ndarray = lut[codes]
    return out


def _text_hits(categories: pd.Index, pattern: str, *, regex: bool) -> np.ndarray:
    texts = [str(c) for c in categories]
    if regex:
        rx = _compile(pattern, what="pattern")
        return np.fromiter((rx.search(t) is not None for t in texts), bool, len(texts))
    needle = pattern.casefold()
    return np.fromiter((needle in t.casefold() for t in texts), bool, len(texts))


def _column_text_mask(
    df: pd.DataFrame, column: str, pattern: str, *, regex: bool
) -> np.ndarray:
    series = _categorical(df[column])
    return _lut_rows(series, _text_hits(series.cat.categories, pattern, regex=regex))


def _value_mask(values: pd.Series, pattern: str, *, regex: bool) -> np.ndarray:
    if regex:
        _compile(pattern, what="value")
    try:
        hits = values.str.contains(pattern, case=False, regex=regex)
    except Exception:  # pyarrow's RE2 lacks some Python syntax (look-arounds...)
        codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
        found = _text_hits(pd.Index(uniques), pattern, regex=True)
        return _lut_by_codes(codes, found)
    out: np.ndarray = hits.fillna(False).to_numpy(dtype=bool)
    return out


def _lut_by_codes(codes: np.ndarray, hits: np.ndarray) -> np.ndarray:
    lut = np.append(hits, False)
    out: np.ndarray = lut[codes]
    return out


@functools.lru_cache(maxsize=64)
def _tag_ints(categories: tuple[str, ...]) -> tuple[int | None, ...]:
    out: list[int | None] = []
    for text in categories:
        try:
            out.append(parse_tag(text))
        except InputError:
            out.append(None)
    return tuple(out)


def _tag_table(tags: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Return the categorical tags and, per category: group, private and action."""
    series = _categorical(tags)
    categories = tuple(str(c) for c in series.cat.categories)
    ints = _tag_ints(categories)
    known = [tag for tag in ints if tag is not None]
    actions = dict(
        zip(known, ps315.lookup_many(known)["basic_profile"].tolist(), strict=True)
    )
    table = pd.DataFrame(
        {
            "group": [-1 if t is None else t >> 16 for t in ints],
            "private": [t is not None and bool((t >> 16) & 1) for t in ints],
            "action": [NOT_LISTED if t is None else actions[t] for t in ints],
        },
        index=pd.Index(categories, name="tag"),
    )
    return series, table


def field_actions(df: pd.DataFrame) -> pd.Series:
    """Return each row's PS3.15 Basic Profile action code.

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame (needs the ``tag`` column).

    Returns
    -------
    pandas.Series
        Categorical action codes (``"X"``, ``"Z"``, ``"U"``...), ``""`` where
        Table E.1-1 does not list the element; same index as `df`.
    """
    check_frame(df, caller="field_actions", columns=("tag",))
    series, table = _tag_table(df["tag"])
    codes = series.cat.codes.to_numpy()
    names = np.append(table["action"].to_numpy(dtype=object), NOT_LISTED)
    return pd.Series(
        pd.Categorical(names[codes]), index=df.index, name="action", copy=False
    )


def filter_mask(df: pd.DataFrame, query: FieldQuery) -> np.ndarray:
    """Return a boolean array: which rows of `df` the query keeps.

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame (:data:`deidscope.frame.COLUMNS`). Not modified.
    query : FieldQuery
        The criteria.

    Returns
    -------
    numpy.ndarray of bool, shape (len(df),)
        True for the rows kept.

    Raises
    ------
    InputError
        If `df` is not an identifier frame, or a regular expression is invalid.
    """
    check_frame(df, caller="filter_mask", columns=REQUIRED_COLUMNS)
    if not isinstance(query, FieldQuery):
        raise InputError(
            f"filter_mask: expected a FieldQuery, but got {type(query).__name__}"
        )
    mask = np.ones(len(df), dtype=bool)
    if query.text:
        hit = np.zeros(len(df), dtype=bool)
        for column in ("name", "keyword", "tag", "uid"):
            if column in df.columns:
                hit |= _column_text_mask(df, column, query.text, regex=query.regex)
        mask &= hit
    if query.vrs:
        series = _categorical(df["VR"])
        wanted = set(query.vrs)
        mask &= _lut_rows(series, np.isin(series.cat.categories, list(wanted)))
    if query.groups or query.private is not None or query.actions:
        series, table = _tag_table(df["tag"])
        keep = np.ones(len(table), dtype=bool)
        if query.groups:
            keep &= table["group"].isin(query.groups).to_numpy()
        if query.private is not None:
            keep &= table["private"].to_numpy() == query.private
        if query.actions:
            keep &= table["action"].isin(query.actions).to_numpy()
        mask &= _lut_rows(series, keep)
    if query.nested is not None:
        if "depth" in df.columns:
            nested = df["depth"].to_numpy() > 0
        else:
            series = _categorical(df["uid"])
            nested = _lut_rows(
                series, np.array(["__" in str(c) for c in series.cat.categories])
            )
        mask &= nested if query.nested else ~nested
    if query.file:
        mask &= _column_text_mask(df, "file", query.file, regex=query.regex)
    if query.value and mask.any():
        rows = np.flatnonzero(mask)
        if len(rows) < len(df):
            sub = df["value"].iloc[rows]
            mask[rows] = _value_mask(sub, query.value, regex=query.regex)
        else:
            mask &= _value_mask(df["value"], query.value, regex=query.regex)
    return mask


def filter_fields(
    df: pd.DataFrame, query: FieldQuery | None = None, **criteria: Any
) -> pd.DataFrame:
    """Return the rows of an identifier frame that a query keeps.

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame. Not modified.
    query : FieldQuery, optional
        The criteria; or give them as keywords (``text="Patient"``).
    **criteria
        :class:`FieldQuery` fields, used when `query` is None.

    Returns
    -------
    pandas.DataFrame
        The kept rows, in order, with their original index.

    Raises
    ------
    InputError
        If `df` is not an identifier frame, a criterion is invalid, or both
        `query` and keywords are given.

    Examples
    --------
    >>> import deidscope
    >>> from deidscope.data import get_dataset
    >>> df = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    >>> names = filter_fields(df, vrs=("PN",))["name"].unique().tolist()
    >>> sorted(names)[:2]
    ['NameOfPhysiciansReadingStudy', 'OperatorsName']
    """
    if query is not None and criteria:
        raise InputError(
            "filter_fields: give a FieldQuery or keyword criteria, not both"
        )
    if query is None:
        try:
            query = FieldQuery(**criteria)
        except TypeError as exc:
            raise InputError(
                f"filter_fields: unknown criteria {sorted(criteria)}; expected "
                f"FieldQuery fields {[f.name for f in dataclasses.fields(FieldQuery)]}"
            ) from exc
    return df[filter_mask(df, query)]
