"""Scale-out: flat memory when streaming to Parquet, and Dask against a process pool.

::

    python benchmarks/bench_scale.py                       # both parts
    python benchmarks/bench_scale.py --part memory         # or --part dask
    python benchmarks/bench_scale.py --quick               # smoke test, seconds

Memory (``--part memory``). A seeded corpus of small synthetic files is
made once (``--small-files``, default 100,000, about 1.9 KB each, in
``benchmarks/corpus/scale-small-<n>/NNN/NNNNNN.dcm``, a thousand per
folder): one template header with some fifty elements, a private block and
sequences two levels deep, and per file a fresh patient name, IDs, dates and
UIDs written over fixed-width placeholders (the same arguments give the same
bytes). Then, each in a fresh process, ``write_identifiers(folders,
out.parquet)`` on the first 10,000 files and on all 100,000, in this
process (``workers=1``) and with ``workers=2``. The figure is the kernel's
``ru_maxrss`` of the measuring process (its exact high-water mark,
interpreter and imports included); with workers, which are children of
multiprocessing's fork server and so escape ``RUSAGE_CHILDREN``, the PSS
of the whole process tree, sampled every 0.1 s (PSS splits shared pages, so
the sum over processes is honest), is compared too. The target: the peak
at 100k is at most 1.2 times the peak at 10k. The ``workers=2`` runs take
another minute or so and run only with ``--with-workers``. For contrast,
``read_identifiers`` (the whole frame in memory) is measured at 10k.

Dask (``--part dask``). On the first ``--dask-files`` files (default 4,000)
of the benchmark corpus (``benchmarks/make_corpus.py``; the synthetic corpus
when it is missing), one process starts a ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=True)`` (start-up not timed: a cluster
outlives its computations), warms up both paths once, then alternates
``read_identifiers(files, workers=2)`` and
``read_identifiers_dask(files).compute()`` (its default files per
partition unless ``--files-per-partition`` says otherwise) ``--repeat``
times (default 3) and reports the medians. The ratio is the median over
repetitions of each back-to-back pair's (the ratio of the medians is shown
too). The target: Dask within 1.5 times the pool. The page cache is warmed
first.

With ``--memory-source corpus`` the memory part reads the benchmark corpus
instead: its first ``--small-files``/10 files, then the same list repeated
``--repeat-listing`` times (default 10: 100,000 paths, each file read ten
times), so that real headers, big files included, are streamed at both sizes.

Results: a Markdown table on stdout and
``benchmarks/results/bench_scale-<time>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CORPUS_ROOT,
    MIB,
    RESULTS_ROOT,
    corpus_files,
    machine_info,
    markdown_table,
    median,
    peak_rss_bytes,
    run_measured,
    warm_page_cache,
    write_json,
)

TARGET_MEMORY_GROWTH = 1.2
TARGET_DASK_RATIO = 1.5
FILES_PER_FOLDER = 1000

# Fixed-width placeholders in the template, replaced in every file.
_UID_ROOT = "1.2.826.0.1.3680043.10.999."
_PLACEHOLDERS = {
    "sop": _UID_ROOT + "1" * 12,
    "study": _UID_ROOT + "2" * 12,
    "series": _UID_ROOT + "3" * 12,
    "name": "PNFAMILYXX^PNGIVENXXX",
    "other_name": "ONFAMILYXX^ONGIVENXXX",
    "patient_id": "PID-XXXXXXXX",
    "accession": "ACC-XXXXXXXX",
    "study_date": "19000101",
    "birth_date": "19000202",
    "private": "PRIVATE-XXXXXXXXXXXX",
}
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "so", "ta", "vi", "ze", "po", "da", "fe"]


# ------------------------------------------------------------------- corpus


def _template() -> bytes:
    """One small DICOM file with placeholders, as bytes."""
    from io import BytesIO

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = _PLACEHOLDERS["sop"]
    ds.StudyDate = _PLACEHOLDERS["study_date"]
    ds.SeriesDate = _PLACEHOLDERS["study_date"]
    ds.StudyTime = "101010"
    ds.AccessionNumber = _PLACEHOLDERS["accession"]
    ds.Modality = "CT"
    ds.Manufacturer = "Synthetic Scanners"
    ds.InstitutionName = "Synthetic General Hospital"
    ds.InstitutionAddress = "1 Synthetic Road, Nowhere"
    ds.ReferringPhysicianName = _PLACEHOLDERS["other_name"]
    ds.StudyDescription = "Synthetic study for benchmarks"
    ds.SeriesDescription = "Axial 5mm"
    ds.OperatorsName = _PLACEHOLDERS["other_name"]
    ds.ManufacturerModelName = "Bench 1"
    ds.PatientName = _PLACEHOLDERS["name"]
    ds.PatientID = _PLACEHOLDERS["patient_id"]
    ds.PatientBirthDate = _PLACEHOLDERS["birth_date"]
    ds.PatientSex = "O"
    ds.PatientAge = "042Y"
    ds.BodyPartExamined = "HEAD"
    ds.SliceThickness = "5.0"
    ds.KVP = "120"
    ds.StudyInstanceUID = _PLACEHOLDERS["study"]
    ds.SeriesInstanceUID = _PLACEHOLDERS["series"]
    ds.StudyID = "1"
    ds.SeriesNumber = "2"
    ds.InstanceNumber = "3"
    ds.ImagePositionPatient = ["-125.0", "-125.0", "10.0"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = _PLACEHOLDERS["study"]
    ds.PatientOrientation = ["L", "P"]
    inner = Dataset()
    inner.CodeValue = "121311"
    inner.CodingSchemeDesignator = "DCM"
    inner.CodeMeaning = "Localizer"
    items = []
    for _ in range(2):
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = _PLACEHOLDERS["sop"]
        item.PurposeOfReferenceCodeSequence = Sequence([inner])
        items.append(item)
    ds.ReferencedImageSequence = Sequence(items)
    block = ds.private_block(0x0013, "DEIDSCOPE BENCH", create=True)
    block.add_new(0x01, "LO", _PLACEHOLDERS["private"])
    block.add_new(0x02, "SH", "bench")
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(128))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = _PLACEHOLDERS["sop"]
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _word(rng: random.Random, width: int) -> str:
    text = "".join(rng.choice(_SYLLABLES) for _ in range(width))
    return text[:width].upper()


def _values(i: int, rng: random.Random) -> dict[str, str]:
    patient = i // 40  # 40 files per patient, 20 per study, 5 per series
    return {
        "sop": f"{_UID_ROOT}{i:012d}",
        "study": f"{_UID_ROOT}{(i // 20) + 200_000_000_000:012d}",
        "series": f"{_UID_ROOT}{(i // 5) + 300_000_000_000:012d}",
        "name": f"{_word(rng, 10)}^{_word(rng, 10)}",
        "other_name": f"{_word(rng, 10)}^{_word(rng, 10)}",
        "patient_id": f"PID-{patient:08d}",
        "accession": f"ACC-{i // 20:08d}",
        "study_date": f"{rng.randrange(1990, 2025)}{rng.randrange(1, 13):02d}"
        f"{rng.randrange(1, 29):02d}",
        "birth_date": f"{rng.randrange(1930, 2020)}{rng.randrange(1, 13):02d}"
        f"{rng.randrange(1, 29):02d}",
        "private": f"PRIVATE-{rng.randrange(10**12):012d}",
    }


def make_small_corpus(n: int, seed: int, root: Path) -> list[Path]:
    """Write (once) `n` small seeded files; return their folders in order."""
    stamp = root / "corpus.json"
    wanted = {"files": n, "seed": seed, "version": 1}
    folders = [root / f"{k:03d}" for k in range((n + FILES_PER_FOLDER - 1) // 1000)]
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return folders
    template = _template()
    placeholders = {k: v.encode() for k, v in _PLACEHOLDERS.items()}
    for key, value in placeholders.items():
        assert template.count(value) >= 1, key
    rng = random.Random(seed)
    start = time.perf_counter()
    for i in range(n):
        data = template
        for key, value in _values(i, rng).items():
            new = value.encode()
            assert len(new) == len(placeholders[key]), key
            data = data.replace(placeholders[key], new)
        folder = folders[i // FILES_PER_FOLDER]
        if i % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:06d}.dcm").write_bytes(data)
    stamp.write_text(json.dumps(wanted))
    print(
        f"made {n:,} files of {len(template):,} bytes in {root} "
        f"({time.perf_counter() - start:.1f} s)",
        file=sys.stderr,
    )
    return folders


# ------------------------------------------------------ measuring processes


def _rss_now() -> int:
    with open("/proc/self/status") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _child_memory(spec: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: one write_identifiers or read_identifiers run."""
    import deidscope.parallel
    from deidscope.frame import read_identifiers

    after_import = _rss_now()
    start = time.perf_counter()
    if spec["kind"] == "write":
        written = deidscope.parallel.write_identifiers(
            spec["paths"],
            spec["out"],
            workers=spec["workers"],
            progress=False,
            errors="ignore",
        )
        rows, files = written.n_rows, written.n_files
        frame_bytes = None
    else:
        df = read_identifiers(
            spec["paths"], workers=spec["workers"], progress=False, errors="ignore"
        )
        rows, files = len(df), int(df["file"].nunique())
        frame_bytes = int(df.memory_usage(deep=True).sum())
    seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "files": files,
        "seconds": seconds,
        "rss_after_import": after_import,
        "peak_rss": peak_rss_bytes(),
        "frame_bytes": frame_bytes,
    }


def _child_dask(spec: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: the pool and Dask, alternating, on one cluster."""
    from distributed import Client, LocalCluster

    from deidscope.frame import read_identifiers
    from deidscope.parallel import read_identifiers_dask

    files = spec["files"]
    per_partition = spec["files_per_partition"]

    def pool() -> int:
        return len(read_identifiers(files, workers=2, progress=False, errors="ignore"))

    def dask() -> int:
        if per_partition is None:  # the library's default
            return len(read_identifiers_dask(files).compute())
        ddf = read_identifiers_dask(files, files_per_partition=per_partition)
        return len(ddf.compute())

    times: dict[str, list[float]] = {"pool": [], "dask": []}
    rows: dict[str, int] = {}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster),
    ):
        warm = files[: min(len(files), 200)]
        read_identifiers(warm, workers=2, progress=False, errors="ignore")
        read_identifiers_dask(warm, files_per_partition=50).compute()
        for _ in range(spec["repeat"]):
            for name, func in (("pool", pool), ("dask", dask)):
                start = time.perf_counter()
                rows[name] = func()
                times[name].append(time.perf_counter() - start)
    return {"times": times, "rows": rows}


def _measure_in_subprocess(spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=RESULTS_ROOT) as fp:
        json.dump(spec, fp)  # a file: 4,000 paths overflow a command line
        fp.flush()
        measured = run_measured(
            [sys.executable, __file__, "--child", fp.name], timeout=spec["timeout"]
        )
    if measured.returncode != 0 or measured.killed:
        raise RuntimeError(
            f"measuring {spec['kind']} failed "
            f"({measured.killed or measured.returncode}): {measured.stderr[-2000:]}"
        )
    result: dict[str, Any] = json.loads(measured.stdout.strip().splitlines()[-1])
    result["tree_peak_pss"] = measured.tree_peak_pss
    result["tree_peak_rss_sampled"] = measured.tree_peak_rss
    return result


# ---------------------------------------------------------------- the parts


def _memory_inputs(args: argparse.Namespace) -> tuple[list[Path], list[Path], str]:
    """The small and big inputs of the memory part, and where they come from."""
    if args.memory_source == "corpus":
        corpus = Path(args.corpus)
        small = [Path(f) for f in corpus_files(corpus, args.small_files // 10)]
        big = small * args.repeat_listing
        source = (
            f"{corpus}: its first {len(small):,} files, then that list repeated "
            f"{args.repeat_listing} times ({len(big):,} paths, each file read "
            f"{args.repeat_listing} times)"
        )
        return small, big, source
    n_big = args.small_files
    n_small = max(1, n_big // 10)
    root = CORPUS_ROOT / f"scale-small-{n_big}"
    folders = make_small_corpus(n_big, args.seed, root)
    small = folders[: max(1, n_small // FILES_PER_FOLDER)]
    return small, folders, f"{root} (synthetic, {FILES_PER_FOLDER:,} files a folder)"


def part_memory(args: argparse.Namespace, report: dict[str, Any]) -> list[str]:
    small, folders, source = _memory_inputs(args)
    report["memory_source"] = source
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=RESULTS_ROOT) as tmp:
        plan = [("write", small, 1), ("write", folders, 1)]
        if args.with_workers:
            plan += [("write", small, 2), ("write", folders, 2)]
        plan.append(("read", small, 1))
        for kind, paths, workers in plan:
            spec = {
                "timeout": args.timeout,
                "kind": kind,
                "paths": [str(p) for p in paths],
                "workers": workers,
                "out": str(Path(tmp) / f"ids-{len(runs)}.parquet"),
            }
            result = _measure_in_subprocess(spec)
            result.update(kind=kind, workers=workers, n_files=result["files"])
            runs.append(result)
            print(
                f"{kind} {result['files']:,} files workers={workers}: "
                f"{result['seconds']:.1f} s, peak {result['peak_rss'] / MIB:.0f} MiB",
                file=sys.stderr,
            )
    report["memory"] = runs
    rows = []
    for run in runs:
        name = (
            "write_identifiers -> Parquet"
            if run["kind"] == "write"
            else "read_identifiers (in memory)"
        )
        rows.append(
            [
                f"{run['files']:,}",
                name,
                run["workers"],
                f"{run['rows']:,}",
                f"{run['files'] / run['seconds']:,.0f}",
                f"{run['rss_after_import'] / MIB:,.0f}",
                f"{run['peak_rss'] / MIB:,.0f}",
                f"{run['tree_peak_rss_sampled'] / MIB:,.0f}",
                f"{run['tree_peak_pss'] / MIB:,.0f}",
            ]
        )
    table = markdown_table(
        [
            "files",
            "run",
            "workers",
            "rows",
            "files/s",
            "RSS after import MiB",
            "peak RSS MiB",
            "tree RSS MiB (sampled)",
            "tree PSS MiB",
        ],
        rows,
    )
    lines = [f"inputs: {source}", "", table, ""]
    for workers in (1, 2) if args.with_workers else (1,):
        small_run, big_run = (
            r for r in runs if r["kind"] == "write" and r["workers"] == workers
        )
        growth = big_run["peak_rss"] / small_run["peak_rss"]
        line = (
            f"write_identifiers, workers={workers}: peak at {big_run['files']:,} "
            f"files / peak at {small_run['files']:,} = {growth:.3f} "
            f"(target <= {TARGET_MEMORY_GROWTH})"
        )
        tree_growth = big_run["tree_peak_pss"] / small_run["tree_peak_pss"]
        line += f"; process tree PSS {tree_growth:.3f}"
        report[f"memory_tree_pss_growth_workers{workers}"] = tree_growth
        report[f"memory_growth_workers{workers}"] = growth
        lines.append(line)
    return lines


def part_dask(args: argparse.Namespace, report: dict[str, Any]) -> list[str]:
    corpus = Path(args.corpus)
    if (corpus / "manifest.csv").exists():
        files = corpus_files(corpus, args.dask_files)
        source = f"{corpus} (first {len(files):,} files)"
    else:
        root = CORPUS_ROOT / f"scale-small-{args.small_files}"
        folders = make_small_corpus(args.small_files, args.seed, root)
        files = sorted(str(p) for f in folders for p in f.iterdir())[: args.dask_files]
        source = f"{root} (first {len(files):,} files; no benchmark corpus)"
    warm_page_cache(files)
    spec = {
        "timeout": args.timeout,
        "kind": "dask",
        "files": files,
        "files_per_partition": args.files_per_partition,
        "repeat": args.repeat,
    }
    result = _measure_in_subprocess(spec)
    pool_s, dask_s = median(result["times"]["pool"]), median(result["times"]["dask"])
    assert result["rows"]["pool"] == result["rows"]["dask"], result["rows"]
    report["dask"] = {**result, "source": source, "files": len(files)}
    # each repetition runs the pool, then Dask, back to back: the median of
    # those pairs' ratios is steadier than the ratio of the medians on a
    # machine whose speed drifts between repetitions
    times = result["times"]
    pairs = [d / p for p, d in zip(times["pool"], times["dask"], strict=True)]
    ratio = median(pairs)
    report["dask_ratio"] = ratio
    report["dask_ratio_of_medians"] = dask_s / pool_s
    partition = (
        "default"
        if args.files_per_partition is None
        else f"files_per_partition={args.files_per_partition}"
    )
    table = markdown_table(
        ["files", "contender", "median s", "files/s", "runs s", "vs pool"],
        [
            [
                f"{len(files):,}",
                "read_identifiers(workers=2)",
                f"{pool_s:.2f}",
                f"{len(files) / pool_s:,.0f}",
                ", ".join(f"{t:.2f}" for t in result["times"]["pool"]),
                "1.00x",
            ],
            [
                f"{len(files):,}",
                f"read_identifiers_dask({partition}).compute(), 2 workers",
                f"{dask_s:.2f}",
                f"{len(files) / dask_s:,.0f}",
                ", ".join(f"{t:.2f}" for t in result["times"]["dask"]),
                f"{ratio:.2f}x",
            ],
        ],
    )
    return [
        f"corpus: {source}; {result['rows']['pool']:,} rows",
        table,
        "",
        f"Dask / pool = {ratio:.2f}, the median of {len(pairs)} back-to-back pairs "
        f"(target <= {TARGET_DASK_RATIO}); the ratio of the medians is "
        f"{dask_s / pool_s:.2f}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["memory", "dask", "all"], default="all")
    parser.add_argument("--small-files", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", default=str(CORPUS_ROOT / "10k"))
    parser.add_argument("--dask-files", type=int, default=4000)
    parser.add_argument(
        "--files-per-partition",
        type=int,
        default=None,
        help="files per Dask partition (default: read_identifiers_dask's own)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-workers", action="store_true")
    parser.add_argument(
        "--memory-source",
        choices=["synthetic", "corpus"],
        default="synthetic",
        help="memory part: the synthetic small files (default), or --corpus's "
        "first --small-files/10 files, listed once and --repeat-listing times",
    )
    parser.add_argument("--repeat-listing", type=int, default=10)
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds before a measurement is killed (default 600)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke test")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(Path(args.child).read_text())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = _child_dask if spec["kind"] == "dask" else _child_memory
            print(json.dumps(run(spec)))
        return 0
    if args.quick:
        args.small_files, args.dask_files, args.repeat = 2000, 200, 1
        args.files_per_partition, args.with_workers = 50, True
    RESULTS_ROOT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine_info(), "args": vars(args)}
    lines = [f"# bench_scale ({time.strftime('%Y-%m-%d %H:%M')})", ""]
    if args.part in ("memory", "all"):
        lines += [
            "## Peak memory, streaming to Parquet",
            "",
            *part_memory(args, report),
        ]
        lines.append("")
    if args.part in ("dask", "all"):
        lines += ["## Dask on a 2-worker LocalCluster vs a 2-process pool", ""]
        lines += part_dask(args, report)
    report["machine_after"] = machine_info()
    lines.append(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in report["machine"]["loadavg"])
        + "; after "
        + ", ".join(f"{x:.2f}" for x in report["machine_after"]["loadavg"])
    )
    text = "\n".join(lines) + "\n"
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    write_json(RESULTS_ROOT / f"bench_scale-{stamp}.json", report)
    (RESULTS_ROOT / f"bench_scale-{stamp}.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
