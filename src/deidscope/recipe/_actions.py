"""What a recipe value means for one field: variables, functions, dates.

``var:``, ``func:``, ``deid_func:``, plain values converted for the VR, and
date jitter.

These are deid's rules (``deid/utils/actions.py``, ``deid/dicom/actions``),
re-implemented. Recipe text is data: ``func:`` names are looked up in the
caller's lookup and nowhere else; nothing is imported or evaluated.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydicom.uid import generate_uid

from deidscope.errors import RecipeFunctionError
from deidscope.fields import BULK_VRS, SINGLE_VALUE_TEXT_VRS

__all__ = [
    "DEID_FUNCS",
    "INT_VRS",
    "MISSING",
    "FunctionCallError",
    "RecipeFunctionError",
    "convert_value",
    "deid_str",
    "jitter_text",
    "parse_pairs",
    "resolve",
    "value_from_text",
]

logger = logging.getLogger("deidscope.recipe")

#: VRs whose values deid converts to int (those it converts to bytes: BULK_VRS).
INT_VRS = frozenset({"SL", "SS", "SV", "UL", "US", "UV"})
_FLOAT_VRS = frozenset({"FL", "FD"})
#: VRs whose values pydicom gives as str (their repr is quoted in a list).
_STR_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "SH", "TM", "UI", "UC"})


class _Missing:
    """The value deid's ``parse_value`` gives as None: the action is skipped."""

    def __repr__(self) -> str:
        return "MISSING"


#: A value that could not be resolved (``var:`` not in the lookup, ...).
MISSING: Any = _Missing()


class FunctionCallError(Exception):
    """A ``func:`` or ``deid_func:`` function raised (caught by the engine).

    :func:`resolve` does not know the file or the recipe line; the engine
    turns this into a :class:`RecipeFunctionError` that names them.

    Parameters
    ----------
    function : str
        The value that called it, up to its parameters: ``func:new_uid``.
    error : BaseException
        What the function raised.
    """

    def __init__(self, function: str, error: BaseException) -> None:
        self.function = function
        self.error = error
        super().__init__(f"{function}: {type(error).__name__}: {error}")


def convert_value(vr: str, value: str) -> Any:
    """Convert a recipe value for a field's VR, as deid does.

    Parameters
    ----------
    vr : str
        The field's VR.
    value : str
        The value from the recipe.

    Returns
    -------
    object
        A float for FL/FD, bytes for binary VRs, an int for integer VRs, the
        text otherwise; :data:`MISSING` when it does not convert (deid then
        leaves the field alone).

    Examples
    --------
    >>> convert_value("US", "512"), convert_value("LO", "x"), convert_value("US", "x")
    (512, 'x', MISSING)
    """
    try:
        if vr in _FLOAT_VRS:
            return float(value)
        if vr in BULK_VRS:
            return value.encode("utf-8")
        if vr in INT_VRS:
            return int(value)
    except (ValueError, TypeError):
        return MISSING
    return value


def parse_pairs(extras: str) -> dict[str, Any]:
    """Read ``key=value`` pairs separated by spaces, as deid's functions do."""
    values: dict[str, Any] = {}
    for pair in extras.split(" "):
        if "=" not in pair:
            continue
        key, _, text = pair.partition("=")
        value: Any = text.strip()
        if value == "true":
            value = True
        elif value == "false":
            value = False
        elif value in ("none", "null"):
            value = None
        values[key.strip()] = value
    return values


# -- dates ---------------------------------------------------------------------

_DA = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DT = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$"
)


def _shift_date(text: str, days: int) -> str | None:
    match = _DA.match(text.strip())
    if match is None:
        return None
    try:
        day = datetime(int(match[1]), int(match[2]), int(match[3]))
        return (day + timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return None


def _shift_datetime(text: str, days: int) -> str | None:
    match = _DT.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz = None
    if offset:
        sign = -1 if offset[0] == "-" else 1
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        tz = timezone(sign * timedelta(minutes=minutes))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
        return (moment + timedelta(days=days)).strftime("%Y%m%d%H%M%S.%f%z")
    except (ValueError, OverflowError):
        return None


def jitter_text(text: str, vr: str, days: int) -> str | None:
    r"""Shift the dates of a value by `days`, as deid's JITTER does.

    DA values (``YYYYMMDD``) stay dates; DT values become
    ``YYYYMMDDHHMMSS.FFFFFF`` (with their offset), as deid writes them; other
    VRs are shifted when they hold a DA or DT-looking text. Every value of a
    multi-valued element moves by the same days, so their order is kept. A
    value that is not a date is left as it is.

    Parameters
    ----------
    text : str
        The value as the frame writes it (``\\`` between values).
    vr : str
        The field's VR.
    days : int
        Days to add (negative to go back).

    Returns
    -------
    str or None
        The new value, or None when no value could be shifted.

    Examples
    --------
    >>> jitter_text("20131210", "DA", 31)
    '20140110'
    >>> jitter_text("20131210\\20131211", "DA", -1)
    '20131209\\20131210'
    >>> jitter_text("20131210191929.5+0100", "DT", 1)
    '20131211191929.500000+0100'
    """
    values = text.split("\\") if vr not in SINGLE_VALUE_TEXT_VRS else [text]
    shifted: list[str] = []
    changed = False
    for value in values:
        if vr == "DA":
            new = _shift_date(value, days)
        elif vr == "DT":
            new = _shift_datetime(value, days)
        else:
            new = _shift_date(value, days) or _shift_datetime(value, days)
        if new is None:
            if value:
                logger.info("JITTER: %r (%s) is not a date; left as it is", value, vr)
            shifted.append(value)
        else:
            shifted.append(new)
            changed = True
    return "\\".join(shifted) if changed else None


# -- values as deid sees them ----------------------------------------------------


def value_from_text(text: str, vr: str) -> Any:
    """Return a python value close to pydicom's for a frame value.

    Numbers become numbers, multi-values lists; binary summaries empty bytes.
    """
    if vr == "SQ":
        return []
    multi = vr not in SINGLE_VALUE_TEXT_VRS and "\\" in text
    parts = text.split("\\") if multi else [text]
    if vr in INT_VRS or vr in _FLOAT_VRS:
        if text == "":
            return None
        cast: Callable[[str], Any] = int if vr in INT_VRS else float
        try:
            numbers = [cast(part) for part in parts]
        except ValueError:
            return text
        return numbers if multi else numbers[0]
    if vr in BULK_VRS:
        return (
            b""
            if text.startswith("<") and text.endswith(" bytes>")
            else text.encode("latin-1", "replace")
        )
    return parts if multi else text


def deid_str(text: str, vr: str) -> str:
    r"""``str(element.value)`` as deid's value matching sees it, from frame text.

    A multi-valued element prints as a list (``['ORIGINAL', 'PRIMARY']``), an
    empty binary number as ``None``. Binary data and sequences are not
    reproduced (their frame text is a summary).

    Examples
    --------
    >>> deid_str("ORIGINAL\\PRIMARY", "CS"), deid_str("", "US")
    ("['ORIGINAL', 'PRIMARY']", 'None')
    """
    if text == "" and (vr in INT_VRS or vr in _FLOAT_VRS or vr == "AT"):
        return "None"
    if vr in SINGLE_VALUE_TEXT_VRS or "\\" not in text:
        if vr == "AT" and text.startswith("("):
            return text.replace(", ", ",").upper()
        return text
    parts = text.split("\\")
    if vr in _STR_VRS:
        return "[" + ", ".join(repr(part) for part in parts) + "]"
    return "[" + ", ".join(parts) + "]"


# -- deid's own functions ----------------------------------------------------------


def _basic_uuid(field: Any, extras: str) -> Any:
    return str(uuid.uuid4())


def _pydicom_uuid(field: Any, extras: str) -> Any:
    options = parse_pairs(extras)
    prefix = options.get("prefix", "2.25.")
    sources = []
    if options.get("stable_remapping", True) is True:
        sources.append(str(field.element.value))
    return generate_uid(prefix=prefix, entropy_srcs=sources or None)


def _suffix_uuid(field: Any, extras: str) -> Any:
    return f"{field.deid_name.lower()}-{uuid.uuid4()}"


def _dicom_uuid(field: Any, extras: str) -> Any:
    root = parse_pairs(extras).get("org_root", "anonymous-organization")
    return f"{root}.{uuid.uuid4().int}"[:64]


def _jitter(field: Any, extras: str) -> Any:
    options = parse_pairs(extras)
    days = int(options.get("days", 1))
    if "years" in options:
        days += int(options["years"]) * 365
    text = field.text
    if not text:
        return MISSING
    new = jitter_text(text, field.element.VR, days)
    return MISSING if new is None else new


#: How a ``deid_func:`` result is memoised within a run: by the original
#: value alone (``"value"``: the same UID in any field, say
#: ``SOPInstanceUID`` of one file and ``ReferencedSOPInstanceUID`` of
#: another, gets the same new UID), by field and value (``"field"``: deid's
#: ``suffix_uuid`` writes the field's name into its result), or not at all
#: (None: the result depends on nothing random).
Memo = Literal["value", "field"] | None

#: The functions deid provides for ``deid_func:`` (name -> (function, memo)).
#: ``pydicom_uuid`` is memoised too: with ``stable_remapping=false`` deid
#: draws a new random UID for every element.
DEID_FUNCS: dict[str, tuple[Callable[[Any, str], Any], Memo]] = {
    "jitter": (_jitter, None),
    "dicom_uuid": (_dicom_uuid, "value"),
    "suffix_uuid": (_suffix_uuid, "field"),
    "basic_uuid": (_basic_uuid, "value"),
    "pydicom_uuid": (_pydicom_uuid, "value"),
}

_DYNAMIC = re.compile(r"^(var|func|deid_func):")


def resolve(
    value: str,
    *,
    vr: str | None,
    lookup: Mapping[str, Any],
    field: Any = None,
    dicom: Any = None,
    memo: dict[tuple[Any, ...], Any] | None = None,
    keyed: Any = None,
) -> Any:
    """Resolve a recipe value for one field, as deid's ``parse_value`` does.

    Parameters
    ----------
    value : str
        The recipe value: ``var:name``, ``func:name``, ``deid_func:name
        key=value ...`` or plain text.
    vr : str or None
        The field's VR, to convert plain text (None: no conversion).
    lookup : mapping
        The caller's variables and functions for this file.
    field : object, optional
        The field passed to functions (with ``element``, ``name``, ``uid``,
        ``deid_name`` and ``text``).
    dicom : pydicom.dataset.Dataset or None, optional
        The dataset passed to ``func:`` functions.
    memo : dict or None, optional
        Results of ``deid_func`` UID functions by (function, parameters,
        original value), and for ``suffix_uuid`` by field too (see
        :data:`DEID_FUNCS`), so that one original value gets one new value
        within a run: UIDs stay consistent across the files of a study,
        references to a UID included.
    keyed : Keyed or None, optional
        With a key (:class:`deidscope.recipe._keyed.Keyed`),
        ``deid_func:pydicom_uuid`` (stable remapping, its default) gives the
        keyed UID of the original: the same in every run with that key.

    Returns
    -------
    object
        The value, or :data:`MISSING` when deid would skip the action.

    Raises
    ------
    FunctionCallError
        If a ``func:`` or ``deid_func:`` function raises.
    """
    match = _DYNAMIC.match(value)
    if match is None:
        return value if vr is None else convert_value(vr, value)
    kind, option = match.group(1), value[match.end() :]
    if kind == "var":
        return lookup.get(option, MISSING)
    if kind == "deid_func":
        name, _, extras = option.partition(" ")
        entry = DEID_FUNCS.get(name)
        if entry is None:
            logger.warning("deid_func:%s is not one of deid's functions", name)
            return MISSING
        function, by = entry
        if keyed is not None and name == "pydicom_uuid" and field is not None:
            options = parse_pairs(extras)
            if options.get("stable_remapping", True) is True:
                return keyed.uid(
                    str(field.element.value), options.get("prefix", "2.25.")
                )
        if by is None or memo is None:
            return _call(f"deid_func:{name}", function, field, extras)
        named = getattr(field, "deid_name", None) if by == "field" else None
        key = (name, extras, named, field.text)
        if key not in memo:
            memo[key] = _call(f"deid_func:{name}", function, field, extras)
        return memo[key]
    user_function: Any = lookup.get(option)
    if not callable(user_function):
        return MISSING
    try:
        result = user_function(dicom=dicom, value=value, field=field, item=lookup)
    except Exception as exc:  # the caller's own code: any error, reported
        raise FunctionCallError(f"func:{option}", exc) from exc
    return MISSING if result is None else result


def _call(
    function: str, deid_function: Callable[[Any, str], Any], field: Any, extras: str
) -> Any:
    try:
        return deid_function(field, extras)
    except Exception as exc:  # bad parameters: deid would fail on the file
        raise FunctionCallError(function, exc) from exc
