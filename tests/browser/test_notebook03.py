"""Notebook 03 in a real JupyterLab, as a person uses it.

Run all cells, filter fields in the FieldBrowser, pick them, choose an
action in the RecipeBuilder, and watch the recipe text and the preview
change; the thumbnails must be real pictures (decoded, not blank). Then
click a thumbnail's picture (not its name) to open the box editor, drag a
rectangle on the editor's picture with the mouse and add it to the recipe
as a ``%filter`` LABEL with a ``coordinates`` line. No "Error displaying
widget", no page errors, no tracebacks. Screenshots of each step go to
test-artifacts/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydicom
import pytest

from deidscope.data import get_dataset

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03-draft-a-recipe.ipynb"
PICTURES = ".deidscope-grid .deidscope-tile-picture img"
EDITOR_PICTURE = ".deidscope-editor-picture img"
CORNERS = 'input[placeholder="xmin,ymin,xmax,ymax"]'


def _widget_text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text())


def test_browser_notebook03_draft_a_recipe(open_notebook: Any) -> None:
    lab_page = open_notebook(NOTEBOOK)
    page = lab_page.page
    lab_page.run_all()
    page.wait_for_selector(".deidscope-recipe textarea", timeout=30_000)
    page.wait_for_selector(PICTURES, timeout=30_000)
    lab_page.screenshot("1-after-run-all")

    # -- filter fields: clear the VR choice, type in the browser's Field box ------
    # (JupyterLab renders off-screen cells lazily: scroll to what is used and
    # read textContent, as innerText is empty for content not laid out)
    status = page.locator(".deidscope-browser-status").first
    status.scroll_into_view_if_needed()
    vr_list = page.locator('.widget-select-multiple:has(label:text-is("VR")) select')
    vr_list.first.select_option([])
    page.wait_for_function(
        r"""() => /^([\d,]+) of \1 rows/.test(
            document.querySelector('.deidscope-browser-status').textContent)""",
        timeout=15_000,
    )
    before = status.text_content()
    field_box = page.locator('input[placeholder="name, keyword or tag"]').first
    field_box.fill("StudyDate")
    page.wait_for_function(
        """(old) => document.querySelector('.deidscope-browser-status')
            .textContent !== old""",
        arg=before,
        timeout=15_000,
    )
    after = status.text_content()
    assert after != before
    counts = re.findall(r"([\d,]+) of ([\d,]+) rows", after)[0]
    shown, total = (int(n.replace(",", "")) for n in counts)
    assert 0 < shown < total
    # the grid draws on a canvas: click its first row, read the full values
    grid = page.locator(".deidscope-datagrid").first
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    area = grid.bounding_box()
    assert area is not None
    picked_before = int(re.findall(r"([\d,]+) picked", after)[0].replace(",", ""))
    page.mouse.click(area["x"] + 180, area["y"] + 33)
    page.wait_for_function(
        "() => /StudyDate/.test(document.querySelector('.deidscope-detail')"
        ".textContent)",
        timeout=15_000,
    )
    picked = re.findall(r"([\d,]+) picked", status.text_content())[0]
    assert int(picked.replace(",", "")) == picked_before + 1  # the others stay
    lab_page.screenshot("2-filtered")

    # -- pick them, choose an action, add the lines -----------------------------
    page.get_by_role("button", name="Clear picks").first.click()
    page.get_by_role("button", name="Pick all matching").first.click()
    action = page.locator(".widget-dropdown", has_text="Action").locator("select").first
    action.select_option("BLANK")
    recipe_box = page.locator(".deidscope-recipe textarea").first
    recipe_box.scroll_into_view_if_needed()
    recipe_before = recipe_box.input_value()
    preview = page.locator(".deidscope-preview").first
    preview_before = preview.text_content()
    page.get_by_role("button", name="Add lines").first.click()
    page.wait_for_function(
        """() => document.querySelector('.deidscope-recipe textarea')
            .value.includes('BLANK StudyDate')""",
        timeout=15_000,
    )
    recipe_after = recipe_box.input_value()
    assert "REPLACE PatientName anonymous" in recipe_before
    assert "BLANK StudyDate" not in recipe_before
    assert "BLANK StudyDate" in recipe_after
    page.wait_for_function(
        """(old) => document.querySelector('.deidscope-preview').textContent !== old""",
        arg=preview_before,
        timeout=15_000,
    )
    assert "BLANK" in preview.text_content()
    lab_page.screenshot("3-recipe-and-preview")

    # -- the thumbnails are real pictures ----------------------------------------
    page.locator(".deidscope-grid").first.scroll_into_view_if_needed()
    selector = PICTURES
    stats = lab_page.image_stats(selector)
    for _ in range(60):  # thumbnails arrive from the kernel's thread pool
        if len(stats) == 7 and all(image["std"] > 5 for image in stats):
            break
        page.wait_for_timeout(500)
        stats = lab_page.image_stats(selector)
    assert len(stats) == 7, stats
    for image in stats:
        assert image["width"] > 16, image
        assert image["std"] > 5, image  # decoded and not blank
    lab_page.screenshot("4-thumbnails")

    # -- click a picture (not the name): the box editor opens on that file ------
    name = page.locator(".deidscope-grid .widget-button").nth(2).text_content()
    page.locator(PICTURES).nth(2).click()
    page.wait_for_function(
        """(sel) => { const i = document.querySelector(sel);
            return !!i && i.naturalWidth > 100 && i.clientWidth > 100; }""",
        arg=EDITOR_PICTURE,
        timeout=15_000,
    )
    header = page.locator(".deidscope-grid ~ * b", has_text=name).first
    header.wait_for(timeout=15_000)
    (editor_stats,) = lab_page.image_stats(EDITOR_PICTURE)
    assert editor_stats["std"] > 5, editor_stats  # the file's picture
    corners = page.locator(CORNERS).first
    corners_before = corners.input_value()
    lab_page.screenshot("5-editor-open")

    # -- drag a rectangle on the editor's picture -------------------------------
    picture = page.locator(EDITOR_PICTURE).first
    picture.scroll_into_view_if_needed()
    area = picture.bounding_box()
    assert area is not None
    start = (area["x"] + 0.2 * area["width"], area["y"] + 0.3 * area["height"])
    end = (area["x"] + 0.6 * area["width"], area["y"] + 0.5 * area["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    band = page.locator(".deidscope-editor-picture .deidscope-picture-band").first
    assert band.is_visible()  # the rubber band follows the mouse
    lab_page.screenshot("6-dragging")
    page.mouse.up()
    page.wait_for_function(
        "([sel, old]) => document.querySelector(sel).value !== old",
        arg=[CORNERS, corners_before],
        timeout=15_000,
    )
    assert not band.is_visible()
    box = corners.input_value()
    xmin, ymin, xmax, ymax = (int(v) for v in box.split(","))
    ds = pydicom.dcmread(
        Path(get_dataset("dicom-cookies")) / name, stop_before_pixels=True
    )
    columns, rows = int(ds.Columns), int(ds.Rows)
    assert xmin == pytest.approx(0.2 * columns, abs=0.02 * columns), box
    assert xmax == pytest.approx(0.6 * columns, abs=0.02 * columns), box
    assert ymin == pytest.approx(0.3 * rows, abs=0.02 * rows), box
    assert ymax == pytest.approx(0.5 * rows, abs=0.02 * rows), box

    # -- add it to the recipe -----------------------------------------------------
    page.get_by_role("button", name="Add LABEL to recipe").first.click()
    page.wait_for_function(
        """(line) => document.querySelector('.deidscope-recipe textarea')
            .value.includes(line)""",
        arg=f"coordinates {box}",
        timeout=15_000,
    )
    lines = [line.strip() for line in recipe_box.input_value().splitlines()]
    assert any(line.startswith("LABEL ") for line in lines), lines
    assert f"coordinates {box}" in lines
    assert "%filter graylist" in lines
    recipe_box.scroll_into_view_if_needed()
    lab_page.screenshot("7-label-added")

    assert not lab_page.widget_errors()
    assert not lab_page.cell_errors()
    assert not lab_page.page_errors, lab_page.page_errors
