"""The frame builder keeps a file's rows all or none, whatever fails half-way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest

import deidscope.frame._builder as builder_module
from deidscope import read_identifiers
from deidscope.errors import ReadError
from deidscope.fields import DEFAULT_SKIP, iter_fields
from deidscope.files import read_checked, read_header, read_raw_file
from deidscope.files._quick import scan_file
from deidscope.frame._builder import FrameBuilder
from deidscope.frame._values import format_walked
from samples import all_sample_files, short_id, write_dicom


@pytest.fixture
def three_files(tmp_path: Path) -> list[str]:
    paths = []
    for name, patient in [("a", "Alpha"), ("b", "Bravo"), ("c", "Charlie")]:
        path = write_dicom(
            tmp_path / f"{name}.dcm",
            PatientName=patient,
            PatientID=f"id-{name}",
            StudyDescription=f"study {name}",
            # numbers: formatted by format_raw (text is formatted inline)
            Rows=512,
            Columns=256,
            BitsAllocated=16,
            SamplesPerPixel=1,
            PixelRepresentation=0,
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
    real_format = builder_module.format_raw
    real_order = builder_module._in_tag_order
    calls = {"n": 0, "datasets": 0}

    def failing_format(*args: Any) -> str | None:
        # the fourth value of file b fails: three rows of b were already in
        if current["file"] == bad:
            calls["n"] += 1
            if calls["n"] == 4:
                raise make_error()
        return real_format(*args)

    def failing_walk(ds: Any) -> list[Any]:
        # file b's file meta fails: its data set's rows were already in
        if current["file"] == bad:
            calls["datasets"] += 1
            if calls["datasets"] == 2:
                raise make_error()
        return real_order(ds)

    if where == "format":
        monkeypatch.setattr(builder_module, "format_raw", failing_format)
    else:
        monkeypatch.setattr(builder_module, "_in_tag_order", failing_walk)
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
    assert calls["n"] >= 4 or calls["datasets"] >= 2
    pd.testing.assert_frame_equal(df, expected)
    assert "ImageComments" not in set(df.name.cat.categories)


def test_read_identifiers_lists_the_failed_file_and_keeps_the_others(
    three_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good_a, bad, good_c = three_files
    expected = _frame([good_a, good_c])
    real_order = builder_module._in_tag_order

    def failing_walk(ds: Any) -> list[Any]:
        if 0x00204000 in ds:  # ImageComments: only file b has it
            raise MemoryError("planted")
        return real_order(ds)

    real_code = builder_module._new_code

    def failing_code(context: Any, tag: int, *args: Any) -> Any:
        if tag == 0x00204000:  # the one-pass reader fails there too
            raise MemoryError("planted")
        return real_code(context, tag, *args)

    monkeypatch.setattr(builder_module, "_in_tag_order", failing_walk)
    monkeypatch.setattr(builder_module, "_new_code", failing_code)
    df = read_identifiers(three_files, errors="ignore")
    assert sorted(df.file.unique()) == [good_a, good_c]
    pd.testing.assert_frame_equal(
        df.reset_index(drop=True), expected.reset_index(drop=True)
    )
    errors = df.attrs["errors"]
    assert errors.file.tolist() == [bad]
    assert "MemoryError" in errors.error.iloc[0]


def _walked_rows(ds: Any) -> list[tuple[Any, ...]]:
    """The rows the walk and the per-field formatting give, one by one."""
    rows = []
    for walked in iter_fields(ds, skip=DEFAULT_SKIP, fast_items=True):
        uid, name, _, keyword, vr, _, _, is_filemeta, depth, creator = walked
        value = format_walked(walked)
        rows.append(
            (uid, name, vr, uid[-12:], keyword, creator, depth, is_filemeta, value)
        )
    return rows


def _one_pass_rows(ds: Any) -> list[tuple[Any, ...]]:
    keys: dict[Any, int] = {}
    codes: list[int] = []
    values: list[str] = []
    builder_module._add_rows(ds, keys, codes.append, values.append, [])
    table = list(keys)
    return [(*table[code], value) for code, value in zip(codes, values, strict=True)]


@pytest.mark.parametrize("path", all_sample_files(), ids=short_id)
def test_the_one_pass_gives_the_walks_rows(path: str) -> None:
    datasets = []
    quick = read_raw_file(path)
    if quick is not None:
        datasets.append(quick)
    with contextlib.suppress(ReadError):  # only the quick reader reads it
        datasets.append(read_checked(path)[0])
    for ds in datasets:
        assert _one_pass_rows(ds) == _walked_rows(ds)


def _scanned_frame(files: list[str]) -> tuple[pd.DataFrame, int]:
    """The frame of `files` read by the scanner where it can, and how many it read."""
    builder = FrameBuilder()
    scanned = 0
    for file in files:
        found = scan_file(file)
        if found is not None and builder.add_scanned(file, found):
            scanned += 1
        else:
            builder.add_dataset(file, read_header(file)[0])
    return builder.build(), scanned


def _usual_frame(files: list[str]) -> pd.DataFrame:
    """The frame of `files` read the usual way (quick reader or pydicom)."""
    builder = FrameBuilder()
    for file in files:
        builder.add_dataset(file, read_header(file)[0])
    return builder.build()


def _readable_samples() -> list[str]:
    files = []
    for path in all_sample_files():
        try:
            read_header(path)
        except (ReadError, OSError):
            continue
        files.append(path)
    return files


def test_the_scanner_gives_the_usual_rows_on_every_sample_file() -> None:
    files = _readable_samples()
    expected = _usual_frame(files)
    # one builder for all: keys met in earlier files are found in its caches
    df, scanned = _scanned_frame(files)
    pd.testing.assert_frame_equal(df, expected)
    assert scanned > len(files) // 2
    for path in files:  # and file by file, from a fresh builder
        found = scan_file(path)
        if found is None:
            continue
        builder = FrameBuilder()
        if builder.add_scanned(path, found):
            pd.testing.assert_frame_equal(builder.build(), _usual_frame([path]))


def test_the_scanner_reads_implicit_vr_with_us_or_ss_as_pydicom(
    tmp_path: Path,
) -> None:
    from pydicom.uid import ImplicitVRLittleEndian

    paths = []
    for representation in (0, 1):
        path = write_dicom(
            tmp_path / f"pr{representation}.dcm",
            PixelRepresentation=representation,
            BitsAllocated=16,
            SmallestImagePixelValue=7,
            LargestImagePixelValue=300,
            ReferencedImageSequence=[],
        )
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.save_as(path, enforce_file_format=True)
        paths.append(str(path))
    # the usual way reads these with pydicom (ambiguous dictionary VRs)
    assert all(read_raw_file(path) is None for path in paths)
    df, scanned = _scanned_frame(paths)
    assert scanned == 2
    pd.testing.assert_frame_equal(df, _usual_frame(paths))
    smallest = df[df.keyword == "SmallestImagePixelValue"]
    assert smallest.VR.tolist() == ["US", "SS"]
    assert smallest.value.tolist() == ["7", "7"]


def test_the_scanner_leaves_files_out_of_order_to_the_usual_way(
    tmp_path: Path,
) -> None:
    path = write_dicom(tmp_path / "a.dcm", PatientID="first", StudyID="s1")
    data = bytearray(path.read_bytes())
    # swap two top-level elements: PatientName (0010,0010) and PatientID (0010,0020)
    name = data.index(b"\x10\x00\x10\x00PN")
    ident = data.index(b"\x10\x00\x20\x00LO")
    assert ident == name + 8 + int.from_bytes(data[name + 6 : name + 8], "little")
    end = ident + 8 + int.from_bytes(data[ident + 6 : ident + 8], "little")
    first, second = bytes(data[name:ident]), bytes(data[ident:end])
    data[name:end] = second + first
    path.write_bytes(bytes(data))
    found = scan_file(path)
    assert found is not None
    builder = FrameBuilder()
    assert not builder.add_scanned(str(path), found)
    assert len(builder) == 0
    assert not builder.keys
    assert not builder.files
    df = read_identifiers([path], errors="raise")
    pd.testing.assert_frame_equal(df, _usual_frame([str(path)]))
    assert df.loc[df.keyword == "PatientID", "value"].tolist() == ["first"]


@pytest.mark.parametrize("make_error", FAILURES, ids=lambda f: type(f()).__name__)
def test_a_failure_in_the_scanner_leaves_no_row_of_the_file(
    three_files: list[str],
    monkeypatch: pytest.MonkeyPatch,
    make_error: Callable[[], BaseException],
) -> None:
    good_a, bad, good_c = three_files
    expected = _frame([good_a, good_c])
    real_code = builder_module._new_code
    rows_in: list[int] = []

    def failing_code(context: Any, tag: int, *args: Any) -> Any:
        if tag == 0x00204000:  # ImageComments: only file b has it
            rows_in.append(len(builder))
            raise make_error()
        return real_code(context, tag, *args)

    monkeypatch.setattr(builder_module, "_new_code", failing_code)
    builder = FrameBuilder()
    for file in three_files:
        found = scan_file(file)
        assert found is not None
        if file != bad:
            assert builder.add_scanned(file, found)
            continue
        before = len(builder)
        if isinstance(make_error(), Exception):
            assert not builder.add_scanned(file, found)  # read it the usual way
        else:
            with pytest.raises(type(make_error())):
                builder.add_scanned(file, found)
        assert rows_in[0] > before  # some of b's rows were in when it failed
        assert len(builder) == before
    df = builder.build()
    pd.testing.assert_frame_equal(df, expected)
    assert "ImageComments" not in set(df.name.cat.categories)


def test_to_frame_shows_a_name_that_is_not_utf8_escaped(three_files: list[str]) -> None:
    from deidscope import to_frame
    from deidscope.dicom import get_identifiers

    ids = get_identifiers(three_files[:1])
    fields = next(iter(ids.values()))
    odd = "/data/caf\udce9.dcm"  # the byte 0xE9 of a Latin-1 name, as os.walk gives it
    df = to_frame({odd: fields})
    assert df.file.unique().tolist() == ["/data/caf\\xe9.dcm"]
    assert len(df) == len(fields) > 0
