"""detect: deid's DicomCleaner.detect, file for file, on the whole frame."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pydicom
import pytest

import deidscope
from deidscope.dicom import get_identifiers
from deidscope.errors import InputError, ReadError, ReadErrorsWarning, RecipeSyntaxError
from deidscope.files import read_dataset
from deidscope.pixels import DEFAULT_RECIPE, clean, detect
from deidscope.pixels._criteria import (
    dataset_answer,
    field_values,
    frame_answers,
    needs_dataset,
    tag_text,
)
from deidscope.pixels.detection import DETECT_COLUMNS
from deidscope.recipe import Recipe
from pixels_helpers import deid_detect_and_clean, deid_recipe_path
from samples import all_sample_files, deid_data_files, short_id

# Tests the frame cannot answer, deid's misaligned values, and odd fields:
# each LABEL here exercises one corner of deid's filter code.
QUIRKS = r"""FORMAT dicom

%filter graylist

LABEL tag field compares the element repr
  contains 0x00080060 MR|US

LABEL skipped element
  present PixelData

LABEL value shifts after a test without one
  missing InstitutionName || contains Modality MR

LABEL zero is empty
  empty PixelRepresentation

LABEL multi-valued text is a list
  contains ImageType \['original', 'primary'

LABEL equals a number
  equals Rows 512
  + notequals Columns 512

LABEL sequence text
  contains ReferencedImageSequence 1\.2\.840

LABEL empty sequence
  empty PatientBreedCodeSequence

LABEL not a keyword
  missing PatientsName

LABEL or then and, left to right
  contains Modality CT || contains Modality MR + contains PatientSex F
  ctpcoordinates 1,2,3,4
"""


def _paths(name: str) -> str:
    return DEFAULT_RECIPE if name == "default" else deid_recipe_path(name)


@functools.cache
def _frame() -> pd.DataFrame:
    return deidscope.read_identifiers(all_sample_files(), errors="ignore")


def _deid_detect(path: str, recipe_path: str) -> dict:
    from deid.dicom import DicomCleaner

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return DicomCleaner(deid=recipe_path).detect(path)


def _expected(result: dict, ds) -> tuple[list, list]:
    """deid's coordinates as boxes; "all" needs the image size."""
    blank, keep = [], []
    for item in result["results"]:
        for mask, value in item["coordinates"]:
            for text in value if isinstance(value, list) else [value]:
                if text.lower() == "all":
                    if "Rows" not in ds or "Columns" not in ds:
                        continue  # deid's cleaner cannot blank a non-image either
                    box = (0, 0, ds.Columns, ds.Rows)
                else:
                    box = tuple(int(part) for part in text.split(","))
                (keep if mask == 1 else blank).append(box)
    return blank, keep


def _compare(recipe_path: str, frame: pd.DataFrame) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = detect(frame, recipe_path, errors="ignore").set_index("file")
    diffs = []
    for path in all_sample_files():
        theirs = _deid_detect(path, recipe_path)
        ds = read_dataset(path)
        row = ours.loc[path]
        group = theirs["results"][0]["group"] if theirs["results"] else None
        blank, keep = _expected(theirs, ds)
        got = (
            bool(row.flagged),
            row.group,
            list(row.coordinates),
            list(row.keep_coordinates),
        )
        want = (theirs["flagged"], group, blank, keep)
        if got != want:
            diffs.append(f"{short_id(path)}: ours {got}, deid {want}")
    return diffs


@pytest.mark.parity
@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["deid.dicom", "deid.dicom.ultrasound", "deid.dicom.xray.chest", "default"]
)
def test_detect_equals_deid(name: str) -> None:
    assert _compare(_paths(name), _frame()) == []


@pytest.mark.parity
@pytest.mark.slow
def test_detect_equals_deid_on_quirks(tmp_path) -> None:
    path = tmp_path / "quirks.deid"
    path.write_text(QUIRKS)
    assert _compare(str(path), _frame()) == []
    flags = detect(_frame(), str(path), errors="ignore")
    hits = {label for row in flags["matches"] for _, label in row}
    # the corners are exercised, not just parsed
    for label in ("skipped element", "zero is empty", "multi-valued text is a list"):
        assert label in hits


@pytest.mark.slow
def test_frame_answers_equal_pydicom_answers() -> None:
    """Every test the frame answers agrees with deid's test on the dataset."""
    frame = _frame()
    files = list(dict.fromkeys(frame["file"].astype(str)))
    position = {f: i for i, f in enumerate(files)}
    codes = np.array([position[f] for f in frame["file"].astype(str)])
    top = ((frame["depth"] == 0) & ~frame["is_filemeta"]).to_numpy()
    datasets = {f: read_dataset(f) for f in files}
    keywords = sorted({k for k in frame.loc[top, "keyword"].astype(str) if k})
    checked = 0
    for keyword in keywords:
        rows = np.flatnonzero(top & (frame["tag"].astype(str) == tag_text(keyword)))
        values = field_values(
            len(files),
            codes[rows],
            frame["VR"].to_numpy()[rows].astype(str),
            frame["value"].to_numpy(dtype=object, na_value="")[rows],
        )
        own = [str(v) for v in frame["value"].to_numpy(dtype=object)[rows][:1]]
        for action in ("missing", "present", "empty", "contains", "equals"):
            tried = [None] if action in ("missing", "present", "empty") else []
            for value in tried or ["", "1", *own, *(v[:4] for v in own)]:
                try:
                    re.compile(str(value).lower().strip())
                except re.error:
                    continue
                got = frame_answers(action, values, value)
                need = needs_dataset(action, values)
                for f in files:
                    i = position[f]
                    if need[i]:
                        continue
                    want = dataset_answer(datasets[f], action, keyword, value)
                    assert bool(got[i]) == want, (keyword, action, value, short_id(f))
                    checked += 1
    assert checked > 50_000


def test_detect_result_shape_and_paths_input() -> None:
    files = [f for f in deid_data_files() if "ultrasound" in f]
    flags = detect(files, DEFAULT_RECIPE)
    assert tuple(flags.columns) == DETECT_COLUMNS
    assert flags["file"].tolist() == files
    assert flags["flagged"].dtype == bool
    row = flags.set_index("file").loc[files[0]]
    assert row.group == "graylist"
    assert row.label == "Ultrasound outside its imaging regions"
    assert row.reason == "contains Modality ^US$ + present SequenceOfUltrasoundRegions"
    assert row.coordinates == [(0, 0, 1024, 768)]
    assert row.keep_coordinates == [(14, 38, 1010, 758)]
    assert row.matches == [
        ("graylist", "Ultrasound outside its imaging regions"),
        ("blacklist", "Burned-in annotation declared"),  # it says YES
    ]


def test_unflagged_rows_have_none() -> None:
    recipe = Recipe.from_text(
        "FORMAT dicom\n%filter blacklist\nLABEL never\n  contains Modality ^XYZ$\n"
    )
    flags = detect(deid_data_files()[:2], recipe)
    assert not flags["flagged"].any()
    assert flags["group"].tolist() == [None, None]
    assert flags["coordinates"].tolist() == [[], []]


def test_from_sequence_without_nested_rows_reads_the_file() -> None:
    files = [f for f in deid_data_files() if "ultrasound" in f]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = deidscope.to_frame(get_identifiers(files, expand_sequences=False))
    assert not (flat["depth"] > 0).any()
    nested = detect(files, DEFAULT_RECIPE)
    flat_flags = detect(flat, DEFAULT_RECIPE)
    assert (
        flat_flags["keep_coordinates"].tolist() == nested["keep_coordinates"].tolist()
    )
    assert all(flat_flags["keep_coordinates"])


def test_detect_does_not_modify_the_frame() -> None:
    frame = deidscope.read_identifiers(deid_data_files(), errors="ignore")
    before = frame.copy()
    detect(frame, deid_recipe_path("deid.dicom"))
    pd.testing.assert_frame_equal(frame, before)


def test_unreadable_files_are_reported_not_fatal(tmp_path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 20)
    good = deid_data_files()[0]
    message = "detect: 1 of 2 files could not be read"
    with pytest.warns(ReadErrorsWarning, match=message):
        flags = detect([good, str(bad)], DEFAULT_RECIPE)
    assert flags["file"].tolist() == [good]
    errors = flags.attrs["errors"]
    assert errors["file"].tolist() == [str(bad)]
    with pytest.raises(ReadError, match=r"bad\.dcm"):
        detect([good, str(bad)], DEFAULT_RECIPE, errors="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detect([good, str(bad)], DEFAULT_RECIPE, errors="ignore")


def test_a_frame_whose_file_is_gone_reports_the_test_it_could_not_do(tmp_path) -> None:
    path = tmp_path / "gone.dcm"
    shutil.copy(deid_data_files()[0], path)
    frame = deidscope.read_identifiers([path])
    os.remove(path)
    recipe = Recipe.from_text("FORMAT dicom\n%filter x\nLABEL y\n  present PixelData\n")
    with pytest.warns(ReadErrorsWarning):
        flags = detect(frame, recipe)
    assert "cannot be read" in flags.attrs["errors"]["error"][0]


@pytest.mark.parametrize(
    ("recipe", "error", "message"),
    [
        (42, InputError, "detect: expected a Recipe, recipe text or a recipe file"),
        (
            Recipe.from_text(
                "FORMAT dicom\n%filter x\nLABEL y\n  contains Modality (\n"
            ),
            RecipeSyntaxError,
            r"line 4: detect: not a regular expression",
        ),
    ],
    ids=["not-a-recipe", "bad-regex"],
)
def test_detect_bad_recipe(recipe, error, message) -> None:
    with pytest.raises(error, match=message):
        detect(deid_data_files()[:1], recipe)


def test_detect_bad_frame_and_option() -> None:
    with pytest.raises(InputError, match=r"detect: .* but it lacks .*tag"):
        detect(pd.DataFrame({"file": ["x"]}), DEFAULT_RECIPE)
    with pytest.raises(InputError, match="errors must be"):
        detect(deid_data_files()[:1], DEFAULT_RECIPE, errors="loud")


@pytest.mark.parity
@pytest.mark.parametrize(
    "path",
    [f for f in deid_data_files() if "cookies" in f or "ultrasounds" in f],
    ids=short_id,
)
def test_detect_then_clean_equals_deid(path: str, tmp_path) -> None:
    recipe = deid_recipe_path("deid.dicom.ultrasound")
    _, theirs = deid_detect_and_clean(path, "deid.dicom.ultrasound", tmp_path)
    row = detect([path], recipe).iloc[0]
    out = clean(
        path, row.coordinates, keep=row.keep_coordinates, output=tmp_path / "o.dcm"
    )
    np.testing.assert_array_equal(pydicom.dcmread(out).pixel_array, theirs)
