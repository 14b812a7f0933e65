"""The public API contract: names, signatures and columns others rely on."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import deidscope
from deidscope import audit, pixels, read_identifiers, to_frame
from deidscope.cli import main
from deidscope.data import get_dataset
from deidscope.dicom import (
    DEFAULT_SKIP,
    DicomField,
    get_files,
    get_identifiers,
    replace_identifiers,
)
from deidscope.recipe import Recipe


def _parameters(function: Callable[..., Any]) -> list[tuple[str, str, Any]]:
    return [
        (p.name, p.kind.name, p.default)
        for p in inspect.signature(function).parameters.values()
    ]


KW = "KEYWORD_ONLY"
POS = "POSITIONAL_OR_KEYWORD"
EMPTY = inspect.Parameter.empty


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (get_files, [("contenders", POS, EMPTY), ("check", POS, True),
                     ("pattern", POS, None), ("force", POS, False),
                     ("tempdir", POS, None)]),
        (read_identifiers, [("paths", POS, EMPTY), ("workers", KW, None),
                            ("progress", KW, None), ("errors", KW, "warn")]),
        (to_frame, [("ids", POS, EMPTY)]),
        (pixels.thumbnail, [("path_or_ds", POS, EMPTY), ("size", KW, 128),
                            ("frame", KW, None)]),
        (main, [("argv", POS, None)]),
    ],
    ids=["get_files", "read_identifiers", "to_frame", "thumbnail", "cli.main"],
)  # fmt: skip
def test_signatures_are_the_contracts(
    function: Callable[..., Any], expected: list[tuple[str, str, Any]]
) -> None:
    assert _parameters(function) == expected


def test_get_identifiers_takes_deids_keywords() -> None:
    params = _parameters(get_identifiers)
    assert params[:-1] == [
        ("dicom_files", POS, EMPTY),
        ("force", POS, True),
        ("config", POS, None),
        ("strip_sequences", POS, False),
        ("remove_private", POS, False),
        ("disable_skip", POS, False),
        ("expand_sequences", POS, True),
        ("skip", POS, DEFAULT_SKIP),
    ]
    assert params[-1] == ("errors", KW, "warn")


@pytest.mark.parametrize(
    ("function", "first", "keywords"),
    [
        (replace_identifiers, ["dicom_files", "ids", "deid", "save"],
         ["output_folder", "overwrite"]),
        (Recipe.preview, ["self", "df_or_ids", "lookup"], []),
        (pixels.detect, ["df_or_paths", "recipe"], []),
        (pixels.clean, ["path", "boxes"], ["output"]),
        (audit.profile, ["df"], []),
        (audit.report, ["df", "path"], []),
        (audit.coverage, ["df", "recipe"], []),
        (audit.leaks, ["before_df", "after_df"], []),
        (audit.compare, ["before_df", "after_df"], []),
    ],
    ids=lambda v: getattr(v, "__qualname__", None) or "",
)  # fmt: skip
def test_other_public_functions(
    function: Callable[..., Any], first: list[str], keywords: list[str]
) -> None:
    names = [name for name, _, _ in _parameters(function)]
    assert names[: len(first)] == first
    assert set(keywords) <= set(names)


def test_public_names_exist() -> None:
    from deidscope import widgets

    for name in ("FieldBrowser", "ThumbnailGrid", "RecipeBuilder"):
        assert isinstance(getattr(widgets, name), type)
    for name in ("from_file", "from_text", "to_text", "preview", "matches", "lint"):
        assert callable(getattr(Recipe, name))
    assert callable(deidscope.explore)
    for name in ("element", "name", "uid", "tag", "stripped_tag", "is_filemeta"):
        assert hasattr(DicomField, name) or name in DicomField.__slots__
    for name in ("name_contains", "value_contains", "select_matches"):
        assert callable(getattr(DicomField, name))


def test_recipe_preview_columns(cookie_files: list[str]) -> None:
    df = read_identifiers(cookie_files[:2])
    preview = Recipe.from_text(
        "FORMAT dicom\n%header\nREPLACE PatientName anonymous\n"
    ).preview(df)
    assert list(preview.columns)[:6] == [
        "file",
        "uid",
        "before",
        "after",
        "action",
        "line",
    ]
    assert set(preview["after"]) == {"anonymous"}


def test_detect_columns(cookie_files: list[str]) -> None:
    flags = pixels.detect(cookie_files[:2], Recipe.from_file(pixels.DEFAULT_RECIPE))
    for column in (
        "file",
        "flagged",
        "group",
        "label",
        "reason",
        "coordinates",
        "keep_coordinates",
    ):
        assert column in flags.columns
    assert len(flags) == 2


def test_sample_dataset_names() -> None:
    for name in ("dicom-cookies", "animals", "humans", "ultrasounds"):
        assert get_dataset(name)
