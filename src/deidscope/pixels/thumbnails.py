"""Thumbnails of DICOM images, montages of many, and PNG bytes for widgets.

:func:`thumbnail` turns any image pydicom can decode into an 8-bit array,
with the longer side `size` pixels: MONOCHROME1 inverted, MONOCHROME2, RGB,
YBR (full, 4:2:2, partial), PALETTE COLOR, signed or unsigned samples of 1
to 32 bits, float pixel data, rescale slope and intercept (or a modality
LUT), the file's first window (or VOI LUT), and otherwise a window from
the 0.5th to the 99.5th percentile. A multi-frame image shows its middle
frame, and only that frame is decoded.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterable

import numpy as np
from pydicom.dataset import Dataset

from deidscope.errors import DeidscopeError, InputError
from deidscope.files import PathLike
from deidscope.pixels._decode import (
    decode,
    image_size,
    load,
    number_of_frames,
    quiet,
    target_shape,
)
from deidscope.pixels._display import check_picture, to_uint8

__all__ = ["montage", "thumbnail", "to_png"]

logger = logging.getLogger(__name__)


def _check_int(value: object, name: str, *, minimum: int, caller: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(
            f"{caller}: expected an int for {name}, but got {type(value).__name__}"
        )
    if value < minimum:
        raise InputError(f"{caller}: {name} must be at least {minimum}, got {value}")
    return int(value)


def thumbnail(
    path_or_ds: PathLike | Dataset, *, size: int = 128, frame: int | None = None
) -> np.ndarray:
    """Return a small 8-bit picture of a DICOM image.

    Parameters
    ----------
    path_or_ds : str, os.PathLike or pydicom.dataset.Dataset
        The file, or a dataset in memory (it is not modified).
    size : int, optional
        The longer side of the thumbnail, in pixels (default 128). Smaller
        images keep their size; the aspect ratio of rows to columns is kept.
    frame : int or None, optional
        The frame of a multi-frame image, counting from 0; None (default)
        shows the middle one, ``NumberOfFrames // 2``.

    Returns
    -------
    ndarray of uint8
        Shape (rows, columns) for monochrome images, (rows, columns, 3) for
        colour (RGB) ones.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ReadError
        If the file is not DICOM.
    PixelDataError
        If the file has no pixel data, lacks the elements needed to decode
        it, has a transfer syntax nothing decodes, its frame is corrupt,
        its declared size is over ``MAX_DECODED_BYTES`` (1 GiB for the
        frame), or pydicom or numpy fail on it in any other way (the
        message names the file and the original error).
    MissingDecoderError
        If its pixel data is compressed and the decoder is not installed;
        the message names the package.
    InputError
        For a bad `size` or a `frame` the image does not have.

    Examples
    --------
    >>> from deidscope.data import get_dataset
    >>> import os
    >>> path = os.path.join(get_dataset("dicom-cookies"), "image1.dcm")
    >>> thumbnail(path).shape
    (96, 128, 3)
    """
    size = _check_int(size, "size", minimum=1, caller="thumbnail")
    if frame is not None:
        frame = _check_int(frame, "frame", minimum=0, caller="thumbnail")
    src = load(path_or_ds, caller="thumbnail")
    try:
        with quiet(src):
            index = frame if frame is not None else number_of_frames(src) // 2
            rows, columns = image_size(src)
            shape = target_shape(rows, columns, size)
            decoded = decode(src, index=index, reduce_to=shape)
            return to_uint8(decoded, src, shape)
    except DeidscopeError:
        raise
    except MemoryError as exc:
        raise src.error("not enough memory to decode the image") from exc
    except Exception as exc:  # pydicom's and numpy's own: one error, naming the file
        raise src.error(
            f"cannot make a thumbnail: {type(exc).__name__}: {exc}"
        ) from exc


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(
            f"montage: expected uint8 images (thumbnails), but got {image.dtype}"
        )
    if image.ndim == 2:
        return np.repeat(image[:, :, np.newaxis], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise InputError(
        "montage: expected images of shape (rows, columns) or (rows, columns, 3), "
        f"but got {image.shape}"
    )


def montage(
    images: Iterable[np.ndarray],
    *,
    ncols: int | None = None,
    padding: int = 2,
    fill: int = 0,
) -> np.ndarray:
    """Lay images out in a grid, each centred in a cell of the largest size.

    Parameters
    ----------
    images : iterable of ndarray of uint8
        Thumbnails, of shape (rows, columns) or (rows, columns, 3); sizes
        may differ.
    ncols : int or None, optional
        Columns of the grid; None (default) makes it about square.
    padding : int, optional
        Pixels between cells and around the grid (default 2).
    fill : int, optional
        The grey level of the background (default 0, black).

    Returns
    -------
    ndarray of uint8, shape (rows, columns, 3)
        The grid, in RGB.

    Raises
    ------
    InputError
        If there are no images, or one is not a uint8 picture.

    Examples
    --------
    >>> import numpy as np
    >>> grid = montage([np.zeros((4, 6), np.uint8)] * 3, padding=1)
    >>> grid.shape
    (11, 15, 3)
    """
    cells = [_as_rgb(image) for image in images]
    if not cells:
        raise InputError("montage: expected at least one image, but got none")
    padding = _check_int(padding, "padding", minimum=0, caller="montage")
    if ncols is None:
        ncols = math.ceil(math.sqrt(len(cells)))
    ncols = min(_check_int(ncols, "ncols", minimum=1, caller="montage"), len(cells))
    nrows = math.ceil(len(cells) / ncols)
    height = max(cell.shape[0] for cell in cells)
    width = max(cell.shape[1] for cell in cells)
    out = np.full(
        (
            nrows * height + (nrows + 1) * padding,
            ncols * width + (ncols + 1) * padding,
            3,
        ),
        np.uint8(fill),
        dtype=np.uint8,
    )
    for i, cell in enumerate(cells):
        row, col = divmod(i, ncols)
        top = padding + row * (height + padding) + (height - cell.shape[0]) // 2
        left = padding + col * (width + padding) + (width - cell.shape[1]) // 2
        out[top : top + cell.shape[0], left : left + cell.shape[1]] = cell
    return out


def to_png(image: np.ndarray) -> bytes:
    r"""Encode an 8-bit picture as PNG bytes (for ``ipywidgets.Image``).

    Parameters
    ----------
    image : ndarray of uint8, shape (rows, columns) or (rows, columns, 3)
        A thumbnail.

    Returns
    -------
    bytes
        The PNG file's bytes.

    Raises
    ------
    InputError
        If `image` is not a uint8 picture.

    Examples
    --------
    >>> import numpy as np
    >>> to_png(np.zeros((2, 2), np.uint8))[:4]
    b'\x89PNG'
    """
    from PIL import Image

    image = check_picture(image, caller="to_png", what="array")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()
