"""ThumbnailGrid and BoxEditor, headless: PNG bytes, paging, flags, drafting."""

from __future__ import annotations

import io
import threading
import time
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
from deidscope.pixels import thumbnail
from deidscope.widgets import ThumbnailGrid
from deidscope.widgets._common import placeholder_png
from deidscope.widgets.box_editor import DRAFT_COLOUR, BoxEditor, boxes_png
from samples import deid_data_files

COOKIES = [f for f in deid_data_files() if "dicom-cookies" in f]
CAT = next(f for f in deid_data_files() if f.endswith("cat.dcm"))
CAT_LABEL = """FORMAT dicom

%filter graylist

LABEL Cat text
  equals Modality DX
  coordinates 0,0,200,40
"""


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _colour_rows_columns(
    rgb: np.ndarray, colour: tuple[int, int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    rows, columns = np.nonzero(np.all(rgb == colour, axis=2))
    return (int(rows.min()), int(rows.max())), (int(columns.min()), int(columns.max()))


def _thumbnails_held(grid: ThumbnailGrid) -> int:
    """Count the thumbnail arrays the grid's dict attributes hold."""
    held = 0
    for value in vars(grid).values():
        if isinstance(value, dict):
            for item in value.values():
                image = getattr(item, "image", item)
                held += isinstance(image, np.ndarray)
    return held


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
        "thumbnail",
        lambda path, **kw: calls.append(path) or np.zeros((4, 4), np.uint8),
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
        grid.show(COOKIES[0])
        grid.show(str(broken))  # the header shows; the editor forgets the cookie
        assert grid.shown_file == str(broken)
        assert "PatientName" in grid._header_html.value
        assert grid.editor.path == ""
        assert "no picture for this file" in grid.editor.note
        with pytest.raises(InputError, match="load a file's picture first"):
            grid.add_label()
    finally:
        grid.close()


def test_widgets_grid_click_shows_header(grid: ThumbnailGrid) -> None:
    grid._names[1].click()
    assert grid.shown_file == COOKIES[1]
    assert set(grid.header["file"].astype(str)) == {COOKIES[1]}
    assert "PatientName" in grid._header_html.value
    assert grid._detail.layout.display is None
    assert grid.editor.path == COOKIES[1]
    preview = _decode(grid.editor.preview_png())
    assert preview.std() > 5


def test_widgets_grid_typed_corners_and_sliders_set_the_box(
    grid: ThumbnailGrid,
) -> None:
    grid.show(CAT)
    editor = grid.editor
    editor._corners.value = "10, 20, 300, 80"
    assert editor.draft_box == (10, 20, 300, 80)
    assert editor._xrange.value == (10, 300)
    editor._yrange.value = (5, 50)
    assert editor.draft_box == (10, 5, 300, 50)
    editor._corners.value = "9,9,1,1"
    assert editor.draft_box == (10, 5, 300, 50)
    assert "corners must be" in editor.note


def test_widgets_grid_add_label_writes_filter(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    grid.editor.draft_box = (0, 0, 200, 40)
    grid.editor.label_group = "graylist"
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
    assert grid.label_hits is not None
    assert [Path(f).name for f in grid.label_hits["file"]] == ["cat.dcm"]
    assert "This LABEL flags 1 of 8 files" in grid.editor.note


def test_widgets_grid_add_button_reports_errors(grid: ThumbnailGrid) -> None:
    grid.show(CAT)
    grid.editor.label_name = "two\nlines"
    grid.editor._add.click()
    assert "format_label: expected a one-line label name" in grid.editor.note
    assert grid.recipe_text == ""


def test_widgets_grid_add_label_needs_a_shown_file(grid: ThumbnailGrid) -> None:
    with pytest.raises(InputError, match="click a thumbnail first"):
        grid.add_label()


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("page", 5, "page must be between 0 and 1"),
        ("page_size", 0, "ThumbnailGrid: page_size must be between 1 and 200"),
    ],
    ids=["page", "page-size"],
)
def test_widgets_grid_validates_traits(
    grid: ThumbnailGrid, trait: str, value: Any, match: str
) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(grid, trait, value)


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("draft_box", (5, 0, 5, 10), "BoxEditor: draft_box must be"),
        ("draft_box", (-1, 0, 5, 10), "BoxEditor: draft_box must be"),
        ("label_group", "purple", "label_group"),
    ],
    ids=["empty-box", "negative-box", "group"],
)
def test_widgets_editor_validates_traits(trait: str, value: Any, match: str) -> None:
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(BoxEditor(), trait, value)


def test_widgets_editor_needs_a_picture() -> None:
    editor = BoxEditor()
    with pytest.raises(InputError, match=r"BoxEditor\.label: load a file's picture"):
        editor.label()
    assert _decode(editor.preview_png()).std() == 0  # a plain placeholder


@pytest.mark.parametrize(
    ("given", "kwargs", "match"),
    [
        (5, {}, "ThumbnailGrid: expected an identifier frame, a folder or files"),
        (pd.DataFrame({"x": [1]}), {}, r"ThumbnailGrid: .* it lacks \['file'\]"),
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


def test_widgets_boxes_png_scales_boxes_to_the_thumbnail() -> None:
    thumb = np.zeros((50, 100), np.uint8)
    data = boxes_png(
        thumb,
        [(0, 0, 500, 100)],
        keep=[(250, 150, 500, 250)],
        draft=(0, 200, 100, 250),
        image_shape=(250, 500),
    )
    rgb = _rgb(data)
    assert rgb.shape == (50, 100, 3)
    red = np.all(rgb == (230, 25, 25), axis=2)
    assert red[0, :].all()  # the top edge, all columns
    assert np.nonzero(red)[0].max() == 19  # 100 of 250 rows -> 20 of 50
    assert _colour_rows_columns(rgb, DRAFT_COLOUR) == ((40, 49), (0, 19))
    assert _colour_rows_columns(rgb, (25, 200, 60)) == ((30, 49), (50, 99))
    assert thumb.max() == 0  # the input is not drawn on


def test_widgets_grid_flags_draw_the_recipe_boxes() -> None:
    grid = ThumbnailGrid([COOKIES[0], CAT], recipe=CAT_LABEL, size=64)
    try:
        assert grid.wait(timeout=60)
        assert grid.flagged(CAT)
        assert not grid.flagged(COOKIES[0])
        assert "1 flagged" in grid._status.value
        assert "Cat text" in grid._notes[1].value
        assert "deidscope-flagged" in grid._tiles[1]._dom_classes
        header = pydicom.dcmread(CAT, stop_before_pixels=True)
        rows, columns = int(header.Rows), int(header.Columns)
        tile = _rgb(grid.png(CAT) or b"")
        plain = thumbnail(CAT, size=64)
        assert tile.shape[:2] == plain.shape[:2]
        red_rows, red_columns = _colour_rows_columns(tile, (230, 25, 25))
        assert red_rows[0] == 0
        assert red_rows[1] == pytest.approx(40 * plain.shape[0] / rows, abs=1.5)
        assert red_columns[1] == pytest.approx(200 * plain.shape[1] / columns, abs=1.5)
        assert (
            _decode(grid.png(COOKIES[0]) or b"").shape
            == thumbnail(COOKIES[0], size=64).shape[:2]
        )
    finally:
        grid.close()


def test_widgets_grid_flags_follow_its_recipe_text(grid: ThumbnailGrid) -> None:
    assert not grid.flagged(CAT)
    slot = grid.files.index(CAT) % grid.page_size
    grid.page = grid.files.index(CAT) // grid.page_size
    assert grid.wait(timeout=60)
    plain = grid.png(CAT)
    grid.show(CAT)
    grid.editor.draft_box = (0, 0, 200, 40)
    grid.add_label()  # no builder: the label goes to grid.recipe_text
    assert grid.flagged(CAT)
    assert not grid.flagged(COOKIES[0])
    assert "deidscope-flagged" in grid._tiles[slot]._dom_classes
    assert grid.wait(timeout=60)
    boxed = grid.png(CAT)
    assert boxed is not None
    assert boxed != plain  # the LABEL's box is drawn
    assert (230, 25, 25) in {tuple(p) for p in _rgb(boxed).reshape(-1, 3)}
    grid.set_recipe("FORMAT dicom\n")  # no filters: nothing flagged
    assert not grid.flagged(CAT)
    assert "deidscope-flagged" not in grid._tiles[slot]._dom_classes
    assert grid.wait(timeout=60)
    assert grid.png(CAT) == plain


def test_widgets_grid_bad_recipe_text_keeps_the_flags(grid: ThumbnailGrid) -> None:
    grid.recipe_text = CAT_LABEL
    assert grid.flagged(CAT)
    grid.recipe_text = CAT_LABEL + "\nNOT A LINE\n"
    assert grid.flagged(CAT)
    assert "could not read the recipe" in grid._status.value


def test_widgets_grid_makes_thumbnails_off_the_main_thread(
    df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    threads: list[str] = []

    def blocked(path: Any, **kwargs: Any) -> np.ndarray:
        threads.append(threading.current_thread().name)
        release.wait(timeout=30)
        return thumbnail(path, **kwargs)

    monkeypatch.setattr(thumbnails_module, "thumbnail", blocked)
    started = time.monotonic()
    grid = ThumbnailGrid(df, page_size=4, size=64)
    try:
        assert time.monotonic() - started < 10  # did not wait for a thumbnail
        assert not release.is_set()
        placeholder = placeholder_png(64)
        assert grid.shown_png() == [placeholder] * 4
        assert all(data is None for data in grid.page_png.values())
        assert not grid.wait(timeout=0.05)
        release.set()
        assert grid.wait(timeout=60)
        deadline = time.monotonic() + 30
        while placeholder in grid.shown_png() and time.monotonic() < deadline:
            time.sleep(0.01)
        shown = grid.shown_png()
        assert shown == list(grid.page_png.values())
        assert all(_decode(data).std() > 5 for data in shown)
        assert threads
        assert all(t.startswith("deidscope-thumbnail") for t in threads)
    finally:
        release.set()
        grid.close()


def test_widgets_grid_caches_are_bounded(
    df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thumbnails_module, "CACHE_SIZE", 3)
    grid = ThumbnailGrid(df, page_size=2, size=64)
    try:
        for page in range(grid.n_pages):
            grid.page = page
            assert grid.wait(timeout=60)
        for path in grid.files:
            grid.show(path)  # the editor's pictures go to the same cache
            assert len(grid._cache) <= 3
        assert list(grid._cache) == grid.files[-3:]  # the last used are kept
        assert _thumbnails_held(grid) <= 3  # no other cache of arrays grows
        assert grid.png(grid.files[0]) is None  # evicted
        assert grid.png(grid.files[-1]) is not None
    finally:
        grid.close()


# -- text boxes found by OCR: drawn, accepted, rejected ---------------------------


class _Engine:
    """A stand-in OCR engine: the same two texts on every picture."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, picture: np.ndarray) -> list[Any]:
        self.calls += 1
        rows, columns = picture.shape[:2]
        return [
            ((0, 0, columns / 4, rows / 8), "DOE JANE", 0.99),
            ((columns / 2, rows / 2, columns * 0.9, rows * 0.6), "LOGO", 0.9),
        ]


def _text(df: pd.DataFrame, files: list[str], engine: Any) -> pd.DataFrame:
    from deidscope.pixels import find_text

    return find_text(df[df["file"].isin(files)], engine=engine, progress=False)


def test_widgets_grid_without_text_runs_no_ocr(
    df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("OCR was run")

    monkeypatch.setattr(thumbnails_module, "ocr_find_text", never)
    import deidscope.pixels.ocr as ocr

    monkeypatch.setattr(ocr, "resolve_engine", never)
    grid = ThumbnailGrid(df, page_size=4, size=64)
    try:
        assert grid.wait(timeout=60)
        assert grid.text is None
        grid.show(CAT)
        assert grid._text_box.children == ()
    finally:
        grid.close()


def test_widgets_grid_draws_accepts_and_rejects_text_boxes(
    df: pd.DataFrame,
) -> None:
    from deidscope.pixels.plots import HEADER_MATCH_COLOUR, PROPOSED_COLOUR
    from deidscope.recipe import Recipe

    engine = _Engine()
    frame = df.copy()
    name = frame["name"].astype(str) == "PatientName"
    frame["value"] = frame["value"].astype(object)
    frame.loc[name & (frame["file"] == CAT), "value"] = "DOE^JANE"
    text = _text(frame, [CAT], engine)
    assert text["header_match"].tolist() == ["PatientName", None]
    grid = ThumbnailGrid(frame, text=text, page_size=8, size=64)
    try:
        assert grid.wait(timeout=60)
        cat = _rgb(grid.png(CAT))
        assert np.all(cat == HEADER_MATCH_COLOUR, axis=2).any()
        assert np.all(cat == PROPOSED_COLOUR, axis=2).any()
        other = _rgb(grid.png(COOKIES[0]))
        assert not np.all(other == PROPOSED_COLOUR, axis=2).any()
        grid.show(CAT)
        rows = grid._text_box.children[1:]
        assert len(rows) == 2
        accept, reject, label = rows[0].children
        assert "DOE JANE" in label.value
        assert "shows PatientName" in label.value
        accept.click()  # as a click in the browser
        assert grid.text["decision"].tolist() == ["accepted", ""]
        recipe = Recipe.from_text(grid.recipe_text)
        (added,) = recipe.filters[0].labels
        assert added.criteria  # the device's criteria
        box = text["box"].iloc[0]
        padded = f"{max(0, box[0] - 4)},{max(0, box[1] - 4)},{box[2] + 4},{box[3] + 4}"
        assert [c.value for c in added.coordinates] == [padded]
        assert grid.flagged(CAT)
        assert grid.wait(timeout=60)  # the page is drawn again in the background
        cat = _rgb(grid.png(CAT))
        assert not np.all(cat == HEADER_MATCH_COLOUR, axis=2).any()  # now red
        assert np.all(cat == (230, 25, 25), axis=2).any()
        _, reject, _ = grid._text_box.children[2].children
        reject.click()
        assert grid.allow == ["LOGO"]
        assert grid.text["decision"].tolist() == ["accepted", "rejected"]
        assert grid.wait(timeout=60)
        assert not np.all(_rgb(grid.png(CAT)) == PROPOSED_COLOUR, axis=2).any()
        with pytest.raises(InputError, match="no text box"):
            grid.accept(99)
    finally:
        grid.close()


def test_widgets_grid_find_text_runs_ocr_on_its_files(df: pd.DataFrame) -> None:
    engine = _Engine()
    grid = ThumbnailGrid(df[df["file"] == CAT], page_size=4, size=64)
    try:
        result = grid.find_text(engine=engine, progress=False)
        assert engine.calls == 1
        assert len(result) == 2
        assert grid.text is not None
        assert grid.text["decision"].tolist() == ["", ""]
        grid.show(CAT)
        assert len(grid.editor._proposed) == 2
    finally:
        grid.close()
