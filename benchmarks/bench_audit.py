"""Time deidscope.audit: the profile of 1.4 million rows, and the report.

::

    python benchmarks/make_corpus.py --files 10000 --seed 0      # once
    python benchmarks/bench_audit.py --corpus benchmarks/corpus/10k

Two measurements, in this one process, repeated ``--repeat`` times
(default 3) and reported as medians:

- ``read_identifiers(files)`` on the first ``--files`` files of the corpus
  (default 10,000) and then ``audit.report(df, path)`` on its frame, in
  alternation (read, report, read, report, ...). The targets: the report
  takes less time than reading the files, so that an audit from files to
  report takes under 2x the time of ``read_identifiers`` alone.
- ``audit.profile(df)`` on the first ``--rows`` rows (default 1.4 million)
  of that frame, repeated ``--profile-repeat`` times (default 5). The
  target: under 3 s.
- The proof of a de-identification, on the first ``--verify-files`` files
  (default 1,000; 0 leaves it out): ``replace_identifiers`` with the Basic
  Profile recipe into a temporary folder, then ``audit.scorecard`` and
  ``audit.leaks(..., scan_bytes=True)`` of the originals and the copies
  (their two frames read first, timed apart), ``--verify-repeat`` times
  (default 1). The target: scorecard and leaks under 2x the time of
  ``replace_identifiers`` on the same files.

The page cache is warmed before the first read. Without a corpus
(``--synthetic``), the frame is built from deid-data and pydicom's test
files, copied with new file names and UIDs until it has ``--rows`` rows; the
report is then not timed against reading. ``--quick`` runs one repetition on
20 files and 20,000 rows (for the smoke test).

Results: a Markdown table on stdout and ``benchmarks/results/bench_audit-<time>.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CORPUS_ROOT,
    RESULTS_ROOT,
    corpus_files,
    machine_info,
    markdown_table,
    median,
    timed,
    warm_page_cache,
    write_json,
)

TARGET_PROFILE_SECONDS = 3.0
TARGET_AUDIT_RATIO = 2.0
TARGET_VERIFY_RATIO = 2.0
ROOT = Path(__file__).resolve().parents[1]


def synthetic_frame(rows: int) -> pd.DataFrame:
    """Sample frames repeated with new file names and UIDs, to `rows` rows."""
    sys.path.insert(0, str(ROOT / "tests" / "helpers"))
    import deidscope
    from deidscope.frame import STRING, concat_frames
    from samples import all_sample_files

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = deidscope.read_identifiers(all_sample_files(), errors="ignore")
    values = base["value"].astype(str).to_numpy(dtype=object)
    is_uid = (base["VR"].astype(str) == "UI").to_numpy() & ~base["value"].astype(
        str
    ).str.startswith("1.2.840.10008").to_numpy()
    frames = []
    for copy in range(rows // len(base) + 1):
        frame = base.copy()
        names = frame["file"].cat.categories
        files = [f"/synthetic/{copy:05d}/{name}" for name in names]
        frame["file"] = frame["file"].cat.rename_categories(files)
        copied = values.copy()
        copied[is_uid] = [f"{uid}.{copy}" for uid in values[is_uid]]
        frame["value"] = pd.array(copied, dtype=STRING)
        frames.append(frame)
    return concat_frames(frames).iloc[:rows].reset_index(drop=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import deidscope
    from deidscope import audit

    result: dict[str, Any] = {"machine_before": machine_info(), "args": vars(args)}
    reads: list[float] = []
    reports: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench_audit-") as tmp:
        out = Path(tmp) / "audit.html"
        if args.synthetic:
            df = synthetic_frame(args.rows)
            for _ in range(args.repeat):
                seconds, _path = timed(audit.report, df, out, overwrite=True)
                reports.append(seconds)
            result["files"] = int(df["file"].nunique())
        else:
            files = corpus_files(args.corpus, args.files)
            warm_page_cache(files)
            df = pd.DataFrame()
            for _ in range(args.repeat):
                del df
                seconds, df = timed(
                    deidscope.read_identifiers, files, progress=False, errors="ignore"
                )
                reads.append(seconds)
                seconds, _path = timed(audit.report, df, out, overwrite=True)
                reports.append(seconds)
            result["files"] = len(files)
        result["report_bytes"] = out.stat().st_size
    result["rows"] = len(df)
    big = df.iloc[: args.rows].reset_index(drop=True) if len(df) > args.rows else df
    profiles = []
    for _ in range(args.profile_repeat):
        seconds, prof = timed(audit.profile, big)
        profiles.append(seconds)
    result["profile_rows"] = len(big)
    result["profile_fields"] = len(prof)
    result["profile_distinct_values"] = int(big["value"].nunique())
    result["seconds"] = {"read": reads, "report": reports, "profile": profiles}
    medians = {
        key: median(values) for key, values in result["seconds"].items() if values
    }
    result["medians"] = medians
    targets = [
        {
            "target": f"profile of {len(big):,} rows < {TARGET_PROFILE_SECONDS:g} s",
            "measured": f"{medians['profile']:.2f} s",
            "met": medians["profile"] < TARGET_PROFILE_SECONDS,
        }
    ]
    if reads:
        ratio = (medians["read"] + medians["report"]) / medians["read"]
        result["audit_ratio"] = ratio
        targets.append(
            {
                "target": f"read + report of {result['files']:,} files < "
                f"{TARGET_AUDIT_RATIO:g}x read_identifiers alone",
                "measured": f"{ratio:.2f}x",
                "met": ratio < TARGET_AUDIT_RATIO,
            }
        )
    if not args.synthetic and args.verify_files:
        verify = verify_run(args)
        result["verify"] = verify
        targets.append(
            {
                "target": f"scorecard + leaks with the byte scan of "
                f"{verify['files']:,} files < {TARGET_VERIFY_RATIO:g}x "
                "replace_identifiers",
                "measured": f"{verify['ratio']:.2f}x",
                "met": verify["ratio"] < TARGET_VERIFY_RATIO,
            }
        )
    result["targets"] = targets
    result["machine_after"] = machine_info()
    return result


def verify_run(args: argparse.Namespace) -> dict[str, Any]:
    """De-identify the first files with the Basic Profile, then prove it."""
    import deidscope
    from deidscope import audit
    from deidscope.dicom import replace_identifiers
    from deidscope.recipe import Recipe

    files = corpus_files(args.corpus, args.verify_files)
    warm_page_cache(files)
    recipe = Recipe.from_profile()
    seconds: dict[str, list[float]] = {
        "replace": [],
        "read both": [],
        "scorecard": [],
        "leaks + byte scan": [],
    }
    for _ in range(args.verify_repeat):
        with tempfile.TemporaryDirectory(prefix="bench_verify-") as tmp:
            took, _ = timed(
                replace_identifiers,
                files,
                deid=recipe,
                save=True,
                output_folder=tmp,
                progress=False,
                errors="ignore",
            )
            seconds["replace"].append(took)
            written = sorted(str(p) for p in Path(tmp).rglob("*.dcm"))
            warm_page_cache(written)
            start = time.perf_counter()
            before = deidscope.read_identifiers(files, progress=False, errors="ignore")
            after = deidscope.read_identifiers(written, progress=False, errors="ignore")
            seconds["read both"].append(time.perf_counter() - start)
            took, card = timed(audit.scorecard, before, after)
            seconds["scorecard"].append(took)
            took, found = timed(audit.leaks, before, after, scan_bytes=True)
            seconds["leaks + byte scan"].append(took)
    medians = {key: median(values) for key, values in seconds.items()}
    proof = medians["scorecard"] + medians["leaks + byte scan"]
    return {
        "files": len(files),
        "seconds": seconds,
        "medians": medians,
        "ratio": proof / medians["replace"],
        "ratio_with_reads": (proof + medians["read both"]) / medians["replace"],
        "score": card.rate,
        "leaks": len(found),
        # what survived, by kind and element: a leak is a finding, not noise
        "leaks_by_kind": {
            f"{kind} {name}": int(count)
            for (kind, name), count in found.groupby(
                ["kind", "source_name"], observed=True
            )
            .size()
            .sort_values(ascending=False)
            .head(20)
            .items()
        },
    }


def report_text(result: dict[str, Any]) -> str:
    medians = result["medians"]
    rows = [
        [
            step,
            len(result["seconds"][step]),
            f"{medians[step]:.2f}",
            f"{min(result['seconds'][step]):.2f}-{max(result['seconds'][step]):.2f}",
        ]
        for step in ("read", "report", "profile")
        if result["seconds"][step]
    ]
    machine = result["machine_before"]
    verify_lines: list[str] = []
    if "verify" in result:
        verify = result["verify"]
        verify_lines = [
            "",
            f"Proof of a Basic Profile de-identification of {verify['files']:,} "
            f"files: score {100 * verify['score']:.2f} %, {verify['leaks']:,} "
            f"leaks; scorecard + leaks {verify['ratio']:.2f}x replace_identifiers "
            f"({verify['ratio_with_reads']:.2f}x with reading both frames).",
            "",
            markdown_table(
                ["step", "reps", "median s"],
                [
                    [step, len(values), f"{verify['medians'][step]:.2f}"]
                    for step, values in verify["seconds"].items()
                ],
            ),
        ]
        by_kind = verify["leaks_by_kind"]
        if by_kind:
            verify_lines += [
                "",
                "Leaks by kind and element (the 20 commonest): "
                + "; ".join(f"{what}: {count}" for what, count in by_kind.items()),
            ]
    return "\n".join(
        [
            f"Frame: {result['rows']:,} rows from {result['files']:,} files; "
            f"profile on {result['profile_rows']:,} rows "
            f"({result['profile_fields']:,} fields, "
            f"{result['profile_distinct_values']:,} distinct values); report "
            f"{result['report_bytes'] / 1e6:.1f} MB.",
            f"Machine: {machine['cpu_count']} CPUs; load average (1 min) "
            f"{machine['loadavg'][0]:.2f} before, "
            f"{result['machine_after']['loadavg'][0]:.2f} after.",
            "",
            markdown_table(["step", "reps", "median s", "range s"], rows),
            "",
            markdown_table(
                ["target", "measured", "met"],
                [
                    [t["target"], t["measured"], "yes" if t["met"] else "NO"]
                    for t in result["targets"]
                ],
            ),
            *verify_lines,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(CORPUS_ROOT / "10k"))
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_400_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile-repeat", type=int, default=5)
    parser.add_argument("--verify-files", type=int, default=1_000)
    parser.add_argument("--verify-repeat", type=int, default=1)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(RESULTS_ROOT))
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.rows, args.repeat, args.profile_repeat = 20, 20_000, 1, 1
        args.verify_files = 20
    if not args.synthetic and not (Path(args.corpus) / "manifest.csv").is_file():
        print(f"no corpus at {args.corpus}: using a synthetic frame", file=sys.stderr)
        args.synthetic = True
    result = run(args)
    text = report_text(result)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out)
    write_json(out / f"bench_audit-{stamp}.json", result)
    (out / f"bench_audit-{stamp}.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
