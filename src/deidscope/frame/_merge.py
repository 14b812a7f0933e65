"""Rows read in other processes, merged into one builder before one build.

A worker reads its files into a :class:`~deidscope.frame._builder.FrameBuilder`
and sends back :class:`RawRows`: the builder's gathered state (files, key
table, key codes, values as Arrow strings), no DataFrame. The parent merges
each chunk into its own builder as the chunk arrives, while the workers read
the next ones, and builds the frame once at the end. The frame is the one a
single builder fed every file in order would build, categories and their
order included: keys are renumbered in order of first appearance.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyarrow as pa

from deidscope.frame._builder import VALUE_TYPE, FrameBuilder

__all__ = ["RawRows", "merge_rows", "take_rows"]


@dataclasses.dataclass(frozen=True)
class RawRows:
    """The rows one builder gathered, compact and cheap to pickle.

    Parameters
    ----------
    files : list of str
        The files with rows, in order.
    file_rows : bytes
        Rows per file (int64, native order).
    keys : list of tuple
        The builder's key table, in code order.
    key_codes : bytes
        One key code per row (int32, native order).
    values : pyarrow.ChunkedArray
        One value per row.
    """

    files: list[str]
    file_rows: bytes
    keys: list[Any]
    key_codes: bytes
    values: pa.ChunkedArray

    def __len__(self) -> int:
        return len(self.values)


def take_rows(builder: FrameBuilder) -> RawRows:
    """Return what `builder` gathered as :class:`RawRows` (for another process)."""
    builder.flush()
    return RawRows(
        files=list(builder.files),
        file_rows=builder.file_rows.tobytes(),
        keys=list(builder.keys),
        key_codes=builder.key_codes.tobytes(),
        values=pa.chunked_array(builder.chunks, type=VALUE_TYPE),
    )


def merge_rows(builder: FrameBuilder, rows: RawRows) -> None:
    """Append `rows` to `builder`, as if their files had been added to it.

    The key codes of `rows` are mapped onto `builder`'s key table (a key
    seen first here gets the next code), so categories keep the order of a
    single builder's.
    """
    keys = builder.keys
    remap = np.empty(len(rows.keys), dtype=np.int32)
    for i, key in enumerate(rows.keys):
        code = keys.get(key)
        if code is None:
            code = keys[key] = len(keys)
        remap[i] = code
    if rows.key_codes:
        codes = remap[np.frombuffer(rows.key_codes, dtype=np.int32)]
        builder.key_codes.frombytes(codes.astype(np.int32, copy=False).tobytes())
    builder.files.extend(rows.files)
    builder.file_rows.frombytes(rows.file_rows)
    builder.flush()  # the builder's own values first: rows stay in order
    builder.chunks.extend(rows.values.chunks)
    builder.flushed += len(rows.values)
