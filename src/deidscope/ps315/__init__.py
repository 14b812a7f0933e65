"""DICOM PS3.15 Table E.1-1: what the Basic Profile and its options do to a tag.

The table ships as package data (``data/ps3.15-table-e1-1.csv``, see the
README beside it). :func:`load_table` reads it; :func:`lookup` finds the row
for a tag, resolving the repeating groups (``50xx`` curve data, ``60xx``
overlay data and comments) and private attributes to their rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

import pandas as pd

__all__ = [
    "ACTION_CODES",
    "OPTIONS",
    "load_table",
    "lookup",
    "lookup_many",
]

#: The option columns, in the table's order; each is also a DICOM
#: de-identification method (CID 7050).
OPTIONS: tuple[str, ...] = (
    "retain_safe_private",
    "retain_uids",
    "retain_device_identity",
    "retain_institution_identity",
    "retain_patient_characteristics",
    "retain_long_full_dates",
    "retain_long_modified_dates",
    "clean_descriptors",
    "clean_structured_content",
    "clean_graphics",
)

#: What each action code means.
ACTION_CODES: dict[str, str] = {
    "D": "replace with a non-zero-length dummy value",
    "Z": "replace with a zero-length value, or a dummy value",
    "X": "remove",
    "K": "keep (and clean any sequence)",
    "C": "clean: replace identifying text with values of similar meaning",
    "U": "replace UIDs with consistent new UIDs",
    "Z/D": "Z unless D is needed to keep the IOD valid",
    "X/Z": "X unless Z is needed to keep the IOD valid",
    "X/D": "X unless D is needed to keep the IOD valid",
    "X/Z/D": "X unless Z or D is needed to keep the IOD valid",
    "X/Z/U*": (
        "X unless Z, or U for a sequence of UIDs, is needed to keep the IOD valid"
    ),
}

_COLUMNS = ("tag", "keyword", "basic_profile", *OPTIONS)


@functools.cache
def _table() -> pd.DataFrame:
    source = resources.files("deidscope.ps315").joinpath("data/ps3.15-table-e1-1.csv")
    with source.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype=str, keep_default_na=False)
    missing = set(_COLUMNS) - set(table.columns)
    if missing:  # pragma: no cover - guards the package data
        raise RuntimeError(f"ps3.15 table lacks columns {sorted(missing)}")
    table["tag"] = [_normalise_tag(tag) for tag in table["tag"]]
    return table.loc[:, list(_COLUMNS)]


def _normalise_tag(tag: str) -> str:
    """``(0010,0010)`` -> ``(0010, 0010)``; ``(60xx,3000)`` -> ``(60xx, 3000)``."""
    if tag == "private":
        return tag
    group, element = tag.strip("()").split(",")
    return f"({group.strip().lower()}, {element.strip().lower()})"


def load_table() -> pd.DataFrame:
    """Return Table E.1-1 as a DataFrame (a copy: change it freely).

    Returns
    -------
    pandas.DataFrame
        Columns ``tag`` (``(gggg, eeee)``, lowercase, ``xx`` kept for
        repeating groups, ``private`` for private attributes), ``keyword``,
        ``basic_profile`` and one per option in :data:`OPTIONS`; empty
        strings where an option leaves the Basic Profile's action alone.

    Examples
    --------
    >>> table = load_table()
    >>> table.set_index("keyword").loc["PatientName", "basic_profile"]
    'Z'
    """
    return _table().copy()


@functools.cache
def _index() -> dict[str, dict[str, str]]:
    return {
        row["tag"]: {column: row[column] for column in _COLUMNS}
        for row in _table().to_dict("records")
    }


def _key_for(tag: int) -> str:
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return "private"
    if group & 0xFF00 == 0x5000:
        return "(50xx, xxxx)"
    if group & 0xFF00 == 0x6000 and element in (0x3000, 0x4000):
        return f"(60xx, {element:04x})"
    return f"({group:04x}, {element:04x})"


def lookup(tag: int) -> dict[str, str] | None:
    """Return the table's row for a tag, or None if the table does not list it.

    Parameters
    ----------
    tag : int
        The element's tag. Curve groups ``50xx`` and overlay groups ``60xx``
        resolve to their repeating-group rows; private tags (odd groups,
        creators included) to the ``private`` row.

    Returns
    -------
    dict or None
        ``{"tag": ..., "keyword": ..., "basic_profile": ..., <option>: ...}``.

    Examples
    --------
    >>> lookup(0x60023000)["keyword"], lookup(0x00091001)["tag"]
    ('OverlayData', 'private')
    >>> lookup(0x00280010) is None
    True
    """
    row = _index().get(_key_for(tag))
    return None if row is None else dict(row)


def lookup_many(tags: Iterable[int]) -> pd.DataFrame:
    """Return the table's rows for many tags, one row per tag given.

    Parameters
    ----------
    tags : iterable of int
        Tags, repeats allowed.

    Returns
    -------
    pandas.DataFrame
        Indexed by the tags given; the table's columns, empty strings for
        tags the table does not list (``tag`` is then empty too).
    """
    tags = list(tags)
    index = _index()
    empty = dict.fromkeys(_COLUMNS, "")
    rows = [index.get(_key_for(tag), empty) for tag in tags]
    return pd.DataFrame(
        rows, index=pd.Index(tags, name="tag_int"), columns=list(_COLUMNS)
    )
