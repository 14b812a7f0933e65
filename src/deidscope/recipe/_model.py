"""The recipe model: plain dataclasses for every kind of recipe line.

Everything here is data; :mod:`deidscope.recipe._parse` builds it from text,
:mod:`deidscope.recipe._format` writes it back, and the rest of the package
reads it. The package docstring describes the model for users.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACTIONS",
    "COORDINATE_KINDS",
    "CRITERIA",
    "FORMATS",
    "GROUP_ACTIONS",
    "SECTIONS",
    "VALUE_CRITERIA",
    "Action",
    "Coordinates",
    "CriteriaLine",
    "Criterion",
    "FilterGroup",
    "GroupAction",
    "Label",
]

#: The recipe formats deid knows.
FORMATS: tuple[str, ...] = ("dicom",)
#: Section names, as written after ``%``.
SECTIONS: tuple[str, ...] = ("header", "labels", "filter", "values", "fields")
#: Actions of ``%header`` (and ``%labels``) lines, upper case as deid needs.
ACTIONS: tuple[str, ...] = (
    "ADD",
    "BLANK",
    "JITTER",
    "KEEP",
    "REPLACE",
    "REMOVE",
    "LABEL",
)
#: Actions of ``%values`` and ``%fields`` lines (``SPLIT`` only in ``%values``).
GROUP_ACTIONS: tuple[str, ...] = ("FIELD", "SPLIT")
#: Tests of ``%filter`` criteria, lower case as deid stores them.
CRITERIA: tuple[str, ...] = (
    "contains",
    "notcontains",
    "equals",
    "notequals",
    "missing",
    "present",
    "empty",
)
#: The tests that take a value after the field.
VALUE_CRITERIA: tuple[str, ...] = ("contains", "notcontains", "equals", "notequals")
#: Coordinate lines of a ``LABEL`` block.
COORDINATE_KINDS: tuple[str, ...] = (
    "coordinates",
    "keepcoordinates",
    "ctpcoordinates",
    "ctpkeepcoordinates",
)

Operator = Literal["and", "or"]


def _comments() -> list[str]:
    return []


@dataclass
class _ActionLine:
    """The fields of an ``ACTION field [value]`` line, for both kinds below.

    :class:`Action` and :class:`GroupAction` hold the same fields and are
    read and written the same way; they stay two classes (which do not
    compare equal) because they belong to different sections.
    """

    action: str
    field: str
    value: str | None = None
    comment: str | None = None
    comments: list[str] = dataclasses.field(default_factory=_comments)
    lineno: int | None = dataclasses.field(default=None, compare=False)
    path: str | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass
class Action(_ActionLine):
    """One line of ``%header`` (or ``%labels``): ``ACTION field [value]``.

    Attributes
    ----------
    action : str
        ``ADD``, ``BLANK``, ``JITTER``, ``KEEP``, ``REPLACE``, ``REMOVE`` or
        ``LABEL`` (deid reads ``LABEL`` here and does nothing with it).
    field : str
        The field or expander, one token as deid splits the line:
        ``PatientID``, ``contains:Date``, ``(0010,0010)``,
        ``(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)``, ``values:names``.
    value : str or None
        Exactly what deid reads after the field: the rest of the line with
        runs of spaces made single and cut at the first ``#``. None when the
        line ends after the field. A comment on the line therefore leaves a
        trailing space (``"YES "``) and, on a ``REMOVE`` line, an empty
        condition (``""``), which deid takes as "do not remove"; the linter
        points both out.
    comment : str or None
        The text after ``#`` on the line, if any.
    comments : list of str
        Whole-line comments (with their ``#``) just before the line.
    lineno : int or None
        Line number in the source (not compared).
    path : str or None
        The file the line came from (not compared).
    """


@dataclass
class GroupAction(_ActionLine):
    """One line of a ``%values`` or ``%fields`` list: ``FIELD``/``SPLIT field``.

    Attributes
    ----------
    action : str
        ``FIELD`` (both sections) or ``SPLIT`` (``%values`` only).
    field : str
        A field or expander.
    value : str or None
        ``SPLIT`` parameters as deid reads them (``by="^";minlength=4``), or
        None. ``FIELD`` takes none.
    comment : str or None
        The text after ``#`` on the line.
    comments : list of str
        Whole-line comments just before the line.
    lineno : int or None
        Line number in the source (not compared).
    path : str or None
        The file the line came from (not compared).
    """


@dataclass
class Criterion:
    """One test of a filter criteria line: ``contains Modality CT``.

    Attributes
    ----------
    action : str
        One of :data:`CRITERIA`, lower case.
    field : str
        The header field deid looks up (a keyword, or ``0xGGGGEEEE``).
    value : str or None
        The text compared with (a regular expression for ``contains``),
        stripped, exactly as deid reads it; None for ``missing``, ``present``
        and ``empty``.
    """

    action: str
    field: str
    value: str | None = None


@dataclass
class CriteriaLine:
    """One criteria line of a ``LABEL`` block, possibly several tests joined.

    ``+ contains Modality CT || contains Modality MR`` is ``operator="and"``
    with two criteria and ``inner_operators=["or"]``.

    Attributes
    ----------
    criteria : list of Criterion
        The tests, in order.
    operator : {"and", "or"} or None
        The operator written before the line (``+`` is "and", ``||`` is
        "or"), None for none.
    inner_operators : list of {"and", "or"}
        The operators between the tests (one fewer than the tests).
    comments : list of str
        Whole-line comments just before the line.
    lineno : int or None
        Line number in the source (not compared).
    """

    criteria: list[Criterion]
    operator: Operator | None = None
    inner_operators: list[Operator] = dataclasses.field(default_factory=list)
    comments: list[str] = dataclasses.field(default_factory=_comments)
    lineno: int | None = dataclasses.field(default=None, compare=False)


@dataclass
class Coordinates:
    """One coordinate line of a ``LABEL`` block.

    Attributes
    ----------
    kind : str
        ``coordinates`` (a box to clean), ``keepcoordinates`` (a box to
        keep), or their CTP forms ``ctpcoordinates`` and
        ``ctpkeepcoordinates`` (written ``x, y, width, height``).
    value : str
        As written after the keyword: ``0,0,512,121``, ``all`` or
        ``from:SequenceOfUltrasoundRegions``.
    comments : list of str
        Whole-line comments just before the line.
    lineno : int or None
        Line number in the source (not compared).
    """

    kind: str
    value: str
    comments: list[str] = dataclasses.field(default_factory=_comments)
    lineno: int | None = dataclasses.field(default=None, compare=False)

    @property
    def keep(self) -> bool:
        """True for a box to keep (mask value 1), False for one to clean."""
        return "keep" in self.kind

    @property
    def deid_value(self) -> str:
        """The value deid stores: CTP boxes become ``xmin,ymin,xmax,ymax``."""
        if not self.kind.startswith("ctp") or self.value == "all":
            return self.value
        numbers = [int(part) for part in self.value.split(",") if part]
        xmin, ymin, width, height = numbers
        return f"{xmin},{ymin},{xmin + width},{ymin + height}"

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        """The box as ``(xmin, ymin, xmax, ymax)``, or None for ``all``/``from:``."""
        value = self.deid_value
        if value.lower() == "all" or value.startswith("from:"):
            return None
        xmin, ymin, xmax, ymax = (int(part) for part in value.split(","))
        return (xmin, ymin, xmax, ymax)


@dataclass
class Label:
    """A ``LABEL`` block of a ``%filter`` group: criteria and coordinates.

    Attributes
    ----------
    name : str
        The text after ``LABEL`` up to a ``#``, trailing spaces removed.
    criteria : list of CriteriaLine
        The criteria lines, in order.
    coordinates : list of Coordinates
        The coordinate lines, in order.
    comment : str or None
        The text after ``#`` on the ``LABEL`` line.
    keyword : str
        ``LABEL`` as written (deid accepts any case, and its stored name
        depends on it; see :attr:`deid_name`).
    comments : list of str
        Whole-line comments just before the ``LABEL`` line.
    lineno : int or None
        Line number of the ``LABEL`` line (not compared).
    """

    name: str
    criteria: list[CriteriaLine] = dataclasses.field(default_factory=list)
    coordinates: list[Coordinates] = dataclasses.field(default_factory=list)
    comment: str | None = None
    keyword: str = "LABEL"
    comments: list[str] = dataclasses.field(default_factory=_comments)
    lineno: int | None = dataclasses.field(default=None, compare=False)

    @property
    def deid_name(self) -> str:
        """The name deid stores: it keeps ``LABEL`` unless written ``label``.

        deid removes the first lower-case ``label`` of the line, so
        ``LABEL Dose Report`` is stored (and reported by its detector) as
        ``"LABEL Dose Report"``.
        """
        line = f"{self.keyword} {self.name}" if self.name else self.keyword
        return line.replace("label", "", 1).strip()


@dataclass
class FilterGroup:
    """A ``%filter <name>`` group: labels checked in order.

    Attributes
    ----------
    name : str
        The group's name (``whitelist``, ``graylist``, ``blacklist`` or any).
    labels : list of Label
        Its ``LABEL`` blocks, in order.
    lineno : int or None
        Line number of the first ``%filter`` line naming it (not compared).
    """

    name: str
    labels: list[Label] = dataclasses.field(default_factory=list)
    lineno: int | None = dataclasses.field(default=None, compare=False)
