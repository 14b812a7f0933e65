"""Every notebook in notebooks/ is clean, runs, and its widgets show what they should.

Each notebook is executed once with nbclient (kernel ``python3``, working
folder ``notebooks/``); the executed copy is shared by the checks. nbclient
records the widgets' state in the notebook metadata, including what each
Output widget showed and the bytes of each Image widget, so the checks can
assert that a table, a recipe text or a real picture was shown.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_TIMEOUT = 300

_executed: dict[Path, nbformat.NotebookNode] = {}


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook once per session (a copy: the file is not touched)."""
    if path not in _executed:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb,
            kernel_name="python3",
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        _executed[path] = nb
    return _executed[path]


def widget_models(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """The saved widget models: ``model_name``, ``state``, decoded ``buffers``."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    models = []
    for model_id, model in saved.items():
        buffers = {
            tuple(buffer["path"]): base64.b64decode(buffer["data"])
            for buffer in model.get("buffers", [])
        }
        models.append(
            {
                "id": model_id,
                "model_name": model["model_name"],
                "state": model["state"],
                "buffers": buffers,
            }
        )
    return models


def shown_images(nb: nbformat.NotebookNode) -> list[np.ndarray]:
    """Every picture a widget or an output showed, decoded to grey levels."""
    blobs: list[bytes] = []
    for model in widget_models(nb):
        if model["model_name"] == "ImageModel":
            blobs.extend(model["buffers"].values())
        for output in model["state"].get("outputs", []):
            if "image/png" in output.get("data", {}):
                blobs.append(base64.b64decode(output["data"]["image/png"]))
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                blobs.append(base64.b64decode(output["data"]["image/png"]))
    return [np.asarray(Image.open(io.BytesIO(blob)).convert("L")) for blob in blobs]


def shown_text(nb: nbformat.NotebookNode) -> str:
    """Everything shown as text or HTML, in cells and inside widgets."""
    parts: list[str] = []

    def _collect(outputs: list[Any]) -> None:
        for output in outputs:
            data = output.get("data", {})
            parts.extend(
                str(data[mime]) for mime in ("text/html", "text/plain") if mime in data
            )
            if "text" in output:
                parts.append(str(output["text"]))

    for cell in nb.cells:
        _collect(cell.get("outputs", []))
    for model in widget_models(nb):
        state = model["state"]
        _collect(state.get("outputs", []))
        for key in ("value", "description", "placeholder"):
            if isinstance(state.get(key), str):
                parts.append(state[key])
    return "\n".join(parts)


def errors_in(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"{output['ename']}: {output['evalue']}")
            if output.get("name") == "stderr" and "Traceback" in output.get("text", ""):
                found.append(output["text"])
    for model in widget_models(nb):
        for output in model["state"].get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"in a widget: {output['ename']}: {output['evalue']}")
    return found


# --- the notebooks as files -------------------------------------------------


def test_notebooks_exist() -> None:
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [], f"outputs not stripped: {cell.source[:60]!r}"
        assert cell.execution_count is None, "execution counts not stripped"
    assert WIDGET_STATE not in nb.metadata.get("widgets", {}), "widget state saved"
    source = "\n".join(cell.source for cell in code)
    private = re.findall(r"deidscope(?:\.\w+)*\._\w+", source)
    assert not private, f"private API used: {private}"
    assert not re.search(r"^\s*(import|from) deid\b", source, re.MULTILINE), (
        "notebooks show deidscope, not deid"
    )
    assert "pyplot" not in source, "notebooks never use pyplot (see TESTING.md)"
    assert not re.search(r"['\"]/(home|tmp|work|Users)/", source), "absolute path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_markdown_opens_with_a_title(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# "), first.source[:40]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path: Path) -> None:
    nb = execute(path)
    assert not errors_in(nb), errors_in(nb)
    assert all(
        cell.execution_count is not None
        for cell in nb.cells
        if cell.cell_type == "code"
    )


# --- what each notebook's widgets showed ---------------------------------------


def _check_audit(nb: nbformat.NotebookNode) -> None:
    """02: the FieldBrowser showed a count and a table of fields."""
    text = shown_text(nb)
    assert re.search(r"\d[\d,]* of [\d,]+ rows", text), "no FieldBrowser count"
    assert "<table" in text, "no table shown"
    assert "PatientName" in text or "Patient's Name" in text


def _check_recipe(nb: nbformat.NotebookNode) -> None:
    """03: the RecipeBuilder showed recipe text and a preview table."""
    text = shown_text(nb)
    assert "FORMAT dicom" in text, "no recipe text shown"
    assert "%header" in text
    assert re.search(r"<th[^>]*>\s*before\s*</th>", text), "no preview table"


def _check_pixels(nb: nbformat.NotebookNode) -> None:
    """04: real thumbnails were shown (decoded, not blank)."""
    images = shown_images(nb)
    assert len(images) >= 4, f"only {len(images)} images shown"
    lively = [image for image in images if image.std() > 5]
    assert len(lively) >= 4, [float(image.std()) for image in images]


def _check_dask(nb: nbformat.NotebookNode) -> None:
    """05: the Dask result was shown and matched the single-process one."""
    text = shown_text(nb)
    assert "True" in text


CHECKS: dict[str, Callable[[nbformat.NotebookNode], None]] = {
    "02": _check_audit,
    "03": _check_recipe,
    "04": _check_pixels,
    "05": _check_dask,
}
CHECKED = [path for path in NOTEBOOKS if path.stem[:2] in CHECKS]


@pytest.mark.parametrize("path", CHECKED, ids=[path.stem for path in CHECKED])
def test_notebook_widgets_show(path: Path) -> None:
    nb = execute(path)
    CHECKS[path.stem[:2]](nb)


def test_widget_checks_catch_an_empty_notebook() -> None:
    """The checks must fail on a notebook that showed nothing."""
    nb = nbformat.v4.new_notebook()
    for check in CHECKS.values():
        with pytest.raises(AssertionError):
            check(nb)


def test_widget_state_helpers_decode_images() -> None:
    gradient = Image.linear_gradient("L").resize((16, 16))
    buffer = io.BytesIO()
    gradient.save(buffer, format="PNG")
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {
        WIDGET_STATE: {
            "state": {
                "m1": {
                    "model_name": "ImageModel",
                    "state": {"format": "png"},
                    "buffers": [
                        {
                            "path": ["value"],
                            "encoding": "base64",
                            "data": base64.b64encode(buffer.getvalue()).decode(),
                        }
                    ],
                }
            }
        }
    }
    (image,) = shown_images(nb)
    assert image.shape == (16, 16)
    assert image.std() > 5
    assert json.dumps(nb.metadata)  # still serialisable
