"""Which header value a piece of burned-in text shows, and which text is safe.

Screens spell header values their own way: a birth date ``19510829`` is
shown as ``08/29/1951``, ``1951-08-29``, ``29.08.1951`` or ``29-AUG-1951``;
a name ``DOE^JANE`` as ``DOE, JANE`` or ``JANE DOE``. Both sides are
compared in a compact form (upper case, letters and digits only), so one
candidate covers every separator. A short candidate (fewer than
:data:`SUBSTRING_MIN` characters) must be whole words of the text; a long
one may be anywhere in it (``DOB:08/29/1951`` shows the birth date).

The allow-list (:data:`ALLOW_LIST`) names text a screen shows that is not
an identifier: acquisition parameters, ultrasound safety indices, scale
marks, orientation letters. Each entry is a regular expression that must
match the whole text, ignoring case; users add their own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ALLOW_LIST",
    "MATCH_VRS",
    "SUBSTRING_MIN",
    "HeaderMatcher",
    "allowed",
    "compact",
    "compile_allow",
    "header_triples",
]

#: The seed allow-list: regular expressions for text that is not an
#: identifier, each matched against the whole text, ignoring case.
ALLOW_LIST: tuple[str, ...] = (
    # a bare small number or a signed one: depth and time scale marks
    r"[-+]?\d{1,3}([.,]\d+)?",
    # a number with a unit: 120 kVp, 250 mAs, 12 cm, 3.5 MHz, 60 dB, 25 fps
    r"[-+]?\d{1,4}([.,]\d+)?\s*(kvp|kv|mas|ma|ms|s|cm|mm|hz|khz|mhz|db|%|fps"
    r"|bpm|cm/s|mm/s|m/s|deg|°)",
    # ultrasound safety indices: TIS 0.4, TIB: 0.1, MI 1.2
    r"(tis|tib|tic|mi)\s*[:=]?\s*\d+([.,]\d+)?",
    # acquisition parameters written on the image: kVp 120, Gain 50 %, Depth 12 cm
    r"(kvp|kv|mas|ma|gain|gn|depth|dr|map|frq|freq|fps|res|gen|pwr|power|snr"
    r"|ww|wl|w|l|c|sl|st|zoom)\s*[:=]?\s*[-+]?\d+([.,]\d+)?\s*"
    r"(db|%|cm|mm|mhz|hz|s)?",
    # orientation letters and scale units alone
    r"[lraphisf]|cm|mm|hz|khz|mhz|db|kvp|mas",
)

#: The value representations whose values are looked for in the text.
MATCH_VRS = frozenset(
    {"PN", "DA", "DT", "TM", "LO", "SH", "ST", "LT", "UT", "AE", "UI", "UC"}
)
#: A candidate this long or longer may be anywhere in the text; a shorter
#: one must be whole words of it.
SUBSTRING_MIN = 6
#: Candidates shorter than this are not looked for (too many false hits).
_MIN_LENGTH = 3
_MONTHS = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_WORD = re.compile(r"[A-Z0-9]+")
# Value representations whose values always count (names, dates, times).
_ALWAYS = frozenset({"PN", "DA", "DT", "TM"})
# Priority when one text matches several fields: names, dates, IDs, the rest.
_PRIORITY = {"PN": 0, "DA": 1, "DT": 1, "TM": 3}


def compact(text: str) -> str:
    """Return `text` in upper case with only its letters and digits.

    Examples
    --------
    >>> compact("DOB: 08/29/1951")
    'DOB08291951'
    """
    return "".join(_WORD.findall(text.upper()))


def _date_forms(value: str) -> list[str]:
    """Return the compact spellings of a ``YYYYMMDD`` date on a screen."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 8:
        return []
    yyyy, mm, dd = digits[:4], digits[4:6], digits[6:8]
    if not ("01" <= mm <= "12" and "01" <= dd <= "31"):
        return []
    yy = yyyy[2:]
    m, d = str(int(mm)), str(int(dd))
    mon = _MONTHS[int(mm) - 1]
    forms = {
        yyyy + mm + dd,
        mm + dd + yyyy,
        dd + mm + yyyy,
        m + d + yyyy,
        d + m + yyyy,
        mm + dd + yy,
        dd + mm + yy,
        yy + mm + dd,
        dd + mon + yyyy,
        d + mon + yyyy,
        mon + dd + yyyy,
        mon + d + yyyy,
        yyyy + mon + dd,
        dd + mon + yy,
    }
    return sorted(forms)


def _time_forms(value: str) -> list[str]:
    """Return the compact spellings of a ``HHMMSS`` time (with, without seconds)."""
    digits = re.sub(r"\D", "", value.split(".", 1)[0])
    if len(digits) < 4 or set(digits) == {"0"}:
        return []
    forms = [digits[:6]] if len(digits) >= 6 else []
    return [*forms, digits[:4]]


def _name_forms(value: str) -> tuple[list[str], list[str]]:
    """Return a person name's whole spellings, and its words (candidates too)."""
    first_group = value.split("=", 1)[0]
    parts = [p.strip() for p in first_group.split("^") if p.strip()]
    if not parts:
        return [], []
    whole = {compact("".join(parts))}
    if len(parts) >= 2:
        family, given = parts[0], parts[1]
        whole.add(compact(given + family))
        whole.add(compact(given + "".join(parts[2:]) + family))
    words = sorted(
        {w for p in parts for w in _WORD.findall(p.upper()) if len(w) >= _MIN_LENGTH}
    )
    return sorted(whole), words


@dataclass(frozen=True)
class _Candidate:
    compact: str
    field: str
    rank: int
    whole_words: bool  # must be whole words of the text


def _candidates(field: str, vr: str, value: str) -> list[_Candidate]:
    rank = _PRIORITY.get(vr, 2 if "ID" in field.upper() else 4)
    out: list[_Candidate] = []
    for item in value.split("\\"):
        item = item.strip()
        if not item:
            continue
        if vr == "PN":
            whole, words = _name_forms(item)
            forms = [(c, len(c) < SUBSTRING_MIN) for c in whole]
            forms += [(w, True) for w in words]
        elif vr == "DA":
            forms = [(c, False) for c in _date_forms(item)]
        elif vr == "DT":
            forms = [(c, False) for c in _date_forms(item[:8])]
            forms += [(c, len(c) < SUBSTRING_MIN) for c in _time_forms(item[8:])]
        elif vr == "TM":
            forms = [(c, len(c) < SUBSTRING_MIN) for c in _time_forms(item)]
        else:
            c = compact(item)
            forms = [(c, len(c) < SUBSTRING_MIN)]
        for form, whole_words in forms:
            if len(form) < _MIN_LENGTH or len(set(form)) == 1:
                continue
            out.append(_Candidate(form, field, rank, whole_words))
    return out


def _word_runs(words: Sequence[str]) -> set[str]:
    """Every run of consecutive words, joined (what a whole-word candidate equals)."""
    runs = set()
    for i in range(len(words)):
        joined = ""
        for word in words[i : i + 6]:
            joined += word
            runs.add(joined)
    return runs


class HeaderMatcher:
    """Find which of one file's header values a text shows.

    Parameters
    ----------
    values : iterable of (field, VR, value)
        The file's header values (every depth); only :data:`MATCH_VRS` are
        used.

    Examples
    --------
    >>> m = HeaderMatcher([("PatientBirthDate", "DA", "19510829"),
    ...                    ("PatientName", "PN", "DOE^JANE")])
    >>> m.match("DOB: 08/29/1951"), m.match("Jane Doe"), m.match("12 cm")
    ('PatientBirthDate', 'PatientName', None)
    """

    def __init__(self, values: Iterable[tuple[str, str, str]]) -> None:
        candidates: list[_Candidate] = []
        for field, vr, value in values:
            if vr in MATCH_VRS and value:
                candidates.extend(_candidates(field, vr, value))
        candidates.sort(key=lambda c: (c.rank, -len(c.compact)))
        self._candidates = candidates

    def __len__(self) -> int:
        return len(self._candidates)

    def match(self, text: str) -> str | None:
        """Return the field whose value `text` shows, or None."""
        words = _WORD.findall(text.upper())
        if not words:
            return None
        whole = "".join(words)
        runs: set[str] | None = None
        for candidate in self._candidates:
            if candidate.compact not in whole:
                continue
            if not candidate.whole_words:
                return candidate.field
            if runs is None:
                runs = _word_runs(words)
            if candidate.compact in runs:
                return candidate.field
        return None


def compile_allow(allow: Iterable[str] | None) -> re.Pattern[str]:
    """Return one pattern for the seed allow-list plus `allow`.

    Parameters
    ----------
    allow : iterable of str or None
        More regular expressions (``re.escape`` a literal text).

    Raises
    ------
    re.error
        If an expression is not a regular expression.
    """
    extra = [] if allow is None else [str(a) for a in allow]
    for entry in extra:
        try:
            re.compile(entry)
        except re.error as exc:
            raise re.error(f"{entry!r}: {exc.msg}") from None
    parts = [f"(?:{p})" for p in (*ALLOW_LIST, *extra)]
    return re.compile("|".join(parts), re.IGNORECASE)


def allowed(text: str, pattern: re.Pattern[str]) -> bool:
    """Whether the whole of `text` (stripped) is allow-listed."""
    return pattern.fullmatch(text.strip()) is not None


@functools.cache
def identifying(tag: str) -> bool:
    """Whether a tag (``"(gggg, eeee)"``) may hold an identifier.

    A private element, or one PS3.15 Table E.1-1 lists (any action): a
    probe name (TransducerData), the manufacturer or a view name on the
    screen is no identifier, a date, a name or an ID is.
    """
    digits = re.sub(r"[^0-9A-Fa-f]", "", tag)
    if len(digits) != 8:
        return True  # unknown: look for it
    number = int(digits, 16)
    if (number >> 16) % 2:
        return True
    from deidscope.ps315 import lookup

    return lookup(number) is not None


def header_triples(
    names: Sequence[str],
    vrs: Sequence[str],
    values: Sequence[object],
    tags: Sequence[str] | None = None,
) -> list[tuple[str, str, str]]:
    """Zip a file's frame rows into ``(field, VR, value)`` for the matcher.

    Names, dates and times always count; other values only when their tag
    may hold an identifier (:func:`identifying`), when `tags` are given.
    """
    out = []
    for i, (name, vr, value) in enumerate(zip(names, vrs, values, strict=True)):
        if value is None or vr not in MATCH_VRS:
            continue
        if tags is not None and vr not in _ALWAYS and not identifying(tags[i]):
            continue
        text = str(value)
        if text and text != "<NA>":
            out.append((str(name), str(vr), text))
    return out
