"""The frame builder keeps a file's rows all or none, whatever fails half-way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import deidscope.frame._builder as builder_module
from deidscope import read_identifiers
from deidscope.files import read_header
from deidscope.frame._builder import FrameBuilder
from samples import write_dicom


@pytest.fixture
def three_files(tmp_path: Path) -> list[str]:
    paths = []
    for name, patient in [("a", "Alpha"), ("b", "Bravo"), ("c", "Charlie")]:
        path = write_dicom(
            tmp_path / f"{name}.dcm",
            PatientName=patient,
            PatientID=f"id-{name}",
            StudyDescription=f"study {name}",
            # a tag only file b has: its key must not survive b's failure
            **({"ImageComments": "only in b"} if name == "b" else {}),
        )
        paths.append(str(path))
    return paths


def _frame(files: list[str]) -> pd.DataFrame:
    builder = FrameBuilder()
    for file in files:
        builder.add_dataset(file, read_header(file)[0])
    return builder.build()


FAILURES: list[Callable[[], BaseException]] = [
    lambda: ValueError("planted"),
    lambda: MemoryError(),
    lambda: RecursionError("maximum recursion depth exceeded"),
    lambda: UnicodeDecodeError("ascii", b"\xff", 0, 1, "planted"),
    lambda: KeyError("planted"),
]


@pytest.mark.parametrize("make_error", FAILURES, ids=lambda f: type(f()).__name__)
@pytest.mark.parametrize("where", ["format", "walk"])
def test_a_failure_mid_file_leaves_no_row_of_it(
    three_files: list[str],
    monkeypatch: pytest.MonkeyPatch,
    make_error: Callable[[], BaseException],
    where: str,
) -> None:
    good_a, bad, good_c = three_files
    expected = _frame([good_a, good_c])
    real_format = builder_module.format_walked
    real_walk = builder_module.iter_fields
    calls = {"n": 0}

    def failing_format(walked: Any) -> str:
        # the fourth value of file b fails: three rows of b were already in
        if current["file"] == bad:
            calls["n"] += 1
            if calls["n"] == 4:
                raise make_error()
        return real_format(walked)

    def failing_walk(ds: Any, **kwargs: Any) -> Iterator[Any]:
        for count, walked in enumerate(real_walk(ds, **kwargs)):
            if current["file"] == bad and count == 3:
                raise make_error()
            yield walked

    if where == "format":
        monkeypatch.setattr(builder_module, "format_walked", failing_format)
    else:
        monkeypatch.setattr(builder_module, "iter_fields", failing_walk)
    current = {"file": ""}
    builder = FrameBuilder()
    for file in three_files:
        current["file"] = file
        ds = read_header(file)[0]
        if file == bad:
            with pytest.raises(type(make_error())):
                builder.add_dataset(file, ds)
        else:
            builder.add_dataset(file, ds)
    df = builder.build()
    assert calls["n"] >= 4 or where == "walk"
    pd.testing.assert_frame_equal(df, expected)
    assert "ImageComments" not in set(df.name.cat.categories)


def test_read_identifiers_lists_the_failed_file_and_keeps_the_others(
    three_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good_a, bad, good_c = three_files
    expected = _frame([good_a, good_c])
    real_format = builder_module.format_walked

    def failing_format(walked: Any) -> str:
        if walked.name == "ImageComments":  # only file b has it
            raise MemoryError("planted")
        return real_format(walked)

    monkeypatch.setattr(builder_module, "format_walked", failing_format)
    df = read_identifiers(three_files, errors="ignore")
    assert sorted(df.file.unique()) == [good_a, good_c]
    pd.testing.assert_frame_equal(
        df.reset_index(drop=True), expected.reset_index(drop=True)
    )
    errors = df.attrs["errors"]
    assert errors.file.tolist() == [bad]
    assert "MemoryError" in errors.error.iloc[0]
