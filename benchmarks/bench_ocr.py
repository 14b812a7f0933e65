"""Benchmark deidscope.pixels.find_text on the seeded synthetic burned-in corpus.

Run: .venv/bin/python benchmarks/bench_ocr.py [--seeds 0,1] [--out DIR]
     .venv/bin/python benchmarks/bench_ocr.py --corpus CORPUS [--sample 3]

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

With ``--corpus``, the audit of a whole corpus instead (issue: "in minutes,
not hours"): ``read_identifiers(workers=2)`` of every file, then
``find_text(sample=N)`` (N images per pixel signature), then
``propose_filters``, each timed once, with the load average. Results go to
``benchmarks/results/bench_ocr_corpus.json``.
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
    parser.add_argument(
        "--corpus", type=Path, default=None, help="audit this corpus folder instead"
    )
    parser.add_argument(
        "--sample", type=int, default=3, help="images per signature (--corpus)"
    )
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent / "results"
    if args.corpus is not None:
        return _audit_corpus(args.corpus, args.sample, out)

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


def _audit_corpus(corpus: Path, sample: int, out: Path) -> int:
    """Time a burned-in text audit of a whole corpus, step by step."""
    from deidscope import read_identifiers
    from deidscope.pixels import find_text, propose_filters

    load_before = os.getloadavg()
    start = time.perf_counter()
    df = read_identifiers(corpus, workers=2, progress=False, errors="ignore")
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    text = find_text(df, sample=sample, progress=False, errors="ignore")
    ocr_s = time.perf_counter() - start
    start = time.perf_counter()
    recipe = propose_filters(df, text)
    propose_s = time.perf_counter() - start
    sampled = text.attrs["sampled"]
    result = {
        "corpus": str(corpus),
        "files": int(df["file"].nunique()),
        "sample": sample,
        "signatures": int(sampled["signature"].nunique()),
        "images_read_by_ocr": len(sampled),
        "text_boxes": len(text),
        "header_matches": int(text["header_match"].notna().sum()),
        "ocr_errors": len(text.attrs["errors"]),
        "read_identifiers_s": read_s,
        "find_text_s": ocr_s,
        "propose_filters_s": propose_s,
        "total_s": read_s + ocr_s + propose_s,
        "proposed_lines": sum(
            line.lstrip().startswith(("LABEL", "coordinates"))
            for line in recipe.splitlines()
        ),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    print(
        f"{result['files']:,} files: read_identifiers(workers=2) {read_s:.1f} s; "
        f"find_text(sample={sample}) {ocr_s:.1f} s over {result['images_read_by_ocr']} "
        f"images of {result['signatures']} signatures "
        f"({ocr_s / max(1, result['images_read_by_ocr']):.2f} s each), "
        f"{result['text_boxes']} boxes, {result['header_matches']} header matches, "
        f"{result['ocr_errors']} errors; propose_filters {propose_s:.2f} s; total "
        f"{result['total_s'] / 60:.1f} min; load average {load_before[0]:.2f} -> "
        f"{result['load_after'][0]:.2f} on {result['cpus']} cores"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_ocr_corpus.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
