"""Heuristics: values that look identifying, whatever the standard says.

Each :class:`Rule` gives a *kind* of identifier (a person's name, a date, an
ID, ...) and the reason it fires, in words. A rule looks at the element's VR,
at its keyword (the last keyword of a nested name), or at its value; value
rules are regular expressions run by pyarrow (RE2) over the distinct values of
a frame, never row by row, so they run on private elements and nested
sequences as cheaply as on the rest.

:func:`match_rules` evaluates every rule over (name, VR, value) triples and
returns a boolean matrix, one column per rule of :data:`RULES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "KINDS",
    "RULES",
    "WELL_KNOWN_UID_ROOTS",
    "Rule",
    "match_rules",
]

#: The kinds of identifier the rules look for, in the order they are listed.
KINDS: tuple[str, ...] = (
    "person_name",
    "date",
    "time",
    "id",
    "uid",
    "address",
    "phone",
    "email",
)

#: UID roots whose UIDs name things of the standard (SOP classes, transfer
#: syntaxes, coding schemes), not patients, studies or devices.
WELL_KNOWN_UID_ROOTS: tuple[str, ...] = ("1.2.840.10008.",)

#: VRs whose values the text rules read. Numbers, binary data, sequences,
#: ages and UIDs have rules of their own or none.
TEXT_VRS: frozenset[str] = frozenset(
    {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR", "UN", "OB"}
)


@dataclasses.dataclass(frozen=True)
class Rule:
    """One heuristic: when it fires and why.

    Parameters
    ----------
    id : str
        A short name, unique among :data:`RULES`.
    kind : str
        One of :data:`KINDS`.
    reason : str
        Why a value it matches may identify someone, for people to read.
    vrs : frozenset of str or None
        Only elements with one of these VRs (None: any VR).
    skip_vrs : frozenset of str
        Never elements with one of these VRs.
    keyword : str or None
        A regular expression the element's keyword must match.
    skip_keyword : str or None
        A regular expression the element's keyword must not match.
    pattern : str or None
        A regular expression (RE2 syntax) the value must match somewhere.
    """

    id: str
    kind: str
    reason: str
    vrs: frozenset[str] | None = None
    skip_vrs: frozenset[str] = frozenset()
    keyword: str | None = None
    skip_keyword: str | None = None
    pattern: str | None = None


_DIGITS_BEFORE = r"(?:^|[^0-9])"
_DIGITS_AFTER = r"(?:[^0-9]|$)"
_YEAR = r"(?:19|20)[0-9]{2}"
_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12][0-9]|3[01])"
_SEP = r"[-/.]"
_DATE = (
    _DIGITS_BEFORE
    + "(?:"
    + "|".join(
        [
            _YEAR + _MONTH + _DAY,  # 20131210
            _YEAR
            + _SEP
            + r"(?:0?[1-9]|1[0-2])"
            + _SEP
            + r"(?:0?[1-9]|[12][0-9]|3[01])",
            r"(?:0?[1-9]|[12][0-9]|3[01])"
            + _SEP
            + r"(?:0?[1-9]|1[0-2])"
            + _SEP
            + _YEAR,
            r"(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12][0-9]|3[01])/" + _YEAR,
        ]
    )
    + ")"
    + _DIGITS_AFTER
)
_TIME = (
    _DIGITS_BEFORE + r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?" + _DIGITS_AFTER
)
_TITLES = r"(?:Dr|Mr|Mrs|Ms|Miss|Prof)"
_STREET = (
    r"(?:st|street|rd|road|ave|avenue|blvd|boulevard|ln|lane|dr|drive|way|ct|court"
    r"|pl|place|hwy|highway|pkwy|parkway|sq|square|ter|terrace|strasse|straße)"
)
_ADDRESS = (
    r"(?i)(?:(?:^|[^0-9])[0-9]{1,6}[a-z]? +(?:[a-z0-9.'-]+ +){1,4}" + _STREET + r"\b"
    r"|\bp\.? ?o\.? +box +[0-9]+"
    r"|\b[a-z][a-z .'-]*, *[a-z]{2} +[0-9]{5}(?:-[0-9]{4})?\b)"
)
_PHONE = (
    r"(?:^|[^0-9.])(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\) ?|[0-9]{2,4}[ .-])"
    r"[0-9]{3,4}[ .-][0-9]{3,4}(?:[^0-9.]|$)"
)

_NAME_RULE_SKIP = frozenset({"PN"})
#: Coded values and versions: numbers and dates there are not about people.
_CODES = (
    r"^(?:CodeValue|LongCodeValue|CodingSchemeDesignator|CodingSchemeVersion"
    r"|ContextIdentifier|ContextGroupVersion|MappingResource|SoftwareVersions"
    r"|SpecificCharacterSet)$"
)
_NOT_DATES = frozenset({"DA", "DT", "TM", "UI"})

#: Every rule, in the order results list them.
RULES: tuple[Rule, ...] = (
    Rule("pn", "person_name", "VR PN holds a person's name", vrs=frozenset({"PN"})),
    Rule(
        "name_caret",
        "person_name",
        "text written like a DICOM person name (FAMILY^GIVEN)",
        vrs=TEXT_VRS,
        skip_vrs=_NAME_RULE_SKIP,
        skip_keyword=_CODES,
        pattern=r"^[A-Za-z][A-Za-z'. -]*\^[A-Za-z]",
    ),
    Rule(
        "name_comma",
        "person_name",
        "text written like a name (LAST,FIRST)",
        vrs=TEXT_VRS,
        skip_vrs=_NAME_RULE_SKIP | {"CS"},
        pattern=r"^[A-Z][A-Za-z'-]+, ?[A-Z][A-Za-z'-]+(?: [A-Z]\.?)?$",
    ),
    Rule(
        "name_title",
        "person_name",
        "a title followed by a name (Dr., Mr., Mrs., ...)",
        vrs=TEXT_VRS,
        skip_vrs=_NAME_RULE_SKIP,
        pattern=(
            r"(?:^|[^A-Za-z])" + _TITLES + r"\. ?[A-Za-z]{2,}"
            r"|(?:^|[^A-Za-z])" + _TITLES + r" [A-Z][a-z]+"
        ),
    ),
    Rule("date_vr", "date", "VR DA or DT holds a date", vrs=frozenset({"DA", "DT"})),
    Rule(
        "date_text",
        "date",
        "text holding a date (20131210, 2013-12-10, 10/12/2013, ...)",
        vrs=TEXT_VRS,
        skip_vrs=_NOT_DATES,
        skip_keyword=_CODES,
        pattern=_DATE,
    ),
    Rule("time_vr", "time", "VR TM holds a time of day", vrs=frozenset({"TM"})),
    Rule(
        "time_text",
        "time",
        "text holding a time of day (HH:MM)",
        vrs=TEXT_VRS,
        skip_vrs=_NOT_DATES,
        skip_keyword=_CODES,
        pattern=_TIME,
    ),
    Rule(
        "id_keyword",
        "id",
        "the field's name says it holds an identifier (...ID, ...Number)",
        vrs=TEXT_VRS,
        keyword=r"(?:ID|IDs|Number|Numbers|Identifier)$",
        skip_keyword=r"(?:StatusID|PriorityID|TypeOfPatientID|^ContextIdentifier)$|Telephone",
    ),
    Rule(
        "id_text",
        "id",
        "text like an ID or record number (six or more digits)",
        vrs=TEXT_VRS,
        skip_vrs=_NOT_DATES | {"PN"},
        skip_keyword=_CODES,
        pattern=r"^[A-Za-z]{0,4}[-_ ]?[0-9]{6,}[A-Za-z]?$",
    ),
    Rule(
        "uid_vr",
        "uid",
        "a UID outside the standard's root 1.2.840.10008 (it can lead back to the "
        "original study, series or image; a SOP class, even a vendor's, names a "
        "kind of object, not one)",
        vrs=frozenset({"UI"}),
        skip_keyword=r"SOPClassUID$",
    ),
    Rule(
        "uid_text",
        "uid",
        "text shaped like a UID outside the standard's root 1.2.840.10008",
        vrs=TEXT_VRS,
        skip_keyword=_CODES,
        pattern=r"^[0-2](?:\.[0-9]+){3,}$",
    ),
    Rule(
        "address_keyword",
        "address",
        "the field's name says it holds an address",
        vrs=TEXT_VRS,
        keyword=r"Address",
    ),
    Rule(
        "address_text",
        "address",
        "text like a postal address",
        vrs=TEXT_VRS,
        pattern=_ADDRESS,
    ),
    Rule(
        "phone_keyword",
        "phone",
        "the field's name says it holds a phone number",
        vrs=TEXT_VRS,
        keyword=r"Telephone|Phone",
    ),
    Rule(
        "phone_text", "phone", "text like a phone number", vrs=TEXT_VRS, pattern=_PHONE
    ),
    Rule(
        "email_text",
        "email",
        "text like an e-mail address",
        vrs=TEXT_VRS,
        pattern=r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    ),
)

#: Values that summarise binary data or sequences (``<12 bytes>``).
_SUMMARY = r"^<[0-9]+ (?:bytes|items)>$"

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


def _regex(values: pa.Array, pattern: str) -> BoolArray:
    result = pc.match_substring_regex(values, pattern)
    return np.asarray(
        result.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool
    )


def _outside_roots(values: Sequence[str]) -> BoolArray:
    """Flag UIDs (multi-valued ones too) with a value outside the known roots."""
    out = np.zeros(len(values), dtype=bool)
    for i, text in enumerate(values):
        parts = [part for part in text.split("\\") if part]
        out[i] = any(not part.startswith(WELL_KNOWN_UID_ROOTS) for part in parts)
    return out


def _uid_outside(uniques: pa.Array, rows: IntArray) -> BoolArray:
    """`_outside_roots` over ``uniques[rows]``, vectorised for single values."""
    out = np.zeros(len(uniques), dtype=bool)
    if not len(rows):
        return out
    subset = uniques.take(pa.array(rows))
    known = np.zeros(len(rows), dtype=bool)
    for root in WELL_KNOWN_UID_ROOTS:
        known |= np.asarray(
            pc.starts_with(subset, root).fill_null(False).to_numpy(zero_copy_only=False)
        )
    multi = _regex(subset, r"\\")
    result = ~known
    if multi.any():
        result[multi] = _outside_roots(subset.filter(pa.array(multi)).to_pylist())
    out[rows] = result
    return out


def match_rules(
    keywords: Sequence[str] | npt.NDArray[np.object_],
    vrs: pd.Index,
    uniques: pa.Array,
    t_name: IntArray,
    t_vr: IntArray,
    t_value: IntArray,
) -> BoolArray:
    """Evaluate :data:`RULES` over (name, VR, value) triples.

    Parameters
    ----------
    keywords : sequence of str
        The keyword of each field name the triples' name codes point into
        (empty for private or unknown elements).
    vrs : pandas.Index
        The VRs the triples' VR codes point into.
    uniques : pyarrow.StringArray
        The distinct values the triples' value codes point into.
    t_name, t_vr, t_value : ndarray of int
        One entry per triple: codes into `names`, `vrs` and `uniques`.

    Returns
    -------
    ndarray of bool, shape (triples, len(RULES))
        True where a rule matches a triple. Empty values never match.
    """
    n = len(t_name)
    out = np.zeros((n, len(RULES)), dtype=bool)
    if n == 0:
        return out
    vr_text = np.asarray([str(vr) for vr in vrs], dtype=object)
    lengths = np.asarray(
        pc.utf8_length(uniques).fill_null(0).to_numpy(zero_copy_only=False)
    )
    nonempty = (lengths > 0) & ~_regex(uniques, _SUMMARY)
    text_vr = np.isin(vr_text, list(TEXT_VRS))
    # the distinct values the text rules read: those of text-VR triples
    wanted = np.zeros(len(uniques), dtype=bool)
    wanted[t_value[text_vr[t_vr]]] = True
    wanted &= nonempty
    text_rows = np.flatnonzero(wanted)
    text_values = uniques.take(pa.array(text_rows))
    keyword_array = pa.array([str(keyword) for keyword in keywords], type=pa.string())
    uid_rows = np.unique(t_value[vr_text[t_vr] == "UI"])
    uid_outside = _uid_outside(uniques, uid_rows[nonempty[uid_rows]])
    for column, rule in enumerate(RULES):
        mask = nonempty[t_value].copy()
        if rule.vrs is not None:
            mask &= np.isin(vr_text, list(rule.vrs))[t_vr]
        if rule.skip_vrs:
            mask &= ~np.isin(vr_text, list(rule.skip_vrs))[t_vr]
        if rule.keyword is not None:
            mask &= _regex(keyword_array, rule.keyword)[t_name]
        if rule.skip_keyword is not None:
            mask &= ~_regex(keyword_array, rule.skip_keyword)[t_name]
        if rule.pattern is not None:
            matched = np.zeros(len(uniques), dtype=bool)
            if len(text_rows):
                matched[text_rows] = _regex(text_values, rule.pattern)
            if rule.kind == "uid":
                matched &= _uid_outside(uniques, np.flatnonzero(matched))
            mask &= matched[t_value]
        elif rule.id == "uid_vr":
            mask &= uid_outside[t_value]
        out[:, column] = mask
    return out
