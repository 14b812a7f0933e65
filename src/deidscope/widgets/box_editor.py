"""BoxEditor: draw a box on one file's picture and draft a ``%filter`` LABEL from it.

:class:`~deidscope.widgets.ThumbnailGrid` shows one under its grid when a
thumbnail is clicked. The box is drawn with the mouse on the picture (a
:class:`~deidscope.widgets._canvas.PictureCanvas`), set with range sliders or
typed as corners; all three stay in step. It is in the full image's pixels
(columns x, rows y) and is drawn in yellow over the regions the recipe
already blanks (red) and keeps (green) and the boxes OCR proposes (dashed),
with :func:`deidscope.pixels.boxes_png`. The picture is the image at full
resolution (at most 2048 pixels a side): the *zoom* slider enlarges a
window of it, the *pan* sliders move the window, so burned-in text is
legible while a box is drawn; the canvas's ``offset`` keeps a box drawn in
a window in the full image's pixels. The LABEL text
comes from :mod:`deidscope.recipe` (``format_label``), so a script drafts the same
lines.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from deidscope.errors import InputError
from deidscope.pixels import Box, boxes_png
from deidscope.pixels.plots import DRAFT_COLOUR
from deidscope.recipe import format_label, label_criteria
from deidscope.recipe._draft import FILTER_GROUPS
from deidscope.widgets._canvas import PictureCanvas, check_box
from deidscope.widgets._common import error_html, placeholder_png

__all__ = ["DRAFT_COLOUR", "BoxEditor", "boxes_png"]

#: The longer side, in pixels, of the picture the editor shows.
DISPLAY = 768
#: The largest zoom.
MAX_ZOOM = 16


class BoxEditor(widgets.VBox):  # type: ignore[misc]
    """Draw a box on one file's picture and draft a ``%filter`` LABEL from it.

    Drag a box on the picture, drag the column and row ranges or type the
    corners; :meth:`label` writes
    the LABEL: the file's Manufacturer, ManufacturerModelName and Modality
    as criteria (:func:`~deidscope.recipe.label_criteria`) and the
    box as a ``coordinates`` line. The *Add LABEL* button calls the
    callbacks given to :meth:`on_add`.

    Attributes
    ----------
    path : str
        The file drafted on ("" until :meth:`load`).
    values : dict
        Its criteria fields' values.
    draft_box : tuple of int
        The box, ``(xmin, ymin, xmax, ymax)`` in the full image's pixels.
    label_name : str
        The LABEL's name.
    label_group : str
        The ``%filter`` group the LABEL goes to.
    zoom : int
        How many times the picture is enlarged (1: the whole image).
    center : tuple of int
        ``(x, y)``: the image pixel at the centre of the window shown.
    """

    draft_box = traitlets.Tuple(
        traitlets.Int(),
        traitlets.Int(),
        traitlets.Int(),
        traitlets.Int(),
        default_value=(0, 0, 1, 1),
    )
    label_name = traitlets.Unicode("")
    label_group = traitlets.Enum(FILTER_GROUPS, default_value="graylist")
    path = traitlets.Unicode("", read_only=True)
    zoom = traitlets.Int(1)
    center = traitlets.Tuple(traitlets.Int(), traitlets.Int(), default_value=(0, 0))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values: dict[str, str | None] = {}
        self._thumb: np.ndarray | None = None
        self._picture: np.ndarray | None = None
        self._shape = (1, 1)
        self._boxes: list[Box] = []
        self._keep: list[Box] = []
        self._proposed: list[tuple[Box, bool]] = []
        self._add_handlers = widgets.CallbackDispatcher()
        self._canvas = PictureCanvas(
            png=placeholder_png(128), drawing=True, layout={"max_width": "768px"}
        )
        self._zoom = widgets.IntSlider(
            description="zoom", value=1, min=1, max=MAX_ZOOM, continuous_update=False
        )
        self._pan_x = widgets.IntSlider(
            description="pan x", value=0, min=0, max=1, continuous_update=False
        )
        self._pan_y = widgets.IntSlider(
            description="pan y", value=0, min=0, max=1, continuous_update=False
        )
        self._canvas.add_class("deidscope-editor-picture")
        self._xrange = widgets.IntRangeSlider(
            description="columns x", value=(0, 1), min=0, max=1
        )
        self._yrange = widgets.IntRangeSlider(
            description="rows y", value=(0, 1), min=0, max=1
        )
        self._corners = widgets.Text(
            description="corners",
            placeholder="xmin,ymin,xmax,ymax",
            continuous_update=False,
        )
        self._label = widgets.Text(description="LABEL")
        self._group = widgets.Dropdown(options=FILTER_GROUPS, description="%filter")
        self._add = widgets.Button(
            description="Add LABEL to recipe", button_style="primary"
        )
        self._note = widgets.HTML()
        self._xrange.observe(self._on_xrange_value, "value")
        self._yrange.observe(self._on_yrange_value, "value")
        self._corners.observe(self._on_corners_value, "value")
        self._canvas.observe(self._on_canvas_box, "box")
        self._add.on_click(self._on_add_click)
        traitlets.link((self, "label_name"), (self._label, "value"))
        traitlets.link((self, "label_group"), (self._group, "value"))
        traitlets.link((self, "zoom"), (self._zoom, "value"))
        self._pan_x.observe(self._on_pan, "value")
        self._pan_y.observe(self._on_pan, "value")
        self.observe(self._on_view_change, ["zoom", "center"])
        controls = widgets.VBox(
            [
                widgets.HTML(
                    "<b>Draw a box</b> on the picture, drag the ranges or type "
                    "the corners (image pixels)"
                ),
                self._zoom,
                self._pan_x,
                self._pan_y,
                self._xrange,
                self._yrange,
                self._corners,
                self._label,
                self._group,
                self._add,
                self._note,
            ]
        )
        self.children = [widgets.HBox([self._canvas, controls])]
        self.observe(self._on_draft_box_change, "draft_box")

    # -- public --------------------------------------------------------------

    def load(
        self,
        path: str,
        image: np.ndarray,
        *,
        image_shape: tuple[int, int],
        values: Mapping[str, str | None],
        boxes: Iterable[Box] = (),
        keep: Iterable[Box] = (),
        picture: np.ndarray | None = None,
        proposed: Iterable[tuple[Box, bool]] = (),
    ) -> None:
        """Draft on one file's picture.

        Parameters
        ----------
        path : str
            The file.
        image : ndarray of uint8
            Its thumbnail (not modified).
        image_shape : tuple of int
            ``(rows, columns)`` of the full image.
        values : mapping of str to str or None
            The criteria fields' values (see
            :func:`~deidscope.recipe.header_values`).
        boxes, keep : iterable of boxes
            The regions the recipe already blanks and keeps, drawn too.
        picture : ndarray of uint8, optional
            The image at full resolution (or at most 2048 pixels a side),
            shown and zoomed; default the thumbnail.
        proposed : iterable of (box, bool)
            Boxes OCR proposes, drawn dashed (the bool: the text shows a
            header value).
        """
        self._thumb = np.asarray(image)
        self._picture = self._thumb if picture is None else np.asarray(picture)
        self._proposed = list(proposed)
        self._shape = image_shape
        self._boxes = list(boxes)
        self._keep = list(keep)
        self.values = dict(values)
        self.set_trait("path", path)
        self._note.value = ""
        maker = " ".join(v for v in self.values.values() if v)
        self.label_name = f"Burned-in text on {maker or os.path.basename(path)}"
        rows, columns = image_shape
        with self.hold_trait_notifications():
            self._xrange.max = columns
            self._yrange.max = rows
            self._pan_x.max = max(1, columns)
            self._pan_y.max = max(1, rows)
        self._loading = True
        try:
            self.zoom = 1
            self.center = (columns // 2, rows // 2)
        finally:
            self._loading = False
        self.draft_box = (0, 0, columns, max(1, rows // 10))
        self._draw()

    def set_boxes(
        self,
        boxes: Iterable[Box],
        *,
        keep: Iterable[Box] = (),
        proposed: Iterable[tuple[Box, bool]] | None = None,
    ) -> None:
        """Redraw with other recipe boxes, keeping the picture and the draft.

        Parameters
        ----------
        boxes, keep : iterable of boxes
            The regions the recipe now blanks and keeps.
        proposed : iterable of (box, bool), optional
            The boxes OCR proposes (None: unchanged).
        """
        self._boxes = list(boxes)
        self._keep = list(keep)
        if proposed is not None:
            self._proposed = list(proposed)
        self._draw()

    def view(self) -> tuple[int, int, int, int]:
        """Return the window shown, ``(xmin, ymin, xmax, ymax)`` in image pixels."""
        rows, columns = self._shape
        zoom = max(1, min(MAX_ZOOM, int(self.zoom)))
        width = max(1, math.ceil(columns / zoom))
        height = max(1, math.ceil(rows / zoom))
        cx, cy = self.center
        x0 = min(max(0, cx - width // 2), columns - width)
        y0 = min(max(0, cy - height // 2), rows - height)
        return x0, y0, x0 + width, y0 + height

    def clear(self, *, note: str = "") -> None:
        """Forget the picture (nothing to draft on) and show `note`."""
        self._thumb = None
        self._picture = None
        self.values = {}
        self.set_trait("path", "")
        self._canvas.png = placeholder_png(128)
        self._canvas.scale = (1.0, 1.0)
        self._canvas.offset = (0, 0)
        self._note.value = note

    def label(self) -> str:
        """Return the LABEL block for the drafted box.

        Raises
        ------
        InputError
            If no picture is loaded or the label name is not one line.
        """
        if not self.path:
            raise InputError("BoxEditor.label: load a file's picture first")
        criteria = label_criteria(self.values)
        return format_label(self.label_name, criteria, [self.draft_box])

    def on_add(
        self, callback: Callable[[BoxEditor], Any], *, remove: bool = False
    ) -> None:
        """Call ``callback(editor)`` when *Add LABEL* is clicked."""
        self._add_handlers.register_callback(callback, remove=remove)

    @property
    def note(self) -> str:
        """The HTML under the controls: what the last LABEL flags, or an error."""
        return str(self._note.value)

    @note.setter
    def note(self, value: str) -> None:
        self._note.value = value

    def preview_png(self) -> bytes:
        """Return the PNG bytes the editor shows (a grey square before :meth:`load`)."""
        return bytes(self._canvas.png)

    # -- validation ------------------------------------------------------------

    @traitlets.validate("zoom")
    def _valid_zoom(self, proposal: dict[str, Any]) -> int:
        zoom = int(proposal["value"])
        if not 1 <= zoom <= MAX_ZOOM:
            raise traitlets.TraitError(
                f"BoxEditor: zoom must be 1-{MAX_ZOOM}, got {proposal['value']!r}"
            )
        return zoom

    @traitlets.validate("draft_box")
    def _valid_draft_box(self, proposal: dict[str, Any]) -> tuple[int, ...]:
        box = tuple(int(v) for v in proposal["value"])
        return check_box(box, what="BoxEditor: draft_box")

    # -- handlers --------------------------------------------------------------

    def _on_xrange_value(self, change: dict[str, Any]) -> None:
        xmin, xmax = change["new"]
        if xmin < xmax:
            _, ymin, _, ymax = self.draft_box
            self.draft_box = (xmin, ymin, xmax, ymax)

    def _on_yrange_value(self, change: dict[str, Any]) -> None:
        ymin, ymax = change["new"]
        if ymin < ymax:
            xmin, _, xmax, _ = self.draft_box
            self.draft_box = (xmin, ymin, xmax, ymax)

    def _on_canvas_box(self, change: dict[str, Any]) -> None:
        self.draft_box = change["new"]  # valid: the canvas checks its box too

    def _on_corners_value(self, change: dict[str, Any]) -> None:
        text = change["new"].strip()
        if not text:
            return
        try:
            box = tuple(int(part) for part in text.replace(" ", "").split(","))
            if len(box) != 4:
                raise ValueError(text)
            self.draft_box = box
        except (ValueError, traitlets.TraitError):
            self._note.value = error_html(
                f"corners must be xmin,ymin,xmax,ymax with min < max, got {text!r}"
            )

    def _on_draft_box_change(self, change: dict[str, Any]) -> None:
        xmin, ymin, xmax, ymax = change["new"]
        with self.hold_trait_notifications():
            if self._xrange.max < xmax:
                self._xrange.max = xmax
            if self._yrange.max < ymax:
                self._yrange.max = ymax
            self._xrange.value = (xmin, xmax)
            self._yrange.value = (ymin, ymax)
        corners = f"{xmin},{ymin},{xmax},{ymax}"
        if self._corners.value.replace(" ", "") != corners:
            self._corners.value = corners
        self._canvas.box = change["new"]
        self._draw()

    def _on_add_click(self, button: widgets.Button) -> None:
        self._add_handlers(self)

    def _on_pan(self, change: dict[str, Any]) -> None:
        self.center = (self._pan_x.value, self._pan_y.value)

    def _on_view_change(self, change: dict[str, Any]) -> None:
        x, y = self.center
        with self.hold_trait_notifications():
            self._pan_x.value = min(max(x, self._pan_x.min), self._pan_x.max)
            self._pan_y.value = min(max(y, self._pan_y.min), self._pan_y.max)
        if not getattr(self, "_loading", False):
            self._draw()

    # -- internals ---------------------------------------------------------------

    def _draw(self) -> None:
        if self._picture is None:
            return
        from PIL import Image

        rows, columns = self._shape
        x0, y0, x1, y1 = self.view()
        picture = self._picture
        sy, sx = picture.shape[0] / rows, picture.shape[1] / columns
        crop = picture[
            math.floor(y0 * sy) : max(math.floor(y0 * sy) + 1, math.ceil(y1 * sy)),
            math.floor(x0 * sx) : max(math.floor(x0 * sx) + 1, math.ceil(x1 * sx)),
        ]
        height, width = y1 - y0, x1 - x0
        scale = DISPLAY / max(height, width)
        shape = (max(1, round(height * scale)), max(1, round(width * scale)))
        bigger = shape[0] >= crop.shape[0]
        shown = np.asarray(
            Image.fromarray(np.ascontiguousarray(crop)).resize(
                (shape[1], shape[0]),
                Image.Resampling.NEAREST if bigger else Image.Resampling.BOX,
            )
        )

        def window(box: Box) -> Box | None:
            out = (
                max(0, box[0] - x0),
                max(0, box[1] - y0),
                min(width, box[2] - x0),
                min(height, box[3] - y0),
            )
            return out if out[0] < out[2] and out[1] < out[3] else None

        def inside(boxes: Iterable[Box]) -> list[Box]:
            return [b for b in (window(box) for box in boxes) if b is not None]

        proposed = [
            (b, header)
            for b, header in ((window(box), h) for box, h in self._proposed)
            if b is not None
        ]
        data = boxes_png(
            shown,
            inside(self._boxes),
            keep=inside(self._keep),
            draft=window(self.draft_box),
            proposed=proposed,
            image_shape=(height, width),
        )
        with self._canvas.hold_sync():
            self._canvas.scale = (height / shape[0], width / shape[1])
            self._canvas.offset = (x0, y0)
            self._canvas.png = data
