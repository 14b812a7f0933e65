"""PictureCanvas, headless: its traits, and what the editor and the grid do with it.

Setting ``box`` or ``clicks`` from Python stands in for the front end, which
sets them when a drag ends or the picture is clicked (the browser test in
tests/browser drives the real JavaScript).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import traitlets
from PIL import Image

from deidscope.widgets import ThumbnailGrid
from deidscope.widgets._canvas import _CSS, _ESM, PictureCanvas
from deidscope.widgets.box_editor import DISPLAY, DRAFT_COLOUR
from samples import deid_data_files

COOKIES = [f for f in deid_data_files() if "dicom-cookies" in f]
CAT = next(f for f in deid_data_files() if f.endswith("cat.dcm"))


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# -- the canvas's own traits ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ((5, 0, 5, 10), r"PictureCanvas: box must be \(xmin, ymin, xmax, ymax\)"),
        ((0, 9, 5, 3), r"0 <= ymin < ymax, got \(0, 9, 5, 3\)"),
        ((-1, 0, 5, 10), "PictureCanvas: box must be"),
        ((True, 0, 5, 10), "PictureCanvas: box must be four ints"),
        ((0, 0, 5), "box"),
        ((0, 0, 5.5, 10), "box"),
    ],
    ids=["empty-columns", "rows-reversed", "negative", "bool", "three", "float"],
)
def test_widgets_canvas_rejects_bad_boxes(value: Any, match: str) -> None:
    canvas = PictureCanvas()
    with pytest.raises(traitlets.TraitError, match=match):
        canvas.box = value
    assert canvas.box == (0, 0, 1, 1)


def test_widgets_canvas_takes_a_list_from_the_front_end() -> None:
    canvas = PictureCanvas()
    canvas.box = [3, 4, 50, 60]  # JSON arrays arrive as lists
    assert canvas.box == (3, 4, 50, 60)


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("scale", (0.0, 1.0), "PictureCanvas: scale must be two positive numbers"),
        ("scale", (1.0, -2.0), "PictureCanvas: scale must be two positive numbers"),
        ("clicks", -1, "PictureCanvas: clicks cannot be negative, got -1"),
    ],
    ids=["zero-scale", "negative-scale", "negative-clicks"],
)
def test_widgets_canvas_validates_traits(trait: str, value: Any, match: str) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(PictureCanvas(), trait, value)


def test_widgets_canvas_syncs_its_traits() -> None:
    canvas = PictureCanvas(png=b"\x89PNG", drawing=True)
    synced = set(canvas.keys)
    assert {"png", "scale", "drawing", "box", "clicks", "_esm", "_css"} <= synced
    state = canvas.get_state()
    assert state["drawing"] is True
    assert bytes(state["png"]) == b"\x89PNG"


def test_widgets_canvas_javascript_is_inline() -> None:
    assert "http" not in _ESM
    assert "http" not in _CSS
    assert "export default" in _ESM
    assert "function render(" in _ESM
    assert "URL.revokeObjectURL" in _ESM  # old Blob URLs are let go
    assert PictureCanvas()._esm == _ESM


def test_widgets_canvas_javascript_parses(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot check the JavaScript parses")
    module = tmp_path / "canvas.mjs"
    module.write_text(_ESM)
    result = subprocess.run(
        [node, "--check", str(module)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_widgets_canvas_is_not_imported_by_deidscope() -> None:
    code = (
        "import sys, deidscope; "
        "assert 'anywidget' not in sys.modules, 'anywidget imported'; "
        "assert 'deidscope.widgets._canvas' not in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# -- the editor: a box drawn on its picture -----------------------------------------


def test_widgets_editor_canvas_draws_and_scales(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    canvas = grid.editor._canvas
    assert canvas.drawing is True
    assert canvas.png == grid.editor.preview_png()
    ds = pydicom.dcmread(CAT, stop_before_pixels=True)
    rows, columns = _rgb(canvas.png).shape[:2]
    assert max(rows, columns) == DISPLAY  # the whole image, at zoom 1
    assert canvas.offset == (0, 0)
    # the picture behind it is the image at full resolution (at most 2048)
    assert max(grid.editor._picture.shape[:2]) == 2048
    row_scale, column_scale = canvas.scale
    assert row_scale == pytest.approx(ds.Rows / rows)
    assert column_scale == pytest.approx(ds.Columns / columns)


def test_widgets_editor_box_from_the_canvas_sets_the_draft(
    grid: ThumbnailGrid,
) -> None:
    grid.show(CAT)
    editor = grid.editor
    before = editor.preview_png()
    editor._canvas.box = (12, 34, 150, 90)  # as the front end does on mouseup
    assert editor.draft_box == (12, 34, 150, 90)
    assert editor._corners.value == "12,34,150,90"
    assert editor._xrange.value == (12, 150)
    assert editor._yrange.value == (34, 90)
    assert editor.label().splitlines()[-1] == "  coordinates 12,34,150,90"
    assert editor.label().startswith("LABEL ")
    after = editor.preview_png()
    assert after != before
    assert editor._canvas.png == after
    # the yellow box is drawn where the canvas said, in the PNG's pixels
    row_scale, column_scale = editor._canvas.scale
    (top, bottom), (left, right) = _yellow(after)
    assert left == pytest.approx(12 / column_scale, abs=2)
    assert right == pytest.approx(150 / column_scale, abs=3)
    assert top == pytest.approx(34 / row_scale, abs=2)
    assert bottom == pytest.approx(90 / row_scale, abs=3)


def test_widgets_editor_zooms_and_pans_in_image_pixels(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    editor = grid.editor
    ds = pydicom.dcmread(CAT, stop_before_pixels=True)
    editor.zoom = 4
    x0, y0, x1, y1 = editor.view()
    assert (x1 - x0, y1 - y0) == (-(-ds.Columns // 4), -(-ds.Rows // 4))
    assert (x0 + x1) // 2 == pytest.approx(ds.Columns // 2, abs=1)  # centred
    canvas = editor._canvas
    assert canvas.offset == (x0, y0)
    rows, columns = _rgb(canvas.png).shape[:2]
    assert max(rows, columns) == DISPLAY
    assert canvas.scale == pytest.approx(((y1 - y0) / rows, (x1 - x0) / columns))
    editor._pan_x.value = 0  # pan to the left edge
    editor._pan_y.value = ds.Rows  # and the bottom
    assert editor.view()[0] == 0
    assert editor.view()[3] == ds.Rows
    assert canvas.offset == (0, editor.view()[1])
    # a box the front end reports (offset added) is the draft, in image pixels
    canvas.box = (10, ds.Rows - 100, 60, ds.Rows - 50)
    assert editor.draft_box == (10, ds.Rows - 100, 60, ds.Rows - 50)
    (top, _), (left, _) = _yellow(canvas.png)
    row_scale, column_scale = canvas.scale
    assert left == pytest.approx(10 / column_scale, abs=2)
    assert top == pytest.approx((ds.Rows - 100 - canvas.offset[1]) / row_scale, abs=2)
    with pytest.raises(traitlets.TraitError, match="zoom"):
        editor.zoom = 0


def test_widgets_canvas_offset_is_checked() -> None:
    canvas = PictureCanvas()
    with pytest.raises(traitlets.TraitError, match="offset"):
        canvas.offset = (-1, 0)
    assert "offset" in _ESM


def _yellow(data: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    rows, columns = np.nonzero(np.all(_rgb(data) == DRAFT_COLOUR, axis=2))
    return (int(rows.min()), int(rows.max())), (int(columns.min()), int(columns.max()))


def test_widgets_editor_typed_corners_move_the_canvas_box(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    editor = grid.editor
    editor._canvas.box = (1, 2, 30, 40)
    editor._corners.value = "10, 20, 300, 80"
    assert editor._canvas.box == (10, 20, 300, 80)
    editor._yrange.value = (5, 50)
    assert editor._canvas.box == (10, 5, 300, 50)
    # drawing the first box again is a change again, so the draft follows
    editor._canvas.box = (1, 2, 30, 40)
    assert editor.draft_box == (1, 2, 30, 40)


def test_widgets_editor_box_from_the_canvas_adds_the_label(
    grid: ThumbnailGrid,
) -> None:
    grid.show(CAT)
    grid.editor._canvas.box = (0, 0, 200, 40)
    grid.editor._add.click()
    assert "LABEL Burned-in text on Agfa DXD60_1000G DX" in grid.recipe_text
    assert "  coordinates 0,0,200,40" in grid.recipe_text.splitlines()
    assert "This LABEL flags 1 of 8 files" in grid.editor.note


def test_widgets_editor_clear_shows_the_placeholder(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    grid.editor.clear(note="nothing")
    assert np.asarray(Image.open(io.BytesIO(grid.editor._canvas.png))).std() == 0
    assert grid.editor._canvas.scale == (1.0, 1.0)


# -- the grid: a click on a picture -------------------------------------------------


def test_widgets_grid_tiles_are_canvases(grid: ThumbnailGrid) -> None:
    tiles = grid._images[: len(grid.page_files)]
    assert all(isinstance(tile, PictureCanvas) for tile in tiles)
    assert not any(tile.drawing for tile in tiles)
    assert [tile.png for tile in tiles] == list(grid.page_png.values())


def test_widgets_grid_picture_click_opens_the_file(grid: ThumbnailGrid) -> None:
    assert grid.shown_file == ""
    grid._images[2].clicks += 1  # as the front end does on a click
    assert grid.shown_file == grid.page_files[2]
    assert set(grid.header["file"].astype(str)) == {grid.page_files[2]}
    assert grid._detail.layout.display is None
    assert grid.editor.path == grid.page_files[2]
    by_picture = grid.editor.preview_png()
    grid._images[0].clicks += 1
    assert grid.shown_file == grid.page_files[0]
    grid._names[2].click()  # the name button opens the same file the same way
    assert grid.shown_file == grid.page_files[2]
    assert grid.editor.preview_png() == by_picture


def test_widgets_grid_picture_click_follows_the_page(grid: ThumbnailGrid) -> None:
    grid._next.click()
    grid._images[1].clicks += 1
    assert grid.shown_file == grid.files[grid.page_size + 1]
