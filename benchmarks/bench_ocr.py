"""Benchmark deidscope.pixels.find_text on the seeded synthetic burned-in corpus.

Run: .venv/bin/python benchmarks/bench_ocr.py [--seeds 0,1] [--out DIR]

The corpus (tests/helpers/burned_in.py) is one image per photometric kind
per seed (MONOCHROME1/2 8 and 16 bit, RGB, YBR_FULL, PALETTE COLOR,
multi-frame, RLE and JPEG-LS), made from pydicom's and deid-data's pictures
with text drawn at known boxes, part of it the header's values in a
screen's spelling.

Reported, per photometric kind and in total:

- box recall: planted texts with a found box of IoU >= 0.5;
- header-value recall: planted header values found with the right
  ``header_match`` (target 100 %);
- false boxes per image: found boxes that overlap no planted text and are
  not allow-listed (target <= 1).

Speed, side by side in this process (the engine loaded once before): the
engine called directly on the decoded arrays (``thumbnail`` at full size,
decoded beforehand and not timed) against ``find_text(sample=None)`` on the
same files with the cache emptied, which decodes, reads the header values
and matches them too (target: within 1.2x). Results go to
``benchmarks/results/bench_ocr.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))

from burned_in import covers, iou, make_corpus


def _score(images, text):
    by_kind = {}
    for image in images:
        rows = text[text["file"] == str(image.path)]
        boxes = list(rows["box"])
        matches = list(rows["header_match"])
        allowed = list(rows["allowed"])
        stats = by_kind.setdefault(
            image.kind,
            {
                "images": 0,
                "planted": 0,
                "found": 0,
                "header": 0,
                "header_found": 0,
                "false": 0,
            },
        )
        stats["images"] += 1
        used = set()
        for planted in image.planted:
            stats["planted"] += 1
            overlaps = [i for i, b in enumerate(boxes) if iou(b, planted.box) >= 0.5]
            stats["found"] += bool(overlaps)
            for i, b in enumerate(boxes):
                if covers(b, planted.box, 0.3) or iou(b, planted.box) > 0.2:
                    used.add(i)
            if planted.field is not None:
                stats["header"] += 1
                hits = [
                    matches[i]
                    for i, b in enumerate(boxes)
                    if covers(b, planted.box, 0.5)
                ]
                stats["header_found"] += planted.field in hits
        stats["false"] += sum(
            1 for i in range(len(boxes)) if i not in used and not allowed[i]
        )
    return by_kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1", help="corpus seeds (default 0,1)")
    parser.add_argument("--out", type=Path, default=None, help="results folder")
    args = parser.parse_args(argv)

    import numpy as np

    from deidscope.pixels import find_text, thumbnail
    from deidscope.pixels._ocr_engine import OcrCache, resolve_engine

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    folder = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    images = []
    for seed in seeds:
        images += make_corpus(folder / f"seed{seed}", seed=seed)
    files = [str(image.path) for image in images]
    engine, _ = resolve_engine("rapidocr", caller="bench_ocr")
    engine(np.zeros((64, 64), np.uint8))  # load the models before timing

    pictures = [thumbnail(f, size=2048) for f in files]  # decoded, not timed
    start = time.perf_counter()
    for picture in pictures:
        engine(picture)
    direct = time.perf_counter() - start

    OcrCache.clear_memory()
    start = time.perf_counter()
    text = find_text(files, sample=None, progress=False, errors="ignore")
    through = time.perf_counter() - start

    by_kind = _score(images, text)
    total = {
        k: sum(s[k] for s in by_kind.values()) for k in next(iter(by_kind.values()))
    }
    lines = [
        "| kind | images | box recall | header-value recall | false boxes/image |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind, s in [*by_kind.items(), ("all", total)]:
        lines.append(
            f"| {kind} | {s['images']} | {s['found']}/{s['planted']} "
            f"({100 * s['found'] / s['planted']:.0f} %) | "
            f"{s['header_found']}/{s['header']} "
            f"({100 * s['header_found'] / max(1, s['header']):.0f} %) | "
            f"{s['false'] / s['images']:.2f} |"
        )
    print("\n".join(lines))
    per_image = through / len(files)
    print(
        f"\nfind_text: {through:.2f} s for {len(files)} images ({per_image:.2f} s "
        f"each); the engine alone on the decoded arrays: {direct:.2f} s; ratio "
        f"{through / direct:.2f}x (target <= 1.2x); load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    out = args.out or Path(__file__).resolve().parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_ocr.json").write_text(
        json.dumps(
            {
                "seeds": seeds,
                "by_kind": by_kind,
                "total": total,
                "find_text_s": through,
                "engine_direct_s": direct,
                "ratio": through / direct,
                "images": len(files),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
