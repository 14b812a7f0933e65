"""Preview gives the headers deid's replace_identifiers gives, file by file.

deid 0.4.13 runs for real on deid-data and pydicom's sample files (nested
sequences, private blocks, file meta) with deid's own recipes, the recipes of
its documentation and examples, and recipes written to stress its rules; the
values it leaves in each dataset must be the values our preview says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _recipe_helpers import (
    DATA,
    deid_result,
    parity_files,
    preview_result,
    recipe_id,
    shipped_recipes,
    without_followers,
)
from deidscope.recipe import Recipe

# Recipes on which deid 0.4.13 itself fails with these files, and why.
DEID_FAILS = {
    "deid.dicom-groups": "REPLACE values: hits a sequence; deid sets a str on it",
    "recipe-groups-example.dicom": "REPLACE values: hits a sequence",
    "recipe-groups.dicom": "minlength='4' as documented: deid calls int(\"'4'\")",
    "recipe-headers-rules.dicom": "JITTER by a date (var:entity_timestamp) overflows",
    "recipe-headers-fragments.dicom": "ADD MyNewField: not a keyword, deid fails",
    "header-expanders.dicom": "REPLACE all func: on numbers; pydicom refuses",
}

_RECIPES = [
    p
    for p in [
        *shipped_recipes(),
        *sorted((DATA / "examples").iterdir()),
        *sorted((DATA / "docs").iterdir()),
        *sorted((DATA / "stress").glob("*.dicom")),
    ]
    if p.name not in DEID_FAILS
]


@pytest.fixture(scope="module")
def files() -> list[str]:
    return parity_files()


@pytest.mark.parity
@pytest.mark.parametrize("path", _RECIPES, ids=recipe_id)
def test_preview_gives_deids_headers(path: Path, files: list[str]) -> None:
    recipe = Recipe.from_file(path)
    ours = preview_result(recipe, files)
    theirs = deid_result(path, files)
    mine, deids = without_followers(ours, theirs)
    assert mine == deids


def test_parity_recipes_change_things(files: list[str]) -> None:
    """The comparison is not vacuous: the stress recipes change many values."""
    changed = 0
    for path in sorted((DATA / "stress").glob("*.dicom")):
        before = preview_result(Recipe(), files)
        after = preview_result(Recipe.from_file(path), files)
        changed += sum(before.get(k) != v for k, v in after.items())
        changed += len(set(before) - set(after))
    assert changed > 500


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(DEID_FAILS))
def test_recipes_deid_fails_on_still_preview(name: str, files: list[str]) -> None:
    path = next(DATA.rglob(name))
    with pytest.raises(Exception):  # noqa: B017, PT011 - deid's own failure
        deid_result(path, files)
    preview_result(Recipe.from_file(path), files)
