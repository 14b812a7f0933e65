"""deidscope.explore: the three widgets in tabs, wired together."""

from __future__ import annotations

import subprocess
import sys

import pytest

import deidscope
from deidscope.data import get_dataset
from deidscope.errors import InputError
from deidscope.widgets import Explorer, FieldBrowser, RecipeBuilder, ThumbnailGrid


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
        assert len(explorer.browser.page_rows) == 5
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
