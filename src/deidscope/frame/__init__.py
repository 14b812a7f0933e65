r"""The long identifier DataFrame: one row per field of every file.

Columns, declared once in :data:`COLUMNS` with their dtypes:

============== ================ ==============================================
column         dtype            what it holds
============== ================ ==============================================
file           category         the path, as given
uid            category         nested uid, ``(0008, 1115)__0__(0008, 1150)``
name           category         nested name, ``ReferencedSeriesSequence__...``
VR             category         the value representation (deid's spelling)
value          string[pyarrow]  the value as text (rules below)
tag            category         the element's own tag, ``(0008, 1150)``
keyword        category         its DICOM keyword ("" if private or unknown)
private_creator category        the creator of a private element's block
depth          int8             0 at the top level, 1 in a sequence item, ...
is_filemeta    bool             an element of the file meta information
============== ================ ==============================================

Rows come file by file, in the order the files were given, and within a
file in deid's order (see :func:`deidscope.fields.iter_fields`). Keys are
categorical, so a million rows take tens of megabytes.

Rules for ``value`` (always a string, never bytes):

- Text is shown as decoded, each value stripped of surrounding spaces and
  NUL padding; person names keep their ``^`` and ``=`` separators
  (``Doe^John``).
- A multi-valued element joins its values with ``\\`` (``ORIGINAL\\PRIMARY``).
- An empty value is ``""``.
- Dates, times and date-times are the text as stored (``20131210``,
  ``191929.000``), not reformatted; numbers stored as text (IS, DS) likewise.
- Binary numbers (US, SS, UL, SL, FL, FD, UV, SV) are written with ``str``;
  AT values as tags, ``(0028, 0010)``.
- Binary data (OB, OW, OF, OD, OL, OV, UN) is summarised as ``<N bytes>``,
  except that an OB or UN value of at most 1024 bytes that is printable text
  is shown as that text: private elements read as UN often hide names.
- A sequence is summarised as ``<N items>``; its items' elements have rows
  of their own.
"""

from __future__ import annotations

from deidscope.frame._builder import to_frame
from deidscope.frame._columns import (
    COLUMNS,
    STRING,
    IdentifierData,
    check_frame,
    concat_frames,
    empty_frame,
)
from deidscope.frame._query import FieldQuery, filter_fields
from deidscope.frame._read import read_identifiers

__all__ = [
    "COLUMNS",
    "STRING",
    "FieldQuery",
    "IdentifierData",
    "check_frame",
    "concat_frames",
    "empty_frame",
    "filter_fields",
    "read_identifiers",
    "to_frame",
]
