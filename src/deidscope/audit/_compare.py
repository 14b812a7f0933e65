"""Before and after de-identification: what survived, and what changed.

Both functions take two identifier frames, one read before and one after
de-identification, and pair their files (:func:`pair_files`): by path when
the files were cleaned in place, by the path under each side's common folder
(``replace_identifiers`` keeps the input folder structure), by file name when
that is unique, or as the caller says.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from deidscope.audit._identifying import (
    LEAK_KINDS,
    alnum,
    checked_kinds,
    identifying,
    is_dummy,
    leak_frame,
)
from deidscope.audit._pairs import files_of, pair_files
from deidscope.audit._rules import KINDS, WELL_KNOWN_UID_ROOTS
from deidscope.audit._scan import backgrounds, binary_label, raw_values, scan
from deidscope.errors import InputError
from deidscope.files import PathLike, check_paths

__all__ = [
    "COMPARE_COLUMNS",
    "LEAK_COLUMNS",
    "LEAK_KINDS",
    "checked_kinds",
    "compare",
    "leak_frame",
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
# kinds looked for elsewhere even when a non-identifying element holds them too
_ALWAYS_SEARCHED = frozenset(KINDS) - {"uid"}
# a code or a number in an element the standard removes is looked for only
# where it was: elsewhere it is as likely to be chance
_CODES_AND_NUMBERS = frozenset(
    {"CS", "AS", "DS", "IS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"}
)
_NUMBER = re.compile(r"^[+-]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?$")


def _searchable(
    sources: pd.DataFrame, min_length: int, background: Mapping[str, str]
) -> pd.DataFrame:
    """Keep the sources long and specific enough to look for in other values.

    A value of kind profile, private or meta that also appears in a
    non-identifying element of its file (``ORIGINAL`` in ImageType) is left
    out: finding it elsewhere says nothing.
    """
    keep = []
    for file, vr, value, part, kind, binary in zip(
        sources["file"],
        sources["VR"],
        sources["value"],
        sources["part"],
        sources["kind"],
        sources["binary"],
        strict=True,
    ):
        ok = not binary and alnum(value) >= (3 if part else min_length)
        if ok and kind not in _ALWAYS_SEARCHED:
            ok = (
                vr not in _CODES_AND_NUMBERS
                and not _NUMBER.match(value)
                and value.casefold() not in background.get(file, "")
                and not is_dummy(value)
            )
        keep.append(ok)
    return sources[keep]


def leaks(
    before_df: pd.DataFrame,
    after_df: pd.DataFrame,
    *,
    kinds: Iterable[str] = LEAK_KINDS,
    options: Iterable[str] = (),
    min_length: int = 4,
    pairs: Mapping[str, str] | None = None,
    scan_bytes: bool | Iterable[PathLike] = False,
    min_bytes: int = 6,
    full_pixels: bool = False,
) -> pd.DataFrame:
    """Find identifying values of the original that survive in the result.

    The identifying values of `before_df` are, one kind per element:

    - those the heuristics of :data:`~deidscope.audit.RULES` flag as one of
      `kinds` (person names, IDs and accession numbers, dates, UIDs outside
      the standard's root, addresses, phone numbers, e-mail addresses), and
      the words of each person name;
    - ``profile``: every value of an element that PS3.15 Table E.1-1, with
      `options`, does not keep (its own action or that of a sequence it is
      in: remove, empty, dummy, new UID; a date an option modifies); inside
      such a sequence, text, dates, times, UIDs and bytes, not codes;
    - ``private``: every value of a private element (not the private
      creators), but the safe ones when ``retain_safe_private`` is used;
    - ``meta``: the file meta but the elements that describe the encoding.

    What an option keeps is not identifying. Each value is looked for in the
    paired file after de-identification (see :func:`pair_files`),
    case-insensitively:

    - ``"kept"``: the same element still holds the same value (any length);
      a value the frame shows as ``<N bytes>`` is read from both files and
      compared byte for byte;
    - ``"contained"``: the value appears in any element, as the whole value
      or inside it (values with at least `min_length` letters or digits;
      name words with at least 3, as whole words; UIDs and numbers not
      inside a longer number);
    - ``"copied"``: an element of another file holds exactly an identifying
      value of the original dataset;
    - ``"bytes"`` (with `scan_bytes`): the raw bytes of the written file hold
      the value somewhere no element above accounts for: the preamble, a long
      binary value, another encoding (see :func:`scan_files`).

    A value of kind profile, private or meta that also appears in a
    non-identifying element of its original is only looked for as ``kept``.

    Parameters
    ----------
    before_df, after_df : pandas.DataFrame
        Frames of :func:`deidscope.read_identifiers` before and after
        de-identification.
    kinds : iterable of str, optional
        The kinds to look for: any of :data:`~deidscope.audit.KINDS` and
        ``profile``, ``private``, ``meta`` (the default,
        :data:`LEAK_KINDS`, leaves out times of day, too short to trace).
    options : iterable of str, optional
        The PS3.15 options of the de-identification
        (:data:`deidscope.ps315.OPTIONS`).
    min_length : int, optional
        The fewest letters and digits a value needs to be looked for inside
        other values.
    pairs : mapping or None, optional
        ``{after_file: before_file}`` where file paths alone cannot pair them.
    scan_bytes : bool or iterable of paths, optional
        Also search the written files byte by byte (:func:`scan_files`):
        True for the files of `after_df`, or the paths to search.
    min_bytes : int, optional
        The shortest form looked for by the byte scan.
    full_pixels : bool, optional
        Let the byte scan read pixel data left as it was in full (see
        :func:`scan_files`).

    Returns
    -------
    pandas.DataFrame
        One row per surviving value and element, with the columns of
        :data:`LEAK_COLUMNS`: where it survives (``file``, ``uid``, ``name``,
        ``value``, after; for a byte finding ``uid`` is empty, ``name`` says
        where, ``preamble``, ``file meta`` or ``dataset``, and ``value``
        gives the offset and the form), where it came from
        (``source_file``, ``source_uid``, ``source_name``,
        ``source_value``), its ``kind`` and how it ``match``-ed. Empty when
        nothing survived.

    Raises
    ------
    InputError
        If a frame is not an identifier frame, or a kind or option is
        unknown.
    """
    before = leak_frame(before_df, caller="leaks", side="before")
    after = leak_frame(after_df, caller="leaks", side="after")
    chosen_kinds, chosen_options = checked_kinds(kinds, options, caller="leaks")
    for label, number in (("min_length", min_length), ("min_bytes", min_bytes)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InputError(f"leaks: {label} must be a positive int, got {number!r}")
    paths: list[str] | None = None
    if scan_bytes is True:
        paths = files_of(after)
    elif scan_bytes is not False:
        paths = [os.fspath(p) for p in check_paths(scan_bytes, caller="leaks")]
    sources = identifying(before, chosen_kinds, chosen_options)
    paired = pair_files(files_of(before), files_of(after), pairs=pairs)
    after_text = pd.DataFrame(
        {
            "file": after["file"].astype(str).to_numpy(),
            "uid": after["uid"].astype(str).to_numpy(),
            "name": after["name"].astype(str).to_numpy(),
            "value": after["value"].astype(str).fillna("").to_numpy(),
        }
    )
    background = backgrounds(before, sources) if len(sources) else {}
    found: list[pd.DataFrame] = []
    if len(sources) and len(after_text):
        text_sources = sources[~sources["binary"]]
        found.append(_kept(text_sources, after_text, paired))
        found.append(_kept_bytes(sources[sources["binary"]], after_text, paired))
        searchable = _searchable(sources, min_length, background)
        found.append(_contained(searchable, after_text, paired))
        heuristic = searchable["kind"].isin(_ALWAYS_SEARCHED | {"uid"})
        found.append(_copied(searchable[~searchable["part"] & heuristic], after_text))
    if paths is not None and len(sources):
        all_pairs = dict(pairs or {})
        for path in paths:
            if path not in all_pairs and path in paired:
                all_pairs[path] = paired[path]
        scanned = scan(
            paths,
            before,
            sources,
            pairs={k: v for k, v in all_pairs.items() if k in paths},
            min_bytes=min_bytes,
            full_pixels=full_pixels,
        )
        found.append(_byte_rows(scanned, found))
    found = [frame for frame in found if len(frame)]
    if not found:
        # the columns and dtypes of a frame of findings, with no rows
        return pd.DataFrame({column: pd.Series(dtype="str") for column in LEAK_COLUMNS})
    out = pd.concat(
        [frame.loc[:, list(LEAK_COLUMNS)] for frame in found], ignore_index=True
    )
    out = out.drop_duplicates(["file", "uid", "name", "source_value"], keep="first")
    order = {file: i for i, file in enumerate(files_of(after))}
    out = out.assign(_order=out["file"].map(order)).sort_values(
        ["_order", "uid"], kind="stable"
    )
    return out.loc[:, list(LEAK_COLUMNS)].reset_index(drop=True)


def _byte_rows(
    scanned: pd.DataFrame, element_level: list[pd.DataFrame]
) -> pd.DataFrame:
    """Keep the byte findings that no element-level finding accounts for.

    A value found in an element (kept, contained, copied) also shows in the
    bytes; its byte findings are left out unless it is in the preamble or
    the bytes hold it more often than the elements found.
    """
    if not len(scanned):
        return pd.DataFrame(columns=list(LEAK_COLUMNS))
    known = [frame for frame in element_level if len(frame)]
    counts: dict[tuple[str, str], int] = {}
    if known:
        seen = pd.concat([frame.loc[:, ["file", "source_value"]] for frame in known])
        for file, value in zip(seen["file"], seen["source_value"], strict=True):
            key = (str(file), str(value))
            counts[key] = counts.get(key, 0) + 1
    occurrences = scanned.groupby(["file", "source_value"])["offset"].transform("size")
    keep = [
        where == "preamble" or int(n) > counts.get((file, value), 0)
        for file, value, where, n in zip(
            scanned["file"],
            scanned["source_value"],
            scanned["where"],
            occurrences,
            strict=True,
        )
    ]
    rows = scanned[keep]
    return pd.DataFrame(
        {
            "file": rows["file"].to_numpy(),
            "uid": "",
            "name": rows["where"].to_numpy(),
            "value": [
                f"byte {offset} ({form})"
                for offset, form in zip(rows["offset"], rows["form"], strict=True)
            ],
            "source_file": rows["source_file"].to_numpy(),
            "source_uid": rows["source_uid"].to_numpy(),
            "source_name": rows["source_name"].to_numpy(),
            "source_value": rows["source_value"].to_numpy(),
            "kind": rows["kind"].to_numpy(),
            "match": "bytes",
        }
    )


def _kept(
    sources: pd.DataFrame, after: pd.DataFrame, paired: dict[str, str]
) -> pd.DataFrame:
    whole = sources[~sources["part"]].loc[:, ["file", "uid", "name", "value", "kind"]]
    mapped = after.assign(source_file=after["file"].map(paired)).dropna(
        subset=["source_file"]
    )
    merged = mapped.merge(
        whole.rename(columns=_AS_SOURCE),
        left_on=["source_file", "uid"],
        right_on=["source_file", "source_uid"],
    )
    same = np.array(
        merged["value"].str.casefold() == merged["source_value"].str.casefold(),
        dtype=bool,
    )
    # a multi-valued element: one of its values still there
    multi = merged["value"].str.contains("\\", regex=False).to_numpy() & ~same
    if multi.any():
        same[multi] = [
            s.casefold() in {p.casefold() for p in v.split("\\")}
            for v, s in zip(
                merged.loc[multi, "value"],
                merged.loc[multi, "source_value"],
                strict=True,
            )
        ]
    # a multi-valued element kept whole: one row, not one per value
    kept = merged[same]
    kept = kept.assign(_length=kept["source_value"].str.len())
    kept = kept.sort_values("_length", ascending=False, kind="stable")
    kept = kept.drop_duplicates(["file", "uid"]).sort_index()
    return kept.drop(columns="_length").assign(match="kept")


def _kept_bytes(
    sources: pd.DataFrame, after: pd.DataFrame, paired: dict[str, str]
) -> pd.DataFrame:
    """Binary values (``<N bytes>``) still in the same element, byte for byte."""
    if not len(sources):
        return pd.DataFrame(columns=list(LEAK_COLUMNS))
    mapped = after.assign(source_file=after["file"].map(paired)).dropna(
        subset=["source_file"]
    )
    merged = mapped.merge(
        sources.loc[:, ["file", "uid", "name", "value", "kind"]].rename(
            columns=_AS_SOURCE
        ),
        left_on=["source_file", "uid"],
        right_on=["source_file", "source_uid"],
    )
    merged = merged[merged["value"] == merged["source_value"]]  # same length
    rows = []
    for (file, source_file), group in merged.groupby(
        ["file", "source_file"], sort=False
    ):
        uids = list(group["uid"])
        old = raw_values(str(source_file), uids)
        new = raw_values(str(file), uids)
        for row in group.to_dict("records"):
            data = old.get(row["uid"])
            if data is not None and data == new.get(row["uid"]):
                label = binary_label(data)
                rows.append({**row, "value": label, "source_value": label})
    out = pd.DataFrame(rows, columns=merged.columns)
    out["match"] = "kept"
    return out


def _contained(
    searchable: pd.DataFrame,
    after: pd.DataFrame,
    paired: dict[str, str],
) -> pd.DataFrame:
    by_file = dict(list(searchable.groupby("file", sort=False)))
    rows: list[tuple[Any, ...]] = []
    for file, group in after.groupby("file", sort=False):
        source_file = paired.get(str(file))
        mine = by_file.get(source_file) if source_file is not None else None
        if mine is None:
            continue
        values = [str(v) for v in group["value"]]
        # which sources are anywhere in the file at all: one search each in
        # the file's values joined, then the elements that hold them
        text = "\x00".join(values).casefold()
        candidates = [
            (uid, name, value, kind, part)
            for uid, name, value, kind, part in zip(
                mine["uid"],
                mine["name"],
                mine["value"],
                mine["kind"],
                mine["part"],
                strict=True,
            )
            if str(value).casefold() in text
        ]
        if not candidates:
            continue
        uids = group["uid"].to_numpy(dtype=object)
        names = group["name"].to_numpy(dtype=object)
        # per element, the longest match at each place, none overlapping (a
        # name found whole is not found again word by word)
        spans: dict[int, list[tuple[int, int, tuple[Any, ...]]]] = {}
        for source in candidates:
            uid, name, value, kind, part = source
            pattern = _one_pattern(str(value), str(kind), bool(part))
            for i, text_value in enumerate(values):
                if text_value:
                    for match in pattern.finditer(text_value):
                        spans.setdefault(i, []).append(
                            (match.start(), match.end(), (uid, name, value, kind))
                        )
        for i, found in spans.items():
            found.sort(key=lambda span: (span[0], span[0] - span[1]))
            reach = -1
            for start, end, source_row in found:
                if start < reach:
                    continue
                reach = end
                where = (file, uids[i], names[i], values[i], source_file)
                rows.append((*where, *source_row))
    columns = [column for column in LEAK_COLUMNS if column != "match"]
    return pd.DataFrame(rows, columns=columns).assign(match="contained")


@functools.lru_cache(maxsize=65536)
def _one_pattern(value: str, kind: str, part: bool) -> re.Pattern[str]:
    """Compile the regular expression that finds one source value in a text."""
    escaped = re.escape(value)
    if part:
        return re.compile(rf"\b{escaped}\b", re.IGNORECASE)
    if kind == "uid" or re.fullmatch(r"[0-9.]+", value):
        return re.compile(rf"(?<![0-9]){escaped}(?![0-9])", re.IGNORECASE)
    return re.compile(escaped, re.IGNORECASE)


def _copied(searchable: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    first = (
        searchable.drop_duplicates("value")
        .loc[:, ["file", "uid", "name", "value", "kind"]]
        .rename(columns=_AS_SOURCE)
    )
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
    before = leak_frame(before_df, caller="compare", side="before")
    after = leak_frame(after_df, caller="compare", side="after")
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
