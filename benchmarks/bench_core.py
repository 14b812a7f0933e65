"""Compare deid 0.4.13's get_identifiers with deidscope's core, side by side.

::

    python benchmarks/make_corpus.py --files 10000 --seed 0      # once, ~12 GB
    python benchmarks/bench_core.py --corpus benchmarks/corpus/10k --sizes 1000,10000

For each size (the first N files of the corpus, in manifest order) the
contenders run in alternation, deid first (deid, ours, ours, ours, deid, ...),
each measurement in a fresh Python process:

- ``deid``: ``deid.dicom.get_identifiers(files)``;
- ``get_identifiers``: ``deidscope.dicom.get_identifiers(files)``;
- ``read_identifiers``: ``deidscope.read_identifiers(files, progress=False)``;
- ``read_identifiers_w2``: the same with ``workers=2``;

and reference rows, the floors to compare with (not contenders):

- ``pydicom_parse``: ``pydicom.dcmread(path, defer_size=4096)`` of every
  file and nothing else (pydicom's parse, values left raw, no walk: the
  floor of a reader built on pydicom);
- ``dicomsdl_parse``: ``dicomsdl.open(path)`` of every file (a C++ parser);
- ``dicomsdl_walk``: the same, then a Python walk over every element,
  sequence items included, making the row's key (nested tag path, VR,
  keyword) and value text (``\\``-joined values, ``<N bytes>``, ``<N items>``)
  much as ``read_identifiers`` does. dicomsdl is a benchmark-only
  dependency (``pip install -e '.[bench]'``); without it these rows say
  "skipped".

The machine is shared, so every size also measures a CPU-bound reference
(``cpu_reference``: a fixed pure-Python loop timed in one process, then in
two processes at once, in fresh processes between the contenders): the
speed-up two processes can get on this machine at that moment. The
``workers=2`` scaling is reported against it, with the load average before
and after the run. Each repetition times one process, then two, back to
back; the scaling is the median over repetitions of that pair's ratio (the
machine's speed drifts between repetitions more than within a pair), and
the ratio of the two medians is shown too.

Before each measurement every file of the size is read once (the page cache
is warmed the same way for everyone; the read is not timed). The measuring
process imports its package, then times the one call with
``time.perf_counter``: files/s excludes interpreter start-up and imports.
Memory is the kernel's ``ru_maxrss`` of the measuring process (its exact
peak resident set, interpreter and imports included; the RSS after imports
is reported too). For ``workers=2`` the workers are other processes, so the
driver also samples the PSS of the whole process tree (shared pages split
between processes, so the sum is honest) every 0.5 s. tracemalloc is not
used: it sees only Python's allocations and slows the code it measures.

The figure is the median over repetitions; ratios are ours / deid at the
same size. deid keeps every file it reads in memory (its ``@cache`` on the
dataset), so its big run is guarded: skipped when the memory it would need
(extrapolated from the smaller size) is not available, killed if its tree
passes ``--deid-memory-limit-gib``, and its OOM score is raised so the kernel
would pick it first. ``--skip-deid-10k`` skips deid above ``--big`` files.

Results: a Markdown table on stdout and in ``benchmarks/results/`` with a
JSON of every measurement. ``--quick`` runs one repetition on 20 files (for
the smoke test). ``--profile N`` profiles our two readers on N files with
cProfile instead.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import importlib.util
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    GIB,
    MIB,
    RESULTS_ROOT,
    corpus_files,
    machine_info,
    markdown_table,
    median,
    mem_available,
    peak_rss_bytes,
    read_manifest,
    run_measured,
    timed,
    warm_page_cache,
    write_json,
)

#: The contenders: they make the same fields (rows).
CONTENDERS = ("deid", "get_identifiers", "read_identifiers", "read_identifiers_w2")
#: Reference rows: floors to compare with.
REFERENCES = ("pydicom_parse", "dicomsdl_parse", "dicomsdl_walk")
METHODS = CONTENDERS + REFERENCES
LABELS = {
    "deid": "deid get_identifiers",
    "get_identifiers": "deidscope get_identifiers",
    "read_identifiers": "read_identifiers",
    "read_identifiers_w2": "read_identifiers(workers=2)",
    "pydicom_parse": "ref: pydicom dcmread only, no walk",
    "dicomsdl_parse": "ref: dicomsdl (C++) parse only",
    "dicomsdl_walk": "ref: dicomsdl + Python walk",
}
#: The Python packages each method needs (a missing one skips the method).
NEEDS = {"deid": "deid", "dicomsdl_parse": "dicomsdl", "dicomsdl_walk": "dicomsdl"}
#: Targets of issue 14, as ratios to deid measured side by side.
TARGET_RATIO = {
    "read_identifiers": 40.0,
    "read_identifiers_w2": 65.0,
    "get_identifiers": 12.0,
}
#: workers=2 over one process, on batches of this many files or more.
TARGET_W2_SCALING = 1.7
W2_SCALING_FILES = 10_000
TARGET_PEAK_MIB = 500.0
#: get_identifiers' peak on the biggest size (issue 14: 10,000 files).
TARGET_GET_PEAK_MIB = 600.0
#: Iterations of the CPU-bound reference loop (about 0.2 s on one core).
CPU_LOOP = 3_000_000
TARGET_FRAME_MB_PER_MROWS = 40.0
MB = 1e6


# ------------------------------------------------------------ measuring child


def _current_rss() -> int:
    with open("/proc/self/statm") as fp:
        return int(fp.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds of this process and of its ended children."""
    import resource

    mine = resource.getrusage(resource.RUSAGE_SELF)
    theirs = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime, theirs.ru_utime + theirs.ru_stime


def measure(
    method: str, files: list[str], min_pool_files: int | None = None
) -> dict[str, Any]:
    """Time one call of `method` on `files` in this process; see the module doc.

    `min_pool_files` replaces ``MIN_POOL_FILES`` (the batch size below which
    ``workers=2`` reads in one process), to find the break-even again.
    """
    if min_pool_files is not None:
        import deidscope.frame._read

        deidscope.frame._read.MIN_POOL_FILES = min_pool_files
    if method == "deid":
        try:  # if memory runs out, the kernel kills this process first
            with open("/proc/self/oom_score_adj", "w") as fp:
                fp.write("1000")
        except OSError:
            pass
        from deid.dicom import get_identifiers as deid_get_identifiers

        def call() -> Any:
            return deid_get_identifiers(files)
    elif method == "get_identifiers":
        from deidscope.dicom import get_identifiers

        def call() -> Any:
            return get_identifiers(files)
    elif method in ("read_identifiers", "read_identifiers_w2"):
        from deidscope import read_identifiers

        workers = 2 if method == "read_identifiers_w2" else None

        def call() -> Any:
            return read_identifiers(files, workers=workers, progress=False)
    elif method == "pydicom_parse":
        import pydicom

        def call() -> Any:
            for path in files:
                pydicom.dcmread(path, defer_size=4096)
            return None
    elif method == "dicomsdl_parse":
        import dicomsdl

        def call() -> Any:
            for path in files:
                dicomsdl.open(path)
            return None
    elif method == "dicomsdl_walk":
        import dicomsdl

        def call() -> Any:
            return [_sdl_rows(dicomsdl, dicomsdl.open(path)) for path in files]
    else:
        raise ValueError(
            f"measure: unknown method {method!r}; expected one of {METHODS}"
        )
    gc.collect()
    baseline = _current_rss()
    cpu_before = _cpu_seconds()
    seconds, result = timed(call)
    cpu_self, cpu_children = (
        after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True)
    )
    info: dict[str, Any] = {
        "method": method,
        "files": len(files),
        "seconds": seconds,
        # user + system CPU of the call: this process, and its workers (ended)
        "cpu_seconds": cpu_self,
        "children_cpu_seconds": cpu_children,
        "files_per_s": len(files) / seconds,
        "peak_rss": peak_rss_bytes(),
        "baseline_rss": baseline,
        "children_peak_rss": peak_rss_bytes(__import__("resource").RUSAGE_CHILDREN),
    }
    if result is None:  # parse only
        info["rows"] = None
        info["files_in_frame"] = len(files)
        info["errors"] = 0
    elif method == "dicomsdl_walk":
        info["rows"] = sum(len(rows) for rows in result)
        info["files_in_frame"] = len(result)
        info["errors"] = 0
    elif method.startswith("read_identifiers"):
        info["rows"] = len(result)
        info["files_in_frame"] = int(result["file"].nunique())
        info["errors"] = len(result.attrs["errors"])
        info["frame_bytes"] = int(result.memory_usage(deep=True).sum())
    else:
        info["rows"] = sum(len(fields) for fields in result.values())
        info["files_in_frame"] = len(result)
        info["errors"] = sum(bool(getattr(f, "error", None)) for f in result.values())
    return info


def _sdl_rows(sdl: Any, ds: Any, prefix: str = "") -> list[tuple[Any, ...]]:
    """The rows of a dicomsdl data set: key (tag path, VR, keyword) and value text.

    The Python walk of the ``dicomsdl_walk`` reference: every element, items
    of sequences included, with a value formatted much as deidscope does.
    VRs are compared as ints (dicomsdl's enum objects are slow to compare).
    """
    from pydicom.datadict import keyword_for_tag

    names, binaries, sq = _sdl_vrs(sdl)
    rows: list[tuple[Any, ...]] = []
    for element in ds:
        tag = element.tag()
        vr = int(element.vr())
        uid = f"{prefix}({tag >> 16:04X}, {tag & 0xFFFF:04X})"
        if vr == sq:
            items = element.toSequence()
            rows.append((uid, "SQ", keyword_for_tag(tag), f"<{len(items)} items>"))
            for i, item in enumerate(items):
                rows.extend(_sdl_rows(sdl, item, f"{uid}__{i}__"))
            continue
        if vr in binaries:
            value = f"<{element.length()} bytes>"
        else:
            raw = element.value()
            if isinstance(raw, list):
                value = "\\".join(str(v).strip() for v in raw)
            elif raw is None:
                value = ""
            else:
                value = str(raw).strip()
        rows.append((uid, names[vr], keyword_for_tag(tag), value))
    return rows


@functools.cache
def _sdl_vrs(sdl: Any) -> tuple[dict[int, str], frozenset[int], int]:
    """dicomsdl's VRs as ints: their names, the binary ones, SQ."""
    vrs = {name: int(getattr(sdl.VR, name)) for name in dir(sdl.VR) if name.isupper()}
    binary = ("OB", "OD", "OF", "OL", "OV", "OW", "UN", "PIXSEQ")
    return (
        {code: name for name, code in vrs.items()},
        frozenset(vrs[name] for name in binary if name in vrs),
        vrs["SQ"],
    )


def _cpu_loop(n: int = CPU_LOOP) -> float:
    """Seconds of a fixed pure-Python loop (the CPU-bound reference)."""
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i % 7
    return time.perf_counter() - start


def cpu_reference() -> dict[str, float]:
    """Time the reference loop in one process, then in two at once.

    Each loop runs in a fresh process (like the contenders). ``scaling`` is
    how much faster two processes do two loops than one process would
    (2 * one / the slower of the two): 2.0 on an idle machine with two free
    cores, 1.0 when the second process gains nothing.
    """
    command = [sys.executable, "-c", "import bench_core; print(bench_core._cpu_loop())"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}

    def run(count: int) -> list[float]:
        procs = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(count)
        ]
        return [float(proc.communicate()[0]) for proc in procs]

    one = run(1)[0]
    two = max(run(2))
    return {"one_s": one, "two_s": two, "scaling": 2 * one / two}


# --------------------------------------------------------------------- driver


def _plan(size: int, args: argparse.Namespace) -> dict[str, int]:
    big = size > args.big
    plan = {
        method: (args.deid_repeat_big if big and method == "deid" else args.repeat)
        for method in METHODS
    }
    if args.skip_references:
        plan.update(dict.fromkeys(REFERENCES, 0))
    return plan


def _missing(method: str) -> str | None:
    """Why `method` cannot run here (its package is not installed), or None."""
    package = NEEDS.get(method)
    if package is None or importlib.util.find_spec(package) is not None:
        return None
    return f"skipped: {package} is not installed (pip install -e '.[bench]')"


def _deid_estimate(size_bytes: int, calibration: tuple[int, int, int] | None) -> int:
    """Bytes deid would need for files of `size_bytes`, from a smaller run."""
    if calibration is None:
        return int(1.3 * size_bytes + 300 * MIB)
    baseline, peak, measured_bytes = calibration
    per_byte = max(peak - baseline, 0) / max(measured_bytes, 1)
    return int(baseline + 1.1 * per_byte * size_bytes)


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _summarise(
    measurements: list[dict[str, Any]], sizes: list[int]
) -> list[dict[str, Any]]:
    summary = []
    for size in sizes:
        deid_rate = None
        for method in METHODS:
            ok = [
                m
                for m in measurements
                if m["size"] == size and m["method"] == method and m.get("ok")
            ]
            notes = sorted(
                {
                    m["note"]
                    for m in measurements
                    if m["size"] == size and m["method"] == method and m.get("note")
                }
            )
            if not ok:
                summary.append(
                    {
                        "size": size,
                        "method": method,
                        "reps": 0,
                        "note": "; ".join(notes),
                    }
                )
                continue
            rate = median(m["files_per_s"] for m in ok)
            if method == "deid":
                deid_rate = rate
            row: dict[str, Any] = {
                "size": size,
                "method": method,
                "reps": len(ok),
                "seconds": median(m["seconds"] for m in ok),
                "files_per_s": rate,
                "files_per_s_min": min(m["files_per_s"] for m in ok),
                "files_per_s_max": max(m["files_per_s"] for m in ok),
                "ratio_vs_deid": rate / deid_rate if deid_rate else None,
                "peak_rss_mib": median(m["peak_rss"] for m in ok) / MIB,
                "peak_rss_mib_max": max(m["peak_rss"] for m in ok) / MIB,
                "baseline_rss_mib": median(m["baseline_rss"] for m in ok) / MIB,
                "tree_peak_pss_mib": max(m["tree_peak_pss"] for m in ok) / MIB,
                "rows": ok[0]["rows"],
                "errors": ok[0]["errors"],
                "note": "; ".join(notes),
            }
            cpu = [
                (m["cpu_seconds"] + m["children_cpu_seconds"]) / m["files"] * 1e3
                for m in ok
                if "cpu_seconds" in m
            ]
            if cpu:
                row["cpu_ms_per_file"] = median(cpu)
                row["cpu_ms_per_file_min"] = min(cpu)
            if "frame_bytes" in ok[0]:
                row["frame_mb"] = ok[0]["frame_bytes"] / MB
                row["frame_mb_per_million_rows"] = (
                    ok[0]["frame_bytes"] / max(ok[0]["rows"], 1) * 1e6 / MB
                )
            summary.append(row)
    return summary


def _scaling(
    measurements: list[dict[str, Any]], summary: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per size: workers=2 over one process, against the CPU-bound reference."""
    by = {(s["size"], s["method"]): s for s in summary if s.get("reps")}
    rows = []
    for size in sorted({s["size"] for s in summary}):
        refs = [
            m
            for m in measurements
            if m["size"] == size and m["method"] == "cpu_reference"
        ]
        one, two = (
            by.get((size, "read_identifiers")),
            by.get((size, "read_identifiers_w2")),
        )
        row: dict[str, Any] = {
            "size": size,
            "cpu_reference_runs": len(refs),
            "cpu_scaling": median(m["scaling"] for m in refs) if refs else None,
            "cpu_scaling_min": min((m["scaling"] for m in refs), default=None),
            "cpu_scaling_max": max((m["scaling"] for m in refs), default=None),
            "cpu_one_s": median(m["one_s"] for m in refs) if refs else None,
            "w2_over_w1": (
                two["files_per_s"] / one["files_per_s"] if one and two else None
            ),
        }
        # each repetition runs one process, then two, back to back: their
        # ratio shares the machine's speed of that moment, which drifts
        # between repetitions (one process took 3.6-5.3 s for the same files
        # in one run), so the median of these pairs is the steadier figure
        seconds = {
            (m["method"], m["rep"]): m["seconds"]
            for m in measurements
            if m["size"] == size and m.get("ok") and "seconds" in m
        }
        pairs = [
            one_s / seconds[("read_identifiers_w2", rep)]
            for (method, rep), one_s in seconds.items()
            if method == "read_identifiers" and ("read_identifiers_w2", rep) in seconds
        ]
        row["w2_pairs"] = len(pairs)
        row["w2_over_w1_paired"] = median(pairs) if pairs else None
        row["w2_paired_min"] = min(pairs, default=None)
        row["w2_paired_max"] = max(pairs, default=None)
        scaled = row["w2_over_w1_paired"] or row["w2_over_w1"]
        row["w2_share_of_machine"] = (
            scaled / row["cpu_scaling"] if scaled and row["cpu_scaling"] else None
        )
        rows.append(row)
    return rows


def _targets(
    summary: list[dict[str, Any]], scaling: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    by = {(s["size"], s["method"]): s for s in summary if s.get("reps")}
    sizes = sorted({s["size"] for s in summary})
    for row in scaling:
        measured = row.get("w2_over_w1_paired") or row["w2_over_w1"]
        if measured is None or row["size"] < W2_SCALING_FILES:
            continue  # the target is for big batches (the table shows all)
        checks.append(
            {
                "target": f"workers=2 >= {TARGET_W2_SCALING:g}x one process "
                f"({row['size']} files, median of {row.get('w2_pairs') or 1} "
                "back-to-back pairs; the CPU reference gave "
                f"{row['cpu_scaling'] or 0:.2f}x)",
                "measured": f"{measured:.2f}x",
                "met": measured >= TARGET_W2_SCALING,
            }
        )
    for size in sizes:
        ours, walk = by.get((size, "read_identifiers")), by.get((size, "dicomsdl_walk"))
        if ours and walk:
            checks.append(
                {
                    "target": f"read_identifiers faster than dicomsdl + Python walk "
                    f"({size} files)",
                    "measured": f"{ours['files_per_s'] / walk['files_per_s']:.2f}x",
                    "met": ours["files_per_s"] > walk["files_per_s"],
                }
            )
    if sizes and (row := by.get((sizes[-1], "get_identifiers"))):
        checks.append(
            {
                "target": f"get_identifiers peak < {TARGET_GET_PEAK_MIB:g} MiB "
                f"({sizes[-1]} files)",
                "measured": f"{row['peak_rss_mib']:.0f} MiB",
                "met": row["peak_rss_mib"] < TARGET_GET_PEAK_MIB,
            }
        )
    for size in sizes:
        for method, goal in TARGET_RATIO.items():
            row = by.get((size, method))
            if row is None or row.get("ratio_vs_deid") is None:
                continue
            checks.append(
                {
                    "target": f"{LABELS[method]} >= {goal:g}x deid ({size} files)",
                    "measured": f"{row['ratio_vs_deid']:.1f}x",
                    "met": row["ratio_vs_deid"] >= goal,
                }
            )
        row = by.get((size, "read_identifiers"))
        if row is not None:
            checks.append(
                {
                    "target": f"read_identifiers peak < {TARGET_PEAK_MIB:g} MiB "
                    f"({size} files)",
                    "measured": f"{row['peak_rss_mib']:.0f} MiB",
                    "met": row["peak_rss_mib"] < TARGET_PEAK_MIB,
                }
            )
            checks.append(
                {
                    "target": f"frame <= {TARGET_FRAME_MB_PER_MROWS:g} MB per million "
                    f"rows ({size} files)",
                    "measured": f"{row['frame_mb_per_million_rows']:.1f} MB",
                    "met": row["frame_mb_per_million_rows"]
                    <= TARGET_FRAME_MB_PER_MROWS,
                }
            )
    return checks


def _report(result: dict[str, Any]) -> str:
    rows = []
    for s in result["summary"]:
        if not s.get("reps"):
            rows.append(
                [
                    s["size"],
                    LABELS[s["method"]],
                    0,
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                ]
            )
            continue
        ratio = s["ratio_vs_deid"]
        rows.append(
            [
                s["size"],
                LABELS[s["method"]],
                s["reps"],
                _fmt(s["seconds"], 2),
                _fmt(s["files_per_s"]),
                "-" if ratio is None else f"{ratio:.1f}x",
                _fmt(s["peak_rss_mib"], 0),
                _fmt(s["baseline_rss_mib"], 0),
                _fmt(s["tree_peak_pss_mib"], 0),
                "-" if s["rows"] is None else f"{s['rows']:,}",
                _fmt(s["frame_mb_per_million_rows"]) if "frame_mb" in s else "-",
            ]
        )
    table = markdown_table(
        [
            "files",
            "contender",
            "reps",
            "median s",
            "files/s",
            "vs deid",
            "peak RSS MiB",
            "RSS after imports MiB",
            "tree PSS MiB",
            "fields/rows",
            "frame MB per 1M rows",
        ],
        rows,
    )
    targets = markdown_table(
        ["target", "measured", "met"],
        [
            [t["target"], t["measured"], "yes" if t["met"] else "NO"]
            for t in result["targets"]
        ],
    )
    notes = [
        f"- {s['size']} files, {LABELS[s['method']]}: {s['note']}"
        for s in result["summary"]
        if s.get("note")
    ]
    scaling = markdown_table(
        [
            "files",
            "workers=2 / one process: median of pairs (min-max, pairs)",
            "ratio of the medians",
            "CPU reference: 2 processes / 1 (median, min-max)",
            "share of what the machine gave",
        ],
        [
            [
                row["size"],
                "-"
                if not row.get("w2_over_w1_paired")
                else f"{row['w2_over_w1_paired']:.2f}x ({row['w2_paired_min']:.2f}-"
                f"{row['w2_paired_max']:.2f}, {row['w2_pairs']})",
                "-" if row["w2_over_w1"] is None else f"{row['w2_over_w1']:.2f}x",
                "-"
                if row["cpu_scaling"] is None
                else f"{row['cpu_scaling']:.2f}x ({row['cpu_scaling_min']:.2f}-"
                f"{row['cpu_scaling_max']:.2f}, {row['cpu_reference_runs']} runs)",
                "-"
                if row["w2_share_of_machine"] is None
                else f"{row['w2_share_of_machine'] * 100:.0f}%",
            ]
            for row in result.get("scaling", [])
        ],
    )
    corpus = result["corpus"]
    loads = [m["loadavg_1min"] for m in result["measurements"]]
    machine = result["machine_before"]
    after = result["machine_after"]
    lines = [
        f"Corpus: {corpus['path']} ({corpus['files']} files, "
        f"{corpus['bytes'] / 1e9:.2f} GB); sizes: "
        + ", ".join(
            f"{size} files = {b / 1e9:.2f} GB"
            for size, b in corpus["size_bytes"].items()
        ),
        f"Machine: {machine['cpu_count']} CPUs, {machine['mem_total_gib']} GiB; "
        f"load average (1 min) during the run {min(loads):.2f}-{max(loads):.2f}; "
        f"MemAvailable at start {machine['mem_available_gib']} GiB.",
        "Load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in machine["loadavg"])
        + "; after "
        + ", ".join(f"{x:.2f}" for x in after["loadavg"])
        + ".",
        f"Versions: {json.dumps(machine['versions'])}",
        "",
        table,
        "",
        scaling,
        "",
        targets,
    ]
    if result["options"].get("min_pool_files") is not None:
        lines.insert(
            4,
            "MIN_POOL_FILES set to "
            f"{result['options']['min_pool_files']} for this run (workers=2 uses "
            "its pool from that many files).",
        )
    if result["options"].get("cpu"):
        lines += ["", _cpu_table(result["summary"])]
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        "files/s: median over repetitions of files / seconds of the one call "
        "(warm page cache, imports excluded). Peak RSS: ru_maxrss of the measuring "
        "process (median over repetitions). Tree PSS: largest sampled sum over the "
        "process and its workers. MB = 10^6 bytes.",
    ]
    return "\n".join(lines)


def _cpu_table(summary: list[dict[str, Any]]) -> str:
    """CPU time per file (the process and its workers), next to deid's."""
    rows = []
    deid: dict[int, float] = {
        s["size"]: s["cpu_ms_per_file"]
        for s in summary
        if s["method"] == "deid" and "cpu_ms_per_file" in s
    }
    for s in summary:
        if "cpu_ms_per_file" not in s:
            continue
        base = deid.get(s["size"])
        rows.append(
            [
                s["size"],
                LABELS[s["method"]],
                f"{s['cpu_ms_per_file']:.3f}",
                f"{s['cpu_ms_per_file_min']:.3f}",
                "-" if base is None else f"{base / s['cpu_ms_per_file']:.1f}x",
            ]
        )
    return markdown_table(
        [
            "files",
            "contender",
            "CPU ms per file (median)",
            "CPU ms per file (min)",
            "deid's CPU / ours",
        ],
        rows,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = Path(args.corpus).resolve()
    manifest = read_manifest(corpus)
    sizes = sorted({min(size, len(manifest)) for size in args.sizes})
    machine_before = machine_info()
    limit = (
        int(args.deid_memory_limit_gib * GIB)
        if args.deid_memory_limit_gib
        else mem_available() - int(args.headroom_gib * GIB)
    )
    measurements: list[dict[str, Any]] = []
    size_bytes: dict[int, int] = {}
    calibration: tuple[int, int, int] | None = None
    script = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory(prefix="bench_core-") as tmp:
        for size in sizes:
            files = corpus_files(corpus, size)
            size_bytes[size] = sum(row.size for row in manifest[:size])
            listing = Path(tmp, f"files-{size}.json")
            listing.write_text(json.dumps(files))
            plan = _plan(size, args)
            deid_note = None
            if args.skip_deid_10k and size > args.big:
                deid_note = f"skipped (--skip-deid-10k, size > {args.big})"
            else:
                need = _deid_estimate(size_bytes[size], calibration)
                if need > limit:
                    deid_note = (
                        f"skipped: would need about {need / GIB:.1f} GiB, "
                        f"limit {limit / GIB:.1f} GiB"
                    )
            if deid_note is not None:
                plan["deid"] = 0
                measurements.append(
                    {
                        "size": size,
                        "method": "deid",
                        "ok": False,
                        "note": deid_note,
                        "loadavg_1min": os.getloadavg()[0],
                    }
                )
                _log(f"[{size}] deid: {deid_note}")
            for method in METHODS:
                why = _missing(method) if plan[method] else None
                if why is not None:
                    plan[method] = 0
                    measurements.append(
                        {
                            "size": size,
                            "method": method,
                            "ok": False,
                            "note": why,
                            "loadavg_1min": os.getloadavg()[0],
                        }
                    )
                    _log(f"[{size}] {method}: {why}")
            for rep in range(max(plan.values())):
                if not args.skip_cpu_reference:
                    reference = cpu_reference()
                    measurements.append(
                        {
                            "size": size,
                            "method": "cpu_reference",
                            "rep": rep,
                            "loadavg_1min": os.getloadavg()[0],
                            **reference,
                        }
                    )
                    _log(
                        f"[{size}] cpu reference rep {rep + 1}: one process "
                        f"{reference['one_s']:.3f} s, two give "
                        f"{reference['scaling']:.2f}x"
                    )
                for method in METHODS:
                    if rep >= plan[method]:
                        continue
                    measurements.append(
                        _measure_once(
                            script,
                            method,
                            size,
                            rep,
                            files,
                            listing,
                            tmp,
                            args,
                            limit if method == "deid" else None,
                        )
                    )
                    last = measurements[-1]
                    if method == "deid" and last.get("ok"):
                        calibration = (
                            last["baseline_rss"],
                            last["peak_rss"],
                            size_bytes[size],
                        )
    result: dict[str, Any] = {
        "command": [Path(sys.executable).name, *sys.argv],
        "corpus": {
            "path": str(corpus),
            "files": len(manifest),
            "bytes": sum(row.size for row in manifest),
            "size_bytes": {str(k): v for k, v in size_bytes.items()},
            "summary": _read_json(corpus / "corpus.json"),
        },
        "options": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("measure", "file_list", "result")
        },
        "machine_before": machine_before,
        "machine_after": machine_info(),
        "measurements": measurements,
    }
    result["summary"] = _summarise(measurements, sizes)
    result["scaling"] = _scaling(measurements, result["summary"])
    result["targets"] = _targets(result["summary"], result["scaling"])
    return result


def _measure_once(
    script: str,
    method: str,
    size: int,
    rep: int,
    files: list[str],
    listing: Path,
    tmp: str,
    args: argparse.Namespace,
    memory_limit: int | None,
) -> dict[str, Any]:
    warm_seconds, warmed = timed(warm_page_cache, files)
    out = Path(tmp, f"result-{method}-{size}-{rep}.json")
    record: dict[str, Any] = {
        "size": size,
        "method": method,
        "rep": rep,
        "warm_bytes": warmed,
        "warm_seconds": warm_seconds,
        "loadavg_1min": os.getloadavg()[0],
        "mem_available_gib": mem_available() / GIB,
    }
    measured = run_measured(
        [
            sys.executable,
            script,
            *(
                ()
                if args.min_pool_files is None
                else ("--min-pool-files", str(args.min_pool_files))
            ),
            "--measure",
            method,
            "--file-list",
            str(listing),
            "--result",
            str(out),
        ],
        interval=0.1,
        pss_every=5,
        memory_limit=memory_limit,
        timeout=args.timeout,
    )
    record.update(
        wall=measured.wall,
        tree_peak_rss=measured.tree_peak_rss,
        tree_peak_pss=measured.tree_peak_pss,
        returncode=measured.returncode,
    )
    if measured.returncode == 0 and out.is_file():
        record.update(json.loads(out.read_text()), ok=True)
        _log(
            f"[{size}] {method} rep {rep + 1}: {record['files_per_s']:.1f} files/s, "
            f"peak {record['peak_rss'] / MIB:.0f} MiB, tree PSS "
            f"{measured.tree_peak_pss / MIB:.0f} MiB, load {record['loadavg_1min']:.2f}"
        )
    else:
        reason = measured.killed or f"exit code {measured.returncode}"
        record.update(
            ok=False, note=f"failed: {reason}", stderr=measured.stderr[-3000:]
        )
        _log(f"[{size}] {method} rep {rep + 1} FAILED: {reason}")
        _log(measured.stderr[-3000:])
    return record


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# -------------------------------------------------------------------- profile


def profile(corpus: Path, n: int, out_dir: Path) -> str:
    """cProfile our two readers on the first `n` files; return the top lines."""
    import deidscope
    from deidscope.dicom import get_identifiers

    files = corpus_files(corpus, n)
    warm_page_cache(files)
    text = io.StringIO()
    calls: dict[str, Callable[[], object]] = {
        "read_identifiers": lambda: deidscope.read_identifiers(files, progress=False),
        "get_identifiers": lambda: get_identifiers(files),
    }
    for name, call in calls.items():
        call()  # first call pays for lazy imports
        profiler = cProfile.Profile()
        profiler.enable()
        call()
        profiler.disable()
        out_dir.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(out_dir / f"profile-{name}-{n}.pstats")
        for key in ("tottime", "cumulative"):
            text.write(f"\n### {name} on {n} files, by {key}\n")
            pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(25)
    return text.getvalue()


# ------------------------------------------------------------------------ cli


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes such as 1000,10000: {text}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compare deid's get_identifiers with deidscope's core."
    )
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).parent / "corpus" / "10k"
    )
    parser.add_argument("--sizes", type=_sizes, default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--big",
        type=int,
        default=2000,
        help="sizes above this count as big (default 2000)",
    )
    parser.add_argument(
        "--deid-repeat-big",
        type=int,
        default=1,
        help="deid's repetitions at big sizes (default 1: it takes minutes and "
        "about a GiB per 1000 files)",
    )
    parser.add_argument(
        "--skip-deid-10k", action="store_true", help="do not run deid at big sizes"
    )
    parser.add_argument(
        "--deid-memory-limit-gib",
        type=float,
        default=None,
        help="kill deid above this (default: MemAvailable - headroom)",
    )
    parser.add_argument(
        "--headroom-gib",
        type=float,
        default=3.0,
        help="memory left to others when deid runs (default 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds before a measurement is killed",
    )
    parser.add_argument(
        "--skip-references",
        action="store_true",
        help="leave out the reference rows (pydicom and dicomsdl floors)",
    )
    parser.add_argument(
        "--skip-cpu-reference",
        action="store_true",
        help="leave out the CPU-bound reference (two processes' scaling)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also report CPU time per file (this process and its workers): "
        "steadier than files/s on a busy machine",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_ROOT)
    parser.add_argument(
        "--quick", action="store_true", help="one repetition on 20 files (smoke test)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="profile our readers on N files instead",
    )
    parser.add_argument(
        "--min-pool-files",
        type=int,
        default=None,
        metavar="N",
        help="read batches of N files or more with workers=2's pool (default: "
        "deidscope's MIN_POOL_FILES; 0 to find the break-even at small sizes)",
    )
    parser.add_argument("--measure", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--file-list", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure:  # the measuring child
        files = json.loads(args.file_list.read_text())
        write_json(args.result, measure(args.measure, files, args.min_pool_files))
        return 0
    if args.profile:
        text = profile(args.corpus.resolve(), args.profile, args.results_dir)
        print(text)
        return 0
    if args.quick:
        args.sizes, args.repeat, args.deid_repeat_big = [20], 1, 1
    if args.repeat < 1 or args.deid_repeat_big < 1:
        parser.error("--repeat and --deid-repeat-big must be at least 1")
    result = run(args)
    report = _report(result)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = write_json(args.results_dir / f"bench_core-{stamp}.json", result)
    markdown = args.results_dir / f"bench_core-{stamp}.md"
    markdown.with_suffix(".md.tmp").write_text(report + "\n")
    markdown.with_suffix(".md.tmp").replace(markdown)
    print(report)
    print(f"\nResults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
