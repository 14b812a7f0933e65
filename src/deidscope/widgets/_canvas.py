"""PictureCanvas: a PNG in the browser that reports clicks and drawn boxes.

An :class:`anywidget.AnyWidget` with its JavaScript inline (no bundler, no
URL fetched): the front end shows :attr:`PictureCanvas.png` as an ``<img>``
made from a Blob URL, counts clicks in :attr:`~PictureCanvas.clicks` and,
when :attr:`~PictureCanvas.drawing` is on, draws a rubber-band rectangle
while the mouse is dragged and sets :attr:`~PictureCanvas.box` (in the full
image's pixels) when it is released. When the picture is a window of a
zoomed image, :attr:`~PictureCanvas.offset` (the window's top-left corner in
the image) is added, so the box is still in the full image's pixels. The
picture is made by Python
(:func:`deidscope.widgets.box_editor.boxes_png`); the canvas only shows it.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

__all__ = ["PictureCanvas", "check_box"]

_ESM = r"""
const DRAG_PIXELS = 4;  // a smaller move is a click, not a box

function render({ model, el }) {
  el.classList.add("deidscope-picture");
  const img = document.createElement("img");
  img.className = "deidscope-picture-img";
  img.draggable = false;
  img.alt = "";
  const band = document.createElement("div");
  band.className = "deidscope-picture-band";
  band.style.display = "none";
  el.append(img, band);

  let url = null;
  function showPng() {
    const data = model.get("png");
    const old = url;
    url = data && data.byteLength
      ? URL.createObjectURL(new Blob([data], { type: "image/png" }))
      : null;
    if (url) img.src = url; else img.removeAttribute("src");
    if (old) URL.revokeObjectURL(old);
  }
  function updateCursor() {
    el.classList.toggle("deidscope-picture-drawing", !!model.get("drawing"));
  }

  // displayed position -> natural pixels of the PNG -> full-image pixels
  function toImage(clientX, clientY) {
    const rect = img.getBoundingClientRect();
    const sx = img.naturalWidth / (img.clientWidth || 1);
    const sy = img.naturalHeight / (img.clientHeight || 1);
    const [rowScale, columnScale] = model.get("scale");
    return [(clientX - rect.left) * sx * columnScale,
            (clientY - rect.top) * sy * rowScale];
  }
  function imageSize() {
    const [rowScale, columnScale] = model.get("scale");
    return [Math.round(img.naturalWidth * columnScale),
            Math.round(img.naturalHeight * rowScale)];
  }
  function clip(v, hi) { return Math.min(Math.max(v, 0), hi); }
  function clamp(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }

  let start = null;  // {x, y} client coordinates of the pointer down
  let moved = false;
  function drawBand(x, y) {
    const rect = img.getBoundingClientRect();
    const host = el.getBoundingClientRect();
    const left = clamp(Math.min(start.x, x), rect.left, rect.right);
    const right = clamp(Math.max(start.x, x), rect.left, rect.right);
    const top = clamp(Math.min(start.y, y), rect.top, rect.bottom);
    const bottom = clamp(Math.max(start.y, y), rect.top, rect.bottom);
    band.style.left = `${left - host.left}px`;
    band.style.top = `${top - host.top}px`;
    band.style.width = `${right - left}px`;
    band.style.height = `${bottom - top}px`;
    band.style.display = "block";
  }
  function onDown(event) {
    if (event.button !== 0 || !img.naturalWidth) return;
    event.preventDefault();
    start = { x: event.clientX, y: event.clientY };
    moved = false;
    if (el.setPointerCapture) {
      try { el.setPointerCapture(event.pointerId); } catch (e) { /* ignore */ }
    }
  }
  function onMove(event) {
    if (!start) return;
    const far = Math.abs(event.clientX - start.x) >= DRAG_PIXELS
      || Math.abs(event.clientY - start.y) >= DRAG_PIXELS;
    moved = moved || far;
    if (moved && model.get("drawing")) drawBand(event.clientX, event.clientY);
  }
  function onUp(event) {
    if (!start) return;
    const from = start;
    start = null;
    band.style.display = "none";
    if (!moved) {
      model.set("clicks", model.get("clicks") + 1);
      model.save_changes();
      return;
    }
    if (!model.get("drawing")) return;
    const [width, height] = imageSize();
    const [x0, y0] = toImage(from.x, from.y);
    const [x1, y1] = toImage(event.clientX, event.clientY);
    let xmin = clip(Math.floor(Math.min(x0, x1)), width);
    let xmax = clip(Math.ceil(Math.max(x0, x1)), width);
    let ymin = clip(Math.floor(Math.min(y0, y1)), height);
    let ymax = clip(Math.ceil(Math.max(y0, y1)), height);
    if (xmax <= xmin) { if (xmin >= width) xmin = width - 1; xmax = xmin + 1; }
    if (ymax <= ymin) { if (ymin >= height) ymin = height - 1; ymax = ymin + 1; }
    if (xmin < 0 || ymin < 0) return;  // an empty picture
    const [dx, dy] = model.get("offset");  // the picture shows a zoomed window
    model.set("box", [xmin + dx, ymin + dy, xmax + dx, ymax + dy]);
    model.save_changes();
  }
  function onCancel() { start = null; band.style.display = "none"; }
  const noDrag = (event) => event.preventDefault();

  el.addEventListener("pointerdown", onDown);
  el.addEventListener("pointermove", onMove);
  el.addEventListener("pointerup", onUp);
  el.addEventListener("pointercancel", onCancel);
  img.addEventListener("dragstart", noDrag);
  model.on("change:png", showPng);
  model.on("change:drawing", updateCursor);
  showPng();
  updateCursor();

  return () => {
    model.off("change:png", showPng);
    model.off("change:drawing", updateCursor);
    if (url) URL.revokeObjectURL(url);
    url = null;
  };
}

export default { render };
"""

_CSS = """
.deidscope-picture { position: relative; display: inline-block; line-height: 0;
  user-select: none; touch-action: none; }
.deidscope-picture-img { max-width: 100%; height: auto; display: block; }
.deidscope-picture-drawing { cursor: crosshair; }
.deidscope-picture:not(.deidscope-picture-drawing) { cursor: pointer; }
.deidscope-picture-band { position: absolute; pointer-events: none;
  border: 2px dashed rgb(255, 200, 0); background: rgba(255, 200, 0, 0.15);
  box-sizing: border-box; }
"""


def check_box(box: tuple[int, ...], *, what: str) -> tuple[int, ...]:
    """Return `box` if it is ``(xmin, ymin, xmax, ymax)`` in image pixels.

    Parameters
    ----------
    box : tuple of int
        The box.
    what : str
        The class and trait, for the message (``"BoxEditor: draft_box"``).

    Returns
    -------
    tuple of int
        `box`, unchanged.

    Raises
    ------
    traitlets.TraitError
        Unless ``0 <= xmin < xmax`` and ``0 <= ymin < ymax``.
    """
    xmin, ymin, xmax, ymax = box
    if min(box) < 0 or xmin >= xmax or ymin >= ymax:
        raise traitlets.TraitError(
            f"{what} must be (xmin, ymin, xmax, ymax) with "
            f"0 <= xmin < xmax and 0 <= ymin < ymax, got {box}"
        )
    return box


class PictureCanvas(anywidget.AnyWidget):
    """A PNG shown in the browser that reports clicks and boxes drawn on it.

    The front end only shows the picture and reports what the mouse did;
    what a click or a box means is decided by the widget that holds the
    canvas, in Python.

    Attributes
    ----------
    png : bytes
        The picture shown (PNG file bytes).
    scale : tuple of float
        ``(row_scale, column_scale)``: full-image pixels per pixel of the
        PNG, e.g. ``image_shape / png_shape``, so :attr:`box` is in the full
        image's pixels.
    drawing : bool
        Whether dragging the mouse draws a box.
    offset : tuple of int
        ``(x, y)``: the full-image pixel at the picture's top-left corner
        (non-zero when the picture is a zoomed window of the image).
    box : tuple of int
        ``(xmin, ymin, xmax, ymax)`` in the full image's pixels, set by the
        front end when a drag ends, clipped to the picture shown.
    clicks : int
        How many times the picture was clicked (without a drag).
    """

    _esm = _ESM
    _css = _CSS

    png = traitlets.Bytes(b"").tag(sync=True)
    scale = traitlets.Tuple(
        traitlets.Float(), traitlets.Float(), default_value=(1.0, 1.0)
    ).tag(sync=True)
    drawing = traitlets.Bool(False).tag(sync=True)
    offset = traitlets.Tuple(
        traitlets.Int(), traitlets.Int(), default_value=(0, 0)
    ).tag(sync=True)
    box = traitlets.Tuple(
        traitlets.Int(),
        traitlets.Int(),
        traitlets.Int(),
        traitlets.Int(),
        default_value=(0, 0, 1, 1),
    ).tag(sync=True)
    clicks = traitlets.Int(0).tag(sync=True)

    @traitlets.validate("box")
    def _valid_box(self, proposal: dict[str, Any]) -> tuple[int, ...]:
        value = proposal["value"]
        if len(value) != 4 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise traitlets.TraitError(
                f"PictureCanvas: box must be four ints, got {value!r}"
            )
        return check_box(tuple(value), what="PictureCanvas: box")

    @traitlets.validate("offset")
    def _valid_offset(self, proposal: dict[str, Any]) -> tuple[int, int]:
        x, y = proposal["value"]
        if x < 0 or y < 0:
            raise traitlets.TraitError(
                "PictureCanvas: offset must be two ints >= 0, "
                f"got {proposal['value']!r}"
            )
        return int(x), int(y)

    @traitlets.validate("scale")
    def _valid_scale(self, proposal: dict[str, Any]) -> tuple[float, float]:
        rows, columns = (float(v) for v in proposal["value"])
        if not (rows > 0 and columns > 0):
            raise traitlets.TraitError(
                f"PictureCanvas: scale must be two positive numbers, got "
                f"{proposal['value']!r}"
            )
        return rows, columns

    @traitlets.validate("clicks")
    def _valid_clicks(self, proposal: dict[str, Any]) -> int:
        clicks = int(proposal["value"])
        if clicks < 0:
            raise traitlets.TraitError(
                f"PictureCanvas: clicks cannot be negative, got {clicks}"
            )
        return clicks
