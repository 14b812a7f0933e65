"""Clean free text: keep it, take out what identifies the patient of its file.

The profile's ``C`` on a text element (Clean Descriptors, Clean Structured
Content, Clean Graphics) becomes ``BLANK field`` then ``REPLACE field
func:deidscope_clean``: deid, which has no such function, skips the second
line and the text is blanked; deidscope's runs (:class:`RecipeRun`, so the
preview shows it) give every file's lookup a cleaner that removes from the
original text every identifying value of the same file:

- every person name (PN), whole, with ``^`` read as a space or ``, ``, and
  each of its components;
- the value of every text, date and UID element whose action (the Basic
  Profile's, or the options') is neither to keep nor to clean it
  (PatientID, AccessionNumber, InstitutionName, dates, addresses...),
  private elements included; a date also in the spellings
  ``YYYY-MM-DD``, ``DD.MM.YYYY``, ``MM/DD/YYYY`` and ``DD/MM/YYYY``.

Values shorter than 3 characters are left alone (a sex, a code). Each
occurrence, in any case, becomes ``[removed]``; the result is cut to the
VR's maximum length.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from deidscope import ps315

__all__ = ["CLEAN_FUNCTION", "REMOVED", "clean_text", "file_values"]

#: The ``func:`` name a run provides for cleaning text.
CLEAN_FUNCTION = "deidscope_clean"
#: What an identifying value becomes in cleaned text.
REMOVED = "[removed]"
_MIN = 3
_TEXT_VRS = frozenset(
    {"PN", "LO", "SH", "LT", "ST", "UT", "UC", "DA", "DT", "AE", "UI", "CS"}
)
_MAX_LENGTH = {
    "AE": 16,
    "SH": 16,
    "LO": 64,
    "ST": 1024,
    "LT": 10240,
    "PN": 64,
    "CS": 16,
}


def _variants(value: str, vr: str) -> Iterable[str]:
    yield value
    if vr == "PN":
        parts = [p.strip() for p in value.split("^") if p.strip()]
        yield " ".join(parts)
        yield " ".join(reversed(parts))
        yield ", ".join(parts)
        yield from parts
    if vr in ("DA", "DT") and re.fullmatch(r"\d{8}.*", value):
        y, m, d = value[:4], value[4:6], value[6:8]
        yield from (f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}")


def file_values(
    frame: pd.DataFrame, options: Iterable[str] = ()
) -> dict[str, frozenset[str]]:
    """Return each file's identifying values (see the module documentation).

    `options`: the profile's options; a value whose action they make ``K``
    or ``C`` (the text being cleaned) is not identifying.
    """
    vrs = frame["VR"].astype(str)
    rows = frame[vrs.isin(_TEXT_VRS).to_numpy()]
    if rows.empty:
        return {}
    tags = [int(str(t).strip("()").replace(", ", ""), 16) for t in rows["tag"]]
    table = ps315.lookup_many(tags)
    codes = table["basic_profile"].to_numpy(dtype=object).copy()
    for option in ps315.OPTIONS:
        if option in options:
            column = table[option].to_numpy(dtype=object)
            codes[column != ""] = column[column != ""]
    found: dict[str, set[str]] = {}
    for file, vr, value, code in zip(
        rows["file"].astype(str),
        rows["VR"].astype(str),
        rows["value"],
        codes,
        strict=True,
    ):
        if pd.isna(value) or not value:
            continue
        if vr != "PN" and (vr == "CS" or code in ("", "K", "C")):
            continue
        for part in str(value).split("\\"):
            for variant in _variants(part.strip(), vr):
                if len(variant) >= _MIN:
                    found.setdefault(file, set()).add(variant)
    return {file: frozenset(values) for file, values in found.items()}


def clean_text(text: str, values: Iterable[str], vr: str = "") -> str:
    """Return `text` with every occurrence of `values` (any case) removed.

    Examples
    --------
    >>> clean_text("CT head for Jane Doe", ["Doe", "Jane"])
    'CT head for [removed] [removed]'
    """
    pattern = _pattern(frozenset(values))
    if pattern is None or not text:
        return text
    cleaned = pattern.sub(REMOVED, text)
    limit = _MAX_LENGTH.get(vr)
    return cleaned if limit is None else cleaned[:limit]


@functools.lru_cache(maxsize=256)
def _pattern(values: frozenset[str]) -> re.Pattern[str] | None:
    """One regular expression for a file's values, longest first."""
    wanted = sorted({v for v in values if len(v) >= _MIN}, key=len, reverse=True)
    if not wanted:
        return None
    return re.compile("|".join(re.escape(v) for v in wanted), re.IGNORECASE)


def cleaner(values: frozenset[str]) -> Any:
    """Return the ``func:`` function cleaning a field of one file."""

    def clean(dicom: Any, value: Any, field: Any, item: Any) -> Any:
        original = getattr(field, "original", None)
        text = str(original if original is not None else field.text or "")
        if not text:
            return None  # nothing to clean: the line is skipped
        return clean_text(text, values, str(getattr(field.element, "VR", "")))

    return clean
