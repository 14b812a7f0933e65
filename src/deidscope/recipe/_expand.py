"""deid's field expressions, evaluated once per distinct field of a frame.

A recipe line names its fields with an *expression*: an exact name
(``PatientID``, ``(0010,0010)``, ``00100010``, a nested name or uid, a
private name ``(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)``), ``all``, or an
expander ``contains:``, ``startswith:``, ``endswith:``, ``except:``,
``select:VR:``, ``select:group:``. deid matches them against each field's
deid-style name (keywords joined by ``__``, private elements unnamed), its
tag in several spellings, its dictionary name and keyword, its uid and, for
private elements, its private name; :class:`FieldKeys` computes exactly
those strings once per distinct ``(uid, private creator, VR)`` of a frame, so
a million rows cost what their few thousand distinct fields cost.
(``values:`` and ``fields:`` need the data's values and are resolved by the
engine, :mod:`deidscope.recipe._engine`.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydicom.datadict import dictionary_has_tag, dictionary_keyword
from pydicom.dataelem import DataElement

from deidscope.errors import InputError

__all__ = [
    "EXPANDERS",
    "FieldKeys",
    "check_expression",
    "split_expander",
    "uid_path",
]

#: Expanders deid knows (``values`` and ``fields`` name recipe lists).
EXPANDERS: tuple[str, ...] = (
    "contains",
    "startswith",
    "endswith",
    "except",
    "select",
    "values",
    "fields",
)
_REGEX_EXPANDERS = ("contains", "startswith", "endswith", "except")


def split_expander(field: str) -> tuple[str, str] | None:
    """Split ``expander:expression`` at the first colon outside double quotes.

    Parameters
    ----------
    field : str
        A field expression.

    Returns
    -------
    tuple of (str, str) or None
        ``(expander, expression)``, or None when there is no such colon (an
        exact field name, or ``all``).

    Examples
    --------
    >>> split_expander("select:VR:PN")
    ('select', 'VR:PN')
    >>> split_expander('(0021,"Siemens: Thorax",15)') is None
    True
    """
    if ":" not in field:
        return None
    quoted = False
    for i, char in enumerate(field):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return field[:i], field[i + 1 :]
    return None


def _regex(expander: str, expression: str) -> str:
    expression = expression.lower()
    if expander == "endswith":
        return f"({expression})$"
    if expander == "startswith":
        return f"^({expression})"
    return expression


def check_expression(field: str) -> str | None:
    """Tell why deid would fail on a field expression, or None if it would not.

    Parameters
    ----------
    field : str
        A field expression from a recipe line.

    Returns
    -------
    str or None
        The reason: a regular expression that does not compile, a
        ``select:`` deid cannot read.
    """
    parts = split_expander(field)
    if parts is None:
        return None
    expander, expression = parts[0].lower(), parts[1]
    if expander in _REGEX_EXPANDERS:
        try:
            re.compile(_regex(expander, expression), re.IGNORECASE)
        except re.error as exc:
            return f"{expander}: {expression!r} is not a regular expression ({exc})"
    elif expander == "select":
        attribute, sep, value = expression.partition(":")
        if not sep:
            return f"select: needs 'VR:<vr>' or 'group:<hex>', not {expression!r}"
        if attribute.upper() == "GROUP":
            try:
                int(value, 16)
            except ValueError:
                return f"select:group: needs a hex group like 0010, not {value!r}"
    return None


def uid_path(uid: str) -> tuple[int, ...]:
    """Return the tags of a uid, outermost first (item indexes left out).

    Examples
    --------
    >>> [hex(t) for t in uid_path("(0008, 1115)__0__(0008, 1150)")]
    ['0x81115', '0x81150']
    """
    tags = []
    for part in uid.split("__")[::2]:
        group, _, element = part.strip("()").partition(",")
        tags.append(int(group, 16) << 16 | int(element, 16))
    return tuple(tags)


def _keyword(tag: int) -> str:
    return str(dictionary_keyword(tag)) if dictionary_has_tag(tag) else ""


class FieldKeys:
    """The distinct fields of a frame and the strings deid matches them by.

    Parameters
    ----------
    uids, creators, vrs : sequence of str (creators may hold None)
        Per distinct field: its uid in the spec's form, the private creator
        of its block, its VR.

    Attributes
    ----------
    tags : numpy.ndarray
        Each field's own tag.
    deid_names : list of str
        deid's name: keywords joined by ``__``, empty for private elements.
    """

    def __init__(
        self, uids: Sequence[str], creators: Sequence[str | None], vrs: Sequence[str]
    ) -> None:
        self.uids = list(uids)
        self.creators = list(creators)
        self.vrs = list(vrs)
        paths = [uid_path(uid) for uid in self.uids]
        self.paths = paths
        self.tags = np.array([path[-1] for path in paths], dtype=np.int64)
        self.depths = np.array([len(path) - 1 for path in paths], dtype=np.int64)
        self.deid_names = ["__".join(_keyword(tag) for tag in path) for path in paths]
        self._cache: dict[str, np.ndarray] = {}
        self._added: dict[tuple[str, str | None, str], int] = {}
        self._exact: list[frozenset[str]] | None = None
        self._search: list[tuple[str, ...]] | None = None

    def __len__(self) -> int:
        return len(self.uids)

    def add(self, uid: str, creator: str | None, vr: str) -> int:
        """Add a distinct field (an element a recipe creates); return its index."""
        known = self._added.get((uid, creator, vr))
        if known is not None:
            return known
        self._added[(uid, creator, vr)] = len(self.uids)
        path = uid_path(uid)
        self.uids.append(uid)
        self.creators.append(creator)
        self.vrs.append(vr)
        self.paths.append(path)
        self.tags = np.append(self.tags, path[-1])
        self.depths = np.append(self.depths, len(path) - 1)
        self.deid_names.append("__".join(_keyword(tag) for tag in path))
        if self._exact is not None and self._search is not None:
            exact, search = self._strings(len(self.uids) - 1)
            self._exact.append(exact)
            self._search.append(search)
        # masks already made stay valid for the fields before this one:
        # match() completes them for the fields added since
        return len(self.uids) - 1

    def element_name(self, i: int) -> str:
        """Return pydicom's name for field `i` (``[Name]`` for known private)."""
        elem = DataElement(int(self.tags[i]), "UN", None)
        if self.creators[i] is not None:
            elem.private_creator = self.creators[i]
        return str(elem.name)

    def ancestors(self, i: int) -> list[str]:
        """Return the uids of the sequences field `i` is nested in, outermost first."""
        parts = self.uids[i].split("__")
        return ["__".join(parts[: 2 * k + 1]) for k in range(len(parts) // 2)]

    def _strings(self, i: int) -> tuple[frozenset[str], tuple[str, ...]]:
        tag = int(self.tags[i])
        group, element = tag >> 16, tag & 0xFFFF
        creator = self.creators[i]
        elem = DataElement(tag, "UN", None)
        if creator is not None:
            elem.private_creator = creator
        name = str(elem.name)
        keyword = _keyword(tag)
        deid_name = self.deid_names[i]
        paren = f"({group:04x},{element:04x})"
        stripped = f"{tag:08X}"
        deid_uid = "__".join(
            part if j % 2 else f"({part[1:5].upper()},{part[7:11].upper()})"
            for j, part in enumerate(self.uids[i].split("__"))
        )
        exact = {paren, stripped.lower(), deid_uid.lower()}
        exact.update(s.lower() for s in (deid_name, name, keyword) if s)
        search = [deid_name.lower(), paren, stripped, name, keyword]
        if group & 1:
            private = f'{group:04X},"{creator}",{element & 0xFF:02X}'
            exact.update((f"({private})".lower(), private.lower()))
            if creator is not None:
                search += [private, f"({private})"]
        return frozenset(exact), tuple(search)

    def _build(self) -> None:
        exact: list[frozenset[str]] = []
        search: list[tuple[str, ...]] = []
        for i in range(len(self)):
            e, s = self._strings(i)
            exact.append(e)
            search.append(s)
        self._exact, self._search = exact, search

    def match(self, field: str) -> np.ndarray:
        """Tell which distinct fields a field expression names, as deid does.

        Parameters
        ----------
        field : str
            An exact name, ``all``, or an expander expression; ``values:``
            and ``fields:`` match nothing here.

        Returns
        -------
        numpy.ndarray of bool
            One flag per distinct field.

        Raises
        ------
        InputError
            If deid would fail on the expression (see :func:`check_expression`).
        """
        cached = self._cache.get(field)
        if cached is not None and len(cached) == len(self):
            return cached
        if cached is None:
            reason = check_expression(field)
            if reason is not None:
                raise InputError(f"recipe field {field!r}: {reason}")
        if self._exact is None:
            self._build()
        start = 0 if cached is None else len(cached)
        found = self._evaluate(field, start)
        result = found if cached is None else np.concatenate([cached, found])
        self._cache[field] = result
        return result

    def _evaluate(self, field: str, start: int) -> np.ndarray:
        """Match `field` against the fields from index `start` on."""
        assert self._exact is not None
        n = len(self) - start
        if field.lower() == "all":
            return np.ones(n, dtype=bool)
        parts = split_expander(field)
        if parts is None:
            key = field.lower()
            return np.fromiter((key in s for s in self._exact[start:]), bool, n)
        return self._expand(parts[0].lower(), parts[1], start)

    def _expand(self, expander: str, expression: str, start: int) -> np.ndarray:
        n = len(self) - start
        assert self._search is not None
        if expander == "select":
            attribute, _, value = expression.lower().partition(":")
            if attribute.upper() == "VR":
                wanted = value[:2].upper()
                return np.array([vr == wanted for vr in self.vrs[start:]], dtype=bool)
            if attribute.upper() == "GROUP":
                return np.asarray((self.tags[start:] >> 16) == int(value, 16))
            return np.zeros(n, dtype=bool)
        if expander not in _REGEX_EXPANDERS:
            return np.zeros(n, dtype=bool)
        pattern = re.compile(_regex(expander, expression), re.IGNORECASE)
        found = np.fromiter(
            (
                any(pattern.search(text) for text in strings)
                for strings in self._search[start:]
            ),
            bool,
            n,
        )
        return np.asarray(~found if expander == "except" else found)


def frame_keys(df: pd.DataFrame) -> tuple[FieldKeys, np.ndarray]:
    """Return the distinct fields of an identifier frame, and each row's field.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame with ``uid``, ``private_creator`` and ``VR`` columns.

    Returns
    -------
    tuple of (FieldKeys, numpy.ndarray)
        The distinct fields, and for each row the index of its field.
    """
    codes = []
    sizes = []
    categories: list[Any] = []
    for column in ("uid", "private_creator", "VR"):
        series = df[column]
        if not isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype("category")
        codes.append(series.cat.codes.to_numpy().astype(np.int64) + 1)
        sizes.append(len(series.cat.categories) + 1)
        categories.append(list(series.cat.categories))
    combined = (codes[0] * sizes[1] + codes[1]) * sizes[2] + codes[2]
    unique, inverse = np.unique(combined, return_inverse=True)
    vr_code = unique % sizes[2]
    rest = unique // sizes[2]
    creator_code = rest % sizes[1]
    uid_code = rest // sizes[1]
    if np.any(uid_code == 0):
        raise InputError("recipe: the frame has rows without a uid")
    keys = FieldKeys(
        [str(categories[0][c - 1]) for c in uid_code],
        [None if c == 0 else str(categories[1][c - 1]) for c in creator_code],
        ["" if c == 0 else str(categories[2][c - 1]) for c in vr_code],
    )
    return keys, inverse.astype(np.int64)
