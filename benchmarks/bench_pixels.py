"""Benchmark deidscope.pixels: thumbnails and filter detection.

Run: .venv/bin/python benchmarks/bench_pixels.py [--repeat N] [--skip-detect]

Thumbnails: the median time per deid-data image of ``thumbnail(path)``
against plain pydicom (``dcmread`` then ``pixel_array`` of the middle frame,
no windowing or shrinking), in the same process. The issue's target is a
median of at most 20 ms.

Detection: ``detect(frame, recipe)`` over a synthetic identifier frame of
10,000 files (the deid-data frame repeated under new file names) with deid's
shipped recipe ``deid.dicom``; the target is under 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))

from samples import deid_data_files


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_thumbnails(repeat: int) -> None:
    import pydicom
    from pydicom.pixels import pixel_array

    from deidscope.pixels import thumbnail

    def plain(path: str) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            return pixel_array(ds, index=frames // 2 if frames > 1 else None)

    files = deid_data_files()
    ours, theirs = [], []
    print(f"{'file':32s} {'thumbnail':>10s} {'pydicom':>10s}")
    for path in files:
        thumbnail(path)  # warm caches and imports
        plain(path)
        t_ours = _best(lambda p=path: thumbnail(p), repeat)
        t_theirs = _best(lambda p=path: plain(p), repeat)
        ours.append(t_ours)
        theirs.append(t_theirs)
        name = "/".join(Path(path).parts[-2:])
        print(f"{name:32s} {t_ours * 1000:8.1f}ms {t_theirs * 1000:8.1f}ms")
    med_ours = statistics.median(ours) * 1000
    med_theirs = statistics.median(theirs) * 1000
    print(
        f"median over {len(files)} deid-data images: thumbnail {med_ours:.1f} ms, "
        f"plain pydicom decode {med_theirs:.1f} ms, "
        f"ratio {med_ours / med_theirs:.2f} (target: <= 20 ms)"
    )


def bench_detect(repeat: int, n_files: int = 10_000) -> None:
    import pandas as pd

    import deidscope
    from deidscope.pixels import detect
    from deidscope.recipe import Recipe

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))
    from pixels_helpers import deid_recipe_path

    base = deidscope.read_identifiers(deid_data_files(), errors="ignore")
    files = base["file"].astype(str)
    unique = list(dict.fromkeys(files))
    copies = -(-n_files // len(unique))
    parts = []
    for i in range(copies):
        part = base.copy()
        part["file"] = files.str.replace("/data/", f"/data/copy{i:04d}/", regex=False)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["file"] = frame["file"].astype("category")
    n = frame["file"].nunique()
    recipes = {
        "deid.dicom": Recipe.from_file(deid_recipe_path("deid.dicom")),
        "deid.dicom.ultrasound": Recipe.from_file(
            deid_recipe_path("deid.dicom.ultrasound")
        ),
    }
    for name, recipe in recipes.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds = _best(lambda r=recipe: detect(frame, r, errors="ignore"), repeat)
        print(
            f"detect({name}) over {n} files, {len(frame):,} rows: {seconds:.2f} s "
            "(target: < 2 s)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-detect", action="store_true")
    args = parser.parse_args(argv)
    bench_thumbnails(args.repeat)
    if not args.skip_detect:
        bench_detect(max(1, args.repeat // 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
