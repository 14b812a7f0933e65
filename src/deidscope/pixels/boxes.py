"""Boxes: the regions a ``%filter`` LABEL blanks or keeps, checked and drawn.

A box is ``(xmin, ymin, xmax, ymax)`` in image pixels, x along columns and
y along rows, the maxima exclusive: it covers ``image[ymin:ymax,
xmin:xmax]``, as deid's cleaner does. A recipe writes it three ways:

``coordinates xmin,ymin,xmax,ymax``
    a region to blank;
``ctpcoordinates x,y,width,height``
    the same in CTP's form, ``(x, y, x + width, y + height)``
    (:func:`ctp_box`);
``keepcoordinates ...`` and ``ctpkeepcoordinates ...``
    regions kept even where a blanked region covers them.

Recipe :class:`~deidscope.recipe.Coordinates` know which they are: given to
:func:`draw_boxes`, :func:`~deidscope.pixels.plot_boxes` or
:func:`~deidscope.pixels.clean`, a keep line counts as a region kept and any
other as a region blanked, whichever argument holds it (:func:`sort_boxes`),
so ``plot_boxes(path, label.coordinates)`` draws a LABEL as it cleans.

:func:`draw_boxes` burns outlines into a thumbnail (for PNGs in widgets);
:func:`deidscope.pixels.plot_boxes` draws them with matplotlib.
"""

from __future__ import annotations

import logging
import numbers
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from deidscope.errors import InputError
from deidscope.pixels._display import check_picture
from deidscope.pixels.errors import BoxWarning
from deidscope.recipe import Coordinates

__all__ = [
    "Box",
    "check_boxes",
    "ctp_box",
    "draw_boxes",
    "parse_box",
    "sort_boxes",
]

logger = logging.getLogger(__name__)

#: ``(xmin, ymin, xmax, ymax)`` in image pixels, maxima exclusive.
Box = tuple[int, int, int, int]

#: Outline colours: red for regions blanked, green for regions kept.
CLEAN_COLOR = (230, 25, 25)
KEEP_COLOR = (25, 200, 60)


def ctp_box(x: int, y: int, width: int, height: int) -> Box:
    """Return the box of a CTP region ``x, y, width, height``.

    Parameters
    ----------
    x, y : int
        The top left corner (column, row).
    width, height : int
        The size in pixels.

    Returns
    -------
    tuple of int
        ``(xmin, ymin, xmax, ymax)``.

    Examples
    --------
    >>> ctp_box(0, 0, 512, 25)
    (0, 0, 512, 25)
    >>> ctp_box(350, 10, 162, 30)
    (350, 10, 512, 40)
    """
    return (int(x), int(y), int(x) + int(width), int(y) + int(height))


def parse_box(text: str, *, ctp: bool = False) -> Box:
    """Parse a recipe's ``xmin,ymin,xmax,ymax`` (or CTP ``x,y,w,h``) text.

    Parameters
    ----------
    text : str
        Four integers separated by commas; spaces around them are allowed.
    ctp : bool, optional
        Read CTP's ``x,y,width,height`` form (default False).

    Returns
    -------
    tuple of int
        ``(xmin, ymin, xmax, ymax)``.

    Raises
    ------
    InputError
        If `text` is not four integers.

    Examples
    --------
    >>> parse_box("450,0,672, 85")
    (450, 0, 672, 85)
    >>> parse_box("390,80,122,15", ctp=True)
    (390, 80, 512, 95)
    """
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    try:
        numbers_ = [int(part) for part in parts]
    except ValueError:
        numbers_ = []
    if len(numbers_) != 4:
        raise InputError(
            f"parse_box: expected four integers 'a,b,c,d', but got {text!r}"
        )
    if ctp:
        return ctp_box(*numbers_)
    return (numbers_[0], numbers_[1], numbers_[2], numbers_[3])


def as_box(item: Any, caller: str) -> Box:
    """One box from a 4-sequence, a recipe ``Coordinates`` or text."""
    if isinstance(item, str):
        return parse_box(item)
    box = getattr(item, "box", None)  # deidscope.recipe Coordinates
    if box is not None or hasattr(item, "kind"):
        if box is None:
            raise InputError(
                f"{caller}: the coordinates {getattr(item, 'value', item)!r} "
                "depend on the image; use detect() to turn them into boxes"
            )
        item = box
    try:
        values = list(item)
    except TypeError:
        values = []
    if len(values) != 4 or not all(
        isinstance(v, numbers.Integral | numbers.Real) and not isinstance(v, bool)
        for v in values
    ):
        raise InputError(
            f"{caller}: expected boxes (xmin, ymin, xmax, ymax) of four numbers, "
            f"but got {item!r}"
        )
    if any(float(v) != int(v) for v in values):
        raise InputError(f"{caller}: box coordinates must be whole pixels: {item!r}")
    return (int(values[0]), int(values[1]), int(values[2]), int(values[3]))


def _check_not_one_box(boxes: Iterable[Any], caller: str) -> None:
    """Raise InputError for one box given where a list of boxes is expected."""
    if isinstance(boxes, str) or (
        isinstance(boxes, Sequence)
        and len(boxes) == 4
        and all(isinstance(v, numbers.Real) for v in boxes)
    ):
        raise InputError(
            f"{caller}: expected a list of boxes, but got one box {boxes!r}; "
            "wrap it in a list"
        )


def sort_boxes(
    boxes: Iterable[Any] = (),
    keep: Iterable[Any] = (),
    *,
    caller: str = "sort_boxes",
) -> tuple[list[Any], list[Any]]:
    """Sort boxes into regions to blank and regions to keep.

    A recipe :class:`~deidscope.recipe.Coordinates` goes where its kind
    says, whichever argument holds it: ``keepcoordinates`` and
    ``ctpkeepcoordinates`` to the regions kept, ``coordinates`` and
    ``ctpcoordinates`` to those blanked. Anything else (a tuple, text)
    stays where it was given.

    Parameters
    ----------
    boxes : iterable, optional
        Regions to blank, or a LABEL's ``coordinates`` (of both kinds).
    keep : iterable, optional
        Regions to keep.
    caller : str, optional
        The public function, for messages.

    Returns
    -------
    tuple of (list, list)
        The items to blank and the items to keep, in the order given (the
        boxes are not checked yet: see :func:`check_boxes`).

    Raises
    ------
    InputError
        If `boxes` or `keep` is one box rather than a list of them.

    Examples
    --------
    >>> from deidscope.recipe import Coordinates
    >>> sort_boxes([(0, 0, 9, 9), Coordinates("keepcoordinates", "1,2,3,4")])
    ([(0, 0, 9, 9)], [Coordinates(kind='keepcoordinates', value='1,2,3,4', \
comments=[], lineno=None)])
    """
    _check_not_one_box(boxes, caller)
    _check_not_one_box(keep, caller)
    blank: list[Any] = []
    kept: list[Any] = []
    for items, given in ((boxes, blank), (keep, kept)):
        for item in items:
            if isinstance(item, Coordinates):
                (kept if item.keep else blank).append(item)
            else:
                given.append(item)
    return blank, kept


def check_boxes(
    boxes: Iterable[Any],
    *,
    rows: int,
    columns: int,
    caller: str = "check_boxes",
    where: str = "",
) -> list[Box]:
    """Validate boxes and clip them to a ``rows`` x ``columns`` image.

    A box reaching outside the image is clipped to it, and one wholly
    outside (or empty) is dropped; each gives a :class:`BoxWarning` naming
    the box. deid would let numpy read a negative coordinate as counting
    from the far edge; deidscope clips it to 0 instead.

    Parameters
    ----------
    boxes : iterable
        Boxes as ``(xmin, ymin, xmax, ymax)``, ``"xmin,ymin,xmax,ymax"``
        text, or :class:`deidscope.recipe.Coordinates` with a fixed box.
    rows, columns : int
        The image size.
    caller : str, optional
        The public function, for messages.
    where : str, optional
        The file, for messages.

    Returns
    -------
    list of tuple of int
        The boxes inside the image, in the order given.

    Raises
    ------
    InputError
        If an item is not a box.

    Examples
    --------
    >>> check_boxes([(0, 0, 4, 5), "2,2,6,6"], rows=8, columns=8)
    [(0, 0, 4, 5), (2, 2, 6, 6)]
    """
    _check_not_one_box(boxes, caller)
    out: list[Box] = []
    prefix = f"{where}: " if where else ""
    for item in boxes:
        box = as_box(item, caller)
        xmin, ymin, xmax, ymax = box
        clipped = (
            min(max(xmin, 0), columns),
            min(max(ymin, 0), rows),
            min(max(xmax, 0), columns),
            min(max(ymax, 0), rows),
        )
        if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
            warnings.warn(
                f"{prefix}{caller}: box {box} lies outside the {columns} x {rows} "
                "image (columns x rows) or is empty; it is ignored",
                BoxWarning,
                stacklevel=3,
            )
            continue
        if clipped != box:
            warnings.warn(
                f"{prefix}{caller}: box {box} reaches outside the {columns} x {rows} "
                f"image (columns x rows); clipped to {clipped}",
                BoxWarning,
                stacklevel=3,
            )
        out.append(clipped)
    return out


def _scaled(box: Box, scale_y: float, scale_x: float, shape: tuple[int, int]) -> Box:
    rows, columns = shape
    xmin = min(int(np.floor(box[0] * scale_x)), columns - 1)
    ymin = min(int(np.floor(box[1] * scale_y)), rows - 1)
    xmax = max(int(np.ceil(box[2] * scale_x)), xmin + 1)
    ymax = max(int(np.ceil(box[3] * scale_y)), ymin + 1)
    return xmin, ymin, min(xmax, columns), min(ymax, rows)


def draw_boxes(
    image: np.ndarray,
    boxes: Iterable[Any] = (),
    *,
    keep: Iterable[Any] = (),
    image_shape: tuple[int, int] | None = None,
    width: int = 1,
) -> np.ndarray:
    """Draw box outlines on a thumbnail, at its scale.

    Recipe ``Coordinates`` are drawn as their kind says: keep lines green,
    others red, whichever argument holds them (:func:`sort_boxes`).

    Parameters
    ----------
    image : ndarray of uint8, shape (rows, columns) or (rows, columns, 3)
        A thumbnail (it is not modified).
    boxes : iterable, optional
        Regions to blank, in the full image's pixels; drawn in red.
    keep : iterable, optional
        Regions to keep; drawn in green.
    image_shape : tuple of int or None, optional
        The full image's (rows, columns); None means the thumbnail's own.
    width : int, optional
        Line width in thumbnail pixels (default 1).

    Returns
    -------
    ndarray of uint8, shape (rows, columns, 3)
        A new RGB picture with the outlines.

    Raises
    ------
    InputError
        If `image` is not a uint8 picture or a box is malformed.

    Examples
    --------
    >>> import numpy as np
    >>> out = draw_boxes(np.zeros((4, 4), np.uint8), [(0, 0, 8, 8)],
    ...                  image_shape=(8, 8))
    >>> out[0, :, 0].tolist()
    [230, 230, 230, 230]
    """
    image = check_picture(image, caller="draw_boxes")
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image.copy()
    shape = (rgb.shape[0], rgb.shape[1])
    full = image_shape or shape
    scale_y, scale_x = shape[0] / full[0], shape[1] / full[1]
    boxes, keep = sort_boxes(boxes, keep, caller="draw_boxes")
    for items, color in ((boxes, CLEAN_COLOR), (keep, KEEP_COLOR)):
        for item in items:
            xmin, ymin, xmax, ymax = _scaled(
                as_box(item, "draw_boxes"), scale_y, scale_x, shape
            )
            if xmin >= xmax or ymin >= ymax:
                continue
            w = max(1, min(width, (xmax - xmin + 1) // 2, (ymax - ymin + 1) // 2))
            rgb[ymin : ymin + w, xmin:xmax] = color
            rgb[ymax - w : ymax, xmin:xmax] = color
            rgb[ymin:ymax, xmin : xmin + w] = color
            rgb[ymin:ymax, xmax - w : xmax] = color
    return rgb
