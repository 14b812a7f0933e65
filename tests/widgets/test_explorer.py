"""deidscope.explore: the three widgets in tabs, wired together."""

from __future__ import annotations

import subprocess
import sys

import pytest

import deidscope
from deidscope.data import get_dataset
from deidscope.errors import InputError
from deidscope.widgets import Explorer, FieldBrowser, RecipeBuilder, ThumbnailGrid
from samples import deid_data_files

COOKIES = [f for f in deid_data_files() if "dicom-cookies" in f]
CAT = next(f for f in deid_data_files() if f.endswith("cat.dcm"))


def test_widgets_explore_a_folder() -> None:
    explorer = deidscope.explore(get_dataset("dicom-cookies"))
    try:
        assert isinstance(explorer, Explorer)
        assert explorer.titles == ("Fields", "Images", "Recipe")
        assert isinstance(explorer.browser, FieldBrowser)
        assert isinstance(explorer.thumbnails, ThumbnailGrid)
        assert isinstance(explorer.builder, RecipeBuilder)
        assert len(explorer.thumbnails.files) == 7
        explorer.browser.text = "PatientName"
        explorer.browser._pick_all.click()
        assert explorer.builder.fields == ("PatientName",)  # browser -> builder
        explorer.thumbnails.show(explorer.thumbnails.files[0])
        explorer.thumbnails.editor.draft_box = (0, 0, 100, 20)
        explorer.thumbnails.editor._add.click()  # thumbnails -> builder
        assert "coordinates 0,0,100,20" in explorer.builder.recipe_text
        assert explorer.thumbnails.recipe_text == explorer.builder.recipe_text
        assert explorer.thumbnails.wait(timeout=60)
        assert all(explorer.thumbnails.page_png.values())
    finally:
        explorer.close()


def test_widgets_explore_a_frame() -> None:
    df = deidscope.read_identifiers(get_dataset("dicom-cookies"))
    explorer = deidscope.explore(df, page_size=5)
    try:
        assert explorer.df is df
        assert explorer.browser.page_size == 5
        assert explorer.browser._grid._row_count == len(df)
    finally:
        explorer.close()


def test_widgets_explore_with_a_recipe() -> None:
    recipe = "FORMAT dicom\n\n%header\n\nREMOVE PatientID\n"
    explorer = deidscope.explore(get_dataset("dicom-cookies"), recipe=recipe)
    try:
        assert [a.field for a in explorer.builder.recipe.header] == ["PatientID"]
        assert explorer.thumbnails.flags is not None
        assert not explorer.thumbnails.flags["flagged"].any()  # no %filter
        assert explorer.builder.preview is not None
        assert set(explorer.builder.preview["action"]) == {"REMOVE"}
    finally:
        explorer.close()


def test_widgets_explore_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="Explorer: expected a folder, files or an"):
        deidscope.explore(3.5)


def test_widgets_import_deidscope_does_not_import_ipywidgets() -> None:
    code = "import sys, deidscope; print('ipywidgets' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_widgets_explore_thumbnails_follow_the_builder() -> None:
    files = [*COOKIES, CAT]
    explorer = deidscope.explore(files)
    grid, builder = explorer.thumbnails, explorer.builder
    try:
        assert not grid.flagged(CAT)
        slot = grid.page_files.index(CAT)
        assert "deidscope-flagged" not in grid._tiles[slot]._dom_classes
        grid.show(CAT)
        grid.editor.draft_box = (0, 0, 200, 40)
        grid.editor._add.click()  # the LABEL goes to the builder's recipe
        assert "coordinates 0,0,200,40" in builder.recipe_text
        assert grid.flagged(CAT)  # and the grid flags with it
        assert grid.flags is not None
        assert grid.flags["flagged"].sum() == 1
        assert "deidscope-flagged" in grid._tiles[slot]._dom_classes
        assert "1 flagged" in grid._status.value
        builder.recipe_text = "FORMAT dicom\n\n%header\n\nREMOVE PatientID\n"
        assert not grid.flagged(CAT)  # an edit in the builder flags again
        assert "deidscope-flagged" not in grid._tiles[slot]._dom_classes
        builder.recipe_text = (
            "FORMAT dicom\n\n%filter graylist\n\nLABEL Cookies\n"
            "  missing Modality\n  coordinates 0,0,10,10\n"
        )
        assert grid.flags is not None
        flagged = set(grid.flags.index[grid.flags["flagged"]])
        assert flagged == set(files[:-1])  # every cookie, not the cat
    finally:
        explorer.close()
