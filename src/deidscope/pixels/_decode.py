"""Decoding one frame (or all frames) of a DICOM file's pixel data.

pydicom 3's decoders do the work. This module adds what a batch needs:
reading only the frame asked for (from the file, not the whole pixel data
value), one clear :class:`PixelDataError` per file, a
:class:`MissingDecoderError` that names the package to install, and a fast
path for thumbnails of 8-bit JPEG baseline images: Pillow decodes them at
1/2, 1/4 or 1/8 scale in the DCT domain (``Image.draft``) with the colour
handling pydicom applies, which is several times faster than decoding them
whole.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from deidscope.errors import InputError
from deidscope.files import PathLike, read_dataset
from deidscope.pixels.errors import MissingDecoderError, PixelDataError

__all__ = [
    "MAX_DECODED_BYTES",
    "DecodedFrame",
    "Source",
    "decode",
    "image_size",
    "load",
    "number_of_frames",
    "quiet",
    "target_shape",
]

logger = logging.getLogger(__name__)

#: The pixel data elements, by tag.
PIXEL_KEYWORDS = {
    0x7FE00010: "PixelData",
    0x7FE00008: "FloatPixelData",
    0x7FE00009: "DoubleFloatPixelData",
}
_RGB_COMPONENT_IDS = ([82, 71, 66], [114, 103, 98])
#: The most bytes of pixels decoded at once: one frame for a thumbnail or
#: find_text, every frame for clean. An image whose declared size
#: (Rows x Columns x SamplesPerPixel x bytes per sample, times the frames
#: decoded) is larger is refused with a PixelDataError before anything is
#: read, so a hostile header (65535 x 65535) cannot exhaust the memory.
MAX_DECODED_BYTES = 1 << 30
_T = TypeVar("_T")


@dataclass(frozen=True)
class Source:
    """A dataset to decode, with the file it came from (if any).

    Attributes
    ----------
    ds : pydicom.dataset.Dataset
        The dataset; read with pixel data deferred when it came from a path.
    path : str, os.PathLike or None
        The file, when the caller gave a path.
    """

    ds: Dataset
    path: PathLike | None

    @property
    def name(self) -> str:
        """The file name for messages, or ``<dataset>``."""
        return os.fspath(self.path) if self.path is not None else "<dataset>"

    def error(self, reason: str) -> PixelDataError:
        """Return a :class:`PixelDataError` for this source."""
        return PixelDataError(self.path, reason)


@dataclass(frozen=True)
class DecodedFrame:
    """Decoded pixels and what they are.

    Attributes
    ----------
    array : numpy.ndarray
        Shape (rows, columns) or (rows, columns, samples), or with a leading
        frames axis when all frames were decoded. A thumbnail fast path may
        return fewer rows and columns than the image has.
    photometric : str
        The photometric interpretation of `array` (``RGB`` once pydicom has
        converted YCbCr).
    rows, columns : int
        The image's full size.
    index : int or None
        The frame decoded, or None for all frames.
    frames : int
        The number of frames in the file.
    bits_stored : int
        Bits stored per sample.
    """

    array: np.ndarray
    photometric: str
    rows: int
    columns: int
    index: int | None
    frames: int
    bits_stored: int


def load(path_or_ds: PathLike | Dataset, *, caller: str) -> Source:
    """Read a path's header (pixel data left on disk), or wrap a dataset.

    Parameters
    ----------
    path_or_ds : str, os.PathLike or pydicom.dataset.Dataset
        The file or dataset.
    caller : str
        The public function, for messages.

    Returns
    -------
    Source
        The dataset and its path.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ReadError
        If the file cannot be read as DICOM.
    InputError
        If `path_or_ds` is neither a path nor a dataset.
    """
    if isinstance(path_or_ds, Dataset):
        return Source(path_or_ds, None)
    if not isinstance(path_or_ds, str | os.PathLike):
        raise InputError(
            f"{caller}: expected a path or a pydicom Dataset, "
            f"but got {type(path_or_ds).__name__}"
        )
    return Source(read_dataset(path_or_ds), path_or_ds)


@contextmanager
def quiet(src: Source) -> Iterator[None]:
    """Log pydicom's warnings about the file instead of raising them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        logger.debug("%s: %s", src.name, warning.message)


def _int_attr(src: Source, keyword: str, default: int | None = None) -> int:
    value = src.ds.get(keyword, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        if keyword not in src.ds:
            raise src.error(f"no {keyword} element, which decoding needs")
        raise src.error(f"{keyword} is {value!r}, expected a whole number")
    return value


def pixel_keyword(src: Source) -> str:
    """Return the keyword of the dataset's pixel data element."""
    for tag, keyword in PIXEL_KEYWORDS.items():
        if tag in src.ds:
            return keyword
    raise src.error(
        "no pixel data (no Pixel Data, Float Pixel Data or Double Float Pixel "
        "Data element)"
    )


def image_size(src: Source) -> tuple[int, int]:
    """Return the (Rows, Columns) of an image with pixel data, checked."""
    pixel_keyword(src)
    rows = _int_attr(src, "Rows")
    columns = _int_attr(src, "Columns")
    if rows <= 0 or columns <= 0:
        raise src.error(f"the image is {rows} x {columns} pixels: nothing to show")
    return rows, columns


def number_of_frames(src: Source) -> int:
    """Return the NumberOfFrames value, 1 when absent or empty."""
    value = src.ds.get("NumberOfFrames", 1)
    try:
        frames = int(value) if value not in (None, "") else 1
    except (TypeError, ValueError):
        raise src.error(f"NumberOfFrames is {value!r}, not a number") from None
    return max(frames, 1)


def check_decoded_size(src: Source, rows: int, columns: int, frames: int) -> None:
    """Refuse to decode more than :data:`MAX_DECODED_BYTES` at once.

    Raises
    ------
    PixelDataError
        Naming the file, its declared size and the bound.
    """
    samples = src.ds.get("SamplesPerPixel", 1)
    bits = src.ds.get("BitsAllocated", 8)
    samples = samples if isinstance(samples, int) and samples > 0 else 1
    bits = bits if isinstance(bits, int) and bits > 0 else 8
    if str(src.ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        samples = 3  # shown as RGB
    declared = rows * columns * frames * samples * max(1, -(-bits // 8))
    if declared > MAX_DECODED_BYTES:
        what = "frame" if frames == 1 else f"{frames} frames"
        raise src.error(
            f"the image is too large to decode here: {rows} x {columns} pixels, "
            f"{samples} sample(s) of {bits} bits, {what}: {declared:,} bytes, "
            f"more than the bound of {MAX_DECODED_BYTES:,} "
            "(deidscope.pixels._decode.MAX_DECODED_BYTES)"
        )


def transfer_syntax(src: Source) -> UID:
    """Return the transfer syntax, inferred from the encoding if the meta lacks it.

    A file without a Transfer Syntax UID whose pixel data is not
    encapsulated (its length is defined) is decoded with the encoding
    pydicom read the data set with.
    """
    meta = getattr(src.ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if syntax:
        return UID(syntax)
    keyword = pixel_keyword(src)
    tag = next(t for t, k in PIXEL_KEYWORDS.items() if k == keyword)
    raw: Any = src.ds.get_item(tag, keep_deferred=True)
    if getattr(raw, "length", 0) == 0xFFFFFFFF or getattr(
        raw, "is_undefined_length", False
    ):
        raise src.error(
            "no Transfer Syntax UID in the file meta information, and the pixel "
            "data is encapsulated (compressed), so its encoding cannot be told"
        )
    implicit, little = src.ds.original_encoding
    if implicit is None:
        raise src.error(
            "no Transfer Syntax UID in the file meta information; "
            "set ds.file_meta.TransferSyntaxUID"
        )
    inferred = (
        ImplicitVRLittleEndian
        if implicit
        else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    )
    logger.info("%s: no Transfer Syntax UID; decoding as %s", src.name, inferred.name)
    return inferred


def check_decoder(src: Source, syntax: UID) -> Any:
    """Return pydicom's decoder for `syntax`, or raise a clear error.

    Raises
    ------
    PixelDataError
        If no decoder exists for the transfer syntax.
    MissingDecoderError
        If decoders exist but none of their packages is installed.
    """
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise src.error(
            f"the transfer syntax {syntax.name} ({syntax}) cannot be decoded: "
            "no decoder for it exists in pydicom"
        ) from None
    if not decoder.is_available:
        packages = [
            text.split(" - requires ", 1)[-1] for text in decoder.missing_dependencies
        ]
        raise MissingDecoderError(src.path, syntax.name, packages)
    return decoder


def target_shape(rows: int, columns: int, size: int) -> tuple[int, int]:
    """Return the thumbnail shape: longer side `size`, aspect kept, never enlarged.

    Examples
    --------
    >>> target_shape(1536, 2048, 128)
    (96, 128)
    >>> target_shape(16, 16, 128)
    (16, 16)
    """
    longest = max(rows, columns)
    if longest <= size:
        return rows, columns
    scale = size / longest
    return max(1, round(rows * scale)), max(1, round(columns * scale))


def _deferred_offset(src: Source, keyword: str) -> tuple[int, str | None] | None:
    """Where the pixel data value starts in the file, if it can be read there."""
    if src.path is None:
        return None
    syntax = getattr(getattr(src.ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax == DeflatedExplicitVRLittleEndian:
        return None  # offsets are into the inflated stream
    tag = next(t for t, k in PIXEL_KEYWORDS.items() if k == keyword)
    raw: Any = src.ds.get_item(tag, keep_deferred=True)
    if not isinstance(raw, RawDataElement) or raw.value is not None:
        return None  # read already (or never deferred): decode from the dataset
    return raw.value_tell, raw.VR


def _with_file(
    src: Source,
    syntax: UID,
    keyword: str,
    use: Callable[[Any, dict[str, Any]], _T],
    **overrides: Any,
) -> _T:
    """Call ``use(source, options)`` with the best source for the decoder."""
    opts = as_pixel_options(src.ds, transfer_syntax_uid=syntax, **overrides)
    where = _deferred_offset(src, keyword)
    if where is None:
        if not getattr(getattr(src.ds, "file_meta", None), "TransferSyntaxUID", None):
            # pydicom reads the syntax from the file meta of a dataset source
            opts["pixel_keyword"] = keyword
            return use(src.ds[keyword].value, opts)
        return use(src.ds, opts)
    offset, vr = where
    opts["pixel_keyword"] = keyword
    if vr and not syntax.is_implicit_VR:
        opts["pixel_vr"] = vr
    with open(src.path, "rb") as fp:  # type: ignore[arg-type]
        fp.seek(offset)
        return use(fp, opts)


def _jpeg_draft(
    src: Source, keyword: str, index: int, frames: int, shape: tuple[int, int]
) -> tuple[np.ndarray, str] | None:
    """Decode an 8-bit JPEG baseline frame at reduced scale with Pillow.

    Returns None (the caller decodes with pydicom) when the frame's colour
    handling is not the plain case pydicom treats the same way.
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return None
    samples = src.ds.get("SamplesPerPixel", 1)
    photometric = str(src.ds.get("PhotometricInterpretation", ""))
    if src.ds.get("BitsStored") != 8 or samples not in (1, 3):
        return None

    def read(source: Any, opts: dict[str, Any]) -> bytes:
        return get_frame(
            source,
            index,
            number_of_frames=frames,
            extended_offsets=opts.get("extended_offsets"),
        )

    try:
        data = _with_file(src, JPEGBaseline8Bit, keyword, read)
        image = Image.open(io.BytesIO(data), formats=("JPEG",))
    except Exception as exc:  # let pydicom give its own error
        logger.debug("%s: JPEG fast path failed: %s", src.name, exc)
        return None
    with image:
        if image.mode != ("L" if samples == 1 else "RGB") or "adobe" in image.info:
            return None
        if samples == 3:
            ids = [layer[0] for layer in getattr(image, "layer", [])]
            if ids in _RGB_COMPONENT_IDS:
                photometric = "RGB"
            elif "jfif" in image.info and "YBR" not in photometric:
                photometric = "YBR_FULL_422"
            if photometric not in ("RGB", "YBR_FULL", "YBR_FULL_422"):
                return None
        image.draft("YCbCr" if samples == 3 else "L", (shape[1], shape[0]))
        try:
            arr = np.asarray(image)
        except Exception as exc:  # corrupt or truncated: pydicom says why
            logger.debug("%s: JPEG fast path failed: %s", src.name, exc)
            return None
    if samples == 3 and photometric != "RGB":
        from pydicom.pixels.processing import convert_color_space

        arr = convert_color_space(arr, "YBR_FULL", "RGB")
        photometric = "RGB"
    return arr, photometric


def decode(
    src: Source, *, index: int | None, reduce_to: tuple[int, int] | None = None
) -> DecodedFrame:
    """Decode one frame (`index`) or every frame (None) of `src`.

    Parameters
    ----------
    src : Source
        The dataset and its file.
    index : int or None
        The frame, counting from 0, or None for all frames.
    reduce_to : tuple of int or None, optional
        The (rows, columns) the caller will shrink the frame to; it allows
        a fast path to decode at a smaller scale.

    Returns
    -------
    DecodedFrame
        The pixels and their photometric interpretation.

    Raises
    ------
    PixelDataError
        No pixel data, missing or invalid Image Pixel elements, an
        unsupported transfer syntax, or a frame that cannot be decoded.
    MissingDecoderError
        If the decoder's package is not installed.
    """
    keyword = pixel_keyword(src)
    rows, columns = image_size(src)
    bits_stored = _int_attr(src, "BitsStored", src.ds.get("BitsAllocated"))
    frames = number_of_frames(src)
    if index is not None and not 0 <= index < frames:
        raise InputError(
            f"{src.name}: frame {index} does not exist; "
            f"the image has {frames} frame(s), numbered from 0"
        )
    if "PhotometricInterpretation" not in src.ds:
        raise src.error("no PhotometricInterpretation element, which decoding needs")
    check_decoded_size(src, rows, columns, frames if index is None else 1)
    syntax = transfer_syntax(src)
    decoder = check_decoder(src, syntax)
    with quiet(src):
        if (
            reduce_to is not None
            and index is not None
            and syntax == JPEGBaseline8Bit
            and "pillow" in decoder.available_plugins
        ):
            fast = _jpeg_draft(src, keyword, index, frames, reduce_to)
            if fast is not None:
                return DecodedFrame(
                    fast[0], fast[1], rows, columns, index, frames, bits_stored
                )

        # pydicom expands 4:2:2 subsampling of native data only for YBR_FULL_422;
        # the retired YBR_PARTIAL_422 is subsampled the same way.
        partial_422 = (
            str(src.ds.PhotometricInterpretation) == "YBR_PARTIAL_422"
            and not syntax.is_compressed
        )
        overrides = (
            {"photometric_interpretation": "YBR_FULL_422"} if partial_422 else {}
        )

        def run(source: Any, opts: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
            arr, props = decoder.as_array(
                source, index=index if frames > 1 else None, raw=partial_422, **opts
            )
            if partial_422:
                props["photometric_interpretation"] = "YBR_PARTIAL_422"
            return arr, props

        try:
            arr, props = _with_file(src, syntax, keyword, run, **overrides)
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            what = f"frame {index}" if index is not None and frames > 1 else "pixels"
            raise src.error(
                f"cannot decode the {what} ({syntax.name}); the pixel data may be "
                f"corrupt or truncated: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if index is None and frames == 1:
        arr = arr[np.newaxis]
    photometric = str(
        props.get("photometric_interpretation", src.ds.PhotometricInterpretation)
    )
    return DecodedFrame(arr, photometric, rows, columns, index, frames, bits_stored)
