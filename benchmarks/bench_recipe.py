"""Speed of recipes: preview, replace_identifiers vs deid, the builder, lint.

::

    python benchmarks/make_corpus.py --files 10000 --seed 0      # once
    python benchmarks/bench_recipe.py --corpus benchmarks/corpus/10k

Four measurements; the first two are the median of ``--repeat`` runs
(default 3), the last two of ``--builder-repeat`` (default 5):

- ``preview``: ``Recipe.preview`` of a 60-line recipe (:data:`RECIPE`: the
  first 45 ``%header`` lines of deid's own ``deid.dicom`` and 15 lines that
  exercise KEEP, REPLACE with ``var:``, JITTER, BLANK, ADD, ``%values`` and
  ``%fields`` lists, expanders and private names) over a frame of
  ``--rows`` rows (default 1,400,000). The frame is the first
  ``--preview-files`` corpus files read once with ``read_identifiers``,
  repeated under new file names until it has the rows asked for (every
  copy is a distinct file to the engine); building it is not timed.
- ``replace_identifiers``: de-identify the first ``--files`` corpus files
  (default 200) and write them (``save=True``) with deid 0.4.13's shipped
  ``deid.dicom`` header, deid's ``replace_identifiers`` and ours, in
  alternation (deid, ours, deid, ours...), each into a fresh temporary
  folder, after reading every file once to warm the page cache. The ratio
  is deid's time / ours.
- ``builder``: "Start from PS3.15 profile" in the ``RecipeBuilder`` (one
  run of the recipe feeds its preview, rows per line, lint and PS3.15
  gaps), side by side with one ``Recipe.from_profile().preview(df)``, on
  dicom-cookies; and on the first ``--builder-files`` corpus files (default
  1,000) when the corpus exists. Two builder figures: the click alone
  (``start_from_profile()`` on a builder made beforehand, not timed) and
  ``RecipeBuilder(df).start_from_profile()``. Targets: at most 3x the
  preview on dicom-cookies, under 2 s on 1,000 files.
- ``lint``: ``Recipe.lint(df)`` of a 1,000-line recipe (:func:`lint_recipe`:
  the 658 lines of the PS3.15 profile and 342 lines over the cookies'
  fields and expanders, with conflicts) over dicom-cookies; target < 1 s.

Results: a Markdown table on stdout and ``benchmarks/results/bench_recipe-*.json``.
``--quick`` runs one repetition of each on 20 files and 50,000 rows.
``--only builder`` or ``--only lint`` need no corpus (the builder's 1,000-file
row is left out without one).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS_ROOT,
    corpus_files,
    machine_info,
    markdown_table,
    median,
    timed,
    warm_page_cache,
    write_json,
)

EXTRA_LINES = """\
KEEP Modality
KEEP select:group:0028
REPLACE PatientID var:id
REPLACE SOPInstanceUID deid_func:pydicom_uuid
JITTER endswith:Date 7
BLANK contains:Physician
BLANK select:VR:PN
REPLACE InstitutionName HOSPITAL
REMOVE values:names
BLANK fields:times
REMOVE (0013,"DEIDSCOPE SYNTHETIC",01)
REMOVE select:group:0013
JITTER select:VR:DT 7
ADD PatientIdentityRemoved YES
ADD DeidentificationMethod deidscope
"""


def build_recipe() -> Any:
    """The 60-line benchmark recipe."""
    import deid

    from deidscope.recipe import Recipe

    shipped = Recipe.from_file(Path(deid.__file__).parent / "data" / "deid.dicom")
    text = (
        'FORMAT dicom\n%values names\nSPLIT PatientName by="^";minlength=3\n'
        "%fields times\nFIELD endswith:Time\n%header\n"
        + "\n".join(
            f"{a.action} {a.field}" + (f" {a.value}" if a.value is not None else "")
            for a in shipped.header[:45]
        )
        + "\n"
        + EXTRA_LINES
    )
    recipe = Recipe.from_text(text)
    assert len(recipe.header) == 60, len(recipe.header)
    return recipe


def big_frame(files: list[str], rows: int) -> Any:
    """The frame of `files`, repeated under new names up to `rows` rows."""
    import numpy as np
    import pandas as pd

    from deidscope import read_identifiers

    base = read_identifiers(files, progress=False, errors="ignore")
    copies = rows // len(base) + 1
    frame = pd.concat([base] * copies, ignore_index=True).iloc[:rows].copy()
    copy = np.repeat(np.arange(copies), len(base))[:rows]
    names = base["file"].astype(str).to_numpy()[np.arange(rows) % len(base)]
    frame["file"] = pd.Categorical(pd.Series(names) + "#" + pd.Series(copy).astype(str))
    for column in ("uid", "name", "VR", "tag", "keyword", "private_creator"):
        frame[column] = frame[column].astype("category")
    return frame


def lint_recipe() -> Any:
    """The 1,000-line recipe of the lint benchmark (deterministic)."""
    from deidscope.recipe import Recipe
    from deidscope.recipe._format import item_text

    profile = Recipe.from_profile()
    fields = [
        "PatientName", "PatientID", "PatientSex", "PatientBirthDate", "StudyDate",
        "StudyTime", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
        "OperatorsName", "ReferringPhysicianName", "AccessionNumber",
        "contains:Date", "contains:Name", "endswith:UID", "select:VR:PN",
        "startswith:Patient", "contains:Physician", "select:group:0008",
    ]  # fmt: skip
    actions = ["REMOVE", "BLANK", "REPLACE ANON", "JITTER 7", "KEEP"]
    extra = [
        f"{actions[i % len(actions)]} {fields[(i * 7) % len(fields)]}"
        for i in range(1000 - len(profile.header))
    ]
    lines = [item_text(a) for a in profile.header] + extra
    recipe = Recipe.from_text("FORMAT dicom\n%header\n" + "\n".join(lines) + "\n")
    assert len(recipe.header) == 1000, len(recipe.header)
    return recipe


def _medians(
    calls: dict[str, Any], repeat: int, setup: dict[str, Any] | None = None
) -> dict[str, list[float]]:
    """Time each call `repeat` times, in alternation; `setup` (not timed) first."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            made = (setup or {}).get(name, lambda: None)()
            start = time.perf_counter()
            call(made)
            times[name].append(time.perf_counter() - start)
    return times


def _builder_on(frame: Any, repeat: int) -> dict[str, Any]:
    from deidscope.recipe import Recipe
    from deidscope.widgets import RecipeBuilder

    times = _medians(
        {
            "preview": lambda _: Recipe.from_profile().preview(frame),
            "click": lambda builder: builder.start_from_profile(),
            "new_and_click": lambda _: RecipeBuilder(frame).start_from_profile(),
        },
        repeat,
        setup={"click": lambda: RecipeBuilder(frame)},
    )
    result: dict[str, Any] = {
        "rows": len(frame),
        "files": int(frame["file"].nunique()),
        "seconds": times,
    }
    for name, values in times.items():
        result[f"{name}_median_s"] = median(values)
    result["click_ratio"] = result["click_median_s"] / result["preview_median_s"]
    result["new_and_click_ratio"] = (
        result["new_and_click_median_s"] / result["preview_median_s"]
    )
    return result


def bench_builder(args: argparse.Namespace) -> dict[str, Any]:
    from deidscope import read_identifiers
    from deidscope.data import get_dataset

    report: dict[str, Any] = {}
    cookies = read_identifiers(get_dataset("dicom-cookies"), progress=False)
    report["dicom-cookies"] = _builder_on(cookies, args.builder_repeat)
    if (Path(args.corpus) / "manifest.csv").is_file():
        files = corpus_files(args.corpus, args.builder_files)
        frame = read_identifiers(files, progress=False, errors="ignore")
        report["corpus"] = _builder_on(frame, args.builder_repeat)
    return report


def bench_lint(args: argparse.Namespace) -> dict[str, Any]:
    from deidscope import read_identifiers
    from deidscope.data import get_dataset

    cookies = read_identifiers(get_dataset("dicom-cookies"), progress=False)
    recipe = lint_recipe()
    found = recipe.lint(cookies)
    times = _medians({"lint": lambda _: recipe.lint(cookies)}, args.builder_repeat)
    return {
        "lines": len(recipe.header),
        "rows": len(cookies),
        "findings": len(found),
        "conflicts": int((found["code"] == "conflict").sum()),
        "seconds": times["lint"],
        "median_s": median(times["lint"]),
    }


def _builder_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, target in (("dicom-cookies", "3x"), ("corpus", "")):
        if name not in report:
            continue
        r = report[name]
        data = f"{r['rows']:,} rows, {r['files']:,} files"
        preview = f"preview {r['preview_median_s']:.3f} s"
        for kind, label in (("click", "click"), ("new_and_click", "new + click")):
            if target:
                goal = f"{r[f'{kind}_ratio']:.1f}x the preview (target <= {target})"
            else:
                goal = f"{r[f'{kind}_ratio']:.1f}x the preview (target < 2 s)"
            rows.append(
                [
                    f"RecipeBuilder start from PS3.15 profile ({label})",
                    data,
                    f"{r[f'{kind}_median_s']:.3f} s ({preview})",
                    "-",
                    goal,
                ]
            )
    return rows


def bench_preview(args: argparse.Namespace) -> dict[str, Any]:
    recipe = build_recipe()
    frame = big_frame(corpus_files(args.corpus, args.preview_files), args.rows)
    lookup = {"id": "ANON"}
    times = []
    touched = 0
    for _ in range(args.repeat):
        seconds, out = timed(recipe.preview, frame, lookup)
        times.append(seconds)
        touched = len(out)
    return {
        "rows": len(frame),
        "files": int(frame["file"].nunique()),
        "lines": len(recipe.header),
        "touched": touched,
        "seconds": times,
        "median_s": median(times),
        "rows_per_s": len(frame) / median(times),
    }


def _deid(files: list[str], recipe: str, out: str) -> None:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        replace_identifiers(
            files, deid=DeidRecipe(recipe), save=True, output_folder=out, overwrite=True
        )


def _ours(files: list[str], recipe: Any, out: str) -> None:
    from deidscope.dicom import replace_identifiers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = replace_identifiers(
            files, deid=recipe, save=True, output_folder=out, progress=False
        )
    assert result.errors.empty, result.errors


def bench_replace(args: argparse.Namespace) -> dict[str, Any]:
    import deid

    from deidscope.recipe import Recipe

    shipped = str(Path(deid.__file__).parent / "data" / "deid.dicom")
    recipe = Recipe.from_file(shipped)
    files = corpus_files(args.corpus, args.files)
    warm_page_cache(files)
    results: dict[str, list[float]] = {"deid": [], "deidscope": []}
    for _ in range(args.repeat):
        for name in ("deid", "deidscope"):
            out = tempfile.mkdtemp(prefix=f"bench-recipe-{name}-")
            try:
                start = time.perf_counter()
                if name == "deid":
                    _deid(files, shipped, out)
                else:
                    _ours(files, recipe, out)
                results[name].append(time.perf_counter() - start)
            finally:
                shutil.rmtree(out, ignore_errors=True)
    deid_s, ours_s = median(results["deid"]), median(results["deidscope"])
    return {
        "files": len(files),
        "bytes": sum(os.path.getsize(f) for f in files),
        "seconds": results,
        "deid_median_s": deid_s,
        "deidscope_median_s": ours_s,
        "speedup": deid_s / ours_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="benchmarks/corpus/10k")
    parser.add_argument("--rows", type=int, default=1_400_000)
    parser.add_argument("--preview-files", type=int, default=1000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--builder-files", type=int, default=1000)
    parser.add_argument("--builder-repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("preview", "replace", "builder", "lint"))
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.preview_files, args.files, args.repeat = 50_000, 20, 20, 1
        args.builder_files, args.builder_repeat = 20, 1
    report: dict[str, Any] = {"machine": machine_info(), "args": vars(args)}
    rows = []
    if args.only in (None, "preview"):
        preview = report["preview"] = bench_preview(args)
        rows.append(
            [
                f"preview, {preview['lines']}-line recipe",
                f"{preview['rows']:,} rows, {preview['files']:,} files",
                f"{preview['median_s']:.2f} s",
                f"{preview['rows_per_s']:,.0f} rows/s",
                "target < 10 s",
            ]
        )
    if args.only in (None, "replace"):
        replace = report["replace"] = bench_replace(args)
        rows.append(
            [
                "replace_identifiers(save=True), deid.dicom",
                f"{replace['files']:,} files, {replace['bytes'] / 1e9:.2f} GB",
                f"{replace['deidscope_median_s']:.2f} s (deid "
                f"{replace['deid_median_s']:.2f} s)",
                f"{replace['files'] / replace['deidscope_median_s']:.1f} files/s",
                f"{replace['speedup']:.1f}x deid (target >= 3x)",
            ]
        )
    if args.only in (None, "builder"):
        builder = report["builder"] = bench_builder(args)
        rows += _builder_rows(builder)
    if args.only in (None, "lint"):
        linted = report["lint"] = bench_lint(args)
        rows.append(
            [
                f"Recipe.lint, {linted['lines']:,}-line recipe",
                f"{linted['rows']:,} rows (dicom-cookies), "
                f"{linted['findings']:,} findings",
                f"{linted['median_s']:.3f} s",
                f"{linted['lines'] / linted['median_s']:,.0f} lines/s",
                "target < 1 s",
            ]
        )
    print(markdown_table(["measure", "data", "median", "rate", "vs"], rows))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = write_json(RESULTS_ROOT / f"bench_recipe-{stamp}.json", report)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
