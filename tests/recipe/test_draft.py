"""Drafting a %filter LABEL from a box: text helpers, and deid reads what they write."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import deidscope
from deidscope.errors import InputError
from deidscope.recipe import (
    Recipe,
    add_filter_label,
    format_box,
    format_label,
    header_values,
    label_criteria,
)
from deidscope.recipe._draft import CRITERIA_FIELDS
from samples import deid_data_files

FILES = [f for f in deid_data_files() if "dicom-cookies" not in f] + [
    f for f in deid_data_files() if f.endswith("image1.dcm")
]


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return deidscope.read_identifiers(FILES, errors="ignore")


def _key(values: dict[str, str | None]) -> tuple[str | None, ...]:
    return tuple(None if v is None else v.lower() for v in values.values())


@pytest.mark.parity
@pytest.mark.parametrize("path", FILES, ids=[Path(f).name for f in FILES])
def test_widgets_drafted_label_flags_like_deid(
    df: pd.DataFrame, path: str, tmp_path: Path
) -> None:
    """deid's DeidRecipe reads the drafted LABEL; its detector flags the same files."""
    from deid.config import DeidRecipe
    from deid.dicom import has_burned_pixels

    values = header_values(df, path)
    block = format_label("Drafted", label_criteria(values), [(0, 0, 64, 32)])
    text = add_filter_label("", block, group="graylist")
    recipe_path = tmp_path / "deid.drafted"
    recipe_path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = has_burned_pixels(FILES, deid=DeidRecipe(str(recipe_path)))
    flagged = set(result["flagged"])
    expected = {f for f in FILES if _key(header_values(df, f)) == _key(values)}
    assert path in flagged
    assert flagged == expected
    coordinates = result["flagged"][path]["results"][0]["coordinates"]
    assert coordinates == [[0, "0,0,64,32"]]
    assert Recipe.from_text(text).to_text().count("LABEL Drafted") == 1


def test_widgets_header_values(df: pd.DataFrame) -> None:
    cat = next(f for f in FILES if f.endswith("cat.dcm"))
    assert header_values(df, cat) == {
        "Manufacturer": "Agfa",
        "ManufacturerModelName": "DXD60_1000G",
        "Modality": "DX",
    }
    cookie = next(f for f in FILES if f.endswith("image1.dcm"))
    assert header_values(df, cookie) == dict.fromkeys(CRITERIA_FIELDS)


@pytest.mark.parametrize(
    ("values", "criteria"),
    [
        ({"Manufacturer": "GE"}, ["equals Manufacturer GE"]),
        ({"Modality": ""}, ["empty Modality"]),
        ({"Modality": None}, ["missing Modality"]),
        (
            {"ManufacturerModelName": "SOMATOM Definition AS+"},
            ["equals ManufacturerModelName SOMATOM Definition AS+"],
        ),
        ({"Manufacturer": "A + contains X"}, []),
        ({"Manufacturer": "two\nlines"}, []),
    ],
    ids=["equals", "empty", "missing", "plus-at-end", "plus-filter-word", "newline"],
)
def test_widgets_label_criteria(
    values: dict[str, str | None], criteria: list[str]
) -> None:
    assert label_criteria(values) == criteria


def test_widgets_label_criteria_rejects_non_keywords() -> None:
    with pytest.raises(InputError, match="expected a DICOM keyword"):
        label_criteria({"0010,0010": "x"})


@pytest.mark.parametrize(
    ("box", "match"),
    [
        ((0, 0, 10), "four ints"),
        ((0.5, 0, 10, 10), "four ints"),
        ((10, 0, 5, 10), "xmin < xmax"),
        ((-1, 0, 5, 10), "0 <= xmin"),
    ],
    ids=["three", "float", "inverted", "negative"],
)
def test_widgets_format_box_rejects(box: tuple[float, ...], match: str) -> None:
    with pytest.raises(InputError, match=match):
        format_box(box)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "criteria", "match"),
    [
        ("", ["empty Modality"], "one-line label name"),
        ("a # b", ["empty Modality"], "one-line label name"),
        ("ok", [], "at least one criterion"),
    ],
    ids=["empty-name", "hash", "no-criteria"],
)
def test_widgets_format_label_rejects(
    name: str, criteria: list[str], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        format_label(name, criteria)


def test_widgets_add_filter_label_to_existing_group() -> None:
    text = (
        "FORMAT dicom\n\n%filter graylist\n\nLABEL a\n  empty Modality\n\n\n"
        "%header\n\nREMOVE PatientName\n"
    )
    new = add_filter_label(text, "LABEL b\n  missing Manufacturer\n")
    recipe = Recipe.from_text(new)
    (group,) = recipe.filters
    assert [label.name for label in group.labels] == ["a", "b"]
    assert [a.field for a in recipe.header] == ["PatientName"]
    assert text.count("LABEL") == 1  # the input string is untouched


def test_widgets_add_filter_label_new_group_before_header() -> None:
    text = "FORMAT dicom\n\n%header\n\nREMOVE PatientName\n"
    new = add_filter_label(text, "LABEL b\n  missing Manufacturer\n", group="blacklist")
    assert new.index("%filter blacklist") < new.index("%header")
    recipe = Recipe.from_text(new)
    assert [g.name for g in recipe.filters] == ["blacklist"]


def test_widgets_add_filter_label_rejects_unknown_group() -> None:
    with pytest.raises(InputError, match="expected group in"):
        add_filter_label("", "LABEL b\n  empty Modality\n", group="purple")
