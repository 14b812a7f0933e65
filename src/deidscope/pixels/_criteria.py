"""deid's ``%filter`` tests, evaluated over the identifier frame.

deid 0.4.13 (``deid/dicom/filter.py``) tests a header field with
``dataset.get(field)``, turns each value into ``str(value).lower().strip()``
and compares that text with the recipe's (``re.search`` for ``contains``,
``==`` for ``equals``). To give the same answers without reading files,
this module rebuilds that text from the frame's ``value`` column:

- a multi-valued element is a pydicom ``MultiValue``, which deid does not
  split: its text is the list form, ``['original', 'primary']`` for text
  (each value quoted), ``[1, 2]`` for numbers and person names;
- an empty number or binary value (IS, DS, US, FL, AT, OB, ...) is None
  to pydicom: *missing* is true, and *contains* never matches;
- *empty* is true for an empty value and, as ``not value`` is in deid, for
  a number equal to 0 and a sequence without items;
- only top-level elements of the data set count (not the file meta, not
  elements inside sequences), found by their keyword's own tag.

Where the frame cannot tell deid's text (a sequence or binary value in
``contains``/``equals``, a field given as ``0xGGGGEEEE`` whose text is the
element's repr, an element the frame skips such as PixelData, a name that
is a pydicom attribute rather than a keyword) the file is read and tested
with pydicom exactly as deid does: :func:`dataset_answer`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset

from deidscope.fields import (
    BULK_VRS,
    DEFAULT_SKIP,
    SINGLE_VALUE_TEXT_VRS,
    format_tag,
)

__all__ = [
    "FieldValues",
    "compile_expression",
    "dataset_answer",
    "field_tag",
    "frame_answers",
    "frame_exact",
]

# Numbers: a value of 0 is falsy, so deid calls it empty.
_NUMBERS = {"FL", "FD", "IS", "DS", "SL", "SS", "SV", "UL", "US", "UV"}
# Text VRs whose values are str (quoted inside a MultiValue's text).
_STR_VRS = {
    "AE",
    "AS",
    "CS",
    "DA",
    "DT",
    "LO",
    "LT",
    "SH",
    "ST",
    "TM",
    "UC",
    "UI",
    "UR",
}
_STR_VRS |= {"UT"}
# Never multi-valued: a backslash is part of the text.
# pydicom gives "" for an empty text value (PersonName("") for PN), [] for a
# sequence, and None for every other VR (numbers, AT, binary).
_EMPTY_NOT_NONE = (_STR_VRS - {"DS", "IS"}) | {"PN", "SQ"}


def _dummy_file_dataset() -> FileDataset:
    return FileDataset(
        "x", Dataset(), preamble=b"\0" * 128, file_meta=FileMetaDataset()
    )


_ATTRIBUTE_PROBE = _dummy_file_dataset()


def field_tag(field: str) -> int | None:
    """Return the tag deid's ``dataset.get(field)`` reads, if a keyword's."""
    if "0x" in field:
        return None
    return tag_for_keyword(field)


def frame_exact(field: str) -> bool:
    """Tell whether the frame answers every test of `field` as deid would.

    False for a ``0x`` tag (deid compares the element's repr), an element
    the frame leaves out (PixelData, LUT data, VOILUTSequence, ...), and a
    name pydicom resolves to a dataset attribute rather than an element.
    """
    if "0x" in field:
        return False
    if field in DEFAULT_SKIP:
        return False
    if tag_for_keyword(field) is None:
        return not (field.isidentifier() and hasattr(_ATTRIBUTE_PROBE, field))
    return True


def compile_expression(value: str | None) -> re.Pattern[str]:
    """Return deid's ``contains`` pattern: the value's text, lower case.

    deid passes a missing value as None, whose text is ``"none"``.

    Raises
    ------
    re.error
        If the text is not a regular expression.
    """
    return re.compile(str(value).lower().strip())


@dataclass
class FieldValues:
    """One field's deid-visible values for every file of a frame.

    Attributes
    ----------
    present : ndarray of bool
        The element is in the data set (``field in dataset``).
    none : ndarray of bool
        pydicom's value is None (absent, or an empty number or binary).
    text : ndarray of object
        deid's ``str(value).lower().strip()``, or None.
    empty : ndarray of bool
        deid's *empty* test.
    exact : ndarray of bool
        False where the frame cannot tell deid's text (contains/equals
        need the file).
    """

    present: np.ndarray
    none: np.ndarray
    text: np.ndarray
    empty: np.ndarray
    exact: np.ndarray

    _distinct: tuple[np.ndarray, list[str]] | None = None

    def distinct(self) -> tuple[np.ndarray, list[str]]:
        """Return codes into the distinct texts (-1 for None) and the texts."""
        if self._distinct is None:
            codes, uniques = pd.factorize(self.text, use_na_sentinel=True)
            self._distinct = (np.asarray(codes), [str(u) for u in uniques])
        return self._distinct

    @classmethod
    def absent(cls, n: int) -> FieldValues:
        """Return the values of a field no file has."""
        return cls(
            present=np.zeros(n, bool),
            none=np.ones(n, bool),
            text=np.full(n, None, dtype=object),
            empty=np.zeros(n, bool),
            exact=np.ones(n, bool),
        )


def _is_zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


def _row(vr: str, value: str) -> tuple[bool, str | None, bool, bool]:
    """(none, text, empty, exact) of one element, from its VR and value text."""
    if vr not in _EMPTY_NOT_NONE and value in ("", "<0 bytes>"):
        return True, None, True, True
    if vr == "SQ":
        return False, None, value == "<0 items>", False
    if vr in BULK_VRS or " or " in vr:
        return False, None, value in ("", "<0 bytes>"), False
    multi = vr not in SINGLE_VALUE_TEXT_VRS and "\\" in value
    parts = value.split("\\") if multi else [value]
    if vr == "AT":  # pydicom writes a tag as (0028,0010)
        parts = [part.replace(", ", ",") for part in parts]
    if multi:
        quoted = [repr(part) if vr in _STR_VRS else part for part in parts]
        text = "[" + ", ".join(quoted) + "]"
        empty = False
    else:
        text = parts[0]
        if vr in _NUMBERS:
            empty = _is_zero(value)
        elif vr == "AT":
            empty = value.replace(" ", "") == "(0000,0000)"
        else:
            empty = value == ""
    return False, text.lower().strip(), empty, True


def field_values(
    n: int, positions: np.ndarray, vrs: np.ndarray, values: np.ndarray
) -> FieldValues:
    """Build a field's :class:`FieldValues` from its rows.

    Parameters
    ----------
    n : int
        The number of files.
    positions : ndarray of int
        Each row's file position.
    vrs, values : ndarray of object
        Each row's VR and value text.

    Returns
    -------
    FieldValues
        The values, file by file.
    """
    out = FieldValues.absent(n)
    cache: dict[tuple[str, str], tuple[bool, str | None, bool, bool]] = {}
    for pos, vr, value in zip(positions, vrs, values, strict=True):
        key = (str(vr), "" if value is None else str(value))
        got = cache.get(key)
        if got is None:
            got = cache[key] = _row(*key)
        out.present[pos] = True
        out.none[pos], out.text[pos], out.empty[pos], out.exact[pos] = got
    return out


def _matches(values: FieldValues, test: Callable[[str], bool]) -> np.ndarray:
    """Apply `test` once per distinct text (None never matches)."""
    codes, uniques = values.distinct()
    answers = np.array([test(text) for text in uniques] + [False], dtype=bool)
    result: np.ndarray = answers[codes]  # code -1 (None) takes the last: False
    return result


def frame_answers(action: str, values: FieldValues, value: str | None) -> np.ndarray:
    """Evaluate one deid test for every file; see :func:`dataset_answer`.

    Parameters
    ----------
    action : str
        ``contains``, ``notcontains``, ``equals``, ``notequals``,
        ``missing``, ``present`` or ``empty``.
    values : FieldValues
        The field's values.
    value : str or None
        The value deid passes (None when the recipe line gives none).

    Returns
    -------
    ndarray of bool
        One answer per file (meaningless where ``values.exact`` is False
        for contains/equals tests).
    """
    result: np.ndarray
    if action == "missing":
        result = values.none.copy()
        return result
    if action == "present":
        result = ~values.none
        return result
    if action == "empty":
        result = values.present & values.empty
        return result
    if action in ("contains", "notcontains"):
        pattern = compile_expression(value)
        hits = _matches(values, lambda text: pattern.search(text) is not None)
        return ~hits if action == "notcontains" else hits
    if action in ("equals", "notequals"):
        term = str(value).lower().strip()
        hits = _matches(values, lambda text: text == term)
        return ~hits if action == "notequals" else hits
    return np.zeros(len(values.none), bool)  # deid: not a filter, False


def needs_dataset(action: str, values: FieldValues) -> np.ndarray:
    """Return the files whose answer to `action` the frame cannot give."""
    if action in ("missing", "present", "empty"):
        return np.zeros(len(values.none), bool)  # known for every VR
    result: np.ndarray = values.present & ~values.exact
    return result


def _get(ds: Dataset, field: str) -> tuple[Any, Any]:
    """Return deid's key (an int for ``0x`` fields) and ``dataset.get(key)``."""
    key: Any = int(field, 0) if "0x" in field else field
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about invalid values
        try:
            return key, ds.get(key)
        except Exception:  # a value pydicom cannot convert at all
            return key, None


def dataset_answer(ds: Dataset, action: str, field: str, value: str | None) -> bool:
    """Evaluate one deid filter test on a pydicom dataset, as deid does.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The data set (not modified).
    action : str
        The test.
    field : str
        A keyword, or ``0xGGGGEEEE`` (then the element's repr is compared).
    value : str or None
        The recipe's value (None where deid passes none).

    Returns
    -------
    bool
        deid's answer.
    """
    key, got = _get(ds, field)
    if action == "missing":
        return got is None
    if action == "present":
        return got is not None
    if action == "empty":
        if key not in ds:
            return False
        if not got:
            return True
        if hasattr(got, "_list"):
            return len(got) == 0
        if isinstance(got, DataElement):
            got = got.value
        return bool(got == "")
    contenders = got if isinstance(got, list) else [got]
    texts = [str(c).lower().strip() for c in contenders if c is not None]
    if action in ("contains", "notcontains"):
        pattern = compile_expression(value)
        hit = any(pattern.search(text) for text in texts)
        return not hit if action == "notcontains" else hit
    if action in ("equals", "notequals"):
        term = str(value).lower().strip()
        hit = any(text == term for text in texts)
        return not hit if action == "notequals" else hit
    return False


def tag_text(field: str) -> str | None:
    """Return the frame's ``tag`` text of a keyword field, or None."""
    tag = field_tag(field)
    return None if tag is None else format_tag(tag)
