"""Draft a recipe ``%filter`` LABEL from a box drawn on one file's image.

The widgets (``ThumbnailGrid`` and its box editor) use these to turn "this
rectangle on this picture" into deid recipe text: a ``LABEL`` whose criteria
are the file's Manufacturer, ManufacturerModelName and Modality, and a
``coordinates`` line with the box.
They are plain text functions, so a script can draft the same lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from deidscope.errors import InputError

__all__ = [
    "CRITERIA_FIELDS",
    "FILTER_GROUPS",
    "add_filter_label",
    "format_box",
    "format_label",
    "header_values",
    "label_criteria",
]

#: The header fields a drafted LABEL's criteria come from, in order.
CRITERIA_FIELDS: tuple[str, ...] = ("Manufacturer", "ManufacturerModelName", "Modality")
#: The filter groups deid knows.
FILTER_GROUPS: tuple[str, ...] = ("whitelist", "graylist", "blacklist")
_FILTER_WORDS = ("contains", "notcontains", "equals", "notequals", "missing", "empty")
_SECTION = re.compile(r"^\s*%(\w+)(?:\s+(\S+))?", re.IGNORECASE)


def header_values(
    df: pd.DataFrame, path: str, *, fields: Sequence[str] = CRITERIA_FIELDS
) -> dict[str, str | None]:
    """Return one file's top-level values of some fields (None if absent).

    Parameters
    ----------
    df : pandas.DataFrame
        An identifier frame holding the file's rows.
    path : str
        The file, as in the frame's ``file`` column.
    fields : sequence of str
        Top-level field names.

    Returns
    -------
    dict
        ``{field: value or None}`` in the order of `fields`.
    """
    rows = df[(df["file"] == path) & (df["depth"] == 0) & df["name"].isin(fields)]
    found = dict(
        zip(rows["name"].astype(str), rows["value"].astype(object), strict=True)
    )
    return {
        field: (None if found.get(field) is None else str(found[field]))
        for field in fields
    }


def _safe_value(value: str) -> bool:
    """Whether deid reads ``<action> <field> <value>`` back with this value whole."""
    if "\n" in value or "\r" in value or value != value.strip():
        return False
    for operator in ("+", "||"):
        if operator in value:
            rest = value.split(operator, 1)[1]
            if any(word in rest for word in (*_FILTER_WORDS, "present")):
                return False
    return True


def label_criteria(values: Mapping[str, str | None]) -> list[str]:
    """Write deid filter criteria that a file's values satisfy.

    Parameters
    ----------
    values : mapping of str to str or None
        Field name to value; None means the file lacks the field, "" that it
        is empty.

    Returns
    -------
    list of str
        One criterion per field, ``equals Manufacturer GE`` (deid compares
        ignoring case), ``empty Field`` or ``missing Field``; joined with
        ``+`` by :func:`format_label`. A value deid could not read back
        whole (one with a newline, or a ``+`` or ``||`` followed by a filter
        word) is left out.

    Examples
    --------
    >>> label_criteria({"Manufacturer": "GE", "ManufacturerModelName": None,
    ...                 "Modality": ""})
    ['equals Manufacturer GE', 'missing ManufacturerModelName', 'empty Modality']
    """
    criteria = []
    for field, value in values.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", field):
            raise InputError(f"label_criteria: expected a DICOM keyword, got {field!r}")
        if value is None:
            criteria.append(f"missing {field}")
        elif value == "":
            criteria.append(f"empty {field}")
        elif _safe_value(value):
            criteria.append(f"equals {field} {value}")
    return criteria


def format_box(box: Sequence[int]) -> str:
    """Write a box as deid's ``xmin,ymin,xmax,ymax``.

    Parameters
    ----------
    box : sequence of 4 int
        ``(xmin, ymin, xmax, ymax)`` in image pixels, columns then rows.

    Returns
    -------
    str
        The coordinates text.

    Raises
    ------
    InputError
        If the box is not four non-negative ints with min < max.

    Examples
    --------
    >>> format_box((0, 0, 512, 40))
    '0,0,512,40'
    """
    values = list(box)
    if len(values) != 4 or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise InputError(
            f"format_box: expected (xmin, ymin, xmax, ymax) as four ints, got {box!r}"
        )
    xmin, ymin, xmax, ymax = values
    if min(values) < 0 or xmin >= xmax or ymin >= ymax:
        raise InputError(
            "format_box: expected 0 <= xmin < xmax and 0 <= ymin < ymax, "
            f"got {tuple(values)}"
        )
    return f"{xmin},{ymin},{xmax},{ymax}"


def format_label(
    name: str, criteria: Sequence[str], boxes: Sequence[Sequence[int]] = ()
) -> str:
    """Write a ``LABEL`` block of a ``%filter`` section.

    Parameters
    ----------
    name : str
        The label's name (one line).
    criteria : sequence of str
        Criteria from :func:`label_criteria`, joined with ``+`` (all must hold).
    boxes : sequence of boxes
        ``(xmin, ymin, xmax, ymax)`` boxes, one ``coordinates`` line each.

    Returns
    -------
    str
        The block, ending with a newline.

    Raises
    ------
    InputError
        If the name is empty or has a newline, or there are no criteria.

    Examples
    --------
    >>> print(format_label("GE burned-in text", ["equals Manufacturer GE",
    ...                    "equals Modality US"], [(0, 0, 640, 40)]), end="")
    LABEL GE burned-in text
      equals Manufacturer GE
      + equals Modality US
      coordinates 0,0,640,40
    """
    name = name.strip()
    if not name or "\n" in name or "#" in name:
        raise InputError(
            f"format_label: expected a one-line label name without '#', got {name!r}"
        )
    if not criteria:
        raise InputError("format_label: expected at least one criterion, got none")
    lines = [f"LABEL {name}", f"  {criteria[0]}"]
    lines += [f"  + {criterion}" for criterion in criteria[1:]]
    lines += [f"  coordinates {format_box(box)}" for box in boxes]
    return "\n".join(lines) + "\n"


def add_filter_label(recipe_text: str, label: str, *, group: str = "graylist") -> str:
    r"""Add a LABEL block to a recipe's ``%filter <group>`` section.

    Parameters
    ----------
    recipe_text : str
        Deid recipe text (may be empty: ``FORMAT dicom`` is added).
    label : str
        A block from :func:`format_label`.
    group : {"whitelist", "graylist", "blacklist"}
        The filter group; the section is created, before ``%header``, if
        the recipe has none.

    Returns
    -------
    str
        The new recipe text; `recipe_text` itself is a str and unchanged.

    Raises
    ------
    InputError
        If `group` is not a deid filter group.

    Examples
    --------
    >>> text = add_filter_label("FORMAT dicom\n\n%header\n\nREMOVE PatientName\n",
    ...                         "LABEL x\n  empty Modality\n")
    >>> print(text, end="")
    FORMAT dicom
    <BLANKLINE>
    %filter graylist
    <BLANKLINE>
    LABEL x
      empty Modality
    <BLANKLINE>
    %header
    <BLANKLINE>
    REMOVE PatientName
    """
    if group not in FILTER_GROUPS:
        raise InputError(
            f"add_filter_label: expected group in {FILTER_GROUPS}, got {group!r}"
        )
    lines = recipe_text.splitlines()
    if not any(line.strip().upper().startswith("FORMAT") for line in lines):
        lines = ["FORMAT dicom", "", *lines]
    block = label.rstrip("\n").splitlines()
    sections = [
        (index, match.group(1).lower(), (match.group(2) or "").lower())
        for index, line in enumerate(lines)
        if (match := _SECTION.match(line))
    ]
    target = [
        index for index, kind, name in sections if (kind, name) == ("filter", group)
    ]
    if target:
        start = target[0]
        later = [index for index, _, _ in sections if index > start]
        following = later[0] if later else len(lines)
        end = following
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        new = [*lines[:end], "", *block]
        if later:
            new += ["", *lines[following:]]
    else:
        after_format = next(
            i
            for i, line in enumerate(lines)
            if line.strip().upper().startswith("FORMAT")
        )
        insert = sections[0][0] if sections else len(lines)
        insert = max(insert, after_format + 1)
        head = lines[:insert]
        while head and not head[-1].strip():
            head.pop()
        tail = lines[insert:]
        new = [*head, "", f"%filter {group}", "", *block]
        if tail:
            new += ["", *tail]
    return "\n".join(new).rstrip("\n") + "\n"
