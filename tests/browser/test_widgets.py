"""The FieldBrowser's data grid and the RecipeBuilder in a real JupyterLab.

A notebook written here shows a FieldBrowser and a RecipeBuilder on
dicom-cookies. In headless Chromium a person sorts the grid from a column
header's menu, picks the first row (its full values show under the grid),
exports the rows to CSV; types a recipe line that does not parse and clicks
Preview (the error stays, no older preview comes back); clicks "Start from
PS3.15 profile" (busy shows, then the new status); and at 900 and 1400
pixels wide nothing is cut off on the right. Screenshots of each step go to
test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = pytest.mark.browser

SOURCE = """\
import deidscope
from deidscope.data import get_dataset
from deidscope.widgets import FieldBrowser, RecipeBuilder

df = deidscope.read_identifiers(get_dataset("dicom-cookies"))
browser = FieldBrowser(df, page_size=10)
browser
"""
BUILDER = """\
text = "FORMAT dicom\\n\\n%header\\n\\nREPLACE PatientName x\\n"
builder = RecipeBuilder(df, recipe=text)
builder
"""
#: Widths (px) of the grid's row header and columns, as the widget sets them.
ROW_HEADER = 80
WIDTHS = {"name": 200, "tag": 100, "VR": 50, "value": 260}
ROW = 22


@pytest.fixture
def widgets_notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(SOURCE), nbformat.v4.new_code_cell(BUILDER)]
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nb, path)
    return path


def _open(open_notebook: Any, notebook: Path) -> Any:
    lab_page = open_notebook(notebook)
    lab_page.run_all()
    lab_page.page.wait_for_selector(".deidscope-datagrid canvas", timeout=30_000)
    lab_page.page.wait_for_selector(".deidscope-recipe textarea", timeout=30_000)
    return lab_page


def _text(page: Any, selector: str) -> str:
    return str(page.evaluate(f"() => document.querySelector('{selector}').textContent"))


def test_browser_grid_sorted_picked_and_exported(
    open_notebook: Any, widgets_notebook: Path
) -> None:
    lab_page = _open(open_notebook, widgets_notebook)
    page = lab_page.page
    grid = page.locator(".deidscope-datagrid").first
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # the first page of rows arrives from the kernel
    lab_page.screenshot("1-grid")
    box = grid.bounding_box()
    assert box is not None
    assert box["height"] > 10 * ROW

    # -- the value column's header menu: Sort Descending ------------------------
    right_of_value = box["x"] + ROW_HEADER + sum(WIDTHS.values())
    page.mouse.click(right_of_value - 9, box["y"] + ROW / 2)
    page.locator(".lm-Menu-itemLabel", has_text="Sort Descending").first.click()
    page.wait_for_timeout(1500)
    # -- pick the first row: its full values show under the grid ----------------
    page.mouse.click(box["x"] + ROW_HEADER + 100, box["y"] + ROW * 1.5)
    page.wait_for_function(
        "() => /1 picked/.test("
        "document.querySelector('.deidscope-browser-status').textContent)",
        timeout=15_000,
    )
    detail = _text(page, ".deidscope-detail")
    lab_page.screenshot("2-sorted-and-picked")
    # the largest value of dicom-cookies' frame, in text order
    assert re.search(r"value\s*sweet brook", detail), detail

    # -- export the rows the grid shows -------------------------------------------
    exported = lab_page.server.root / "fields.csv"
    assert not exported.exists()
    page.get_by_role("button", name="Export CSV").first.click()
    page.wait_for_function(
        "() => /wrote [0-9,]+ rows/.test(document.body.textContent)", timeout=15_000
    )
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    values = [row["value"] for row in rows]
    assert len(rows) == 252
    assert values[0] == "sweet brook"
    assert values == sorted(values, reverse=True)
    assert {"file", "uid", "name", "VR", "value", "tag"} <= set(rows[0])
    lab_page.screenshot("3-exported")
    assert not lab_page.widget_errors()
    assert not lab_page.cell_errors()
    assert not lab_page.page_errors, lab_page.page_errors


def test_browser_builder_keeps_errors_and_shows_busy(
    open_notebook: Any, widgets_notebook: Path
) -> None:
    lab_page = _open(open_notebook, widgets_notebook)
    page = lab_page.page
    box = page.locator(".deidscope-recipe textarea").first
    box.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => /7 rows/.test(document.querySelector('.deidscope-gutter').textContent)",
        timeout=15_000,
    )
    # the counts stand beside their line: same line height, same first line
    gutter = _text(page, ".deidscope-gutter pre").split("\n")
    assert gutter.index("← 7 rows · 7 files") == 4  # line 5: REPLACE PatientName
    heights = page.evaluate(
        """() => [document.querySelector('.deidscope-recipe textarea'),
                  document.querySelector('.deidscope-gutter pre')].map(
            e => [getComputedStyle(e).lineHeight,
                  Math.round(e.getBoundingClientRect().top
                             + parseFloat(getComputedStyle(e).paddingTop)
                             + parseFloat(getComputedStyle(e).borderTopWidth))])"""
    )
    assert heights[0] == heights[1], heights
    assert "REPLACE" in _text(page, ".deidscope-preview")

    # -- a line that does not parse: typed, then Preview ---------------------------
    box.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("BOGUS x\n", delay=20)
    page.wait_for_function(
        "() => /BOGUS/.test("
        "document.querySelector('.deidscope-builder-status').textContent)",
        timeout=15_000,
    )
    page.get_by_role("button", name="Preview").first.click()
    page.wait_for_timeout(1500)
    assert "BOGUS" in _text(page, ".deidscope-builder-status")
    assert "no preview while the recipe text has an error" in _text(
        page, ".deidscope-preview"
    )
    lab_page.screenshot("1-syntax-error-after-preview")

    # -- "Start from PS3.15 profile": busy, then done --------------------------------
    page.evaluate(
        """() => {
            window.__busy = [];
            const node = document.querySelector('.deidscope-builder-busy');
            new MutationObserver(() => window.__busy.push(node.textContent))
                .observe(node, {subtree: true, childList: true, characterData: true});
        }"""
    )
    page.get_by_role("button", name="Start from PS3.15 profile").first.click()
    page.wait_for_function(
        "() => /header lines/.test("
        "document.querySelector('.deidscope-builder-status').textContent)"
        " && !/BOGUS/.test("
        "document.querySelector('.deidscope-builder-status').textContent)",
        timeout=60_000,
    )
    page.wait_for_function(
        "() => document.querySelector('.deidscope-builder-busy').textContent === ''",
        timeout=60_000,
    )
    busy = page.evaluate("() => window.__busy")
    assert any("working" in text for text in busy), busy
    status = _text(page, ".deidscope-builder-status")
    assert "rows changed or kept" in status
    assert not page.get_by_role("button", name="Preview").first.is_disabled()
    lab_page.screenshot("2-after-start-from-profile")
    assert not lab_page.widget_errors()
    assert not lab_page.cell_errors()
    assert not lab_page.page_errors, lab_page.page_errors


@pytest.mark.parametrize("width", [900, 1400])
def test_browser_widgets_fit_the_window(
    open_notebook: Any, widgets_notebook: Path, width: int
) -> None:
    lab_page = _open(open_notebook, widgets_notebook)
    page = lab_page.page
    page.set_viewport_size({"width": width, "height": 1000})
    page.wait_for_timeout(1500)
    cut = page.evaluate(
        """() => {
            const out = [];
            for (const area of document.querySelectorAll('.jp-OutputArea-output')) {
                const edge = area.getBoundingClientRect().right + 1;
                for (const el of area.querySelectorAll(
                        '.widget-inline-hbox, .widget-button, .widget-text, '
                        + '.widget-select-multiple, .widget-toggle-buttons, '
                        + '.widget-dropdown, .deidscope-datagrid, textarea')) {
                    const r = el.getBoundingClientRect();
                    if (r.width > 0 && r.right > edge)
                        out.push(el.className + ' ' + Math.round(r.right) + '>'
                                 + Math.round(edge));
                }
                if (area.scrollWidth > area.clientWidth + 1)
                    out.push('output scrolls: ' + area.scrollWidth + '>'
                             + area.clientWidth);
            }
            return out;
        }"""
    )
    page.locator(".deidscope-datagrid").first.scroll_into_view_if_needed()
    lab_page.screenshot(f"{width}px-browser")
    page.locator(".deidscope-recipe textarea").first.scroll_into_view_if_needed()
    lab_page.screenshot(f"{width}px-builder")
    assert cut == [], cut
    assert not lab_page.widget_errors()
