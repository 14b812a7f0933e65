"""Make a seeded synthetic DICOM corpus for the benchmarks.

Every file is a real template's header (deid-data and pydicom's bundled test
files; never real patient data) with fresh synthetic identifiers, a private
block with a creator, and nested sequences two levels deep; its pixel data is
the template's, tiled or with frames repeated to reach a size drawn from the
file's size class::

    python benchmarks/make_corpus.py --files 10000 --seed 0 --out benchmarks/corpus/10k

The same arguments give the same bytes. Files go to ``<out>/NNN/NNNNNN.dcm``
(a thousand per folder) with ``<out>/manifest.csv`` (path, template,
category, size, n_frames; in corpus order, which is shuffled so that the
first thousand files have roughly the whole corpus's mix) and ``<out>/corpus.json``
(the arguments and the totals).

Size classes (fractions set by ``--mix``, sizes by ``--small-kb``,
``--medium-mb`` and ``--large-mb``):

- small (default 80 %): single-frame native CT, MR and ultrasound images of
  100-600 KB (CT_small, MR_small, MR_small_implicit, examples_overlay,
  examples_rgb_color tiled to size; deid-data's ctbrain1 decoded to native
  RGB and tiled);
- medium (17 %): 0.6-3 MB: the dicom-cookies JPEGs as they are, deid-data's
  greyscale and RGB ultrasounds and CT_small tiled to size, and the 30-frame
  JPEG ultrasound examples_ybr_color with its frames repeated;
- large (3 %): 8-32 MB, mostly multi-frame: deid-data's
  ultrasound-multiframe with its frames repeated or cut (6-22 frames), the
  MR examples_overlay tiled to 400 x 656 and repeated over 16-60 frames, and
  deid-data's cat.dcm (a 16 MB radiograph) as it is.

With the defaults, 10,000 files take 10.8 GB (small 2.9, medium 2.4, large
5.5) and about 75 s with 2 processes.
"""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import hashlib
import math
import multiprocessing
import os
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pydicom.data
from pydicom.dataset import Dataset, FileDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS_ROOT, MANIFEST_COLUMNS, MANIFEST_NAME, write_json

PYDICOM_FILES = Path(pydicom.data.__file__).parent / "test_files"
#: UID root for every UID the corpus makes (pydicom's own root).
UID_PREFIX = "1.2.826.0.1.3680043.8.498."
PRIVATE_GROUP = 0x0013
PRIVATE_CREATOR = "DEIDSCOPE SYNTHETIC"
FILES_PER_FOLDER = 1000
FILES_PER_PATIENT = 40
FILES_PER_STUDY = 20
FILES_PER_SERIES = 5
KB = 1000
MB = 1000 * 1000


def _deid_data(dataset: str, name: str) -> Path:
    import deid_data  # deidscope's own data module would work too

    return Path(deid_data.__file__).parent / "data" / dataset / name


@dataclass(frozen=True)
class Template:
    """A template file and how its pixel data is resized.

    `resize` is "tile" (tile the image to the target size; single frame, or
    `frames` > 1 to also repeat it over frames), "frames" (repeat or cut the
    template's frames), "encapsulated" (repeat the compressed frames) or
    "asis" (keep the pixel data).
    """

    name: str
    source: str
    weight: float
    resize: str
    decode: bool = False


@functools.cache
def _templates() -> dict[str, list[Template]]:
    pyd = PYDICOM_FILES
    return {
        "small": [
            Template("CT_small", str(pyd / "CT_small.dcm"), 0.30, "tile"),
            Template("MR_small", str(pyd / "MR_small.dcm"), 0.15, "tile"),
            Template(
                "MR_small_implicit", str(pyd / "MR_small_implicit.dcm"), 0.10, "tile"
            ),
            Template(
                "examples_overlay", str(pyd / "examples_overlay.dcm"), 0.20, "tile"
            ),
            Template(
                "ctbrain1",
                str(_deid_data("humans", "ctbrain1.dcm")),
                0.15,
                "tile",
                decode=True,
            ),
            Template(
                "examples_rgb_color", str(pyd / "examples_rgb_color.dcm"), 0.10, "tile"
            ),
        ],
        "medium": [
            *(
                Template(
                    f"cookie{i}",
                    str(_deid_data("dicom-cookies", f"image{i}.dcm")),
                    0.05,
                    "asis",
                )
                for i in range(1, 8)
            ),
            Template(
                "GREYSCALE_IMAGE",
                str(_deid_data("ultrasounds", "GREYSCALE_IMAGE.dcm")),
                0.15,
                "tile",
            ),
            Template(
                "RGB_IMAGE",
                str(_deid_data("ultrasounds", "RGB_IMAGE.dcm")),
                0.15,
                "tile",
            ),
            Template("CT_small", str(pyd / "CT_small.dcm"), 0.20, "tile"),
            Template(
                "examples_ybr_color",
                str(pyd / "examples_ybr_color.dcm"),
                0.15,
                "encapsulated",
            ),
        ],
        "large": [
            Template(
                "ultrasound-multiframe",
                str(_deid_data("ultrasounds", "ultrasound-multiframe.dcm")),
                0.50,
                "frames",
            ),
            Template(
                "examples_overlay-multiframe",
                str(pyd / "examples_overlay.dcm"),
                0.30,
                "tile",
            ),
            Template("cat", str(_deid_data("animals", "cat.dcm")), 0.20, "asis"),
        ],
    }


@dataclass(frozen=True)
class Options:
    """Everything that decides the bytes of the corpus."""

    files: int
    seed: int
    mix: tuple[float, float, float]
    small_bytes: tuple[int, int]
    medium_bytes: tuple[int, int]
    large_bytes: tuple[int, int]


# ------------------------------------------------------------------ templates


@functools.cache
def _load(template: Template) -> FileDataset:
    """The template's dataset, pixel data decoded to native if asked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(template.source)
        if template.decode:
            rgb = ds.pixel_array  # YBR JPEG decoded to RGB
            ds.PixelData = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
            ds["PixelData"].VR = "OB"
            ds.PhotometricInterpretation = "RGB"
            ds.PlanarConfiguration = 0
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _pixel_geometry(ds: Dataset) -> tuple[int, int, int, int]:
    """(frames, rows, columns, bytes per pixel) of native pixel data."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    bytes_per_pixel = int(ds.SamplesPerPixel) * int(ds.BitsAllocated) // 8
    return frames, int(ds.Rows), int(ds.Columns), bytes_per_pixel


@functools.cache
def _pixels(template: Template, rows: int, columns: int, frames: int) -> bytes:
    """The template's native pixels tiled to rows x columns, over `frames`."""
    ds = _load(template)
    n, r, c, bpp = _pixel_geometry(ds)
    data = np.frombuffer(ds.PixelData, dtype=np.uint8)[: n * r * c * bpp]
    image: np.ndarray[Any, np.dtype[np.uint8]]
    if (rows, columns) == (r, c):
        image = data.reshape(n, r * c * bpp)
    else:
        if int(ds.SamplesPerPixel) > 1 and int(ds.get("PlanarConfiguration", 0)):
            raise ValueError(f"{template.name}: cannot tile planar pixel data")
        image = data.reshape(n, r, c, bpp)
        reps = (1, math.ceil(rows / r), math.ceil(columns / c), 1)
        image = np.tile(image, reps)[:, :rows, :columns, :]
    image = image[np.arange(frames) % n]
    raw = np.ascontiguousarray(image).tobytes()
    return raw + b"\0" if len(raw) % 2 else raw


def _cached_pixels(template: Template, rows: int, columns: int, frames: int) -> bytes:
    if rows * columns * frames <= 3_000_000:
        return _pixels(template, rows, columns, frames)
    return _pixels.__wrapped__(template, rows, columns, frames)


def _fit_pixels(ds: Dataset, template: Template, target: float) -> int:
    """Give `ds` pixel data of about `target` bytes; return its frame count."""
    if template.resize == "asis":
        return int(ds.get("NumberOfFrames", 1) or 1)
    if template.resize == "encapsulated":
        n = int(ds.NumberOfFrames)
        frames = list(generate_frames(ds.PixelData, number_of_frames=n))
        per_frame = sum(len(f) for f in frames) / n
        count = max(1, round(target / per_frame))
        ds.PixelData = encapsulate([frames[i % n] for i in range(count)])
        ds.NumberOfFrames = count
        return count
    n, r, c, bpp = _pixel_geometry(ds)
    if template.resize == "frames":
        count = max(1, round(target / (r * c * bpp)))
        ds.PixelData = _cached_pixels(template, r, c, count)
        ds.NumberOfFrames = count
        return count
    # tile: one frame of about `target` bytes, or frames of about 512 x 512
    if template.name.endswith("-multiframe"):
        side = 512
        count = max(2, round(target / (side * side * bpp)))
    else:
        side = max(32, round(math.sqrt(target / bpp) / 32) * 32)
        count = 1
    aspect = r / c
    rows = max(32, round(side * math.sqrt(aspect) / 16) * 16)
    columns = max(32, round(side / math.sqrt(aspect) / 16) * 16)
    ds.PixelData = _cached_pixels(template, rows, columns, count)
    ds.Rows, ds.Columns = rows, columns
    if count > 1 or "NumberOfFrames" in ds:
        ds.NumberOfFrames = count
    return count


# ---------------------------------------------------------------- identifiers

GIVEN = [
    "Alder",
    "Briar",
    "Cedar",
    "Dune",
    "Ember",
    "Fern",
    "Gale",
    "Heath",
    "Iris",
    "Juniper",
    "Kestrel",
    "Linden",
    "Moss",
    "Nova",
    "Orrin",
    "Pike",
    "Quill",
    "Rowan",
    "Sage",
    "Tamsin",
    "Umber",
    "Vale",
    "Wren",
    "Yarrow",
    "Zephyr",
]
FAMILY = [
    "Ashdown",
    "Brackett",
    "Coldwell",
    "Dunmore",
    "Eastleigh",
    "Fairbrook",
    "Greythorn",
    "Hollins",
    "Ivesworth",
    "Kettering",
    "Larkspur",
    "Millbank",
    "Northcott",
    "Oakhurst",
    "Pennock",
    "Quarrier",
    "Redfern",
    "Stowell",
    "Thornbury",
    "Underhill",
    "Vexley",
    "Whitcombe",
    "Yardley",
]
PLACES = [
    "North",
    "South",
    "East",
    "West",
    "Central",
    "Harbour",
    "Valley",
    "Hill",
    "Lake",
    "River",
]
KINDS = ["General", "Memorial", "University", "Community", "Children's", "Regional"]
STUDIES = (
    "CT HEAD W/O CONTRAST",
    "MR BRAIN",
    "US ABDOMEN",
    "CT CHEST",
    "MR KNEE LEFT",
    "XR CHEST PA",
)


def _rng(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(str(k) for k in (seed, *key)))


def _uid(seed: int, *key: object) -> str:
    return generate_uid(UID_PREFIX, entropy_srcs=[str(seed), *map(str, key)])


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)}^{rng.choice(GIVEN)}"


def _date(rng: random.Random, first: int, last: int) -> tuple[int, int, int]:
    return rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28)


def _time(rng: random.Random) -> str:
    return (
        f"{rng.randint(7, 19):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
        f".{rng.randint(0, 999999):06d}"
    )


def _set_identifiers(ds: Dataset, seed: int, index: int) -> None:
    """Synthetic patient, study, series and instance identifiers."""
    patient, study = index // FILES_PER_PATIENT, index // FILES_PER_STUDY
    series = index // FILES_PER_SERIES
    prng = _rng(seed, "patient", patient)
    born = _date(prng, 1930, 2015)
    ds.PatientName = _person(prng)
    ds.PatientID = f"SYN{prng.randrange(10**7):07d}"
    ds.PatientBirthDate = "{:04d}{:02d}{:02d}".format(*born)
    ds.PatientSex = prng.choice("FMO")
    ds.OtherPatientIDs = f"MRN-{prng.randrange(10**6):06d}"
    srng = _rng(seed, "study", study)
    when = _date(srng, 2005, 2024)
    ds.PatientAge = f"{max(0, when[0] - born[0]):03d}Y"
    day = "{:04d}{:02d}{:02d}".format(*when)
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = day
    ds.StudyTime = _time(srng)
    ds.AccessionNumber = f"ACC{srng.randrange(10**8):08d}"
    ds.StudyID = str(srng.randrange(1, 10**5))
    ds.StudyDescription = srng.choice(STUDIES)
    ds.ReferringPhysicianName = _person(srng)
    ds.InstitutionName = f"{srng.choice(PLACES)} {srng.choice(KINDS)} Hospital"
    ds.InstitutionAddress = f"{srng.randint(1, 999)} {srng.choice(FAMILY)} Road"
    ds.StudyInstanceUID = _uid(seed, "study", study)
    frng = _rng(seed, "file", index)
    ds.SeriesInstanceUID = _uid(seed, "series", series)
    ds.SeriesNumber = series % 100 + 1
    ds.SeriesDescription = f"series {series % 7 + 1}"
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _time(frng)
    ds.InstanceNumber = index % FILES_PER_SERIES + 1
    ds.OperatorsName = _person(frng)
    ds.DeviceSerialNumber = f"SN{frng.randrange(10**6):06d}"
    ds.FrameOfReferenceUID = _uid(seed, "frame-of-reference", study)
    ds.SOPInstanceUID = _uid(seed, "instance", index)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def _set_sequences(ds: Dataset, seed: int, index: int, rng: random.Random) -> None:
    """Sequences two levels deep: references with nested code sequences."""
    study = index // FILES_PER_STUDY
    ref_study = Dataset()
    ref_study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref_study.ReferencedSOPInstanceUID = _uid(seed, "study-ref", study)
    ds.ReferencedStudySequence = DicomSequence([ref_study])
    images = []
    for k in range(rng.randint(1, 3)):
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = _uid(seed, "instance", (index + k + 1) * 7919)
        item.PurposeOfReferenceCodeSequence = DicomSequence(
            [_code("121311", "Localizer")]
        )
        images.append(item)
    ds.ReferencedImageSequence = DicomSequence(images)
    request = Dataset()
    request.RequestedProcedureID = f"RP{rng.randrange(10**6):06d}"
    request.ScheduledProcedureStepID = f"SPS{rng.randrange(10**6):06d}"
    request.ScheduledProtocolCodeSequence = DicomSequence(
        [_code(f"P{rng.randrange(1000):03d}", ds.StudyDescription)]
    )
    ds.RequestAttributesSequence = DicomSequence([request])


def _set_private(ds: Dataset, rng: random.Random) -> None:
    """A private block with a creator: LO, SH and UN elements."""
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(0x10, "LO", str(ds.PatientName))
    block.add_new(0x11, "SH", f"ID{rng.randrange(10**8):08d}")
    block.add_new(0x12, "LO", str(ds.InstitutionName))
    note = f"operator {ds.OperatorsName} acc {ds.AccessionNumber}".encode("ascii")
    block.add_new(0x13, "UN", note + b" " * (len(note) % 2))
    block.add_new(0x14, "UN", rng.randbytes(64))


# ---------------------------------------------------------------------- files


def _categories(options: Options) -> list[str]:
    """The size class of each file: exact counts, in a seeded order."""
    n = options.files
    large = round(n * options.mix[2])
    medium = round(n * options.mix[1])
    small = max(0, n - medium - large)
    labels = ["small"] * small + ["medium"] * medium + ["large"] * large
    labels = labels[:n]
    _rng(options.seed, "order").shuffle(labels)
    return labels


def relative_path(index: int) -> str:
    return f"{index // FILES_PER_FOLDER:03d}/{index:06d}.dcm"


def make_file(
    index: int, category: str, options: Options, out: str
) -> tuple[str, str, str, int, int]:
    """Write file number `index`; return its manifest row."""
    rng = _rng(options.seed, "make", index)
    templates = _templates()[category]
    template = rng.choices(templates, weights=[t.weight for t in templates])[0]
    low, high = {
        "small": options.small_bytes,
        "medium": options.medium_bytes,
        "large": options.large_bytes,
    }[category]
    target = rng.uniform(low, high)
    ds = copy.deepcopy(_load(template))
    n_frames = _fit_pixels(ds, template, target)
    _set_identifiers(ds, options.seed, index)
    _set_sequences(ds, options.seed, index, rng)
    _set_private(ds, rng)
    rel = relative_path(index)
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(tmp, enforce_file_format=True)
    os.replace(tmp, path)
    return rel, template.name, category, os.path.getsize(path), n_frames


def _make_one(task: tuple[int, str, Options, str]) -> tuple[str, str, str, int, int]:
    return make_file(*task)


def make_corpus(
    out: str | os.PathLike[str], options: Options, *, processes: int = 2
) -> dict[str, Any]:
    """Write the corpus to `out`, then its manifest and summary."""
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    tasks = [
        (index, category, options, out)
        for index, category in enumerate(_categories(options))
    ]
    if processes > 1 and len(tasks) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(processes) as pool:
            rows = list(pool.imap(_make_one, tasks, chunksize=16))
    else:
        rows = [_make_one(task) for task in tasks]
    manifest = os.path.join(out, MANIFEST_NAME)
    tmp = f"{manifest}.tmp"
    with open(tmp, "w", newline="") as fp:
        writer = csv.writer(fp)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    os.replace(tmp, manifest)
    total = sum(row[3] for row in rows)
    sizes = {
        category: [row[3] for row in rows if row[2] == category]
        for category in ("small", "medium", "large")
    }
    summary = {
        "options": {
            "files": options.files,
            "seed": options.seed,
            "mix": list(options.mix),
            "small_bytes": list(options.small_bytes),
            "medium_bytes": list(options.medium_bytes),
            "large_bytes": list(options.large_bytes),
        },
        "pydicom": pydicom.__version__,
        "files": len(rows),
        "total_bytes": total,
        "seconds": round(time.perf_counter() - start, 1),
        "categories": {
            category: {
                "files": len(values),
                "bytes": sum(values),
                "min": min(values, default=0),
                "median": sorted(values)[len(values) // 2] if values else 0,
                "max": max(values, default=0),
            }
            for category, values in sizes.items()
        },
        "templates": dict(Counter(row[1] for row in rows).most_common()),
        "manifest_sha256": hashlib.sha256(Path(manifest).read_bytes()).hexdigest(),
    }
    write_json(os.path.join(out, "corpus.json"), summary)
    return summary


# ------------------------------------------------------------------------ cli


def _pair(text: str, unit: int) -> tuple[int, int]:
    low, _, high = text.partition(",")
    pair = (round(float(low) * unit), round(float(high or low) * unit))
    if not 0 < pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(
            f"expected LOW,HIGH with 0 < LOW <= HIGH: {text}"
        )
    return pair


def _mix(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 3 or any(p < 0 for p in parts) or not sum(parts):
        raise argparse.ArgumentTypeError(
            f"expected SMALL,MEDIUM,LARGE fractions, got {text}"
        )
    total = sum(parts)
    return parts[0] / total, parts[1] / total, parts[2] / total


def _human(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10000, help="default 10000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, help="default benchmarks/corpus/<files> (e.g. 10k)"
    )
    parser.add_argument(
        "--mix",
        type=_mix,
        default=(0.80, 0.17, 0.03),
        help="fractions of small, medium and large files (default 0.80,0.17,0.03)",
    )
    parser.add_argument(
        "--small-kb", type=lambda t: _pair(t, KB), default=(100 * KB, 600 * KB)
    )
    parser.add_argument(
        "--medium-mb", type=lambda t: _pair(t, MB), default=(600 * KB, 3 * MB)
    )
    parser.add_argument(
        "--large-mb", type=lambda t: _pair(t, MB), default=(8 * MB, 32 * MB)
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--force", action="store_true", help="write into a folder that has files"
    )
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be at least 1")
    out: Path = args.out or CORPUS_ROOT / _human(args.files)
    if out.exists() and any(out.iterdir()) and not args.force:
        parser.error(f"{out} is not empty; pass --force to write over its files")
    options = Options(
        files=args.files,
        seed=args.seed,
        mix=args.mix,
        small_bytes=args.small_kb,
        medium_bytes=args.medium_mb,
        large_bytes=args.large_mb,
    )
    summary = make_corpus(out, options, processes=args.processes)
    cats = ", ".join(
        f"{name} {c['files']} files {c['bytes'] / 1e9:.2f} GB"
        for name, c in summary["categories"].items()
    )
    print(
        f"{summary['files']} files, {summary['total_bytes'] / 1e9:.2f} GB "
        f"in {summary['seconds']} s -> {out} ({cats})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
