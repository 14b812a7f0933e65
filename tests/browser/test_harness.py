"""The browser harness itself, on a tiny widget notebook written here.

If this fails the harness is broken (Chromium, JupyterLab, the widget
manager), not deidscope: the notebook uses only ipywidgets and Pillow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = pytest.mark.browser

SOURCE = """\
import io
import ipywidgets as widgets
from PIL import Image

gradient = Image.linear_gradient("L").resize((96, 64))
buffer = io.BytesIO()
gradient.save(buffer, format="PNG")
image = widgets.Image(value=buffer.getvalue(), format="png")
text = widgets.Text(placeholder="type here")
echo = widgets.Label("nothing yet")
text.observe(lambda change: setattr(echo, "value", "echo: " + change["new"]), "value")
widgets.VBox([image, text, echo])
"""


@pytest.fixture
def smoke_notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(SOURCE)]
    path = tmp_path / "harness-smoke.ipynb"
    nbformat.write(nb, path)
    return path


def test_browser_harness_shows_widgets(
    open_notebook: Any, smoke_notebook: Path
) -> None:
    lab_page = open_notebook(smoke_notebook)
    page = lab_page.page
    lab_page.run_all()
    page.wait_for_selector(".jp-OutputArea .widget-image", timeout=30_000)
    text = page.locator(".jp-OutputArea .widget-text input")
    text.fill("hello")
    page.get_by_text("echo: hello").wait_for(timeout=15_000)
    lab_page.screenshot("after-typing")

    stats = lab_page.image_stats(".jp-OutputArea .widget-image")
    assert len(stats) == 1
    (image,) = stats
    assert (image["width"], image["height"]) == (96, 64)
    assert image["max"] - image["min"] > 200, image
    assert not lab_page.widget_errors()
    assert not lab_page.cell_errors()
    assert not lab_page.page_errors
    assert all("127.0.0.1" not in url for url in lab_page.blocked)


def test_browser_harness_blank_image_is_caught(
    open_notebook: Any, tmp_path: Path
) -> None:
    """The image check must tell a blank image from a real one."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import io, ipywidgets as w\nfrom PIL import Image\n"
            "b = io.BytesIO(); Image.new('L', (32, 32), 0).save(b, format='PNG')\n"
            "w.Image(value=b.getvalue(), format='png')"
        )
    ]
    path = tmp_path / "harness-blank.ipynb"
    nbformat.write(nb, path)
    lab_page = open_notebook(path)
    lab_page.run_all()
    lab_page.page.wait_for_selector(".jp-OutputArea .widget-image", timeout=30_000)
    (image,) = lab_page.image_stats(".jp-OutputArea .widget-image")
    assert image["width"] == 32
    assert image["max"] - image["min"] == 0
