"""Keyed pseudonyms: the same key gives the same pseudonyms, months later.

With a key (the caller's secret, never in a recipe), a run maps

- UIDs (``deid_func:pydicom_uuid``, the profile's ``U``) to
  ``2.25.<int>``, the integer made from the first 16 bytes of
  HMAC-SHA256(key, ``uid:`` + the UID): at most 44 characters;
- PatientID, AccessionNumber and StudyID (the profile's lines
  ``REPLACE <field> func:deidscope_pseudonym``) to 16 upper-case hex digits
  of HMAC-SHA256(key, field keyword + ``:`` + value): a value fits SH;
- dates (``JITTER ... var:jitter``): one offset per patient, from
  HMAC-SHA256(key, ``date:`` + PatientID), between 1 and 3650 days back,
  so every date of a patient moves by the same days and intervals and
  order are kept.

Two runs with the same key agree; two keys do not (HMAC is a keyed PRF).
Without the key, no pseudonym can be traced back to its value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from deidscope.errors import InputError

__all__ = ["PSEUDONYM_FUNCTION", "Keyed", "as_key", "read_key_file"]

#: The ``func:`` name a keyed run provides for pseudonyms.
PSEUDONYM_FUNCTION = "deidscope_pseudonym"
_MAX_DAYS = 3650


def as_key(key: str | bytes | None, *, caller: str) -> bytes | None:
    """Check a key: None, or non-empty text (UTF-8) or bytes."""
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes | bytearray) or not key:
        raise InputError(
            f"{caller}: expected key to be non-empty text or bytes, but got "
            f"{type(key).__name__ if key else 'an empty key'}"
        )
    return bytes(key)


def read_key_file(path: str | os.PathLike[str], *, caller: str) -> bytes:
    """Read a key from a file (trailing newlines dropped)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read().rstrip(b"\r\n")
    except OSError as exc:
        raise InputError(f"{caller}: cannot read the key file: {exc}") from None
    if not data:
        raise InputError(f"{caller}: the key file {os.fspath(path)!r} is empty")
    return data


class Keyed:
    """Keyed pseudonyms for one key.

    Examples
    --------
    >>> keyed = Keyed(b"secret")
    >>> same, other = Keyed(b"secret"), Keyed(b"other")
    >>> keyed.uid("1.2.3") == same.uid("1.2.3") != other.uid("1.2.3")
    True
    >>> keyed.pseudonym("PatientID", "cookie-47")
    'FC437058F57B2C41'
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()

    def uid(self, value: str, prefix: str = "2.25.") -> str:
        """Return the keyed UID of a UID (``prefix`` + an integer, <= 64 chars)."""
        number = str(int.from_bytes(self._digest("uid:" + value.strip())[:16], "big"))
        return (prefix + number)[:64]

    def pseudonym(self, kind: str, value: str) -> str:
        """Return the keyed pseudonym of a value of one kind (its keyword)."""
        return self._digest(f"{kind}:{value.strip()}")[:8].hex().upper()

    def date_offset(self, patient_id: str) -> int:
        """Return the patient's date offset in days (negative: back in time)."""
        number = int.from_bytes(self._digest("date:" + patient_id.strip())[:8], "big")
        return -(1 + number % _MAX_DAYS)

    def function(self) -> Any:
        """Return the ``func:`` function giving a field's keyed pseudonym."""

        def pseudonym(dicom: Any, value: Any, field: Any, item: Any) -> Any:
            original = getattr(field, "original", None)
            text = str(original if original is not None else field.text or "")
            if not text:
                return None  # an empty value stays empty
            keyword = getattr(field.element, "keyword", "") or "value"
            return self.pseudonym(keyword, text)

        return pseudonym
