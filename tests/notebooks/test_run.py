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
from collections.abc import Callable, Iterable
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


def decode_png(blob: bytes) -> np.ndarray:
    """A PNG's grey levels."""
    return np.asarray(Image.open(io.BytesIO(blob)).convert("L"))


def models_by_id(nb: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    return {model["id"]: model for model in widget_models(nb)}


def find_models(
    models: Iterable[dict[str, Any]], model_name: str, dom_class: str | None = None
) -> list[dict[str, Any]]:
    """The saved models of one kind (with a CSS class, if given)."""
    return [
        model
        for model in models
        if model["model_name"] == model_name
        and (dom_class is None or dom_class in model["state"].get("_dom_classes", []))
    ]


def descendants(
    models: dict[str, dict[str, Any]], model_id: str
) -> list[dict[str, Any]]:
    """A saved widget and every widget inside it (through ``children``)."""
    found: list[dict[str, Any]] = []
    pending = [model_id]
    while pending:
        model = models.get(pending.pop().removeprefix("IPY_MODEL_"))
        if model is None:
            continue
        found.append(model)
        pending.extend(model["state"].get("children", []))
    return found


def is_picture(model: dict[str, Any]) -> bool:
    """An ipywidgets Image or a deidscope PictureCanvas (an anywidget with a PNG)."""
    if model["model_name"] == "ImageModel":
        return True
    return model["model_name"] == "AnyModel" and ("png",) in model["buffers"]


def shown_images(nb: nbformat.NotebookNode) -> list[np.ndarray]:
    """Every picture a widget or an output showed, decoded to grey levels."""
    blobs: list[bytes] = []
    for model in widget_models(nb):
        if is_picture(model):
            blobs.extend(model["buffers"].values())
        for output in model["state"].get("outputs", []):
            if "image/png" in output.get("data", {}):
                blobs.append(base64.b64decode(output["data"]["image/png"]))
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                blobs.append(base64.b64decode(output["data"]["image/png"]))
    return [decode_png(blob) for blob in blobs]


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


def _grouped(paths: list[Path]) -> list[Any]:
    """One xdist group per notebook, so that its checks share one run.

    Under ``--dist=loadgroup``; pytest-xdist 3.8 does not group under pytest
    9.2 (pytest-xdist#1386), so until it does a notebook may run once per worker.
    """
    return [
        pytest.param(path, id=path.stem, marks=pytest.mark.xdist_group(path.stem))
        for path in paths
    ]


@pytest.mark.parametrize("path", _grouped(NOTEBOOKS))
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
    """02: the FieldBrowser showed its count and rows; explore showed its tabs.

    Only the saved widget state is searched, not the cells' own outputs.
    """
    models = models_by_id(nb)
    statuses = find_models(models.values(), "HTMLModel", "deidscope-browser-status")
    counts = [
        m
        for m in statuses
        if re.search(r"\d[\d,]* of [\d,]+ rows", m["state"]["value"])
    ]
    assert counts, "no FieldBrowser count"
    # the grid streams its rows from the kernel: its state holds their count
    grids = find_models(models.values(), "StreamingDataGridModel", "deidscope-datagrid")
    shown = {m["state"]["_row_count"] for m in grids}
    counted = {
        int(re.search(r"([\d,]+) of", m["state"]["value"])[1].replace(",", ""))  # type: ignore[index]
        for m in counts
    }
    assert shown & counted, f"no grid shows the counted rows: {shown} vs {counted}"
    profiles = [
        m
        for m in find_models(models.values(), "HTMLModel")
        if "PatientName" in m["state"].get("value", "")
        and "matching rows" in m["state"].get("value", "")
    ]
    assert profiles, "no profile of the PN rows"
    tabs = [
        m
        for m in find_models(models.values(), "TabModel")
        if tuple(m["state"].get("titles", ())) == ("Fields", "Images", "Recipe")
    ]
    assert tabs, "explore(df) showed no Fields/Images/Recipe tabs"
    tab = tabs[0]
    fields, images, recipe = (
        descendants(models, child) for child in tab["state"]["children"]
    )
    assert find_models(fields, "HTMLModel", "deidscope-browser-status")
    assert find_models(images, "GridBoxModel", "deidscope-grid")
    assert any(is_picture(model) for model in images)
    assert find_models(recipe, "TextareaModel", "deidscope-recipe")


def _check_recipe(nb: nbformat.NotebookNode) -> None:
    """03: the builder's text box, its preview and the grid's thumbnails.

    Only the saved widget state is searched: the recipe in the builder's
    Textarea, the preview table in its HTML, real (decoded, not blank)
    pictures in the ThumbnailGrid's PictureCanvases.
    """
    models = models_by_id(nb)
    texts = [
        m["state"].get("value", "")
        for m in find_models(models.values(), "TextareaModel", "deidscope-recipe")
    ]
    assert any("FORMAT dicom" in t and "%header" in t for t in texts), texts
    assert any("REPLACE PatientName anonymous" in t for t in texts), texts
    previews = [
        m["state"].get("value", "")
        for m in find_models(models.values(), "HTMLModel", "deidscope-preview")
    ]
    assert any(
        re.search(r"<th[^>]*>\s*before\s*</th>", p) and "anonymous" in p
        for p in previews
    ), "no preview table in the builder"
    grids = find_models(models.values(), "GridBoxModel", "deidscope-grid")
    assert grids, "no ThumbnailGrid"
    tiles = [
        m for grid in grids for m in descendants(models, grid["id"]) if is_picture(m)
    ]
    assert len(tiles) >= 4, f"only {len(tiles)} thumbnails"
    for tile in tiles:
        (blob,) = tile["buffers"].values()
        assert decode_png(blob).std() > 5, "a blank thumbnail (or the placeholder)"


def _check_pixels(nb: nbformat.NotebookNode) -> None:
    """04: real thumbnails were shown, and the cleaned copy keeps its image.

    The last cell shows the flagged file before and after ``clean``: the
    cleaned one differs (boxes blanked) but is not blacked out (the regions
    to keep survive).
    """
    images = shown_images(nb)
    assert len(images) >= 4, f"only {len(images)} images shown"
    lively = [image for image in images if image.std() > 5]
    assert len(lively) >= 4, [float(image.std()) for image in images]
    models = models_by_id(nb)
    (last,) = [cell for cell in nb.cells if cell.cell_type == "code"][-1:]
    views = [
        output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for output in last.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    assert len(views) == 1, "the before/after cell shows no widget"
    children = models[views[0]]["state"]["children"]  # in the order shown
    pictures = [models[child.removeprefix("IPY_MODEL_")] for child in children]
    assert len(pictures) == 2
    assert all(is_picture(m) for m in pictures)
    before, after = (decode_png(next(iter(m["buffers"].values()))) for m in pictures)
    assert after.std() > 5, "the cleaned image is blank"
    assert (after > 0).mean() > 0.1, "the cleaned image is mostly black"
    assert not np.array_equal(before, after), "clean changed nothing"


def _check_dask(nb: nbformat.NotebookNode) -> None:
    """05: the computed Dask frame equals the single-process one.

    The cell that compares them (``computed.equals(local)``) must show
    ``True``, whatever else the notebook shows.
    """
    shown = [
        output["data"].get("text/plain")
        for cell in nb.cells
        if cell.cell_type == "code" and "computed.equals(local)" in cell.source
        for output in cell.get("outputs", [])
        if output.get("output_type") == "execute_result"
    ]
    assert shown == ["True"], f"the Dask frame differs from read_identifiers': {shown}"


def _check_burned_in(nb: nbformat.NotebookNode) -> None:
    """06: OCR found header values, the cleaned copies show none, the grid drew.

    The cell counting the header values ``verify`` still finds must show
    ``0``; the find_text table must name header fields; the grid's tiles
    are real pictures with dashed boxes drawn.
    """
    shown = [
        output["data"].get("text/plain")
        for cell in nb.cells
        if cell.cell_type == "code" and 'left["header_match"]' in cell.source
        for output in cell.get("outputs", [])
        if output.get("output_type") == "execute_result"
    ]
    assert "0" in shown, f"header values left in the cleaned pixels: {shown}"
    tables = [
        output["data"].get("text/plain", "")
        for cell in nb.cells
        if cell.cell_type == "code" and "pixels.find_text(" in cell.source
        for output in cell.get("outputs", [])
        if output.get("output_type") == "execute_result"
    ]
    assert any("PatientBirthDate" in t and "PatientName" in t for t in tables), tables
    models = models_by_id(nb)
    grids = find_models(models.values(), "GridBoxModel", "deidscope-grid")
    tiles = [
        m for grid in grids for m in descendants(models, grid["id"]) if is_picture(m)
    ]
    assert len(tiles) >= 4, f"only {len(tiles)} thumbnails"
    dashed = 0
    for tile in tiles:
        (blob,) = tile["buffers"].values()
        rgb = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
        dashed += bool(np.all(rgb == (255, 0, 220), axis=2).any())
    assert dashed >= 2, "no proposed box drawn on the thumbnails"


CHECKS: dict[str, Callable[[nbformat.NotebookNode], None]] = {
    "02": _check_audit,
    "03": _check_recipe,
    "04": _check_pixels,
    "05": _check_dask,
    "06": _check_burned_in,
}
CHECKED = [path for path in NOTEBOOKS if path.stem[:2] in CHECKS]


@pytest.mark.parametrize("path", _grouped(CHECKED))
def test_notebook_widgets_show(path: Path) -> None:
    nb = execute(path)
    CHECKS[path.stem[:2]](nb)


def test_recipe_check_ignores_plain_cell_output() -> None:
    """Printing the recipe and the preview is not the widgets showing them."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(builder.recipe_text)")
    cell.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stdout",
            text="FORMAT dicom\n\n%header\n\nREPLACE PatientName anonymous\n",
        ),
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/html": "<table><tr><th>before</th></tr>"
                "<tr><td>anonymous</td></tr></table>"
            },
            execution_count=1,
        ),
    ]
    nb.cells = [cell]
    with pytest.raises(AssertionError):
        _check_recipe(nb)


def test_dask_check_needs_the_equality_cell_to_show_true() -> None:
    """A "True" elsewhere does not pass 05 when its frames differ."""
    nb = nbformat.v4.new_notebook()
    compare = nbformat.v4.new_code_cell("computed.equals(local)")
    compare.outputs = [
        nbformat.v4.new_output(
            "execute_result", data={"text/plain": "False"}, execution_count=2
        )
    ]
    other = nbformat.v4.new_code_cell("print(True)")
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text="True\n")]
    nb.cells = [other, compare]
    with pytest.raises(AssertionError, match="differs"):
        _check_dask(nb)
    compare.outputs[0]["data"]["text/plain"] = "True"
    _check_dask(nb)


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
