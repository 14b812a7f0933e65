"""Blank regions of a DICOM image in every frame and write a new, valid file.

:func:`clean` decodes every frame with pydicom (the same arrays deid's
``DicomCleaner`` cleans), sets the pixels inside the boxes to 0 except
where a keep box covers them, and writes the result uncompressed (Explicit
VR Little Endian) with its Image Pixel elements, transfer syntax and
BurnedInAnnotation made to agree with the new pixel data. The input is
never written to: the output goes to a temporary file in the output folder
and is renamed into place.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pack_bits
from pydicom.uid import (
    JPEG2000,
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from deidscope.errors import InputError
from deidscope.files import PathLike, atomic_output, check_output, read_dataset
from deidscope.pixels._decode import (
    Source,
    decode,
    pixel_keyword,
    quiet,
    transfer_syntax,
)
from deidscope.pixels._display import _PARTIAL_OFFSET, _PARTIAL_TO_RGB
from deidscope.pixels.boxes import Box, check_boxes, sort_boxes

__all__ = ["KEEPABLE", "clean", "clean_array", "output_path"]

logger = logging.getLogger(__name__)

_LOSSY = {JPEGBaseline8Bit, JPEGExtended12Bit, JPEG2000, JPEGLSNearLossless}
#: The transfer syntaxes clean(compression="keep") writes again when an
#: encoder is installed: the lossless ones pydicom can encode (RLE natively,
#: JPEG-LS with pyjpegls, JPEG 2000 with pylibjpeg-openjpeg).
KEEPABLE = (RLELossless, JPEGLSLossless, JPEG2000Lossless)
# Elements that describe the old encoding of the pixel data.
_ENCODING_KEYWORDS = ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")


def clean_array(
    arr: np.ndarray, boxes: Iterable[Box], *, keep: Iterable[Box] = ()
) -> np.ndarray:
    """Blank boxes in every frame of a decoded pixel array; keep boxes win.

    Parameters
    ----------
    arr : ndarray of shape (frames, rows, columns) or (frames, rows, columns, samples)
        The frames (it is not modified).
    boxes : iterable of tuple of int
        ``(xmin, ymin, xmax, ymax)`` regions set to 0, inside the image.
    keep : iterable of tuple of int, optional
        Regions left as they are even where a box covers them.

    Returns
    -------
    ndarray
        A new array of the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> out = clean_array(np.ones((1, 3, 4), np.uint8), [(0, 0, 4, 2)],
    ...                   keep=[(3, 0, 4, 1)])
    >>> out[0].tolist()
    [[0, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]
    """
    mask = np.ones(arr.shape[1:3], dtype=bool)
    for xmin, ymin, xmax, ymax in boxes:
        mask[ymin:ymax, xmin:xmax] = False
    for xmin, ymin, xmax, ymax in keep:
        mask[ymin:ymax, xmin:xmax] = True
    shaped = mask.reshape((1, *mask.shape) + (1,) * (arr.ndim - 3))
    return np.where(shaped, arr, np.zeros((), dtype=arr.dtype))


def output_path(path: PathLike, output: PathLike | None) -> str:
    """Where :func:`clean` writes: never the input file.

    Parameters
    ----------
    path : str or os.PathLike
        The input file.
    output : str, os.PathLike or None
        A file, an existing folder (the input's name is kept), or None for
        ``cleaned-<name>`` next to the input (deid's naming).

    Returns
    -------
    str
        The output file's path.

    Raises
    ------
    InputError
        If the output would be the input file.
    """
    name = os.path.basename(os.fspath(path))
    if output is None:
        target = os.path.join(os.path.dirname(os.fspath(path)), f"cleaned-{name}")
    elif os.path.isdir(output):
        target = os.path.join(os.fspath(output), name)
    else:
        target = os.fspath(output)
    check_output(target, overwrite=True, caller="clean", inputs=[path])
    return target


def _new_pixels(arr: np.ndarray, photometric: str) -> tuple[Any, str]:
    """Convert what clean cannot store as decoded: full-res YBR_PARTIAL."""
    if photometric.startswith("YBR_PARTIAL") and arr.shape[-1] == 3:
        rgb = (arr.astype(np.float64) - _PARTIAL_OFFSET) @ _PARTIAL_TO_RGB.T
        maximum = np.iinfo(arr.dtype).max if arr.dtype.kind == "u" else 255
        return np.clip(np.rint(rgb), 0, maximum).astype(arr.dtype), "RGB"
    return arr, photometric


def _set_pixels(
    ds: Dataset, keyword: str, arr: np.ndarray, photometric: str, original: Dataset
) -> None:
    """Store `arr` (frames first) as native little endian pixel data in `ds`."""
    frames, rows, columns = arr.shape[:3]
    samples = arr.shape[3] if arr.ndim == 4 else 1
    old_bits = int(original.get("BitsAllocated") or arr.dtype.itemsize * 8)
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    if "NumberOfFrames" in original or frames > 1:
        ds.NumberOfFrames = frames
    for kw in _ENCODING_KEYWORDS:
        if kw in ds:
            delattr(ds, kw)
    little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    if keyword != "PixelData":
        data = little.tobytes()
        ds[keyword].value = data
        return
    if old_bits == 1:
        data = pack_bits(little.ravel(), pad=False)
        bits_allocated = 1
    else:
        data = little.tobytes()
        bits_allocated = arr.dtype.itemsize * 8
    bits_stored = int(original.get("BitsStored") or bits_allocated)
    bits_stored = min(bits_stored, bits_allocated)
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    ds.PixelData = data + b"\0" * (len(data) % 2)
    elem = ds["PixelData"]
    elem.VR = "OB" if bits_allocated <= 8 else "OW"
    elem.is_undefined_length = False


def clean(
    path: PathLike,
    boxes: Iterable[Any],
    *,
    keep: Iterable[Any] = (),
    output: PathLike | None = None,
    compression: Literal["none", "keep"] = "none",
) -> str:
    """Blank regions of an image in every frame and write a new DICOM file.

    Pixels inside `boxes` are set to 0 in every frame, except those inside
    a `keep` box, which win wherever the two overlap (deid applies the
    boxes in recipe order, so a keep box written before a box that covers
    it loses there; its shipped recipes never do that). The output holds
    the same header with:

    - the cleaned pixels, uncompressed, Explicit VR Little Endian (JPEG
      YCbCr is stored as the RGB pydicom decodes it to);
    - Rows, Columns, SamplesPerPixel, PhotometricInterpretation,
      PlanarConfiguration, Bits Allocated/Stored, HighBit,
      PixelRepresentation and NumberOfFrames describing them;
    - BurnedInAnnotation ``NO`` when any pixel was blanked;
    - LossyImageCompression ``01`` when the input was lossy compressed;
    - no IconImageSequence (an icon is a copy of the image, text and all).

    Parameters
    ----------
    path : str or os.PathLike
        The DICOM file; it is never modified.
    boxes : iterable
        Regions to blank: ``(xmin, ymin, xmax, ymax)`` (as
        :func:`~deidscope.pixels.detect` returns in ``coordinates``),
        ``"xmin,ymin,xmax,ymax"`` text, or fixed recipe ``Coordinates``
        (a LABEL's ``keepcoordinates`` lines among them are kept, not
        blanked: :func:`~deidscope.pixels.sort_boxes`). A box reaching
        outside the image is clipped, one outside dropped, each with a
        :class:`~deidscope.pixels.BoxWarning`.
    keep : iterable, optional
        Regions kept (``keep_coordinates``).
    output : str, os.PathLike or None, optional
        The output file, or an existing folder (the input's name is kept),
        or None (default) for ``cleaned-<name>`` next to the input.
    compression : {"none", "keep"}, optional
        ``"none"`` (default) writes the pixels uncompressed, Explicit VR
        Little Endian. ``"keep"`` writes them in the input's transfer
        syntax when it is lossless and an encoder is installed
        (:data:`KEEPABLE`: RLE Lossless with pydicom alone, JPEG-LS
        Lossless with pyjpegls, JPEG 2000 Lossless with
        pylibjpeg-openjpeg); otherwise (a lossy or JPEG Lossless input, or
        no encoder) uncompressed, with a ``UserWarning`` that says why.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ReadError
        If it is not DICOM.
    PixelDataError
        If its pixel data is missing or cannot be decoded (a
        :class:`~deidscope.pixels.MissingDecoderError` names the package).
    InputError
        If a box is malformed, or the output would be the input.
    """
    if not isinstance(path, str | os.PathLike):
        raise InputError(f"clean: expected a file path, but got {type(path).__name__}")
    if compression not in ("none", "keep"):
        raise InputError(
            f"clean: compression must be 'none' or 'keep', got {compression!r}"
        )
    target = output_path(path, output)
    src = Source(read_dataset(path, defer_size=None), path)
    with quiet(src):
        keyword = pixel_keyword(src)
        syntax: UID = transfer_syntax(src)
        decoded = decode(src, index=None)
    rows, columns = decoded.rows, decoded.columns
    where = os.fspath(path)
    boxes, keep = sort_boxes(boxes, keep, caller="clean")
    blank = check_boxes(boxes, rows=rows, columns=columns, caller="clean", where=where)
    kept = check_boxes(keep, rows=rows, columns=columns, caller="clean", where=where)
    arr, photometric = _new_pixels(decoded.array, decoded.photometric)
    cleaned = clean_array(arr, blank, keep=kept)
    changed = bool(blank) and not np.array_equal(cleaned, arr)

    ds = src.ds  # read here, not the caller's: ours to change
    original = Dataset()
    for kw in ("BitsAllocated", "BitsStored", "NumberOfFrames"):
        if kw in ds:
            original[kw] = ds[kw]
    with quiet(src):
        _as_explicit_little(ds)  # before the new (little endian) pixels go in
        _set_pixels(ds, keyword, cleaned, photometric, original)
        if changed:
            ds.BurnedInAnnotation = "NO"
        if syntax in _LOSSY and "LossyImageCompression" not in ds:
            ds.LossyImageCompression = "01"
        if "IconImageSequence" in ds:
            del ds.IconImageSequence
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        not_kept = ""
        if compression == "keep" and syntax.is_compressed:
            not_kept = _compress(ds, syntax)
        _write(ds, target)
    if not_kept:  # outside quiet(), which logs pydicom's warnings instead
        warnings.warn(
            f"clean: {where}: cannot keep {syntax.name}: {not_kept}; "
            "written uncompressed (Explicit VR Little Endian)",
            UserWarning,
            stacklevel=2,
        )
    logger.info(
        "clean: %s -> %s (%d box(es) blanked, %d kept)",
        where,
        target,
        len(blank),
        len(kept),
    )
    return target


def _compress(ds: Dataset, syntax: UID) -> str:
    """Encode the (native) pixels of `ds` in `syntax`; return why not, or ""."""
    from pydicom.pixels.encoders.base import get_encoder

    reason = ""
    if syntax not in KEEPABLE:
        reason = "no encoder for it exists in pydicom (or it is lossy)"
    else:
        encoder = get_encoder(syntax)
        if not encoder.is_available:
            missing = "; ".join(encoder.missing_dependencies)
            reason = f"its encoder is not installed ({missing})"
        else:
            try:
                ds.compress(syntax, generate_instance_uid=False)
            except Exception as exc:  # an encoder refusing these pixels
                reason = f"the encoder failed: {type(exc).__name__}: {exc}"
                ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return reason


_SWAP_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _as_explicit_little(ds: Dataset) -> None:
    """Decode every element with the file's own encoding, for a new one.

    pydicom writes raw (undecoded) elements as they were read, which breaks
    when the encoding changes: values of an implicit VR file have no VR, and
    binary words of a big endian one would keep their byte order. Decoding
    them all (and swapping the bytes of OW, OF, OL, OD and OV values) lets
    the data set be written as Explicit VR Little Endian.
    """
    big = ds.original_encoding[1] is False
    for elem in ds.iterall():  # converts each raw element as it goes
        width = _SWAP_WIDTH.get(str(elem.VR))
        if big and width and isinstance(elem.value, bytes) and elem.value:
            data = elem.value[: len(elem.value) // width * width]
            elem.value = (
                np.frombuffer(data, f">u{width}").astype(f"<u{width}").tobytes()
            )
    ds.set_original_encoding(False, True)


def _write(ds: Dataset, target: str) -> None:
    """Write `ds` to a temporary file next to `target`, then rename it."""
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with atomic_output(target, caller="clean") as temp:
        ds.save_as(
            temp, enforce_file_format=True, little_endian=True, implicit_vr=False
        )
