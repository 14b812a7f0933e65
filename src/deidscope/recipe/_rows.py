"""The rows of each field of a frame, to turn field masks into rows fast.

:class:`RowIndex` sorts a frame's rows by their field once; the rows of any
set of fields (a mask from :meth:`FieldKeys.match`) are then gathered
without looking at the other rows, and rows nested in a sequence that is
among them can be left out, as a line acting on the sequence would.
:class:`~deidscope.recipe._run.RecipeRun` uses it to match every line of a
recipe from one run.
"""

from __future__ import annotations

import numpy as np

from deidscope.recipe._expand import FieldKeys

__all__ = ["EMPTY", "RowIndex"]

#: No rows.
EMPTY = np.zeros(0, dtype=np.int64)
EMPTY.flags.writeable = False


class RowIndex:
    """The rows of each distinct field, and what nesting needs, for matching.

    Parameters
    ----------
    keys : FieldKeys
        The distinct fields.
    rowkey : numpy.ndarray of int64
        Each row's field.
    file : numpy.ndarray of int64
        Each row's file code.
    """

    def __init__(self, keys: FieldKeys, rowkey: np.ndarray, file: np.ndarray):
        n_keys = len(keys)
        self.order = np.argsort(rowkey, kind="stable")
        self.starts = np.searchsorted(rowkey[self.order], np.arange(n_keys + 1))
        self.file = file
        ids: dict[str, int] = {}
        self.uid_id = np.array(
            [ids.setdefault(uid, len(ids)) for uid in keys.uids], dtype=np.int64
        )
        self.n_uids = max(len(ids), 1)
        parents = [
            [ids.get(uid, -1) for uid in keys.ancestors(k)] for k in range(n_keys)
        ]
        depth = max((len(p) for p in parents), default=0)
        self.ancestors = np.full((n_keys, max(depth, 1)), -1, dtype=np.int64)
        for k, found in enumerate(parents):
            self.ancestors[k, : len(found)] = found
        self.is_sq = np.array([vr == "SQ" for vr in keys.vrs], dtype=bool)
        self.nested = np.asarray(keys.depths > 0)
        self.rowkey = rowkey

    def rows_of(self, mask: np.ndarray) -> np.ndarray:
        """Return the rows of the fields `mask` flags, in frame order."""
        hit = np.flatnonzero(mask)
        low, high = self.starts[hit], self.starts[hit + 1]
        sizes = high - low
        total = int(sizes.sum())
        if not total:
            return EMPTY
        shift = np.repeat(low - (np.cumsum(sizes) - sizes), sizes)
        rows: np.ndarray = np.sort(self.order[np.arange(total) + shift])
        return rows

    def without_nested(
        self, rows: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Leave out the rows nested in a sequence of the same file in `rows`.

        Blanking a sequence takes its items: on its own, the line acts on
        the sequence, not on what is in it (as :meth:`Recipe.matches` always
        counted). `mask`, the fields `rows` are of, saves the work when no
        sequence is among them.
        """
        if mask is not None and not (mask[: len(self.is_sq)] & self.is_sq).any():
            return rows
        keys = self.rowkey[rows]
        sequences = rows[self.is_sq[keys]]
        nested = rows[self.nested[keys]]
        if not len(sequences) or not len(nested):
            return rows
        named = np.unique(
            self.file[sequences] * self.n_uids + self.uid_id[self.rowkey[sequences]]
        )
        parents = self.ancestors[self.rowkey[nested]]
        codes = self.file[nested][:, None] * self.n_uids + parents
        inside = ((parents >= 0) & np.isin(codes, named)).any(axis=1)
        if not inside.any():
            return rows
        return np.setdiff1d(rows, nested[inside], assume_unique=True)
