"""Test helpers: an independent thumbnail reference, synthetic images.

reference_thumbnail: pydicom decodes, numpy displays.

The reference decodes the whole frame with pydicom's own ``pixel_array``
(default plugins), applies the palette, rescale and window with plain numpy
at full resolution, and only then shrinks. deidscope shrinks first and
decodes JPEG at reduced scale, so the two agree closely but not exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels import pixel_array
from pydicom.pixels.processing import apply_color_lut


def _first(value, default=None):
    if value is None:
        return default
    if isinstance(value, pydicom.multival.MultiValue | list):
        return float(value[0])
    return float(value)


def reference_thumbnail(path: str, shape: tuple[int, int]) -> np.ndarray:
    """pydicom's decoded middle frame, shown and shrunk to `shape`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        arr = pixel_array(ds, index=frames // 2 if frames > 1 else None)
    pi = ds.PhotometricInterpretation
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)[..., :3]
        values = rgb / (255.0 if rgb.dtype == np.uint8 else 65535.0)
    elif arr.ndim == 3:
        values = arr / float(2**ds.BitsStored - 1)
    else:
        values = arr.astype(np.float64)
        slope = _first(ds.get("RescaleSlope"), 1.0)
        intercept = _first(ds.get("RescaleIntercept"), 0.0)
        values = values * slope + intercept
        center = _first(ds.get("WindowCenter"))
        width = _first(ds.get("WindowWidth"))
        if center is not None and width is not None and width > 1:
            low = center - 0.5 - (width - 1) / 2
            values = np.clip((values - low) / (width - 1), 0, 1)
        else:
            low, high = np.percentile(values, (0.5, 99.5))
            if high <= low:
                low, high = values.min(), values.max()
            span = (high - low) or 1.0
            values = np.clip((values - low) / span, 0, 1)
        if pi == "MONOCHROME1":
            values = 1 - values
    channels = [values] if values.ndim == 2 else [values[..., i] for i in range(3)]
    out = [
        np.asarray(
            Image.fromarray(c.astype(np.float32), mode="F").resize(
                (shape[1], shape[0]), Image.Resampling.BOX
            )
        )
        for c in channels
    ]
    result = out[0] if len(out) == 1 else np.stack(out, axis=-1)
    return np.rint(np.clip(result, 0, 1) * 255).astype(np.uint8)


def write_image(
    path,
    arr: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    **elements,
):
    """Write a synthetic uncompressed image (Explicit VR Little Endian).

    `arr` is (rows, columns), (rows, columns, 3), or with a leading frames
    axis when ``NumberOfFrames`` is given. Extra keyword elements are set
    on the dataset as given.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    arr = np.asarray(arr)
    frames = int(elements.get("NumberOfFrames", 1))
    shape = arr.shape[1:] if frames > 1 else arr.shape
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Synthetic^Pixels"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = shape[0], shape[1]
    ds.SamplesPerPixel = 3 if len(shape) == 3 else 1
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    ds.PixelData = data + b"\0" * (len(data) % 2)
    ds["PixelData"].VR = "OB" if ds.BitsAllocated == 8 else "OW"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def deid_recipe_path(name: str) -> str:
    """A recipe shipped with the installed deid (deid.dicom, ...)."""
    import os

    import deid.data

    return os.path.join(os.path.dirname(deid.data.__file__), name)


def deid_detect_and_clean(path: str, recipe: str, folder) -> tuple[dict, np.ndarray]:
    """Run deid's DicomCleaner on one file: its detect() results and clean() array."""
    import contextlib
    import io

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        from deid.dicom import DicomCleaner

        cleaner = DicomCleaner(deid=deid_recipe_path(recipe), output_folder=str(folder))
        results = cleaner.detect(path)
        cleaned = cleaner.clean()
    return results, cleaned


def deid_boxes(results: dict, rows: int, columns: int) -> tuple[list, list]:
    """deid's detect() coordinates as deidscope boxes: (to blank, to keep)."""
    blank, keep = [], []
    for item in results["results"]:
        for mask, value in item["coordinates"]:
            for text in value if isinstance(value, list) else [value]:
                if text.lower() == "all":
                    box = (0, 0, columns, rows)
                else:
                    box = tuple(int(part) for part in text.split(","))
                (keep if mask == 1 else blank).append(box)
    return blank, keep
