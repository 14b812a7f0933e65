"""Partial aggregates of an identifier frame, and how they combine.

The profile is computed so that it runs on a pandas frame in one process and
on a Dask frame partition by partition: :func:`partial_profile` reduces rows
to a :class:`Partial` (per-name counts, the most common values, hashes of the
distinct values, rule hits, and the names of the files at its edges), and
:func:`combine` merges the partials of consecutive partitions. Nothing in a
partial grows with the number of rows; only the value hashes grow, with the
number of distinct (field, value) pairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from deidscope import frame
from deidscope.audit._rules import RULES, match_rules
from deidscope.errors import InputError

__all__ = [
    "REQUIRED",
    "Partial",
    "Triples",
    "check_frame",
    "codes",
    "combine",
    "derived",
    "empty_partial",
    "is_dask",
    "partial_profile",
    "tag_int",
    "text_or_none",
    "top_values",
    "triples",
]

#: The columns a frame needs; the others of the long frame are derived if missing.
REQUIRED: tuple[str, ...] = ("file", "uid", "name", "VR", "value")

IntArray = npt.NDArray[np.int64]

_RULE_IDS = [rule.id for rule in RULES]


def is_dask(df: object) -> bool:
    """Whether `df` is a Dask DataFrame (without importing dask)."""
    return type(df).__module__.startswith("dask") and hasattr(df, "to_delayed")


def tag_int(tag: object) -> int:
    """Return a ``(gggg, eeee)`` tag as an int, or -1 for a private name or junk.

    Examples
    --------
    >>> tag_int("(0010, 0010)"), tag_int('(0009,"CREATOR",04)')
    (1048592, -1)
    """
    text = str(tag).strip("()").replace(" ", "")
    group, _, element = text.partition(",")
    try:
        return int(group, 16) << 16 | int(element, 16)
    except ValueError:
        return -1


def check_frame(df: Any, *, caller: str) -> None:
    """Raise InputError unless `df` (pandas or Dask) has the columns needed."""
    frame.check_frame(df, caller=caller, columns=REQUIRED, dask=True)


@dataclasses.dataclass
class Partial:
    """What :func:`partial_profile` keeps of a run of rows."""

    #: Indexed by name: uid, tag, keyword, private_creator, depth,
    #: is_filemeta, n_rows, n_empty, n_files, n_flagged, vrs.
    fields: pd.DataFrame
    #: name, value, count: the most common values of each name.
    values: pd.DataFrame
    #: name, hash: one row per distinct (name, value); None when the partial
    #: will not be combined (``fields`` then holds an exact ``n_values``).
    hashes: pd.DataFrame | None
    #: name, rule, n_rows, example.
    rules: pd.DataFrame
    #: Every file seen, and the first and last with the names they carry.
    files: frozenset[str]
    head: str | None
    head_names: frozenset[str]
    tail: str | None
    tail_names: frozenset[str]
    #: False when a file's rows were found apart (n_files is then not exact).
    contiguous: bool = True


def codes(column: pd.Series) -> tuple[IntArray, pd.Index]:
    """Integer codes and the distinct values of a column; missing -> ""."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        categories = pd.Index(column.cat.categories)
    else:
        raw, uniques = pd.factorize(column)
        codes = np.asarray(raw, dtype=np.int64)
        categories = pd.Index(uniques)
    if not pd.api.types.is_string_dtype(categories.dtype):
        categories = categories.astype(str)
    if (codes < 0).any():
        codes = codes.copy()
        if "" in categories:
            blank = categories.get_loc("")
        else:
            blank = len(categories)
            categories = categories.append(pd.Index([""]))
        codes[codes < 0] = blank
    return codes, categories


def derived(df: pd.DataFrame) -> pd.DataFrame:
    """Add the optional columns of the long frame, from uid and name, if absent."""
    extra: dict[str, Any] = {}
    if "tag" not in df.columns:
        extra["tag"] = df["uid"].astype(str).str.split("__").str[-1]
    if "keyword" not in df.columns:
        last = df["name"].astype(str).str.split("__").str[-1]
        extra["keyword"] = last.where(~last.str.startswith("("), "")
    if "private_creator" not in df.columns:
        extra["private_creator"] = pd.Series(pd.NA, index=df.index, dtype=object)
    if "depth" not in df.columns:
        extra["depth"] = df["uid"].astype(str).str.count("__") // 2
    if "is_filemeta" not in df.columns:
        extra["is_filemeta"] = df["uid"].astype(str).str.startswith("(0002,")
    return df.assign(**extra) if extra else df


def empty_partial() -> Partial:
    fields = pd.DataFrame(
        {
            "uid": pd.Series(dtype=object),
            "tag": pd.Series(dtype=object),
            "keyword": pd.Series(dtype=object),
            "private_creator": pd.Series(dtype=object),
            "depth": pd.Series(dtype=np.int64),
            "is_filemeta": pd.Series(dtype=bool),
            "n_rows": pd.Series(dtype=np.int64),
            "n_empty": pd.Series(dtype=np.int64),
            "n_values": pd.Series(dtype=np.int64),
            "n_files": pd.Series(dtype=np.int64),
            "n_flagged": pd.Series(dtype=np.int64),
            "vrs": pd.Series(dtype=object),
        },
        index=pd.Index([], dtype=object, name="name"),
    )
    return Partial(
        fields=fields,
        values=pd.DataFrame(
            {
                "name": pd.Series(dtype=object),
                "value": pd.Series(dtype=object),
                "count": pd.Series(dtype=np.int64),
            }
        ),
        hashes=pd.DataFrame(
            {"name": pd.Series(dtype=object), "hash": pd.Series(dtype=np.uint64)}
        ),
        rules=pd.DataFrame(
            {
                "name": pd.Series(dtype=object),
                "rule": pd.Series(dtype=object),
                "n_rows": pd.Series(dtype=np.int64),
                "example": pd.Series(dtype=object),
            }
        ),
        files=frozenset(),
        head=None,
        head_names=frozenset(),
        tail=None,
        tail_names=frozenset(),
    )


@dataclasses.dataclass
class Triples:
    """The distinct (name, VR, value) triples of a frame, and the rules' hits."""

    names: pd.Index
    vrs: pd.Index
    uniques: pd.Index
    values_pa: pa.Array
    #: The keyword of each name; the row where each name first appears.
    keywords: npt.NDArray[np.object_]
    first_rows: IntArray
    #: Per row: its name code and its triple.
    name_codes: IntArray
    inverse: IntArray
    #: Per triple: how often, its codes, and the rules that match it.
    counts: IntArray
    t_name: IntArray
    t_vr: IntArray
    t_value: IntArray
    hits: npt.NDArray[np.bool_]


def triples(df: pd.DataFrame) -> Triples:
    """Find the distinct (name, VR, value) triples of `df` and run the rules.

    Parameters
    ----------
    df : pandas.DataFrame
        A non-empty long frame with the optional columns present.

    Returns
    -------
    Triples
        Codes, counts and :data:`~deidscope.audit.RULES` hits per triple.
    """
    name_codes, names = codes(df["name"])
    vr_codes, vrs = codes(df["VR"])
    value_codes, uniques = codes(df["value"])
    n_vrs, n_uniques = len(vrs), len(uniques)
    key = (name_codes * n_vrs + vr_codes) * n_uniques + value_codes
    inverse, triple_keys = pd.factorize(key)
    triple_keys = np.asarray(triple_keys, dtype=np.int64)
    t_name = triple_keys // (n_vrs * n_uniques)
    t_vr = triple_keys // n_uniques % n_vrs
    t_value = triple_keys % n_uniques
    first_rows = pd.Series(name_codes).drop_duplicates().index.to_numpy()
    keywords = np.full(len(names), "", dtype=object)
    keyword_first = df["keyword"].iloc[first_rows].astype(object).fillna("")
    keywords[name_codes[first_rows]] = keyword_first.astype(str).to_numpy()
    values_pa = pa.array(uniques)
    return Triples(
        names=names,
        vrs=vrs,
        uniques=uniques,
        values_pa=values_pa,
        keywords=keywords,
        first_rows=np.asarray(first_rows, dtype=np.int64),
        name_codes=name_codes,
        inverse=np.asarray(inverse, dtype=np.int64),
        counts=np.bincount(inverse).astype(np.int64),
        t_name=t_name,
        t_vr=t_vr,
        t_value=t_value,
        hits=match_rules(keywords, vrs, values_pa, t_name, t_vr, t_value),
    )


def partial_profile(
    df: pd.DataFrame, *, keep: int = 32, hashes: bool = True
) -> Partial:
    """Reduce a pandas frame (or one partition) to a :class:`Partial`.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of the long identifier frame.
    keep : int, optional
        How many of the most common values of each name to keep.
    hashes : bool, optional
        Keep hashes of the distinct values, so that partials can be combined
        (False when the partial is the whole frame).

    Returns
    -------
    Partial
        The frame's aggregates.
    """
    if len(df) == 0:
        return empty_partial()
    df = derived(df)
    tri = triples(df)
    names, vrs, uniques = tri.names, tri.vrs, tri.uniques
    name_codes, counts = tri.name_codes, tri.counts
    t_name, t_vr, t_value, hits = tri.t_name, tri.t_vr, tri.t_value, tri.hits
    values_pa, keywords, first_rows = tri.values_pa, tri.keywords, tri.first_rows
    observed = name_codes[first_rows]
    file_codes, files = codes(df["file"])
    n_names, n_vrs, n_uniques = len(names), len(vrs), len(uniques)
    n_files = len(files)
    flagged = hits.any(axis=1)

    n_rows = np.bincount(name_codes, minlength=n_names)
    blank = pc.index(values_pa, "").as_py()
    n_empty = np.bincount(
        t_name, weights=counts * (t_value == blank), minlength=n_names
    ).astype(np.int64)
    n_flagged = np.bincount(t_name, weights=counts * flagged, minlength=n_names)
    name_file = pd.unique(name_codes * n_files + file_codes)
    n_files_of = np.bincount(name_file // n_files, minlength=n_names)
    filemeta = np.bincount(
        name_codes, weights=df["is_filemeta"].to_numpy(dtype=bool), minlength=n_names
    )
    name_vr = pd.unique(t_name * n_vrs + t_vr)
    vr_text = pd.DataFrame(
        {"name": name_vr // n_vrs, "vr": np.asarray(vrs)[name_vr % n_vrs]}
    )
    vrs_of = vr_text.groupby("name")["vr"].agg(lambda s: "/".join(sorted(set(s))))

    first = df.iloc[first_rows]
    fields = pd.DataFrame(
        {
            "uid": first["uid"].astype(str).to_numpy(),
            "tag": first["tag"].astype(str).to_numpy(),
            "keyword": keywords[observed],
            "private_creator": text_or_none(first["private_creator"]),
            "depth": first["depth"].to_numpy(dtype=np.int64),
            "is_filemeta": filemeta[observed] > 0,
            "n_rows": n_rows[observed].astype(np.int64),
            "n_empty": n_empty[observed],
            "n_files": n_files_of[observed].astype(np.int64),
            "n_flagged": n_flagged[observed].astype(np.int64),
            "vrs": vrs_of.reindex(observed).to_numpy(),
        },
        index=pd.Index(np.asarray(names)[observed], dtype=object, name="name"),
    )

    # (name, value) pairs: counts, the most common, and hashes of all
    pair_inverse, pair_keys = pd.factorize(t_name * n_uniques + t_value)
    pair_keys = np.asarray(pair_keys, dtype=np.int64)
    pair_counts = np.bincount(pair_inverse, weights=counts).astype(np.int64)
    p_name, p_value = pair_keys // n_uniques, pair_keys % n_uniques
    # most common first, ties by value: the same choice however rows are split
    value_rank = np.asarray(pc.rank(values_pa, sort_keys="ascending"), dtype=np.int64)
    order = np.lexsort((value_rank[p_value], -pair_counts, p_name))
    sorted_names = p_name[order]
    starts = np.r_[0, np.flatnonzero(sorted_names[1:] != sorted_names[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    top = order[rank < keep]
    name_text = np.asarray(names, dtype=object)

    def value_text(rows: IntArray) -> npt.NDArray[np.object_]:
        taken = values_pa.take(pa.array(rows, type=pa.int64()))
        return np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object)

    values = pd.DataFrame(
        {
            "name": name_text[p_name[top]],
            "value": value_text(p_value[top]),
            "count": pair_counts[top],
        }
    )
    fields["n_values"] = np.bincount(p_name, minlength=n_names)[observed]
    value_hashes = None
    if hashes:
        hashed = pd.util.hash_array(np.asarray(uniques, dtype=object), categorize=False)
        value_hashes = pd.DataFrame(
            {
                "name": pd.Categorical.from_codes(
                    p_name, categories=pd.Index(name_text, dtype=object)
                ),
                "hash": hashed[p_value],
            }
        )

    rule_rows = []
    for column, rule_id in enumerate(_RULE_IDS):
        matched = np.flatnonzero(hits[:, column])
        if not len(matched):
            continue
        rows = pd.DataFrame(
            {
                "name": t_name[matched],
                "n_rows": counts[matched],
                "example": value_text(t_value[matched]),
            }
        )
        # the greatest value as the example: the same however rows are split
        found = rows.groupby("name", sort=False).agg(
            n_rows=("n_rows", "sum"), example=("example", "max")
        )
        rule_rows.append(
            pd.DataFrame(
                {
                    "name": name_text[found.index.to_numpy()],
                    "rule": rule_id,
                    "n_rows": found["n_rows"].to_numpy(dtype=np.int64),
                    "example": found["example"].to_numpy(dtype=object),
                }
            )
        )
    rules = (
        pd.concat(rule_rows, ignore_index=True) if rule_rows else empty_partial().rules
    )

    head_code, tail_code = file_codes[0], file_codes[-1]
    file_text = np.asarray(files, dtype=object)
    return Partial(
        fields=fields,
        values=values,
        hashes=value_hashes,
        rules=rules,
        files=frozenset(file_text[np.unique(file_codes)].tolist()),
        head=str(file_text[head_code]),
        head_names=frozenset(name_text[np.unique(name_codes[file_codes == head_code])]),
        tail=str(file_text[tail_code]),
        tail_names=frozenset(name_text[np.unique(name_codes[file_codes == tail_code])]),
    )


def top_values(values: pd.DataFrame, keep: int) -> pd.DataFrame:
    """Sum counts per (name, value), keep the `keep` most common of each name."""
    if values.empty:
        return values
    sums = values.groupby(["name", "value"], sort=False)["count"].sum()
    summed: pd.DataFrame = sums.reset_index()
    summed = summed.sort_values(
        ["name", "count", "value"], ascending=[True, False, True], kind="stable"
    )
    return summed[summed.groupby("name", sort=False).cumcount() < keep].reset_index(
        drop=True
    )


def combine(partials: Sequence[Partial], *, keep: int = 32) -> Partial:
    """Merge the partials of consecutive runs of rows, in order.

    Parameters
    ----------
    partials : sequence of Partial
        From :func:`partial_profile` (or earlier calls of this function), in
        the order of their rows.
    keep : int, optional
        How many of the most common values of each name to keep.

    Returns
    -------
    Partial
        As if one partial had been made of all the rows. ``n_files`` is exact
        when each file's rows are consecutive, as every reader of deidscope
        makes them; otherwise ``contiguous`` is False.
    """
    parts = [part for part in partials if part.head is not None]
    if not parts:
        return empty_partial()
    if len(parts) == 1:
        return parts[0]
    seen: set[str] = set()
    correction: dict[str, int] = {}
    contiguous = all(part.contiguous for part in parts)
    head, head_names = parts[0].head, set(parts[0].head_names)
    tail, tail_names = parts[0].tail, set(parts[0].tail_names)
    single = head == tail  # everything so far is one file
    seen |= parts[0].files
    for part in parts[1:]:
        shared = seen & part.files
        if shared:
            if shared == {tail} and part.head == tail:
                for name in tail_names & part.head_names:
                    correction[name] = correction.get(name, 0) + 1
            else:
                contiguous = False
        continues = part.head == tail
        if part.head == part.tail and continues:
            tail_names |= part.tail_names
        else:
            tail, tail_names = part.tail, set(part.tail_names)
        if single and continues:
            head_names |= part.head_names
        single = single and continues and part.head == part.tail
        seen |= part.files

    fields = pd.concat([part.fields for part in parts])
    grouped = fields.groupby(level="name", sort=False)
    merged = grouped.agg(
        uid=("uid", "first"),
        tag=("tag", "first"),
        keyword=("keyword", "first"),
        private_creator=("private_creator", "first"),
        depth=("depth", "first"),
        is_filemeta=("is_filemeta", "any"),
        n_rows=("n_rows", "sum"),
        n_empty=("n_empty", "sum"),
        n_files=("n_files", "sum"),
        n_flagged=("n_flagged", "sum"),
        n_values=("n_values", "sum"),
        vrs=(
            "vrs",
            lambda s: "/".join(sorted({v for text in s for v in text.split("/")})),
        ),
    )
    if correction:
        fix = pd.Series(correction, dtype=np.int64).reindex(merged.index, fill_value=0)
        merged["n_files"] = merged["n_files"] - fix
    if any(part.hashes is None for part in parts):
        raise InputError(
            "combine: expected partials made with hashes=True, but one has none"
        )
    hashes = pd.concat(
        [
            part.hashes.astype({"name": object})
            for part in parts
            if part.hashes is not None
        ]
    ).drop_duplicates(ignore_index=True)
    merged["n_values"] = (
        hashes.groupby("name")
        .size()
        .reindex(merged.index, fill_value=0)
        .astype(np.int64)
    )
    rules = pd.concat([part.rules for part in parts], ignore_index=True)
    if not rules.empty:
        rules = rules.groupby(["name", "rule"], sort=False, as_index=False).agg(
            n_rows=("n_rows", "sum"), example=("example", "max")
        )
    return Partial(
        fields=merged,
        values=top_values(pd.concat([part.values for part in parts]), keep),
        hashes=hashes,
        rules=rules,
        files=frozenset(seen),
        head=head,
        head_names=frozenset(head_names),
        tail=tail,
        tail_names=frozenset(tail_names),
        contiguous=contiguous,
    )


def text_or_none(values: Any) -> list[str | None]:
    return [value if isinstance(value, str) else None for value in values]
