"""The identifying values of a frame: what must not survive de-identification.

A value is identifying when any of these holds (one ``kind`` per element, the
first that applies):

- the heuristics of :data:`~deidscope.audit.RULES` flag it as one of the
  kinds asked for (``person_name``, ``id``, ``date``, ``uid``, ...);
- ``"profile"``: PS3.15 Table E.1-1, with the options used, does not keep the
  element: its own action, or the action of a sequence it sits in, is to
  remove, empty, replace with a dummy or replace a UID (an option that keeps
  or cleans it takes it out of this kind; a value cleaned by an option keeps
  its text, so it is not identifying as a whole). An element inside such a
  sequence counts when it holds text, a date or time, a UID or bytes (not a
  code: the code items' CodeValue, CodeMeaning and the like, and not a
  well-known UID nor a SOP class, a vendor's included);
- ``"private"``: any value of a private element, or of an element inside a
  private sequence (private creators aside), unless the Retain Safe Private
  option keeps it;
- ``"meta"``: a file meta element other than those that describe the
  encoding (group length, version, SOP class, transfer syntax,
  implementation class and version).

A heuristic value in an element that an option keeps (``retain_uids`` on a
SOPInstanceUID, say) is not identifying: the caller chose to keep it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from deidscope import ps315
from deidscope.audit._partial import check_frame, derived, is_dask, triples
from deidscope.audit._rules import KINDS, RULES, WELL_KNOWN_UID_ROOTS
from deidscope.errors import InputError
from deidscope.fields import SINGLE_VALUE_TEXT_VRS
from deidscope.recipe._profile import DUMMY_VALUES

__all__ = [
    "BINARY",
    "EXTRA_KINDS",
    "LEAK_KINDS",
    "check_options",
    "checked_kinds",
    "identifying",
    "is_dummy",
    "leak_frame",
    "path_tags",
]

_DUMMIES = frozenset(value.casefold() for value in DUMMY_VALUES)


def is_dummy(value: str) -> bool:
    """Tell whether `value` is one of the profile's dummy values.

    A dummy (``000000``, ``19000101``, ``ANONYMOUS``...) is written into
    every de-identified file whatever its original, so finding one equal to
    an original value (a birth time of midnight) says nothing about it.
    """
    return value.casefold() in _DUMMIES


#: The kinds this module adds to the heuristic ones.
EXTRA_KINDS: tuple[str, ...] = ("profile", "private", "meta")

#: The kinds of identifier :func:`leaks` looks for by default: the heuristic
#: kinds but times of day, and the elements PS3.15 removes (``profile``),
#: private elements (``private``) and the file meta (``meta``).
LEAK_KINDS: tuple[str, ...] = (
    "person_name",
    "id",
    "date",
    "uid",
    "address",
    "phone",
    "email",
    "profile",
    "private",
    "meta",
)
#: A value the frame shows as a summary of bytes.
BINARY = re.compile(r"^<[0-9]+ bytes>$")

_KIND_COLUMNS = {
    kind: [i for i, r in enumerate(RULES) if r.kind == kind] for kind in KINDS
}
# the words of a name: PN components (^), groups (=), commas, spaces, and the
# values of a multi-valued element (\)
_NAME_PARTS = re.compile(r"[\^=,\\\s]+")
_ALNUM = re.compile(r"[^\W_]")
_TAG = re.compile(r"^\(([0-9a-fA-F]{4}), ?([0-9a-fA-F]{4})\)$")
# file meta elements that describe the encoding, not the patient
_META_STRUCTURE = frozenset(
    {0x00020000, 0x00020001, 0x00020002, 0x00020010, 0x00020012, 0x00020013}
)
# file meta elements that repeat a data set element (PS3.10 7.1)
_META_MIRRORS = {0x00020003: "(0008, 0018)"}  # MediaStorageSOPInstanceUID
# code item attributes (Code Value, Coding Scheme Designator and Version, Code
# Meaning, Mapping Resource, Context Group ...): vocabulary, not identifiers
_CODE_ATTRIBUTES = frozenset(
    {0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080105, 0x00080106}
    | {0x00080107, 0x0008010B, 0x0008010C, 0x0008010D, 0x0008010F, 0x00080117}
    | {0x00080118, 0x00080119, 0x00080120, 0x00080121, 0x00080122, 0x00080123}
    | {0x00080124, 0x00080129, 0x0008010E, 0x00080108, 0x00080109}
)
# VRs an element inherits its sequence's action with: text, dates, UIDs, bytes
_INHERITING_VRS = frozenset(
    {"PN", "LO", "SH", "ST", "LT", "UT", "UC", "UR", "AE", "DA", "DT", "TM", "UI"}
    | {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
)
_REMOVING = ("X", "Z", "D", "U")


def leak_frame(df: Any, *, caller: str, side: str) -> pd.DataFrame:
    """Check an identifier frame (pandas only) and derive its optional columns."""
    check_frame(df, caller=caller)
    if is_dask(df):
        raise InputError(
            f"{caller}: expected pandas DataFrames, but the {side} frame is a Dask "
            f"DataFrame; call .compute() on it first"
        )
    frame: pd.DataFrame = derived(df)
    return frame


def checked_kinds(
    kinds: Iterable[str] | None, options: Iterable[str], *, caller: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check `kinds` and `options`; return them as tuples."""
    chosen = LEAK_KINDS if kinds is None else tuple(kinds)
    known = (*KINDS, *EXTRA_KINDS)
    unknown = [kind for kind in chosen if kind not in known]
    if unknown:
        raise InputError(
            f"{caller}: unknown kinds {unknown}; choose from {list(known)}"
        )
    return chosen, check_options(options, caller=caller)


def check_options(options: Iterable[str], *, caller: str) -> tuple[str, ...]:
    """Return the options as a tuple, or raise InputError naming an unknown one."""
    if isinstance(options, str):
        options = [options]
    chosen = tuple(dict.fromkeys(options))
    unknown = [o for o in chosen if o not in ps315.OPTIONS]
    if unknown:
        raise InputError(
            f"{caller}: unknown options {unknown}; choose from {list(ps315.OPTIONS)}"
        )
    return chosen


def path_tags(uid: str) -> tuple[int, ...]:
    """Return the tags along a frame uid (``(0040, a730)__0__(0040, a160)``: two).

    A part that is not a ``(gggg, eeee)`` tag (a private name) gives -1.
    """
    tags = []
    for part in uid.split("__")[::2]:
        found = _TAG.match(part)
        tags.append(int(found[1], 16) << 16 | int(found[2], 16) if found else -1)
    return tuple(tags)


def _effective(code: str) -> str:
    """Say whether an action code keeps, cleans or removes (empty: not listed)."""
    if not code or code == "K":
        return "keep"
    if code == "C":
        return "clean"
    return "remove" if code.startswith(_REMOVING) else "keep"


@functools.cache
def _uid_class(uid: str, options: tuple[str, ...]) -> tuple[str, bool, bool, bool]:
    """(kind, own tag listed, kept by an option, cleaned by one) of a path.

    kind is "profile", "private", "meta", "creator" (a private creator) or
    "" (kept by the table).
    """
    tags = path_tags(uid)
    if not tags or tags[-1] == -1:
        return "", False, False, False
    if tags[0] >> 16 == 0x0002:
        mirror = _META_MIRRORS.get(tags[0])
        if mirror is not None and len(tags) == 1:
            # the file meta follows the data set: kept where the option keeps
            # the element it repeats (MediaStorageSOPInstanceUID, retain_uids)
            kind, _, kept, cleaned = _uid_class(mirror, options)
            return ("meta" if kind else ""), True, kept, cleaned
        return ("" if tags[0] in _META_STRUCTURE else "meta"), True, False, False
    last = tags[-1]
    if last >> 16 & 1 and 0x0010 <= last & 0xFFFF <= 0x00FF:
        return "creator", False, False, False
    if any(tag >> 16 & 1 for tag in tags):
        return "private", False, False, False
    basic_removes = False
    removes = cleaned = False
    own_listed = False
    for position, tag in enumerate(tags):
        row = ps315.lookup(tag)
        if row is None:
            continue
        if position == len(tags) - 1:
            own_listed = True
        basic = row["basic_profile"]
        code = next((row[o] for o in options if row.get(o)), basic)
        basic_removes |= _effective(basic) == "remove"
        effect = _effective(code)
        removes |= effect == "remove"
        cleaned |= effect == "clean"
    if removes:
        return "profile", own_listed, False, False
    return "", own_listed, basic_removes and not cleaned, cleaned


def _safe_private(
    uids: np.ndarray, creators: np.ndarray, options: tuple[str, ...]
) -> np.ndarray:
    """Which private rows the Retain Safe Private option keeps."""
    keep = np.zeros(len(uids), dtype=bool)
    check = getattr(ps315, "is_safe_private", None)
    if "retain_safe_private" not in options or check is None:
        return keep
    for i, (uid, creator) in enumerate(zip(uids, creators, strict=True)):
        tags = path_tags(str(uid))
        # only a top-level safe element: a safe element in a private sequence
        # goes with its sequence
        if len(tags) == 1 and tags[0] != -1 and isinstance(creator, str):
            keep[i] = bool(check(tags[0] >> 16, creator, tags[0] & 0xFFFF))
    return keep


def alnum(text: str) -> int:
    """How many letters and digits `text` holds."""
    return len(_ALNUM.findall(text))


def identifying(
    before: pd.DataFrame,
    kinds: tuple[str, ...],
    options: tuple[str, ...] = (),
) -> pd.DataFrame:
    """List the identifying values of `before`.

    Parameters
    ----------
    before : pandas.DataFrame
        An identifier frame (optional columns derived).
    kinds : tuple of str
        Heuristic kinds (:data:`~deidscope.audit.KINDS`) and extra kinds
        (:data:`EXTRA_KINDS`) to list.
    options : tuple of str
        PS3.15 options used.

    Returns
    -------
    pandas.DataFrame
        ``file``, ``uid``, ``name``, ``VR``, ``value``, ``kind``, ``part``
        (a word of a person's name), ``binary`` (the frame shows a summary
        of bytes, the value must be read from the file).
    """
    columns = ["file", "uid", "name", "VR", "value", "kind", "part", "binary"]
    if len(before) == 0:
        return pd.DataFrame(columns=columns)
    file = before["file"].astype(str).to_numpy()
    uid = before["uid"].astype(str).to_numpy()
    name = before["name"].astype(str).to_numpy()
    vr = before["VR"].astype(str).to_numpy()
    value = before["value"].astype(str).fillna("").to_numpy()
    n = len(before)
    kind = np.full(n, "", dtype=object)
    # the table, per distinct uid
    uid_codes, uid_uniques = pd.factorize(uid)
    classes = [_uid_class(u, options) for u in uid_uniques]
    row_class = np.array([c[0] for c in classes], dtype=object)[uid_codes]
    own_listed = np.array([c[1] for c in classes], dtype=bool)[uid_codes]
    # an option's C on a date or time shifts it: the original must not survive;
    # on text it keeps the text, cleaned: the text is not identifying as a whole
    cleaned = np.array([c[3] for c in classes], dtype=bool)[uid_codes]
    dated = cleaned & np.isin(vr, ["DA", "DT", "TM"])
    row_class[dated] = "profile"
    kept = np.array([c[2] for c in classes], dtype=bool)[uid_codes] | (cleaned & ~dated)
    # the heuristics, in the order of `kinds`, on elements no option keeps
    tri = triples(before)
    for k in kinds:
        if k not in _KIND_COLUMNS:
            continue
        hit = np.asarray(tri.hits[:, _KIND_COLUMNS[k]].any(axis=1))[tri.inverse]
        kind[(kind == "") & hit & ~kept & (row_class != "creator")] = k
    if "profile" in kinds:
        inherited_ok = np.isin(vr, list(_INHERITING_VRS))
        last_tags = np.array([path_tags(u)[-1] for u in uid_uniques], dtype=np.int64)[
            uid_codes
        ]
        inherited_ok &= ~np.isin(last_tags, list(_CODE_ATTRIBUTES))
        # a standard UID, or a SOP class (a vendor's too: it names a kind of
        # object, as the scorecard reads it)
        well_known = (vr == "UI") & np.array(
            [
                v.startswith(WELL_KNOWN_UID_ROOTS) or n.endswith("SOPClassUID")
                for v, n in zip(value, name, strict=True)
            ],
            dtype=bool,
        )
        profile = (row_class == "profile") & (own_listed | inherited_ok) & ~well_known
        kind[(kind == "") & profile] = "profile"
    if "private" in kinds:
        private = row_class == "private"
        if private.any() and "retain_safe_private" in options:
            rows = np.flatnonzero(private)
            creators = before["private_creator"].astype(object).to_numpy()[rows]
            private[rows[_safe_private(uid[rows], creators, options)]] = False
        kind[(kind == "") & private] = "private"
    if "meta" in kinds:
        kind[(kind == "") & (row_class == "meta")] = "meta"
    rows = np.flatnonzero((kind != "") & np.array([bool(v) for v in value]))
    found = pd.DataFrame(
        {
            "file": file[rows],
            "uid": uid[rows],
            "name": name[rows],
            "VR": vr[rows],
            "value": value[rows],
            "kind": kind[rows],
        }
    )
    found["binary"] = found["value"].str.match(BINARY.pattern) & ~found["VR"].isin(
        ["SQ"]
    )
    found = found[
        (found["VR"] != "SQ") & ~found["value"].str.match(r"^<[0-9]+ items?>$")
    ]
    # each value of a multi-valued element is an identifying value of its own
    multi = found[
        found["value"].str.contains("\\", regex=False)
        & ~found["VR"].isin(SINGLE_VALUE_TEXT_VRS)
        & ~found["binary"]
    ]
    if len(multi):
        pieces = [
            (f, u, nm, v, piece, k, False)
            for f, u, nm, v, text, k in zip(
                multi["file"],
                multi["uid"],
                multi["name"],
                multi["VR"],
                multi["value"],
                multi["kind"],
                strict=True,
            )
            for piece in str(text).split("\\")
            if piece
        ]
        found = pd.concat(
            [
                found,
                pd.DataFrame(
                    pieces,
                    columns=["file", "uid", "name", "VR", "value", "kind", "binary"],
                ),
            ],
            ignore_index=True,
        )
    found = found[[alnum(v) > 0 for v in found["value"]]]
    found["part"] = False
    names = found[found["kind"] == "person_name"]
    words = [
        (f, u, nm, v, piece)
        for f, u, nm, v, text in zip(
            names["file"],
            names["uid"],
            names["name"],
            names["VR"],
            names["value"],
            strict=True,
        )
        for piece in _NAME_PARTS.split(str(text))
        if piece and piece != text
    ]
    if words:
        extra = pd.DataFrame(words, columns=["file", "uid", "name", "VR", "value"])
        extra["kind"], extra["part"], extra["binary"] = "person_name", True, False
        found = pd.concat([found, extra], ignore_index=True)
    found = found.drop_duplicates(["file", "uid", "value", "part"])
    return found.loc[:, columns].reset_index(drop=True)
