"""The value profile of an identifier frame: one row per field name."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from deidscope._optional import import_optional
from deidscope.audit._partial import (
    Partial,
    check_frame,
    combine,
    empty_partial,
    is_dask,
    partial_profile,
    tag_int,
    text_or_none,
    top_values,
)
from deidscope.audit._rules import KINDS, RULES
from deidscope.errors import InputError
from deidscope.ps315 import OPTIONS, lookup_many

__all__ = [
    "PROFILE_COLUMNS",
    "finish",
    "hits",
    "keep_for",
    "name_unnamed",
    "profile",
    "reduce_frame",
    "reduce_frame_with",
]

#: The columns of :func:`profile`, in order.
PROFILE_COLUMNS: tuple[str, ...] = (
    "name",
    "tag",
    "keyword",
    "VR",
    "private_creator",
    "is_private",
    "in_sequence",
    "is_filemeta",
    "n_files",
    "n_rows",
    "n_values",
    "n_empty",
    "top_values",
    "basic_profile",
    *OPTIONS,
    "sequence_basic_profile",
    "looks_like",
    "reasons",
    "n_flagged",
)

#: The columns a frame needs; the others of the long frame are derived if missing.
_ITEM = re.compile(r"__\d+__")
_RULE_IDS = [rule.id for rule in RULES]
_REASONS = {rule.id: rule.reason for rule in RULES}
_KIND_OF = {rule.id: rule.kind for rule in RULES}


def _sort_key(uid: str, creator: object, private: bool) -> tuple[int, str, str]:
    return (
        int(private),
        creator if isinstance(creator, str) else "",
        _ITEM.sub("__", uid),
    )


def _reasons(rules: pd.DataFrame) -> pd.DataFrame:
    """Per name: the kinds flagged and why, with an example of each."""
    if rules.empty:
        return pd.DataFrame(
            {"looks_like": pd.Series(dtype=object), "reasons": pd.Series(dtype=object)}
        )
    order = {rule_id: i for i, rule_id in enumerate(_RULE_IDS)}
    kinds = {kind: i for i, kind in enumerate(KINDS)}
    rows: dict[str, tuple[list[str], list[str]]] = {}
    ranked = rules.assign(_order=rules["rule"].map(order)).sort_values(
        ["name", "_order"], kind="stable"
    )
    for name, rule_id, example in zip(
        ranked["name"], ranked["rule"], ranked["example"], strict=True
    ):
        found, why = rows.setdefault(name, ([], []))
        kind = _KIND_OF[rule_id]
        if kind not in found:
            found.append(kind)
        shown = example if len(example) <= 40 else example[:39] + "…"
        why.append(f"{_REASONS[rule_id]}, e.g. {shown!r}")
    return pd.DataFrame(
        {
            "looks_like": [
                ", ".join(sorted(found, key=kinds.__getitem__))
                for found, _ in rows.values()
            ],
            "reasons": ["; ".join(why) for _, why in rows.values()],
        },
        index=pd.Index(list(rows), dtype=object, name="name"),
    )


def finish(partial: Partial, *, top: int = 5) -> pd.DataFrame:
    """Turn a partial into the profile (see :func:`profile`)."""
    fields = partial.fields
    if fields.empty:
        return _empty_profile()
    names = fields.index
    tags = [tag_int(tag) for tag in fields["tag"]]
    is_private = np.asarray([tag >= 0 and bool(tag >> 16 & 1) for tag in tags])
    table = lookup_many([max(tag, 0) for tag in tags])
    table[[tag < 0 for tag in tags]] = ""
    outer_tags = [
        tag_int(uid.split("__", 1)[0]) if depth > 0 else -1
        for uid, depth in zip(fields["uid"], fields["depth"], strict=True)
    ]
    outer = lookup_many([max(tag, 0) for tag in outer_tags])["basic_profile"].to_numpy()
    outer[[tag < 0 for tag in outer_tags]] = ""

    n_values = fields["n_values"]
    values = top_values(partial.values, top)
    top_lists: dict[str, list[tuple[str, int]]] = {}
    for name, value, count in zip(
        values["name"].tolist(),
        values["value"].tolist(),
        values["count"].tolist(),
        strict=True,
    ):
        top_lists.setdefault(name, []).append((value, int(count)))
    reasons = _reasons(partial.rules).reindex(names, fill_value="")

    out = pd.DataFrame(
        {
            "name": names.to_numpy(dtype=object),
            "tag": fields["tag"].to_numpy(dtype=object),
            "keyword": fields["keyword"].to_numpy(dtype=object),
            "VR": fields["vrs"].to_numpy(dtype=object),
            "private_creator": text_or_none(fields["private_creator"]),
            "is_private": is_private,
            "in_sequence": fields["depth"].to_numpy() > 0,
            "is_filemeta": fields["is_filemeta"].to_numpy(dtype=bool),
            "n_files": fields["n_files"].to_numpy(dtype=np.int64),
            "n_rows": fields["n_rows"].to_numpy(dtype=np.int64),
            "n_values": n_values.fillna(0).to_numpy(dtype=np.int64),
            "n_empty": fields["n_empty"].to_numpy(dtype=np.int64),
            "top_values": [top_lists.get(name, []) for name in names],
            "basic_profile": table["basic_profile"].to_numpy(dtype=object),
            **{option: table[option].to_numpy(dtype=object) for option in OPTIONS},
            "sequence_basic_profile": outer,
            "looks_like": reasons["looks_like"].to_numpy(dtype=object),
            "reasons": reasons["reasons"].to_numpy(dtype=object),
            "n_flagged": fields["n_flagged"].to_numpy(dtype=np.int64),
        },
        columns=list(PROFILE_COLUMNS),
    )
    keys = [
        _sort_key(uid, creator, private)
        for uid, creator, private in zip(
            fields["uid"], out["private_creator"], is_private, strict=True
        )
    ]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return out.iloc[order].reset_index(drop=True)


#: The dtype of each column of :func:`profile` ("str": text), also when empty.
_PROFILE_DTYPES: dict[str, Any] = {
    **dict.fromkeys(PROFILE_COLUMNS, "str"),
    "private_creator": object,  # None where there is none
    "top_values": object,  # lists
    **dict.fromkeys(("is_private", "in_sequence", "is_filemeta"), "bool"),
    **dict.fromkeys(("n_files", "n_rows", "n_values", "n_empty", "n_flagged"), "int64"),
}


def _empty_profile() -> pd.DataFrame:
    return pd.DataFrame(
        {column: pd.Series(dtype=_PROFILE_DTYPES[column]) for column in PROFILE_COLUMNS}
    )


def name_unnamed(df: pd.DataFrame) -> pd.DataFrame:
    """Name the elements without a keyword by their tag, ``(6000,3000)``.

    deid (and so the frame) names an element by its keyword, and pydicom
    gives none to group lengths and to the repeating groups ``50xx`` and
    ``60xx``: their names are ``""`` (``Sequence__`` when nested), and the
    profile, one row per name, would merge them all into one row. They get
    the form of a private element without a creator instead.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of the long frame (not changed).

    Returns
    -------
    pandas.DataFrame
        `df` itself if every name is whole; else a copy with those names
        completed (categorical if ``name`` was).
    """
    names = df["name"]
    categorical = isinstance(names.dtype, pd.CategoricalDtype)
    distinct = pd.Index(
        names.cat.categories if categorical else pd.unique(names.dropna())
    ).astype(str)
    partial_names = distinct[(distinct == "") | distinct.str.endswith("__")]
    unnamed = names.isna() | names.isin(partial_names)
    if not unnamed.any():
        return df
    fixed = names.astype(object).where(names.notna(), "")
    own = df["uid"][unnamed].astype(str).str.rsplit("__", n=1).str[-1]
    fixed[unnamed] = fixed[unnamed] + own.str.replace(" ", "").str.upper()
    return df.assign(name=fixed.astype("category") if categorical else fixed)


def _partial_of(df: pd.DataFrame, keep: int) -> Partial:
    """Reduce one partition (a Dask task)."""
    return partial_profile(name_unnamed(df), keep=keep)


def reduce_frame(df: Any, *, keep: int) -> Partial:
    """Reduce a pandas or Dask frame to one :class:`Partial`."""
    return reduce_frame_with(df, keep=keep)[0]


def reduce_frame_with(
    df: Any, *, keep: int, extra: Sequence[Any] = ()
) -> tuple[Partial, tuple[Any, ...]]:
    """Reduce a frame to one :class:`Partial`, computing `extra` alongside.

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        The long identifier frame.
    keep : int
        How many of the most common values of each name to keep.
    extra : sequence, optional
        On a Dask frame, Dask collections (often built on `df`) computed in
        the same ``dask.compute`` call as the partial, so the tasks they
        share with it, such as reading the files, run once. On a pandas
        frame, returned as they are.

    Returns
    -------
    tuple of (Partial, tuple)
        The partial, and `extra` computed.
    """
    if not is_dask(df):
        whole = partial_profile(name_unnamed(df), keep=keep, hashes=False)
        return whole, tuple(extra)
    dask = import_optional("dask", extra="dask", feature="profile of a Dask DataFrame")
    delayed = dask.delayed
    tasks = [delayed(_partial_of)(part, keep) for part in df.to_delayed()]
    while len(tasks) > 1:  # a tree of combines over neighbouring partitions
        tasks = [
            delayed(combine)(tasks[start : start + 8], keep=keep)
            for start in range(0, len(tasks), 8)
        ]
    if not tasks:
        return empty_partial(), tuple(dask.compute(*extra)) if extra else ()
    partial, *computed = dask.compute(tasks[0], *extra)
    if not partial.contiguous:
        # a file's rows are spread over partitions: count files exactly
        named = df.map_partitions(name_unnamed, meta=df._meta)
        exact = named.groupby("name", observed=True)["file"].nunique().compute()
        exact.index = exact.index.astype(str)
        fields = partial.fields.copy()
        fields["n_files"] = exact.reindex(fields.index).to_numpy(dtype=np.int64)
        partial = dataclasses.replace(partial, fields=fields, contiguous=True)
    return partial, tuple(computed)


def hits(partial: Partial) -> pd.DataFrame:
    """List the rules that fired: name, rule, kind, reason, n_rows, example."""
    rules = partial.rules
    order = {rule.id: i for i, rule in enumerate(RULES)}
    out = rules.assign(
        kind=rules["rule"].map(_KIND_OF).astype(object),
        reason=rules["rule"].map(_REASONS).astype(object),
        _order=rules["rule"].map(order),
    )
    out = out.sort_values(["name", "_order"], kind="stable").drop(columns="_order")
    columns = ["name", "rule", "kind", "reason", "n_rows", "example"]
    return out.loc[:, columns].reset_index(drop=True)


def keep_for(top: int) -> int:
    """How many values per name partials keep to list `top` of them."""
    return max(8 * top, 64)


def profile(df: Any, *, top: int = 5) -> pd.DataFrame:
    """Profile an identifier frame: one row per field name.

    Nested names are kept apart (``ReferencedImageSequence__ReferencedSOPInstanceUID``
    is not ``ReferencedSOPInstanceUID``) and private elements are named by
    their creator (``(0009,"GEMS_IDEN_01",04)``), so the same private element
    counts as one field whichever block it sits in; rows of one creator sit
    together, after the public fields. Elements pydicom has no keyword for
    (group lengths, the repeating groups ``50xx`` and ``60xx``), which deid
    names ``""``, are named by their tag (``(6000,3000)``,
    ``Sequence__(6000,3000)`` when nested): see :func:`name_unnamed`.

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        The long frame of :func:`deidscope.read_identifiers` (at least
        ``file``, ``uid``, ``name``, ``VR`` and ``value``). A Dask frame is
        reduced partition by partition on its cluster; only per-partition
        aggregates travel, never the rows.
    top : int, optional
        How many of the most common values to list per field.

    Returns
    -------
    pandas.DataFrame
        One row per name, with the columns of :data:`PROFILE_COLUMNS`:

        - ``name``, ``tag`` (the element's own tag), ``keyword``, ``VR``
          (``/``-joined if files disagree), ``private_creator``;
        - ``is_private`` (an odd group), ``in_sequence`` (inside a sequence
          item), ``is_filemeta``;
        - ``n_files`` (files that carry it), ``n_rows`` (occurrences),
          ``n_values`` (distinct values, ``""`` included), ``n_empty``;
        - ``top_values``: a list of ``(value, count)``, most common first;
        - ``basic_profile`` and one column per option of
          :data:`deidscope.ps315.OPTIONS`: the action codes of PS3.15
          Table E.1-1 for the element's tag (``""`` where the table is
          silent); ``sequence_basic_profile``: the action for the top-level
          sequence that holds a nested element;
        - ``looks_like``: the kinds of identifier the heuristics of
          :data:`deidscope.audit.RULES` found (``"person_name, date"``),
          ``reasons``: why, with an example value, and ``n_flagged``: the
          rows flagged.

        On a Dask frame, a most common value's count can be short when the
        value was not among the ``max(8 * top, 64)`` most common of a
        partition that holds it.

    Raises
    ------
    InputError
        If `df` is not a frame with the required columns, or `top` is not a
        positive int.

    Examples
    --------
    >>> import deidscope
    >>> from deidscope.data import get_dataset
    >>> df = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    >>> table = profile(df).set_index("name")
    >>> row = table.loc["PatientName"]
    >>> int(row["n_files"]), int(row["n_values"]), row["basic_profile"]
    (7, 7, 'Z')
    >>> row["looks_like"]
    'person_name'
    >>> row["top_values"][0]
    ('billowing mode', 1)
    """
    check_frame(df, caller="profile")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(f"profile: top must be a positive int, but got {top!r}")
    return finish(reduce_frame(df, keep=keep_for(top)), top=top)
