"""DicomField, one element of a file; FieldMap, the fields of one file."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement

from deidscope.errors import InputError
from deidscope.fields._tags import format_tag, is_tag_text, normalize_uid, private_name

__all__ = ["DicomField", "FieldMap"]


class DicomField:
    """One data element of a file, where it sits, and what it is called.

    The class of deid's ``get_identifiers`` results, with the same attributes
    and methods.

    Parameters
    ----------
    element : pydicom.dataelem.DataElement
        The element, or a callable returning it (a value not yet read from
        its file is read on first access).
    name : str
        The nested name, e.g. ``ReferencedImageSequence__ReferencedSOPClassUID``.
    uid : str
        The nested uid, e.g. ``(0008, 1140)__0__(0008, 1150)``.
    is_filemeta : bool, optional
        True for elements of the file meta information (group 0002).

    Examples
    --------
    >>> from pydicom.dataelem import DataElement
    >>> field = DicomField(DataElement(0x00100010, "PN", "falling disk"),
    ...                    "PatientName", "(0010, 0010)")
    >>> field
    (0010, 0010) Patient's Name                      PN: 'falling disk'  [PatientName]
    >>> field.stripped_tag, field.name_contains("patient")
    ('00100010', True)
    """

    # `_element` is the DataElement once made. Before that, either a
    # callable that makes it (`_source` None), or, with `_source` set, what
    # `_source(field)` makes it from: `_tag`, the element's tag, or a
    # ``(tag, VR)`` pair shared by many fields when `_element` holds the raw
    # value. One source serves the fields of a data set, so a field costs no
    # loader object of its own.
    __slots__ = ("_element", "_source", "_tag", "is_filemeta", "name", "uid")

    def __init__(
        self,
        element: DataElement | Callable[[], DataElement],
        name: str,
        uid: str,
        is_filemeta: bool = False,
    ) -> None:
        self._element: Any = element
        self._source: Callable[[DicomField], DataElement] | None = None
        self._tag: int | tuple[int, str] = 0
        self.name = name
        self.uid = uid
        self.is_filemeta = is_filemeta

    @property
    def element(self) -> DataElement:
        """The pydicom data element (made on first use, then kept)."""
        elem = self._element
        if isinstance(elem, DataElement):
            return elem
        source = self._source
        made = source(self) if source is not None else elem()
        self._element = made
        self._source = None
        return made

    def _tag_int(self) -> int:
        if self._source is not None:
            tag = self._tag
            return tag[0] if isinstance(tag, tuple) else int(tag)
        return int(self.element.tag)

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        return None, {
            "_element": self.element,
            "_source": None,
            "_tag": 0,
            "is_filemeta": self.is_filemeta,
            "name": self.name,
            "uid": self.uid,
        }

    @property
    def tag(self) -> str:
        """The element's own tag, as ``(gggg, eeee)``."""
        return format_tag(self._tag_int())

    @property
    def stripped_tag(self) -> str:
        """The element's own tag as 8 hex digits, e.g. ``00100010``."""
        return f"{self._tag_int():08X}"

    def __str__(self) -> str:
        elem = self.element
        width = elem.descripWidth
        return (
            f"{format_tag(elem.tag)} {elem.name[:width]:<{width}} "
            f"{elem.VR}: {elem.repval}  [{self.name}]"
        )

    __repr__ = __str__

    def name_contains(self, expression: str | re.Pattern[str]) -> bool:
        """Tell whether the name, keyword or tag matches a regular expression.

        As deid's: the nested name, the tag as ``(gggg,eeee)`` or
        ``ggggeeee``, the element's dictionary name and keyword, and for a
        private element its ``(gggg,"CREATOR",ee)`` form are searched,
        ignoring case.

        Parameters
        ----------
        expression : str or re.Pattern
            A regular expression.

        Returns
        -------
        bool
            True if any of them matches.
        """
        if isinstance(expression, str):
            expression = re.compile(expression, re.IGNORECASE)
        elem = self.element
        tag = elem.tag
        candidates = [
            self.name.lower(),
            f"({tag.group:04x},{tag.element:04x})",
            self.stripped_tag,
            elem.name,
            elem.keyword,
        ]
        if elem.is_private and elem.private_creator is not None:
            stripped = private_name(tag, elem.private_creator)[1:-1]
            candidates += [stripped, f"({stripped})"]
        return any(expression.search(text) for text in candidates)

    def value_contains(self, expression: str | re.Pattern[str]) -> bool:
        """Tell whether any value of the element matches a regular expression.

        As deid's: each value (a multi-valued element has several) is turned
        into text with ``str`` and searched, ignoring case.

        Parameters
        ----------
        expression : str or re.Pattern
            A regular expression.

        Returns
        -------
        bool
            True if any value matches.
        """
        values = self.element.value
        if not isinstance(values, list):
            values = [values]
        flags = 0 if isinstance(expression, re.Pattern) else re.IGNORECASE
        return any(re.search(expression, str(value), flags) for value in values)

    def select_matches(self, expression: str) -> bool:
        """Tell whether the element has a VR or group, as deid's ``select:``.

        Parameters
        ----------
        expression : str
            ``"VR:PN"`` (the first two letters count) or ``"group:0010"``
            (hex), ignoring case.

        Returns
        -------
        bool
            True if the element has that VR or is in that group; False for
            any other attribute.

        Raises
        ------
        InputError
            If `expression` has no ``:`` or the group is not hex.
        """
        attribute, sep, value = expression.partition(":")
        if not sep:
            raise InputError(
                f"select_matches: expected 'VR:<vr>' or 'group:<hex>', "
                f"but got {expression!r}"
            )
        attribute = attribute.upper()
        if attribute == "VR":
            return bool(value[:2].upper() == self.element.VR)
        if attribute == "GROUP":
            try:
                group = int(value, 16)
            except ValueError:
                raise InputError(
                    f"select_matches: group must be hex like '0010', but got {value!r}"
                ) from None
            return bool(self.element.tag.group == group)
        return False


class FieldMap(dict[str, DicomField]):
    """The fields of one file: ``{uid: DicomField}`` with forgiving lookups.

    Keys are uids in the spec's form. Looking up also accepts deid's
    pydicom-3 form ``(0008,1115)__0__(0008,1150)``, bare hex ``00100010``,
    and, for top-level fields, a keyword such as ``PatientName``.

    Attributes
    ----------
    error : str or None
        Why the file could not be read, or None when it was read. A file
        that could not be read has no fields.
    """

    __slots__ = ("error",)

    def __init__(self, *args: Any, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error = error

    def _resolve(self, key: object) -> str | None:
        if not isinstance(key, str):
            return None
        if "__" not in key and not is_tag_text(key):
            tag = tag_for_keyword(key)
            return None if tag is None else format_tag(tag)
        try:
            return normalize_uid(key)
        except InputError:
            return None

    def __missing__(self, key: str) -> DicomField:
        uid = self._resolve(key)
        if uid is not None and uid != key and dict.__contains__(self, uid):
            return dict.__getitem__(self, uid)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        uid = self._resolve(key)
        return uid is not None and dict.__contains__(self, uid)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the field at `key` in any accepted form, or `default`."""
        try:
            return self[key]
        except KeyError:
            return default

    def __reduce__(self) -> tuple[Any, ...]:
        return (FieldMap, (dict(self),), {"error": self.error})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.error = state.get("error")
