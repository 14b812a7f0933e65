"""The state of a recipe run: one row per field, and what happened to it.

:class:`Run` holds numpy arrays of row states (value text, alive, removed,
winning action and line) and the helpers that change them;
:mod:`deidscope.recipe._engine` implements deid's lines on top of it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from deidscope.fields import DEFAULT_SKIP, DicomField, format_tag
from deidscope.frame._values import format_element
from deidscope.recipe._actions import (
    RecipeFunctionError,
    value_from_text,
)
from deidscope.recipe._expand import FieldKeys, frame_keys

__all__ = ["Outcome", "RecipeField", "Run", "element_text"]

logger = logging.getLogger("deidscope.recipe")

SOP_FOLLOWERS = ((0x00080018, 0x00020003), (0x00080016, 0x00020002))
PROTECTED_TAGS = frozenset(
    int(tag) for tag in (tag_for_keyword(k) for k in DEFAULT_SKIP) if tag is not None
)
_PLACEHOLDER_TAG = 0x00100010


class RecipeField(DicomField):
    """The field a ``func:`` function receives.

    A :class:`DicomField` plus ``deid_name`` (deid's name for it),
    ``text`` (its value as frame text, as the lines before changed it) and
    ``original`` (its value as read, None for an element a line added).
    """

    __slots__ = ("deid_name", "original", "text")

    def __init__(
        self,
        element: DataElement,
        name: str,
        uid: str,
        is_filemeta: bool,
        deid_name: str,
        text: str,
        original: str | None = None,
    ) -> None:
        super().__init__(element, name, uid, is_filemeta)
        self.deid_name = deid_name
        self.text = text
        self.original = original


@dataclass
class Outcome:
    """What a recipe does to each row of a frame, and the rows it adds.

    Arrays cover the frame's rows first (``n_original`` of them), then the
    added rows.
    """

    file: np.ndarray  # file code per row
    files: list[str]  # file by code
    keys: FieldKeys  # distinct fields
    rowkey: np.ndarray  # field per row
    names: list[str]
    is_filemeta: np.ndarray
    before: np.ndarray  # object: text, or None for added rows
    text: np.ndarray  # object: final text
    removed: np.ndarray  # bool
    action: np.ndarray  # object: winning action or None
    line: np.ndarray  # int: its line number (0: none)
    n_original: int
    values: dict[int, Any] = field(default_factory=dict)  # row -> python value
    # file code -> the first function that raised on it (on_error="collect")
    failures: dict[int, RecipeFunctionError] = field(default_factory=dict)

    def uid(self, row: int) -> str:
        """Return the uid of a row."""
        return self.keys.uids[int(self.rowkey[row])]

    def vr(self, row: int) -> str:
        """Return the VR of a row."""
        return self.keys.vrs[int(self.rowkey[row])]

    def touched(self) -> np.ndarray:
        """Return the rows a line acted on (KEEP included), grouped by file."""
        rows = np.flatnonzero(self.action != None)  # noqa: E711
        order = np.lexsort((rows, self.file[rows]))
        return np.asarray(rows[order])


def element_text(vr: str, value: Any, tag: int = _PLACEHOLDER_TAG) -> str | None:
    """Return the frame's text for a value set on an element of this VR.

    None when pydicom does not take the value for the VR (deid would fail).
    """
    if value is None:
        return "<0 items>" if vr == "SQ" else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return format_element(DataElement(tag, vr, value))
        except Exception:  # a value pydicom will not take for this VR
            return None


class Run:
    """The state of one run of a recipe over a frame.

    `keys`, when given, is ``frame_keys(df)`` computed by the caller: the
    :class:`FieldKeys` are used (and extended by ``ADD``), the row array is
    copied, never changed.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        lookups: Sequence[Mapping[str, Any]],
        *,
        dicoms: Callable[[int], Dataset | None] | None,
        keep_values: bool,
        memo: dict[tuple[Any, ...], Any],
        caller: str = "run_header",
        on_error: str = "raise",
        keys: tuple[FieldKeys, np.ndarray] | None = None,
    ) -> None:
        if keys is None:
            self.keys, rowkey = frame_keys(df)
        else:
            self.keys, rowkey = keys[0], keys[1].copy()
        self.rowkey = rowkey
        files = df["file"]
        if not isinstance(files.dtype, pd.CategoricalDtype):
            files = files.astype("category")
        self.files = [str(f) for f in files.cat.categories]
        self.file = files.cat.codes.to_numpy().astype(np.int64)
        self.lookups = lookups
        self.dicoms = dicoms
        self.keep_values = keep_values
        self.memo = memo
        self.caller = caller
        self.on_error = on_error
        self.failures: dict[int, RecipeFunctionError] = {}
        self.keyed: Any = None  # keyed pseudonyms (recipe._keyed.Keyed)
        n = len(df)
        self.n = n
        values = df["value"].to_numpy(dtype=object, na_value="")
        self.before = values.copy()
        self.text = values.copy()
        self.names = [str(x) for x in df["name"].to_numpy(dtype=object)]
        self.is_filemeta = df["is_filemeta"].to_numpy(dtype=bool).copy()
        self.alive = np.ones(n, dtype=bool)
        self.present = np.ones(n, dtype=bool)  # still in the dataset
        self.removed = np.zeros(n, dtype=bool)
        self.action = np.full(n, None, dtype=object)
        self.line = np.zeros(n, dtype=np.int64)
        self.values: dict[int, Any] = {}
        self.key_vr = np.array(self.keys.vrs, dtype=object)
        self.n_added = 0
        self._row_by_uid: dict[tuple[int, str], int] | None = None
        self._tops: dict[tuple[int, int], int] | None = None
        self._texts: dict[tuple[str, type, Any], str | None] = {}

    # -- row facts --------------------------------------------------------------

    def vr(self, row: int | np.integer[Any]) -> str:
        return str(self.key_vr[self.rowkey[row]])

    def tag(self, row: int) -> int:
        return int(self.keys.tags[self.rowkey[row]])

    def uid(self, row: int | np.integer[Any]) -> str:
        return self.keys.uids[int(self.rowkey[row])]

    def depth(self, row: int) -> int:
        return int(self.keys.depths[self.rowkey[row]])

    def field(self, row: int) -> RecipeField:
        vr = self.vr(row)
        text = str(self.text[row])
        value = self.values[row] if row in self.values else value_from_text(text, vr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                element = DataElement(self.tag(row), vr, value)
            except Exception:
                element = DataElement(self.tag(row), vr, None)
        creator = self.keys.creators[self.rowkey[row]]
        if creator is not None:
            element.private_creator = creator
        return RecipeField(
            element,
            self.names[row],
            self.uid(row),
            bool(self.is_filemeta[row]),
            self.keys.deid_names[self.rowkey[row]],
            text,
            None if self.before[row] is None else str(self.before[row]),
        )

    def dicom(self, file: int) -> Dataset | None:
        return None if self.dicoms is None else self.dicoms(file)

    def tops(self) -> dict[tuple[int, int], int]:
        """Rows of top-level elements by (file, tag)."""
        if self._tops is None:
            top = np.flatnonzero(self.keys.depths[self.rowkey] == 0)
            tags = self.keys.tags[self.rowkey[top]]
            self._tops = {
                (int(f), int(t)): int(r)
                for f, t, r in zip(self.file[top], tags, top, strict=True)
            }
        return self._tops

    # -- effects ----------------------------------------------------------------

    def record(self, rows: np.ndarray, action: str, lineno: int) -> None:
        self.action[rows] = action
        self.line[rows] = lineno

    def set_value(self, row: int, value: Any, action: str, lineno: int) -> bool:
        """Set a row's value; False (and nothing changed) if the VR refuses it."""
        vr = self.vr(row)
        text: str | None
        try:
            key = (vr, type(value), value)
            if key in self._texts:
                text = self._texts[key]
            else:
                text = self._texts[key] = element_text(vr, value, self.tag(row))
        except TypeError:  # unhashable value
            text = element_text(vr, value, self.tag(row))
        if text is None:
            logger.warning(
                "%s %s: %r is not a valid %s value (deid would fail); left alone",
                action,
                self.uid(row),
                value,
                vr,
            )
            return False
        self.text[row] = text
        if self.keep_values:
            self.values[row] = value
        self.action[row] = action
        self.line[row] = lineno
        return True

    def drop_descendants(self, rows: np.ndarray, action: str, lineno: int) -> None:
        """Rows nested in the sequences `rows` leave the dataset."""
        sequences = rows[self.key_vr[self.rowkey[rows]] == "SQ"]
        if not len(sequences):
            return
        pairs = {(int(self.file[r]), self.uid(int(r))) for r in sequences}
        uids = {uid for _, uid in pairs}
        nested = np.array(
            [
                any(a in uids for a in self.keys.ancestors(k))
                for k in range(len(self.keys))
            ],
            dtype=bool,
        )
        candidates = np.flatnonzero(nested[self.rowkey] & self.present)
        hit = [
            int(r)
            for r in candidates
            if any(
                (int(self.file[r]), a) in pairs
                for a in self.keys.ancestors(int(self.rowkey[r]))
            )
        ]
        if hit:
            index = np.array(hit, dtype=np.int64)
            self.alive[index] = False
            self.present[index] = False
            self.removed[index] = True
            self.record(index, action, lineno)

    def row_of(self, file: int, uid: str) -> int | None:
        """Return the row of a uid in a file."""
        if self._row_by_uid is None:
            self._row_by_uid = {
                (int(f), self.keys.uids[int(k)]): r
                for r, (f, k) in enumerate(zip(self.file, self.rowkey, strict=True))
            }
        return self._row_by_uid.get((file, uid))

    def extend(self, new: list[tuple[int, int, str, str]]) -> np.ndarray:
        """Append rows for elements a line creates, (file, tag, name, VR) each."""
        start = len(self.file)
        count = len(new)
        keys = [self.keys.add(format_tag(tag), None, vr) for _, tag, _, vr in new]
        self.key_vr = np.array(self.keys.vrs, dtype=object)
        self.rowkey = np.concatenate([self.rowkey, np.array(keys, dtype=np.int64)])
        self.file = np.concatenate(
            [self.file, np.array([f for f, _, _, _ in new], dtype=np.int64)]
        )
        empty = np.full(count, None, dtype=object)
        self.before = np.concatenate([self.before, empty])
        self.text = np.concatenate([self.text, np.full(count, "", dtype=object)])
        self.names += [name for _, _, name, _ in new]
        self.is_filemeta = np.concatenate(
            [self.is_filemeta, np.array([t >> 16 == 2 for _, t, _, _ in new], bool)]
        )
        for name in ("alive", "present"):
            setattr(
                self, name, np.concatenate([getattr(self, name), np.ones(count, bool)])
            )
        self.removed = np.concatenate([self.removed, np.zeros(count, bool)])
        self.action = np.concatenate([self.action, empty.copy()])
        self.line = np.concatenate([self.line, np.zeros(count, np.int64)])
        self.n_added += count
        self._row_by_uid = None
        return np.arange(start, start + count)

    # -- matching -----------------------------------------------------------------

    def key_rows(self, expression: str) -> np.ndarray:
        return np.flatnonzero(self.keys.match(expression)[self.rowkey] & self.alive)
