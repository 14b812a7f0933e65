"""From decoded pixels to an 8-bit picture: shrink, rescale, window, colour.

The order keeps the work on small arrays: a frame is first shrunk by
averaging whole blocks of pixels (exact and fast on integers), then
rescaled and windowed. Rescale slope and intercept and a linear window are
linear, so averaging first gives the same picture; a palette is applied
before shrinking, because averaging palette indices would mix colours.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi,
)

from deidscope.errors import InputError
from deidscope.pixels._decode import DecodedFrame, Source

__all__ = ["DIRECT_PIXELS", "PERCENTILES", "check_picture", "reduce", "to_uint8"]

logger = logging.getLogger(__name__)

#: Frames up to this many pixels are shrunk in one exact area-average step;
#: larger ones are first averaged over whole k x k blocks (much faster).
DIRECT_PIXELS = 1 << 20

#: The percentiles of the robust window used when a file has none.
PERCENTILES = (0.5, 99.5)

# PS3.3 C.7.6.3.1.2: YBR_PARTIAL (BT.601 "studio range") from RGB.
_RGB_TO_PARTIAL = np.array(
    [
        [0.2568, 0.5041, 0.0979],
        [-0.1482, -0.2910, 0.4392],
        [0.4392, -0.3678, -0.0714],
    ]
)
_PARTIAL_TO_RGB = np.linalg.inv(_RGB_TO_PARTIAL)
_PARTIAL_OFFSET = np.array([16.0, 128.0, 128.0])
# ITU T.871 (JPEG/JFIF) YBR_FULL to RGB.
_FULL_TO_RGB = np.array(
    [
        [1.0, 0.0, 1.402],
        [1.0, -0.344136, -0.714136],
        [1.0, 1.772, 0.0],
    ]
)
_FULL_OFFSET = np.array([0.0, 128.0, 128.0])


def check_picture(image: object, *, caller: str, what: str = "image") -> np.ndarray:
    """Return `image` as an array, or raise unless it is an 8-bit picture.

    Parameters
    ----------
    image : array_like
        What the caller was given.
    caller : str
        The public function, for the message.
    what : str, optional
        What the caller calls it, for the message.

    Returns
    -------
    ndarray of uint8
        Of shape (rows, columns) or (rows, columns, 3); not copied.

    Raises
    ------
    InputError
        If `image` has another dtype or shape.

    Examples
    --------
    >>> check_picture(np.zeros((2, 3), np.uint8), caller="f").shape
    (2, 3)
    """
    picture = np.asarray(image)
    if picture.dtype != np.uint8 or not (
        picture.ndim == 2 or (picture.ndim == 3 and picture.shape[2] == 3)
    ):
        raise InputError(
            f"{caller}: expected a uint8 {what} of shape (rows, columns) or "
            f"(rows, columns, 3), but got {picture.dtype} {picture.shape}"
        )
    return picture


def _block_mean(arr: np.ndarray, k: int) -> np.ndarray:
    """Mean over k x k blocks; blocks at the right and bottom edges may be partial.

    The result has ``ceil(rows / k)`` x ``ceil(columns / k)`` blocks; a partial
    block is the mean of the pixels it holds.
    """
    rows, columns = arr.shape[0], arr.shape[1]
    full_r, full_c = rows // k, columns // k
    rem_r, rem_c = rows - full_r * k, columns - full_c * k
    rest = arr.shape[2:]
    acc = np.float64 if arr.dtype.kind == "f" else np.int64
    out_r, out_c = full_r + (rem_r > 0), full_c + (rem_c > 0)
    sums = np.zeros((out_r, out_c, *rest), dtype=np.float64)
    # Two one-axis sums are much faster than one sum over two strided axes.
    main = arr[: full_r * k, : full_c * k]
    part = main.reshape(full_r, k, full_c * k, *rest).sum(axis=1, dtype=acc)
    sums[:full_r, :full_c] = part.reshape(full_r, full_c, k, *rest).sum(
        axis=2, dtype=acc
    )
    if rem_c:
        right = arr[: full_r * k, full_c * k :]
        sums[:full_r, full_c] = right.reshape(full_r, k * rem_c, *rest).sum(
            axis=1, dtype=acc
        )
    if rem_r:
        bottom = arr[full_r * k :, : full_c * k]
        sums[full_r, :full_c] = (
            bottom.sum(axis=0, dtype=acc).reshape(full_c, k, *rest).sum(axis=1)
        )
        if rem_c:
            sums[full_r, full_c] = arr[full_r * k :, full_c * k :].sum(
                axis=(0, 1), dtype=acc
            )
    count_r = np.full(out_r, k, dtype=np.float64)
    count_c = np.full(out_c, k, dtype=np.float64)
    if rem_r:
        count_r[-1] = rem_r
    if rem_c:
        count_c[-1] = rem_c
    counts = np.outer(count_r, count_c).reshape(out_r, out_c, *([1] * len(rest)))
    means: np.ndarray = (sums / counts).astype(np.float32)
    return means


def _resize_channel(
    arr: np.ndarray, shape: tuple[int, int], box: tuple[float, float]
) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    out = image.resize(
        (shape[1], shape[0]), Image.Resampling.BOX, box=(0.0, 0.0, box[1], box[0])
    )
    return np.asarray(out, dtype=np.float32)


def reduce(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Shrink `arr` to `shape` by area averaging, as float32.

    Parameters
    ----------
    arr : ndarray of shape (rows, columns) or (rows, columns, channels)
        Any numeric dtype.
    shape : tuple of int
        The (rows, columns) wanted, at most the array's.

    Returns
    -------
    ndarray of float32
        Shape `shape` (plus the channels axis).

    Examples
    --------
    >>> import numpy as np
    >>> reduce(np.arange(16).reshape(4, 4), (2, 2)).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    k = min(arr.shape[0] // shape[0], arr.shape[1] // shape[1])
    if arr.shape[0] * arr.shape[1] <= DIRECT_PIXELS:
        k = 1  # small enough for one exact area-average resize
    out = _block_mean(arr, k) if k >= 2 else arr.astype(np.float32, copy=False)
    if out.shape[:2] == tuple(shape):
        return out
    # The region the blocks cover, in block units (the last ones may be partial).
    box = (arr.shape[0] / max(k, 1), arr.shape[1] / max(k, 1))
    if out.ndim == 2:
        return _resize_channel(out, shape, box)
    return np.stack(
        [_resize_channel(out[..., i], shape, box) for i in range(out.shape[2])],
        axis=-1,
    )


def _functional(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """Return an enhanced image's per-frame (or shared) functional group item."""
    for groups, at in (
        ("PerFrameFunctionalGroupsSequence", index),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        items = ds.get(groups)
        if items and len(items) > at and sequence in items[at]:
            seq = items[at][sequence]
            if seq.value:
                item: Dataset = seq.value[0]
                return item
    return None


def _first_number(value: object) -> float | None:
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rescale(arr: np.ndarray, ds: Dataset, index: int) -> np.ndarray:
    """Apply the modality LUT or rescale slope and intercept."""
    if "ModalityLUTSequence" in ds:
        try:
            out = apply_modality_lut(np.rint(arr).astype(np.int64), ds)
            return np.asarray(out, dtype=np.float32)
        except Exception as exc:  # a broken LUT: show stored values
            logger.debug("modality LUT not applied: %s", exc)
            return arr
    source = _functional(ds, index, "PixelValueTransformationSequence") or ds
    slope = _first_number(source.get("RescaleSlope", 1.0))
    intercept = _first_number(source.get("RescaleIntercept", 0.0))
    if slope is None or intercept is None or slope == 0:
        return arr
    if slope == 1 and intercept == 0:
        return arr
    return (arr * np.float32(slope) + np.float32(intercept)).astype(np.float32)


def _window_function(
    arr: np.ndarray, center: float, width: float, function: str
) -> np.ndarray | None:
    """PS3.3 C.11.2.1.2: map values to [0, 1] (None if the window is unusable)."""
    if function == "SIGMOID":
        if width <= 0:
            return None
        with np.errstate(over="ignore"):
            return (1.0 / (1.0 + np.exp(-4.0 * (arr - center) / width))).astype(
                np.float32
            )
    if function == "LINEAR_EXACT":
        if width <= 0:
            return None
        return np.clip((arr - center) / width + 0.5, 0.0, 1.0).astype(np.float32)
    if width < 1:
        return None
    if width == 1:
        return (arr > center - 0.5).astype(np.float32)
    out = (arr - (center - 0.5)) / (width - 1) + 0.5
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _percentile_window(arr: np.ndarray) -> np.ndarray:
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return np.zeros(arr.shape, np.float32)
    low, high = np.percentile(finite, PERCENTILES)
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.zeros(arr.shape, np.float32)
    scaled: np.ndarray = np.clip((arr - low) / (high - low), 0.0, 1.0)
    return scaled.astype(np.float32)


def _voi(arr: np.ndarray, ds: Dataset, index: int) -> np.ndarray:
    """Apply the file's window or VOI LUT, or a percentile window; in [0, 1]."""
    if "VOILUTSequence" in ds and "WindowCenter" not in ds:
        try:
            lut_item = ds.VOILUTSequence[0]
            bits = int(lut_item.LUTDescriptor[2])
            out = apply_voi(np.rint(arr).astype(np.int64), ds, index=0)
            return (np.asarray(out, np.float32) / float(2**bits - 1)).clip(0, 1)
        except Exception as exc:
            logger.debug("VOI LUT not applied: %s", exc)
    source = _functional(ds, index, "FrameVOILUTSequence") or ds
    center = _first_number(source.get("WindowCenter"))
    width = _first_number(source.get("WindowWidth"))
    function = str(source.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if center is not None and width is not None:
        windowed = _window_function(arr, center, width, function)
        if windowed is not None:
            return windowed
        logger.debug("window %s/%s unusable; using percentiles", center, width)
    return _percentile_window(arr)


def _monochrome(arr: np.ndarray, frame: DecodedFrame, ds: Dataset) -> np.ndarray:
    index = frame.index or 0
    values = _voi(_rescale(arr, ds, index), ds, index)
    if frame.photometric == "MONOCHROME1":
        values = 1.0 - values
    return values


def _color(arr: np.ndarray, frame: DecodedFrame) -> np.ndarray:
    photometric = frame.photometric
    if photometric.startswith(("YBR_FULL", "YBR_PARTIAL")):
        partial = photometric.startswith("YBR_PARTIAL")
        offset = _PARTIAL_OFFSET if partial else _FULL_OFFSET
        matrix = _PARTIAL_TO_RGB if partial else _FULL_TO_RGB
        scale = 255.0 / float(2 ** min(frame.bits_stored, 32) - 1)
        rgb: np.ndarray = (arr * scale - offset) @ matrix.T
        return np.clip(rgb / 255.0, 0.0, 1.0).astype(np.float32)
    maximum = float(2 ** min(frame.bits_stored, 32) - 1)
    values: np.ndarray = np.clip(arr / maximum, 0.0, 1.0)
    return values.astype(np.float32)


def to_uint8(frame: DecodedFrame, src: Source, shape: tuple[int, int]) -> np.ndarray:
    """Turn one decoded frame into an 8-bit picture of `shape`.

    Parameters
    ----------
    frame : DecodedFrame
        One frame, as :func:`deidscope.pixels._decode.decode` returned it.
    src : Source
        Its dataset (for rescale, window, palette).
    shape : tuple of int
        The (rows, columns) wanted.

    Returns
    -------
    ndarray of uint8
        Shape `shape` for monochrome images, `shape` + (3,) for colour.

    Raises
    ------
    PixelDataError
        For a photometric interpretation that cannot be shown.
    """
    arr = frame.array
    photometric = frame.photometric
    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(arr, src.ds)
        except Exception as exc:
            raise src.error(f"cannot apply the palette: {exc}") from exc
        rgb = rgb[..., :3]
        maximum = 255.0 if rgb.dtype == np.uint8 else 65535.0
        values = reduce(rgb, shape) / np.float32(maximum)
    elif arr.ndim == 3 and arr.shape[2] == 3:
        values = _color(reduce(arr, shape), frame)
    elif arr.ndim == 2 and photometric in ("MONOCHROME1", "MONOCHROME2"):
        values = _monochrome(reduce(arr, shape), frame, src.ds)
    elif arr.ndim == 2:
        logger.info(
            "%s: photometric interpretation %r with one sample: shown as MONOCHROME2",
            src.name,
            photometric,
        )
        values = _monochrome(reduce(arr, shape), frame, src.ds)
    else:
        raise src.error(
            f"cannot show {photometric} pixels with {arr.shape[-1]} samples per pixel"
        )
    return np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
