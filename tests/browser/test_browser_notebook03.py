"""Notebook 03 in a real JupyterLab, as a person uses it.

Run all cells, filter fields in the FieldBrowser, pick them, choose an
action in the RecipeBuilder, and watch the recipe text and the preview
change; the thumbnails must be real pictures (decoded, not blank). No
"Error displaying widget", no page errors, no tracebacks. Screenshots of
each step go to test-artifacts/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03-draft-a-recipe.ipynb"


def _widget_text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text())


def test_browser_notebook03_draft_a_recipe(open_notebook: Any) -> None:
    lab_page = open_notebook(NOTEBOOK)
    page = lab_page.page
    lab_page.run_all()
    page.wait_for_selector(".deidscope-recipe textarea", timeout=30_000)
    page.wait_for_selector(".jp-OutputArea .widget-image", timeout=30_000)
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
    table = page.locator(".deidscope-rows select option")
    assert table.count() == shown
    assert all("StudyDate" in text for text in table.all_text_contents())
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
    selector = ".deidscope-grid .widget-image"
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

    assert not lab_page.widget_errors()
    assert not lab_page.cell_errors()
    assert not lab_page.page_errors, lab_page.page_errors
