"""``Recipe.from_profile``: a deid recipe implementing the PS3.15 Basic Profile.

Each row of Table E.1-1 (:mod:`deidscope.ps315`) becomes one header
line, its action code (or, with options, the option's code) turned into a
deid action:

====== ==================================================================
code   line
====== ==================================================================
X      ``REMOVE field``
Z      ``BLANK field``
D      ``REPLACE field <dummy>`` (a dummy valid for the VR); ``BLANK`` for a
       sequence
U      ``REPLACE field deid_func:pydicom_uuid``: a new UID derived from the
       old one, so the same UID maps to the same new UID in every file
K      ``KEEP field``
C      dates and date-times: ``JITTER field <jitter>``; text: ``BLANK``,
       then at the end ``REPLACE field func:deidscope_clean`` (the text
       cleaned of its file's identifying values, :mod:`._clean`; deid
       skips it); times: a dummy; the sequences of
       :data:`CLEANED_SEQUENCES`: no line (kept, their items cleaned by
       their own lines); other sequences and overlay data: ``BLANK``
====== ==================================================================

Codes with a choice take the least destructive code that keeps the file
valid whatever the attribute's Type in its IOD (pydicom has no IOD tables,
and the standard offers a choice only where the stricter code can break an
IOD; see :data:`CHOICES`): ``X/Z`` -> ``Z``, ``X/D``, ``Z/D`` and
``X/Z/D`` -> ``D``, ``X/Z/U*`` -> ``U*`` (no line: the sequence stays,
each UID in it is replaced by its own ``U`` line, as consistently as the
top-level UIDs, keyed or not); a sequence with ``X/Z`` or ``X/Z/D`` is
removed unless :data:`TYPE2_SEQUENCES` lists it (then emptied), one with
``X/D`` is removed. Where the data set's IOD needs more than the table's
code gives (an SR's Type 2 sequence the table removes, an animal's
responsible person, a ``D`` sequence emptied), the written data set is
mended after the recipe (:func:`deidscope.recipe._finish.keep_iod_valid`).
Repeating groups and private attributes become expanders:
``REMOVE startswith:50[0-9a-f]{2}`` (curves), ``REMOVE
contains:^60[01][02468ace][0-9a-f]{4}$`` (overlay data: its X removes the
whole plane, every element of the groups 6000-601E, since a plane without
its Type 1 data is invalid; :data:`OVERLAY_PLANE`), ``REMOVE
contains:^[0-9a-f]{3}[13579bdf][0-9a-f]{4}$`` (every private element,
whatever the options). With ``retain_safe_private``, one ``KEEP`` line per
row of Table E.3.10-1 (``KEEP (0019,"GEMS_ACQU_01",23)``: group, private
creator and element byte) keeps the safe private elements, and the engine
keeps their private creators with them; any other private element, of a
listed creator or not, is removed. Last come ``REPLACE PatientID
func:deidscope_pseudonym`` (and AccessionNumber, StudyID): with a key
(:mod:`deidscope.recipe._keyed`) they write keyed pseudonyms over the
blanked values, without one deid and deidscope skip them. Full Dates and
Modified Dates exclude each other (an error). The recipe also
adds ``PatientIdentityRemoved`` and ``DeidentificationMethod``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.datadict import dictionary_has_tag, dictionary_keyword, dictionary_VR

from deidscope import ps315
from deidscope.errors import InputError
from deidscope.recipe._clean import CLEAN_FUNCTION
from deidscope.recipe._keyed import PSEUDONYM_FUNCTION
from deidscope.recipe._model import Action

__all__ = ["DUMMY_VALUES", "profile_actions"]

_DUMMIES = {
    "AE": "ANONYMOUS",
    "AS": "000Y",
    "CS": "ANONYMOUS",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMOUS",
    "LT": "ANONYMOUS",
    "PN": "ANONYMOUS",
    "SH": "ANONYMOUS",
    "ST": "ANONYMOUS",
    "TM": "000000",
    "UC": "ANONYMOUS",
    "UT": "ANONYMOUS",
    "UI": "2.25.0",
    "UR": "http://example.invalid",
    "FL": "0",
    "FD": "0",
    "SL": "0",
    "SS": "0",
    "UL": "0",
    "US": "0",
}
#: The dummy values the profile writes (the same in every file, so finding
#: one in a written file says nothing about its original).
DUMMY_VALUES: frozenset[str] = frozenset(_DUMMIES.values())
_CLEANED_VRS = frozenset({"AE", "LO", "SH", "ST", "LT", "UT", "UC", "PN"})
_SPECIAL = {
    "(50xx, xxxx)": "startswith:50[0-9a-f]{2}",
    "(60xx, 3000)": "contains:^60[0-9a-f]{2}3000$",
    "(60xx, 4000)": "contains:^60[0-9a-f]{2}4000$",
    "private": "contains:^[0-9a-f]{3}[13579bdf][0-9a-f]{4}$",
}
#: Every element of an overlay plane (the even groups 6000-601E): removing
#: OverlayData (Type 1 in the Overlay Plane module) alone leaves an invalid
#: plane, so the profile's X on it removes the whole plane.
OVERLAY_PLANE = "contains:^60[01][02468ace][0-9a-f]{4}$"
#: The identifiers a key maps to keyed pseudonyms (the profile blanks them).
PSEUDONYMS = ("PatientID", "AccessionNumber", "StudyID")
_ORDER = {"KEEP": 0, "REPLACE": 1, "JITTER": 2, "BLANK": 3, "REMOVE": 4}


def _field(tag_text: str) -> tuple[str, str]:
    """Return the recipe field for a table tag, and its VR ("" if unknown)."""
    if tag_text in _SPECIAL:
        return _SPECIAL[tag_text], ""
    group, element = tag_text.strip("()").split(", ")
    tag = int(group, 16) << 16 | int(element, 16)
    if not dictionary_has_tag(tag):
        return f"({group.upper()},{element.upper()})", ""
    vr = str(dictionary_VR(tag)).split(" or ")[0]
    keyword = dictionary_keyword(tag)
    return (keyword or f"({group.upper()},{element.upper()})"), vr


#: The code taken for each code with a choice: the least destructive one
#: that keeps a file valid whatever the attribute's Type in its IOD (the
#: standard gives a choice only where the stricter code can break an IOD).
CHOICES: dict[str, str] = {
    "X/Z": "Z",  # never Type 1: an empty value is valid, a missing one not for Type 2
    "X/D": "D",  # never Type 2 alone: a dummy is valid, an empty value not for Type 1
    "Z/D": "D",  # a dummy is valid for Type 1 and 2, an empty value only for Type 2
    "X/Z/D": "D",  # likewise
    # X/Z/U* (sequences of references): U*, the sequence kept with its UIDs
    # replaced (each nested UID has its own U line): valid where the sequence
    # is Type 2 (SourceImageSequence in the Derivation Image macro) and where
    # it is Type 3, and the references between the files stay consistent
    "X/Z/U*": "U*",
}


#: Sequences that are Type 2 in a common IOD (an empty sequence is valid
#: there; elsewhere, being Type 3, an empty sequence is not): for these
#: ``X/Z`` and ``X/Z/D`` empty the sequence, for the others they remove it.
TYPE2_SEQUENCES = frozenset(
    {
        "AcquisitionContextSequence",  # Acquisition Context module
        "ReferencedPatientSequence",  # SR Document General
        "PerformedProcedureCodeSequence",  # SR Document General
        "ReferencedRequestSequence",  # SR Document General (Type 1C/2)
    }
)


#: Sequences an option cleans (``C``) by keeping them: what their items hold
#: is codes, or has a line of its own (RequestAttributesSequence's IDs and
#: descriptions; GraphicAnnotationSequence's UnformattedTextValue, ``D``).
#: Other sequences with ``C`` are emptied: their items can hold text the
#: table does not list (TextValue in ContentSequence and
#: AcquisitionContextSequence).
CLEANED_SEQUENCES = frozenset(
    {
        "AdmittingDiagnosesCodeSequence",
        "ReasonForVisitCodeSequence",
        "ReasonForRequestedProcedureCodeSequence",
        "RequestAttributesSequence",
        "GraphicAnnotationSequence",
    }
)


def choose(code: str, vr: str = "", keyword: str = "") -> str:
    """Return the code taken for a table code (codes with a choice resolved).

    A sequence with ``X/Z`` or ``X/Z/D`` is removed (``X``: an empty
    sequence is invalid where it is Type 3) unless :data:`TYPE2_SEQUENCES`
    lists it (``Z``); one with ``X/D`` is removed too
    (OperatorIdentificationSequence is Type 3, WaveformAnnotationSequence
    Type 1 in an optional module: emptied, either is invalid; removed,
    neither is). The identifiers a key pseudonymises (:data:`PSEUDONYMS`,
    Type 2) take ``Z`` for ``Z/D``: one dummy shared by every patient would
    make them one.
    """
    if vr == "SQ" and code in ("X/Z", "X/Z/D"):
        return "Z" if keyword in TYPE2_SEQUENCES else "X"
    if vr == "SQ" and code == "X/D":
        return "X"  # an emptied sequence is invalid; no dummy items are made
    if keyword in PSEUDONYMS and code == "Z/D":
        return "Z"  # Type 2; one dummy for all would join the patients
    return CHOICES.get(code, code)


def _action(code: str, field: str, vr: str, jitter: str) -> Action | None:
    code = choose(code, vr, field)
    if code == "U*":
        return None  # no line: the nested UIDs have their own
    if code == "X":
        return Action("REMOVE", field)
    if code == "Z":
        return Action("BLANK", field)
    if code == "K":
        return Action("KEEP", field)
    if code == "U":
        return Action("REPLACE", field, "deid_func:pydicom_uuid")
    if code == "C":
        if vr in ("DA", "DT"):
            return Action("JITTER", field, jitter)
        if vr == "TM":
            # a dummy: a time is Type 1 in places (ContentTime of an SR),
            # and a whole-day offset would leave the time of day as it was
            return Action("REPLACE", field, _DUMMIES["TM"])
        if vr == "SQ" and field in CLEANED_SEQUENCES:
            return None  # kept: every text, ID and UID in it has its own line
        # text: blanked here, cleaned by a line at the end (see _clean);
        # other sequences and the rest: blanked
        return Action("BLANK", field)
    # D: a dummy of the VR; sequences and unknown VRs are emptied
    if vr in _DUMMIES:
        return Action("REPLACE", field, _DUMMIES[vr])
    return Action("BLANK", field)


def profile_actions(
    options: Iterable[str] = (), *, jitter: str = "var:jitter"
) -> tuple[list[Action], list[str]]:
    """Return the header actions for the Basic Profile with `options`.

    Parameters
    ----------
    options : iterable of str
        Names from :data:`deidscope.ps315.OPTIONS`.
    jitter : str, optional
        The ``JITTER`` value for dates the options modify (``C``): a number
        of days, or ``var:<name>`` (default ``var:jitter``).

    Returns
    -------
    tuple of (list of Action, list of str)
        The actions, and the comments to put before them.

    Raises
    ------
    InputError
        If an option is unknown, or both date options are given (they
        exclude each other).
    """
    if isinstance(options, str):
        options = (options,)
    chosen = list(dict.fromkeys(options))
    unknown = [o for o in chosen if o not in ps315.OPTIONS]
    if unknown:
        raise InputError(
            f"Recipe.from_profile: unknown options {unknown}; expected some of "
            f"{', '.join(ps315.OPTIONS)}"
        )
    if {"retain_long_full_dates", "retain_long_modified_dates"} <= set(chosen):
        raise InputError(
            "Recipe.from_profile: retain_long_full_dates and "
            "retain_long_modified_dates exclude each other (PS3.15 E.3.6: dates "
            "are either kept or modified); choose one"
        )
    table = ps315.load_table()
    actions: list[Action] = []
    cleaned: list[Action] = []
    for row in table.to_dict("records"):
        code = row["basic_profile"]
        for option in ps315.OPTIONS:
            if option in chosen and row[option]:
                code = row[option]
                break
        field, vr = _field(row["tag"])
        if row["tag"] == "private":
            code = "X"  # every private element but the safe ones (kept above)
        if row["tag"] == "(60xx, 3000)" and code == "X":
            field = OVERLAY_PLANE  # the data goes with its plane
        action = _action(code, field, vr, jitter)
        if action is None:
            continue
        if choose(code, vr, field) == "C" and vr in _CLEANED_VRS:
            cleaned.append(Action("REPLACE", field, f"func:{CLEAN_FUNCTION}"))
        special = row["tag"] in _SPECIAL or not dictionary_has_tag(_tag(row["tag"]))
        if special and row["keyword"]:
            action.comments = [f"# {row['keyword']}"]
        actions.append(action)
    if "retain_safe_private" in chosen:
        actions += _safe_private_keeps()
    actions.sort(key=lambda a: _ORDER[a.action])
    pseudonyms = [
        Action("REPLACE", name, f"func:{PSEUDONYM_FUNCTION}") for name in PSEUDONYMS
    ]
    pseudonyms[0].comments = [
        "# with a key (replace_identifiers key=...), keyed pseudonyms over the",
        "# blank values above; without one, these lines are skipped",
    ]
    actions += pseudonyms
    if cleaned:
        cleaned[0].comments = [
            "# the options' C on text: the blanked text above, cleaned of what",
            "# identifies the patient of its file (deid skips these lines)",
        ]
        actions += cleaned
    actions += [
        Action("ADD", "PatientIdentityRemoved", "YES"),
        Action("ADD", "DeidentificationMethod", _method(chosen)),
    ]
    names = ", ".join(chosen) if chosen else "none"
    comments = [
        "# DICOM PS3.15 Table E.1-1, Basic Application Level Confidentiality Profile",
        f"# options: {names}",
        "# written by deidscope.recipe.Recipe.from_profile",
    ]
    return actions, comments


def _safe_private_keeps() -> list[Action]:
    """``KEEP`` lines for Table E.3.10-1: group, creator and element byte."""
    keeps = []
    for row in ps315.load_safe_private().to_dict("records"):
        field = f'({row["group"]:04X},"{row["private_creator"]}",{row["element"]:02X})'
        keeps.append(Action("KEEP", field))
    keeps[0].comments = [
        "# Retain Safe Private: PS3.15 Table E.3.10-1 (each private creator's",
        "# own elements; any other private element is removed)",
    ]
    return keeps


def _tag(text: str) -> int:
    group, element = text.strip("()").split(", ")
    return int(group, 16) << 16 | int(element, 16)


def _method(chosen: list[str]) -> str:
    initials = "".join(
        "".join(word[0].upper() for word in option.split("_")) for option in chosen
    )
    text = "PS3.15_BASIC" + (f"+{initials}" if initials else "")
    return text[:64]
