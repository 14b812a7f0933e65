"""DICOM fields: tags and uids as text, :class:`DicomField`, and the walk.

A *field* is one data element of a file, addressed by a *uid* that records
where it sits: ``(0010, 0010)`` for a top-level element, and
``(0008, 1115)__0__(0008, 1150)`` for an element of the first item of a
sequence. Its *name* joins keywords the same way
(``ReferencedSeriesSequence__ReferencedSOPClassUID``). These are the forms
of deid's documentation (``../spec``); deid running on pydicom 3 writes the
tag without the space, ``(0008,1115)__0__(0008,1150)``, and that form is
accepted wherever a uid is looked up.

:func:`iter_fields` walks a dataset in deid's order: the elements of the
dataset, then those of its file meta, then the items of sequences,
breadth-first. Everything that lists fields (``get_identifiers``, the long
DataFrame, recipes) uses this one walk.
"""

from __future__ import annotations

from deidscope.fields._field import DicomField, FieldMap
from deidscope.fields._tags import (
    format_tag,
    format_uid,
    is_tag_text,
    normalize_uid,
    parse_tag,
    private_name,
)
from deidscope.fields._vr import BULK_VRS, SINGLE_VALUE_TEXT_VRS
from deidscope.fields._walk import DEFAULT_SKIP, WalkedField, iter_fields, resolve_vr

__all__ = [
    "BULK_VRS",
    "DEFAULT_SKIP",
    "SINGLE_VALUE_TEXT_VRS",
    "DicomField",
    "FieldMap",
    "WalkedField",
    "format_tag",
    "format_uid",
    "is_tag_text",
    "iter_fields",
    "normalize_uid",
    "parse_tag",
    "private_name",
    "resolve_vr",
]
