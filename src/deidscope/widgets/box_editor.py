"""BoxEditor: draw a box on one file's picture and draft a ``%filter`` LABEL from it.

:class:`~deidscope.widgets.ThumbnailGrid` shows one under its grid when a
thumbnail is clicked. The box is drawn with the mouse on the picture (a
:class:`~deidscope.widgets._canvas.PictureCanvas`), set with range sliders or
typed as corners; all three stay in step. It is in the full image's pixels
(columns x, rows y) and is drawn in yellow over the regions the recipe
already blanks (red) and keeps (green), with
:func:`deidscope.pixels.draw_boxes`. The LABEL text
comes from :mod:`deidscope.recipe` (``format_label``), so a script drafts the same
lines.
"""

from __future__ import annotations

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

#: How many times bigger than the thumbnail the editor shows the picture.
ZOOM = 3


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values: dict[str, str | None] = {}
        self._thumb: np.ndarray | None = None
        self._shape = (1, 1)
        self._boxes: list[Box] = []
        self._keep: list[Box] = []
        self._add_handlers = widgets.CallbackDispatcher()
        self._canvas = PictureCanvas(
            png=placeholder_png(128), drawing=True, layout={"max_width": "512px"}
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
        controls = widgets.VBox(
            [
                widgets.HTML(
                    "<b>Draw a box</b> on the picture, drag the ranges or type "
                    "the corners (image pixels)"
                ),
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
        """
        self._thumb = np.asarray(image)
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
        self.draft_box = (0, 0, columns, max(1, rows // 10))
        self._draw()

    def set_boxes(self, boxes: Iterable[Box], *, keep: Iterable[Box] = ()) -> None:
        """Redraw with other recipe boxes, keeping the picture and the draft.

        Parameters
        ----------
        boxes, keep : iterable of boxes
            The regions the recipe now blanks and keeps.
        """
        self._boxes = list(boxes)
        self._keep = list(keep)
        self._draw()

    def clear(self, *, note: str = "") -> None:
        """Forget the picture (nothing to draft on) and show `note`."""
        self._thumb = None
        self.values = {}
        self.set_trait("path", "")
        self._canvas.png = placeholder_png(128)
        self._canvas.scale = (1.0, 1.0)
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

    # -- internals ---------------------------------------------------------------

    def _draw(self) -> None:
        if self._thumb is None:
            return
        big = np.repeat(np.repeat(self._thumb, ZOOM, axis=0), ZOOM, axis=1)
        rows, columns = self._shape
        data = boxes_png(
            big,
            self._boxes,
            keep=self._keep,
            draft=self.draft_box,
            image_shape=self._shape,
        )
        with self._canvas.hold_sync():
            self._canvas.scale = (rows / big.shape[0], columns / big.shape[1])
            self._canvas.png = data
