"""Raw rows from other processes merge into the frame one builder would build."""

from __future__ import annotations

import pickle

import pandas as pd

from deidscope.errors import BatchErrors
from deidscope.frame._builder import FrameBuilder
from deidscope.frame._merge import merge_rows, take_rows
from deidscope.frame._read import _add_file, read_files_frame
from samples import all_sample_files


def _builder_of(files: list[str]) -> FrameBuilder:
    builder = FrameBuilder()
    batch = BatchErrors("test", "ignore")
    for file in files:
        _add_file(builder, file, batch)
    return builder


def test_merged_chunks_build_the_single_builders_frame() -> None:
    files = list(all_sample_files())
    whole = read_files_frame(files)
    merged = FrameBuilder()
    sizes = [1, 0, 5, 17, len(files)]  # an empty chunk, uneven ones, the rest
    start = 0
    for size in sizes:
        chunk = files[start : start + size]
        start += size
        rows = pickle.loads(pickle.dumps(take_rows(_builder_of(chunk))))
        assert len(rows) == len(read_files_frame(chunk))
        merge_rows(merged, rows)
    df = merged.build()
    assert len(df) > 1000
    # categories (and their order) included: as if one builder read every file
    pd.testing.assert_frame_equal(df, whole)
    for column in ("file", "uid", "keyword"):
        assert list(df[column].cat.categories) == list(whole[column].cat.categories)


def test_a_file_in_two_chunks_has_one_category() -> None:
    file = all_sample_files()[0]
    merged = FrameBuilder()
    for _ in range(2):
        merge_rows(merged, take_rows(_builder_of([file])))
    df = merged.build()
    assert list(df["file"].cat.categories) == [file]
    assert len(df) == 2 * len(read_files_frame([file]))


def test_merging_into_a_builder_with_unflushed_rows_keeps_the_order() -> None:
    first, second = all_sample_files()[:2]
    merged = _builder_of([first])  # rows still in its values list
    assert merged.values
    merge_rows(merged, take_rows(_builder_of([second])))
    pd.testing.assert_frame_equal(merged.build(), read_files_frame([first, second]))


def test_take_rows_of_an_empty_builder() -> None:
    rows = take_rows(FrameBuilder())
    assert len(rows) == 0
    merged = FrameBuilder()
    merge_rows(merged, rows)
    assert len(merged.build()) == 0
