"""A seeded synthetic corpus of burned-in text, with the truth of every box.

Each image starts from the pixels of a pydicom or deid-data sample, of one
photometric kind (MONOCHROME1 and 2, 8 and 16 bit, RGB, YBR_FULL, PALETTE
COLOR, multi-frame, RLE and JPEG-LS compressed); text is drawn with Pillow
on a plate, the way scanners write it in the margins, at known boxes.
Part of the text shows the header's values in a screen's spelling (a birth
date as 08/29/1951, a name as DOE, JANE), the rest is the kind of text the
allow-list knows (12 cm, MI 1.2) or an ID that is in no header.

``make_corpus(folder, seed=0)`` writes the files and returns one
:class:`Image` per file; the same seed gives the same files.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from pydicom.pixels import pixel_array
from pydicom.pixels.processing import convert_color_space
from pydicom.uid import JPEGLSLossless, RLELossless

from pixels_helpers import write_image

#: The header values every synthetic file carries.
HEADER = {
    "PatientName": "DOE^JANE",
    "PatientID": "4815162342",
    "PatientBirthDate": "19510829",
    "AccessionNumber": "A7734219",
    "InstitutionName": "GENERAL HOSPITAL",
    "StudyDate": "20240117",
}
#: Screen spellings of the header values: (text, field).
HEADER_TEXT = {
    "PatientName": ["DOE, JANE", "JANE DOE", "DOE JANE"],
    "PatientID": ["ID: 4815162342", "MRN 4815162342", "4815162342"],
    "PatientBirthDate": ["DOB: 08/29/1951", "1951-08-29", "29.08.1951"],
    "AccessionNumber": ["ACC A7734219", "A7734219"],
    "InstitutionName": ["GENERAL HOSPITAL"],
    "StudyDate": ["01/17/2024", "2024-01-17"],
}
#: Text a screen shows that is not an identifier (the allow-list's kind).
SAFE_TEXT = ["12 cm", "MI 1.2", "TIS 0.4", "120 kVp", "Gain 50 %"]
#: The photometric kinds of the corpus, in order.
KINDS = (
    "MONOCHROME2-16",
    "MONOCHROME1-16",
    "MONOCHROME2-8",
    "RGB-8",
    "YBR_FULL-8",
    "PALETTE-8",
    "MULTIFRAME-8",
    "RLE-16",
    "JPEGLS-8",
)


@dataclass
class Planted:
    """One text drawn: its words, its box (xmin, ymin, xmax, ymax), its field."""

    text: str
    box: tuple[int, int, int, int]
    field: str | None


@dataclass
class Image:
    """One synthetic file and what was drawn on it."""

    path: Path
    kind: str
    planted: list[Planted] = field(default_factory=list)

    @property
    def header_planted(self) -> list[Planted]:
        return [p for p in self.planted if p.field is not None]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _read(path: str) -> tuple[pydicom.Dataset, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        return ds, pixel_array(ds)


def _resize(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize (keeps the dtype and palette indices)."""
    rows = (np.arange(shape[0]) * arr.shape[0] // shape[0]).clip(0, arr.shape[0] - 1)
    cols = (np.arange(shape[1]) * arr.shape[1] // shape[1]).clip(0, arr.shape[1] - 1)
    return arr[rows][:, cols]


def _layout(
    rng: random.Random, shape: tuple[int, int], texts: list[tuple[str, str | None]]
) -> list[tuple[str, str | None, int, tuple[int, int]]]:
    """Place each text on its own line in the four corners: (text, field, size, xy)."""
    rows, columns = shape
    corners = ["tl", "tr", "bl", "br"]
    rng.shuffle(corners)
    next_y = {"tl": 6, "tr": 6, "bl": rows - 6, "br": rows - 6}
    placed = []
    for i, (text, fld) in enumerate(texts):
        size = rng.choice([14, 16, 18, 20, 24])
        corner = corners[i % 4]
        width = int(_font(size).getlength(text)) + 2
        height = size + 4
        x = 8 if corner.endswith("l") else columns - 8 - width
        if corner.startswith("t"):
            y = next_y[corner]
            next_y[corner] += int(height * 1.9)
        else:
            next_y[corner] -= int(height * 1.9)
            y = next_y[corner]
        placed.append((text, fld, size, (max(0, x), max(0, y))))
    return placed


def _draw_masks(
    shape: tuple[int, int], placed: list[tuple[str, str | None, int, tuple[int, int]]]
) -> tuple[list[np.ndarray], list[np.ndarray], list[Planted]]:
    """Each text's glyph mask and plate mask, and its true box."""
    glyphs, plates, planted = [], [], []
    for text, fld, size, (x, y) in placed:
        mask = PILImage.new("L", (shape[1], shape[0]), 0)
        draw = ImageDraw.Draw(mask)
        font = _font(size)
        draw.text((x, y), text, fill=255, font=font)
        # the line's box: ascender to descender, as a reader boxes a line
        left, _, right, _ = draw.textbbox((x, y), text, font=font)
        ascent, descent = font.getmetrics()
        box = (int(left), int(y), int(right), int(y + ascent + descent))
        plate = np.zeros(shape, bool)
        plate[
            max(0, box[1] - 4) : min(shape[0], box[3] + 4),
            max(0, box[0] - 4) : min(shape[1], box[2] + 4),
        ] = True
        glyphs.append(np.asarray(mask) > 127)
        plates.append(plate)
        planted.append(Planted(text, box, fld))
    return glyphs, plates, planted


def _texts(rng: random.Random) -> list[tuple[str, str | None]]:
    fields = rng.sample(sorted(HEADER_TEXT), 3)
    texts: list[tuple[str, str | None]] = [
        (rng.choice(HEADER_TEXT[f]), f) for f in fields
    ]
    texts += [(t, None) for t in rng.sample(SAFE_TEXT, 2)]
    texts.append((f"EXAM {rng.randint(10000, 99999)}", None))  # in no header
    rng.shuffle(texts)
    return texts


def _mono(
    arr: np.ndarray, glyphs, plates, rng, *, invert: bool
) -> tuple[np.ndarray, dict]:
    """Draw on stored values; a window shows them from black to white."""
    arr = arr.copy()
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo < 64:
        hi = lo + 255
    dark, bright = (hi, lo) if invert else (lo, hi)
    for glyph, plate in zip(glyphs, plates, strict=True):
        light_plate = rng.random() < 0.3
        arr[plate] = bright if light_plate else dark
        arr[glyph] = dark if light_plate else bright
    center = (lo + hi) / 2
    width = hi - lo + 1
    return arr, {"WindowCenter": f"{center:.1f}", "WindowWidth": str(width)}


def _rgb(arr: np.ndarray, glyphs, plates, rng) -> np.ndarray:
    arr = arr.copy()
    colours = [(255, 255, 255), (255, 255, 0), (0, 255, 0), (0, 200, 255)]
    for glyph, plate in zip(glyphs, plates, strict=True):
        arr[plate] = (0, 0, 0)
        arr[glyph] = rng.choice(colours)
    return arr


def _cookie() -> np.ndarray:
    """deid-data's first cookie photograph (no text on it), 480 x 640 RGB."""
    from deidscope.data import get_dataset

    _, arr = _read(str(Path(get_dataset("dicom-cookies")) / "image1.dcm"))
    return _resize(arr, (480, 640))


def _base(kind: str) -> tuple[np.ndarray, pydicom.Dataset | None]:
    if kind in ("MONOCHROME2-16", "MONOCHROME1-16", "RLE-16"):
        _, arr = _read(get_testdata_file("examples_overlay.dcm"))
        return _resize(arr, (360, 580)), None
    if kind == "MONOCHROME2-8":
        _, arr = _read(get_testdata_file("image_dfl.dcm"))
        return arr, None
    if kind in ("RGB-8", "YBR_FULL-8"):
        return _cookie(), None
    if kind == "PALETTE-8":
        # a text-free picture as indices into the palette of pydicom's sample
        ds, _ = _read(get_testdata_file("examples_palette.dcm"))
        _, arr = _read(get_testdata_file("image_dfl.dcm"))
        return _resize(arr, (400, 640)), ds
    if kind == "MULTIFRAME-8":
        _, arr = _read(get_testdata_file("image_dfl.dcm"))
        return _resize(arr[::-1], (384, 512)), None
    if kind == "JPEGLS-8":
        grey = _cookie().astype(float) @ [0.299, 0.587, 0.114]
        return np.rint(grey).astype(np.uint8), None
    raise ValueError(kind)


def make_image(folder: Path, kind: str, seed: int) -> Image:
    """Write one synthetic file of `kind`; return what was drawn on it."""
    rng = random.Random(f"{kind}:{seed}")
    base, source = _base(kind)
    shape = base.shape[:2]
    placed = _layout(rng, shape, _texts(rng))
    glyphs, plates, planted = _draw_masks(shape, placed)
    elements = dict(HEADER)
    elements.update(
        Manufacturer="DEIDSCOPE",
        ManufacturerModelName=f"SYNTH {kind}",
        Modality="US" if kind in ("MULTIFRAME-8", "JPEGLS-8") else "OT",
    )
    path = folder / f"{kind.lower()}-{seed}.dcm"
    if kind in (
        "MONOCHROME2-16",
        "MONOCHROME1-16",
        "RLE-16",
        "MONOCHROME2-8",
        "JPEGLS-8",
    ):
        invert = kind == "MONOCHROME1-16"
        arr, window = _mono(base, glyphs, plates, rng, invert=invert)
        elements.update(window)
        write_image(
            path,
            arr,
            photometric="MONOCHROME1" if invert else "MONOCHROME2",
            **elements,
        )
        if kind == "RLE-16":
            _compress(path, RLELossless)
        if kind == "JPEGLS-8":
            _compress(path, JPEGLSLossless)
    elif kind == "MULTIFRAME-8":
        frames = []
        for _ in range(3):
            arr, window = _mono(base, glyphs, plates, random.Random(seed), invert=False)
            frames.append(arr)
        elements.update(window)
        write_image(path, np.stack(frames), NumberOfFrames=3, **elements)
    elif kind == "RGB-8":
        write_image(
            path, _rgb(base, glyphs, plates, rng), photometric="RGB", **elements
        )
    elif kind == "YBR_FULL-8":
        rgb = _rgb(base, glyphs, plates, rng)
        ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
        write_image(path, ybr, photometric="YBR_FULL", **elements)
    elif kind == "PALETTE-8":
        assert source is not None
        lut = np.asarray(
            pydicom.pixels.processing.apply_color_lut(
                np.arange(256, dtype=np.uint8), source
            )
        ).astype(float)
        luminance = lut[:, :3] @ [0.299, 0.587, 0.114]
        dark, bright = int(np.argmin(luminance)), int(np.argmax(luminance))
        arr = base.copy()
        for glyph, plate in zip(glyphs, plates, strict=True):
            arr[plate] = dark
            arr[glyph] = bright
        for keyword in (
            "RedPaletteColorLookupTableDescriptor",
            "GreenPaletteColorLookupTableDescriptor",
            "BluePaletteColorLookupTableDescriptor",
            "RedPaletteColorLookupTableData",
            "GreenPaletteColorLookupTableData",
            "BluePaletteColorLookupTableData",
        ):
            elements[keyword] = source[keyword].value
        write_image(path, arr, photometric="PALETTE COLOR", **elements)
    else:  # pragma: no cover
        raise ValueError(kind)
    return Image(path, kind, planted)


def _compress(path: Path, syntax) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        ds.compress(syntax)
        ds.save_as(path, enforce_file_format=True)


def can_write(kind: str) -> bool:
    """Whether this machine has the encoder `kind` needs."""
    if kind != "JPEGLS-8":
        return True
    try:
        import jpeg_ls  # noqa: F401
    except ImportError:
        return False
    return True


def make_corpus(folder, *, seed: int = 0, kinds=KINDS) -> list[Image]:
    """Write one image of each kind (that can be encoded here) under `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [make_image(folder, kind, seed) for kind in kinds if can_write(kind)]


def iou(a, b) -> float:
    """Intersection over union of two (xmin, ymin, xmax, ymax) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def covers(found, planted, share: float = 0.5) -> bool:
    """Whether a found box holds at least `share` of a planted box."""
    w = min(found[2], planted[2]) - max(found[0], planted[0])
    h = min(found[3], planted[3]) - max(found[1], planted[1])
    if w <= 0 or h <= 0:
        return False
    area = (planted[2] - planted[0]) * (planted[3] - planted[1])
    return w * h >= share * area
