"""ThumbnailGrid, headless: PNG bytes, paging, header on click, drafting."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydicom
import pytest
import traitlets
from PIL import Image

import deidscope
import deidscope.widgets.thumbnails as thumbnails_module
from deidscope.errors import InputError
from deidscope.widgets import ThumbnailGrid
from deidscope.widgets._common import optional_function
from deidscope.widgets.thumbnails import boxes_png, to_png
from samples import deid_data_files

COOKIES = [f for f in deid_data_files() if "dicom-cookies" in f]
CAT = next(f for f in deid_data_files() if f.endswith("cat.dcm"))


def _stand_in_thumbnail(
    path: str, *, size: int = 128, frame: int | None = None
) -> np.ndarray:
    """pydicom's array, strided down: used only until deidscope.pixels lands."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array.astype(float)
    if arr.ndim == 3 and arr.shape[-1] != 3:
        arr = arr[arr.shape[0] // 2]
    step = max(1, -(-max(arr.shape[:2]) // size))
    arr = arr[::step, ::step]
    arr = (arr - arr.min()) / max(1e-9, float(np.ptp(arr))) * 255
    return arr.astype(np.uint8)


@pytest.fixture(autouse=True)
def thumbnail_source(monkeypatch: pytest.MonkeyPatch) -> None:
    if optional_function("deidscope.pixels", "thumbnail") is None:
        monkeypatch.setattr(
            thumbnails_module, "_thumbnail_function", lambda: _stand_in_thumbnail
        )


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return deidscope.read_identifiers([*COOKIES, CAT])


@pytest.fixture
def grid(df: pd.DataFrame) -> Iterator[ThumbnailGrid]:
    widget = ThumbnailGrid(df, page_size=4, size=64)
    assert widget.wait(timeout=60)
    yield widget
    widget.close()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def test_widgets_grid_first_page_holds_real_pictures(grid: ThumbnailGrid) -> None:
    assert grid.files[:4] == COOKIES[:4]
    pngs = grid.page_png
    assert list(pngs) == COOKIES[:4]
    for data in pngs.values():
        assert data is not None
        image = _decode(data)
        assert max(image.shape) <= 64
        assert image.std() > 5  # not blank
    assert grid.shown_png() == list(pngs.values())
    assert "8 files" in grid._status.value


def test_widgets_grid_pages_and_caches(
    grid: ThumbnailGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid._next.click()
    assert grid.page == 1
    assert grid.wait(timeout=60)
    assert grid.page_files == [*COOKIES[4:], CAT]
    assert all(v is not None for v in grid.page_png.values())
    calls: list[str] = []
    monkeypatch.setattr(
        thumbnails_module,
        "_thumbnail_function",
        lambda: lambda path, **kw: calls.append(path) or np.zeros((4, 4), np.uint8),
    )
    grid._prev.click()
    assert grid.wait(timeout=60)
    assert calls == []  # page 0 came from the cache
    assert grid._prev.disabled


def test_widgets_grid_bad_file_is_reported_not_fatal(tmp_path: Path) -> None:
    broken = tmp_path / "no-pixels.dcm"
    ds = pydicom.dcmread(COOKIES[0], stop_before_pixels=True)
    ds.save_as(broken)
    grid = ThumbnailGrid([COOKIES[0], str(broken)], size=64)
    try:
        assert grid.wait(timeout=60)
        assert str(broken) in grid.errors
        assert grid.png(COOKIES[0]) is not None
        assert "deidscope-error" in grid._notes[1].value
    finally:
        grid.close()


def test_widgets_grid_click_shows_header(grid: ThumbnailGrid) -> None:
    grid._names[1].click()
    assert grid.shown_file == COOKIES[1]
    assert set(grid.header["file"].astype(str)) == {COOKIES[1]}
    assert "PatientName" in grid._header_html.value
    assert grid._detail.layout.display is None
    preview = _decode(grid._preview.value)
    assert preview.std() > 5


def test_widgets_grid_typed_corners_and_sliders_set_the_box(
    grid: ThumbnailGrid,
) -> None:
    grid.show(CAT)
    grid._corners.value = "10, 20, 300, 80"
    assert grid.draft_box == (10, 20, 300, 80)
    assert grid._xrange.value == (10, 300)
    grid._yrange.value = (5, 50)
    assert grid.draft_box == (10, 5, 300, 50)
    grid._corners.value = "9,9,1,1"
    assert grid.draft_box == (10, 5, 300, 50)
    assert "corners must be" in grid._hits.value


def test_widgets_grid_add_label_writes_filter(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    grid.draft_box = (0, 0, 200, 40)
    grid.label_group = "graylist"
    block = grid.add_label()
    assert block.splitlines() == [
        "LABEL Burned-in text on Agfa DXD60_1000G DX",
        "  equals Manufacturer Agfa",
        "  + equals ManufacturerModelName DXD60_1000G",
        "  + equals Modality DX",
        "  coordinates 0,0,200,40",
    ]
    recipe = deidscope.recipe.Recipe.from_text(grid.recipe_text)
    (group,) = recipe.filters
    assert group.name == "graylist"
    assert group.labels[0].coordinates[0].value == "0,0,200,40"
    if optional_function("deidscope.pixels", "detect") is not None:
        assert grid.label_hits is not None
        assert [Path(f).name for f in grid.label_hits["file"]] == ["cat.dcm"]


def test_widgets_grid_add_label_needs_a_shown_file(grid: ThumbnailGrid) -> None:
    with pytest.raises(InputError, match="click a thumbnail first"):
        grid.add_label()


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("page", 5, "page must be between 0 and 1"),
        ("page_size", 0, "page_size must be between 1 and 200"),
        ("draft_box", (5, 0, 5, 10), "draft_box must be"),
        ("label_group", "purple", "label_group"),
    ],
    ids=["page", "page-size", "box", "group"],
)
def test_widgets_grid_validates_traits(
    grid: ThumbnailGrid, trait: str, value: Any, match: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(grid, trait, value)


@pytest.mark.parametrize(
    ("given", "kwargs", "match"),
    [
        (5, {}, "ThumbnailGrid: expected an identifier frame, a folder or files"),
        (pd.DataFrame({"x": [1]}), {}, "lacks the column 'file'"),
        (COOKIES, {"size": 8}, "size must be 16-1024"),
        (COOKIES, {"recipe": 3.5}, "expected a Recipe, recipe text or a recipe file"),
    ],
    ids=["int", "no-file-column", "size", "recipe"],
)
def test_widgets_grid_rejects_bad_input(
    given: Any, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        ThumbnailGrid(given, **kwargs)


def test_widgets_to_png_round_trip() -> None:
    image = np.arange(48, dtype=np.uint8).reshape(6, 8)
    assert np.array_equal(_decode(to_png(image)), image)
    with pytest.raises(InputError, match="to_png: expected a uint8 array"):
        to_png(np.zeros((2, 2), np.float32))


def test_widgets_boxes_png_scales_boxes_to_the_thumbnail() -> None:
    thumb = np.zeros((50, 100), np.uint8)
    data = boxes_png(thumb, [((0, 0, 500, 100), (255, 0, 0))], image_shape=(250, 500))
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 50)
    rows, columns = np.nonzero(red)
    assert (rows.min(), rows.max()) == (0, 19)  # 100 of 250 rows -> 20 of 50
    assert (columns.min(), columns.max()) == (0, 99)
    assert thumb.max() == 0  # the input is not drawn on
