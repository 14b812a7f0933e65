"""The value representations, grouped by how deidscope reads their values."""

from __future__ import annotations

__all__ = ["BULK_VRS", "SINGLE_VALUE_TEXT_VRS"]

#: VRs whose values are bytes, not text or numbers.
BULK_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
#: Text VRs that hold one value: a backslash in them is text, not a separator.
SINGLE_VALUE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR"})
