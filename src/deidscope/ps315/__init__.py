"""DICOM PS3.15 Table E.1-1: what the Basic Profile and its options do to a tag.

The table ships as package data (``data/ps3.15-table-e1-1.csv``, see the
README beside it). :func:`load_table` reads it; :func:`lookup` finds the row
for a tag, resolving the repeating groups (``50xx`` curve data, ``60xx``
overlay data and comments) and private attributes to their rows.

Table E.3.10-1, the private attributes the Retain Safe Private Option may
keep, ships too (``data/ps3.15-table-e3.10-1.csv``): :func:`load_safe_private`
reads it and :func:`is_safe_private` tells whether a private element is one
of them, by its group, its private creator and its element byte.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

import pandas as pd

__all__ = [
    "ACTION_CODES",
    "OPTIONS",
    "is_safe_private",
    "load_safe_private",
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


_SAFE_COLUMNS = ("tag", "private_creator", "vr", "vm", "meaning")


@functools.cache
def _safe_table() -> pd.DataFrame:
    source = resources.files("deidscope.ps315").joinpath(
        "data/ps3.15-table-e3.10-1.csv"
    )
    with source.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype=str, keep_default_na=False)
    missing = set(_SAFE_COLUMNS) - set(table.columns)
    if missing:  # pragma: no cover - guards the package data
        raise RuntimeError(f"ps3.15 table E.3.10-1 lacks columns {sorted(missing)}")
    group, element = zip(
        *(tag.strip("()").split(",") for tag in table["tag"]), strict=True
    )
    table.insert(1, "group", [int(g, 16) for g in group])
    table.insert(2, "element", [int(e[2:], 16) for e in element])
    return table


@functools.cache
def _safe_keys() -> frozenset[tuple[int, str, int]]:
    table = _safe_table()
    return frozenset(
        zip(
            table["group"].tolist(),
            [c.strip() for c in table["private_creator"]],
            table["element"].tolist(),
            strict=True,
        )
    )


def load_safe_private() -> pd.DataFrame:
    """Return Table E.3.10-1, the safe private attributes (a copy).

    Returns
    -------
    pandas.DataFrame
        One row per attribute: ``tag`` as the standard writes it
        (``(0019,xx23)``: ``xx`` is the block the private creator reserved),
        ``group`` and ``element`` (the element byte) as ints,
        ``private_creator``, ``vr``, ``vm`` and ``meaning``.

    Examples
    --------
    >>> table = load_safe_private()
    >>> row = table[table.meaning == "Table Speed [mm/rotation]"].iloc[0]
    >>> row.tag, row.private_creator, hex(row.group), hex(row.element)
    ('(0019,xx23)', 'GEMS_ACQU_01', '0x19', '0x23')
    """
    return _safe_table().copy()


def is_safe_private(group: int, private_creator: str | None, element: int) -> bool:
    """Tell whether a private element is listed in Table E.3.10-1.

    Parameters
    ----------
    group : int
        The element's group (odd).
    private_creator : str or None
        The value of the private creator element that reserved its block
        (trailing spaces ignored, case kept); None for none.
    element : int
        The element byte (the low byte of the element number), or the full
        element number (its low byte is used).

    Returns
    -------
    bool
        True only for a listed (group, creator, element byte).

    Examples
    --------
    >>> is_safe_private(0x0019, "GEMS_ACQU_01", 0x1023)
    True
    >>> is_safe_private(0x0019, "GEMS_ACQU_01", 0x1025), is_safe_private(
    ...     0x0011, "ACME", 0x01
    ... )
    (False, False)
    """
    if private_creator is None or not group & 1:
        return False
    return (group, private_creator.strip(), element & 0xFF) in _safe_keys()
