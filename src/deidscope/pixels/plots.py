"""Figures: an image with its boxes, and a labelled grid of thumbnails.

Both build a ``matplotlib.figure.Figure`` directly: no pyplot, no backend
switch, no global state, so they are safe in widget callbacks running on
kernel threads. Show one as a cell's last expression or ``fig.savefig()``.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from deidscope.errors import DeidscopeError, InputError
from deidscope.files import PathLike
from deidscope.pixels._decode import image_size, load, quiet
from deidscope.pixels.boxes import (
    CLEAN_COLOR,
    KEEP_COLOR,
    Box,
    as_box,
    draw_boxes,
    sort_boxes,
)
from deidscope.pixels.thumbnails import thumbnail, to_png

__all__ = [
    "DRAFT_COLOUR",
    "HEADER_MATCH_COLOUR",
    "PROPOSED_COLOUR",
    "boxes_png",
    "plot_boxes",
    "plot_montage",
]

#: The colour :func:`boxes_png` draws a box being drafted in.
DRAFT_COLOUR = (255, 200, 0)
#: The dashed outline of a box OCR proposes (find_text), and of one whose
#: text shows a header value.
PROPOSED_COLOUR = (0, 190, 255)
HEADER_MATCH_COLOUR = (255, 0, 220)
#: The length of a dash (and of a gap) in picture pixels.
DASH = 4


def plot_boxes(
    path_or_ds: PathLike | Dataset,
    boxes: Iterable[Any] = (),
    *,
    keep: Iterable[Any] = (),
    size: int = 512,
    frame: int | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 4.5),
) -> Any:
    """Show an image with the regions a recipe blanks (red) and keeps (green).

    The image is a :func:`~deidscope.pixels.thumbnail`; the axes are in the
    full image's pixels, so a box is drawn where :func:`clean` would blank
    it. The figure is a ``matplotlib.figure.Figure`` made directly (no
    pyplot, no global state): show it as a cell's last expression, or
    ``fig.savefig(...)``.

    Parameters
    ----------
    path_or_ds : str, os.PathLike or pydicom.dataset.Dataset
        The image.
    boxes : iterable, optional
        Regions to blank: ``(xmin, ymin, xmax, ymax)``, text, or
        :class:`deidscope.recipe.Coordinates` (CTP ones, ``x, y, width,
        height``, converted). A LABEL's ``coordinates`` can be passed
        whole: its ``keepcoordinates`` lines are drawn as kept.
    keep : iterable, optional
        Regions kept (``keepcoordinates``); a ``coordinates`` line given
        here is still drawn as blanked (see
        :func:`~deidscope.pixels.sort_boxes`).
    size : int, optional
        Thumbnail size drawn (default 512).
    frame : int or None, optional
        The frame of a multi-frame image (default the middle one).
    title : str or None, optional
        The axes title; default the file name.
    figsize : tuple of float, optional
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    PixelDataError
        If the image cannot be decoded.
    InputError
        If a box is malformed.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    blank, kept = sort_boxes(boxes, keep, caller="plot_boxes")
    clean_boxes = [as_box(b, "plot_boxes") for b in blank]
    keep_boxes = [as_box(b, "plot_boxes") for b in kept]
    src = load(path_or_ds, caller="plot_boxes")
    with quiet(src):
        rows, columns = image_size(src)
    picture = thumbnail(path_or_ds, size=size, frame=frame)
    fig = Figure(figsize=figsize)
    ax = fig.add_subplot()
    ax.imshow(
        picture,
        cmap="gray" if picture.ndim == 2 else None,
        vmin=0,
        vmax=255,
        extent=(0, columns, rows, 0),
        interpolation="nearest",
    )
    for items, color, label in (
        (clean_boxes, CLEAN_COLOR, "blanked"),
        (keep_boxes, KEEP_COLOR, "kept"),
    ):
        for i, (xmin, ymin, xmax, ymax) in enumerate(items):
            ax.add_patch(
                Rectangle(
                    (xmin, ymin),
                    xmax - xmin,
                    ymax - ymin,
                    fill=False,
                    edgecolor=tuple(c / 255 for c in color),
                    linewidth=1.5,
                    label=label if i == 0 else None,
                )
            )
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)
    ax.set_xlabel("x (columns)")
    ax.set_ylabel("y (rows)")
    if title is None:
        title = os.path.basename(src.name) if src.path is not None else ""
    ax.set_title(title, fontsize=9)
    if clean_boxes or keep_boxes:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_montage(
    items: Iterable[PathLike | Dataset | np.ndarray],
    *,
    labels: Sequence[str] | None = None,
    ncols: int | None = None,
    size: int = 128,
    cell_inches: float = 1.8,
) -> Any:
    """Lay out thumbnails in a labelled grid.

    A file that cannot be shown takes its cell with the reason instead of
    a picture, so one bad file never hides the others.

    Parameters
    ----------
    items : iterable of path, Dataset or ndarray
        Files, datasets, or thumbnails already made.
    labels : sequence of str or None, optional
        One label per item; default the file names (nothing for arrays).
    ncols : int or None, optional
        Columns of the grid; None makes it about square.
    size : int, optional
        Thumbnail size for files and datasets (default 128).
    cell_inches : float, optional
        The size of one cell in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The grid.

    Raises
    ------
    InputError
        If there are no items, or the labels do not match them.
    """
    from matplotlib.figure import Figure

    entries = list(items)
    if not entries:
        raise InputError("plot_montage: expected at least one item, but got none")
    if labels is None:
        names = [
            os.path.basename(os.fspath(e)) if isinstance(e, str | os.PathLike) else ""
            for e in entries
        ]
    else:
        names = [str(label) for label in labels]
        if len(names) != len(entries):
            raise InputError(
                f"plot_montage: expected {len(entries)} labels, one per item, "
                f"but got {len(names)}"
            )
    if ncols is None:
        ncols = math.ceil(math.sqrt(len(entries)))
    ncols = max(1, min(int(ncols), len(entries)))
    nrows = math.ceil(len(entries) / ncols)
    fig = Figure(figsize=(ncols * cell_inches, nrows * (cell_inches + 0.25)))
    for i, (entry, name) in enumerate(zip(entries, names, strict=True)):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.set_axis_off()
        try:
            picture = (
                np.asarray(entry)
                if isinstance(entry, np.ndarray)
                else thumbnail(entry, size=size)
            )
        except (DeidscopeError, OSError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            ax.text(
                0.5,
                0.5,
                textwrap.fill(reason, 28, max_lines=6),
                ha="center",
                va="center",
                fontsize=6,
                transform=ax.transAxes,
                clip_on=True,
            )
        else:
            ax.imshow(
                picture,
                cmap="gray" if picture.ndim == 2 else None,
                vmin=0,
                vmax=255,
                interpolation="nearest",
            )
        ax.set_title(textwrap.shorten(name, 30, placeholder="..."), fontsize=7)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.95, hspace=0.3)
    return fig


def boxes_png(
    image: np.ndarray,
    boxes: Iterable[Box] = (),
    *,
    keep: Iterable[Box] = (),
    draft: Box | None = None,
    proposed: Iterable[tuple[Box, bool]] = (),
    image_shape: tuple[int, int],
) -> bytes:
    """Draw boxes given in full-image pixels on a thumbnail; return PNG bytes.

    Parameters
    ----------
    image : ndarray of shape (rows, columns) or (rows, columns, 3), uint8
        The thumbnail (not modified).
    boxes, keep : iterable of (xmin, ymin, xmax, ymax)
        Regions to blank (red) and to keep (green), as
        :func:`deidscope.pixels.draw_boxes` draws them.
    draft : (xmin, ymin, xmax, ymax) or None
        A box being drafted, drawn in :data:`DRAFT_COLOUR`.
    proposed : iterable of (box, bool)
        Boxes OCR proposes (:func:`deidscope.pixels.find_text`), drawn
        dashed: in :data:`HEADER_MATCH_COLOUR` when the bool says the text
        shows a header value, otherwise in :data:`PROPOSED_COLOUR`.
    image_shape : tuple of int
        ``(rows, columns)`` of the full image, to scale the boxes.

    Returns
    -------
    bytes
        The PNG file.
    """
    arr = np.asarray(image)
    width = max(1, round(min(arr.shape[:2]) / 64))
    rgb = draw_boxes(arr, boxes, keep=keep, image_shape=image_shape, width=width)
    blank = np.zeros(arr.shape[:2], np.uint8)
    rows, columns = np.indices(arr.shape[:2])
    dashes = ((rows + columns) // DASH) % 2 == 0
    for box, header in proposed:
        outline = draw_boxes(blank, [box], image_shape=image_shape, width=width)
        colour = HEADER_MATCH_COLOUR if header else PROPOSED_COLOUR
        rgb[outline.any(axis=2) & dashes] = colour
    if draft is not None:
        outline = draw_boxes(blank, [draft], image_shape=image_shape, width=width)
        rgb[outline.any(axis=2)] = DRAFT_COLOUR
    return to_png(rgb)
