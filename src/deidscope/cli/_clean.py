"""``deidscope clean [--recipe R] PATH... -o OUT``: blank burned-in text."""

from __future__ import annotations

import argparse
import collections
import os
from pathlib import Path
from typing import Any

from deidscope.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Outcome,
    Subparsers,
    add_command,
    add_output,
    add_run_options,
    check_output_folder,
    check_outside_inputs,
    input_paths,
    output_file,
    read_inputs,
)

__all__ = ["REPORT_NAME", "VERIFY_NAME", "register", "run"]

NAME = "clean"
#: The report written in the output folder, one row per file.
REPORT_NAME = "clean-report.csv"
#: The text --verify still finds in the cleaned copies, one row per text.
VERIFY_NAME = "verify-report.csv"

_DESCRIPTION = """\
Flag DICOM files with a recipe's %filter section, as deid's DicomCleaner
does, and write a cleaned copy of every file whose matching LABELs give
boxes: the boxes blanked in every frame (keepcoordinates boxes kept),
uncompressed, BurnedInAnnotation set to NO. Inputs are never modified.

OUT is a folder (created if needed) outside the input folders; cleaned
files keep their path relative to the inputs' common folder.
OUT/clean-report.csv lists every file with what was done: cleaned, flagged
without boxes (look at it yourself), not flagged, or the error. In the
report a cell that starts with =, +, -, @, a tab or a carriage return gets
a single quote in front, so that a spreadsheet shows it as text instead of
running it as a formula. When the recipe flags no file, standard error says
so ("no file is flagged by the recipe (N files checked)") and the exit code
is 0: there was nothing to clean.

A file flagged without boxes is one the recipe's filters single out (deid's
blacklist: a secondary capture may be a screenshot with burned-in text)
without saying where the text is; it is not written, the warning names the
filter group and label, and it needs a person to look at it: exit 1.

--verify reads the text left in every cleaned copy with OCR (the ocr
extra: pip install 'deidscope[ocr]'; about a second per image) and writes
OUT/verify-report.csv: one row per text that shows a header value of the
input file, or that the allow-list (deidscope.pixels.ALLOW_LIST, plus each
--allow) does not call safe. Any row makes the exit code 1.
--keep-compression writes each cleaned copy in its input's transfer syntax
when that is lossless and an encoder is installed (RLE, JPEG-LS, JPEG 2000
lossless); otherwise uncompressed, and a warning says so.
"""

_EPILOG = """\
examples:
  deidscope clean -o cleaned/                       (the bundled sample)
  deidscope clean --recipe my.deid scans/ -o cleaned/ --workers 2
  deidscope clean --recipe proposed.deid scans/ -o cleaned/ --verify

--workers reads the headers with N processes; cleaning runs in this one.

exit codes: 0 every flagged file cleaned, or no file flagged; 1 a file
flagged without boxes (review it), a flagged file that could not be
cleaned, a file that could not be read, or (--verify) text left in a
cleaned copy; 2 bad command line; 3 input/output problem (a missing path
or recipe, an OUT that is not empty without --force or lies inside an
input folder); 4 --verify without the ocr extra.
"""


def register(subparsers: Subparsers) -> None:
    """Add the ``clean`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    """
    parser = add_command(
        subparsers,
        NAME,
        help="blank burned-in text a recipe's %%filter flags, in copies",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_output(parser, help="the output folder (created; must be empty, or --force)")
    parser.add_argument(
        "-r",
        "--recipe",
        type=Path,
        default=None,
        metavar="R",
        help="a deid recipe with a %%filter section (default: deidscope's own)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="read the cleaned copies with OCR (the ocr extra); exit 1 when "
        f"text that is not safe is left ({VERIFY_NAME})",
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="REGEX",
        help="with --verify: text matching this regular expression (whole "
        "text, any case) is safe, besides deidscope.pixels.ALLOW_LIST; repeatable",
    )
    parser.add_argument(
        "--keep-compression",
        action="store_true",
        help="write each copy in its input's lossless transfer syntax when an "
        "encoder is installed (default: uncompressed)",
    )
    add_run_options(parser)
    parser.set_defaults(run=run)


def _targets(files: list[str], output: Path) -> dict[str, Path]:
    """Each input's output path: its path relative to the inputs' common folder."""
    folders = [os.path.dirname(os.path.abspath(f)) for f in files]
    root = os.path.commonpath(folders) if folders else ""
    return {f: output / os.path.relpath(os.path.abspath(f), root) for f in files}


def run(args: argparse.Namespace) -> Outcome:
    """Detect and clean; see the module documentation.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    Outcome
        What was cleaned, flagged, and where the report is.
    """
    import pandas as pd

    from deidscope.errors import DeidscopeError
    from deidscope.parallel._write import frame_to_csv
    from deidscope.pixels import DEFAULT_RECIPE, clean, detect
    from deidscope.recipe import Recipe

    caller = f"deidscope {NAME}"
    paths, notes = input_paths(args.paths, caller=caller)
    output: Path = args.output
    check_outside_inputs(output, paths, caller=caller)
    check_output_folder(output, force=args.force, caller=caller)
    recipe = Recipe.from_file(
        args.recipe if args.recipe is not None else DEFAULT_RECIPE
    )
    if not recipe.filters:
        notes += ("the recipe has no %filter section: nothing is flagged",)
    if args.verify:  # before any work: the extra is there, the engine loads
        from deidscope.pixels._ocr_engine import resolve_engine

        resolve_engine("rapidocr", caller=caller)
        import re

        from deidscope.errors import InputError
        from deidscope.pixels._text_match import compile_allow

        try:
            compile_allow(args.allow)
        except re.error as exc:
            raise InputError(
                f"{caller}: an --allow value is not a regular expression: {exc}"
            ) from None
    frame = read_inputs(paths, args)
    flags = detect(frame, recipe, errors="ignore")
    output.mkdir(exist_ok=True)
    targets = _targets(flags["file"].tolist(), output)
    inputs = {os.path.realpath(f) for f in targets}
    rows: list[dict[str, Any]] = []
    row: dict[Any, Any]
    for row in flags.to_dict("records"):
        record = {
            "file": row["file"],
            "output": "",
            "action": "not flagged",
            "group": row["group"] or "",
            "label": row["label"] or "",
            "reason": row["reason"] or "",
            "coordinates": " ".join(",".join(map(str, b)) for b in row["coordinates"]),
            "keep_coordinates": " ".join(
                ",".join(map(str, b)) for b in row["keep_coordinates"]
            ),
            "error": "",
        }
        if row["flagged"] and not row["coordinates"]:
            record["action"] = "flagged, no boxes: review"
        elif row["coordinates"]:
            target = targets[row["file"]]
            if os.path.realpath(target) in inputs:
                record["action"] = "error"
                record["error"] = "the output would replace an input file"
            else:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    clean(
                        row["file"],
                        row["coordinates"],
                        keep=row["keep_coordinates"],
                        output=target,
                        compression="keep" if args.keep_compression else "none",
                    )
                    record["action"] = "cleaned"
                    record["output"] = os.fspath(target)
                except (DeidscopeError, OSError) as exc:
                    record["action"] = "error"
                    record["error"] = " ".join(str(exc).splitlines())
        rows.append(record)
    errors = flags.attrs.get("errors")
    if errors is not None:
        for file, error in errors[["file", "error"]].itertuples(index=False):
            rows.append({"file": file, "action": "error", "error": str(error)})
    report = pd.DataFrame(
        rows,
        columns=[
            "file",
            "output",
            "action",
            "group",
            "label",
            "reason",
            "coordinates",
            "keep_coordinates",
            "error",
        ],
    ).fillna("")
    report_path = output / REPORT_NAME
    with output_file(report_path, force=True, caller=caller) as tmp:
        frame_to_csv(report, tmp)
    counts = report["action"].value_counts()
    cleaned = int(counts.get("cleaned", 0))
    review = int(counts.get("flagged, no boxes: review", 0))
    failed = int(counts.get("error", 0))
    messages: tuple[str, ...] = (
        f"{cleaned} of {len(report)} files cleaned into {os.fspath(output)}; "
        f"{review} flagged without boxes, {failed} error(s); "
        f"report: {os.fspath(report_path)}",
    )
    if not flags["flagged"].any():
        checked = f"{len(flags):,} file{'' if len(flags) == 1 else 's'} checked"
        notes += (f"no file is flagged by the recipe ({checked})",)
    warnings: tuple[str, ...] = ()
    if review:
        reviewed = report[report["action"] == "flagged, no boxes: review"]
        why = collections.Counter(
            zip(reviewed["group"], reviewed["label"], strict=True)
        )
        by_filter = ", ".join(f"{g} {label!r}: {n}" for (g, label), n in why.items())
        warnings += (
            f"{review} flagged file(s) have no boxes to blank and were not written "
            f"({by_filter}): look at them ({REPORT_NAME} lists them)",
        )
    if failed:
        warnings += (f"{failed} file(s) failed; {REPORT_NAME} says why",)
    left = 0
    if args.verify:
        left, line = _verify(report, output, args, caller=caller)
        messages += (line,)
        if left:
            warnings += (
                f"{left} text(s) left in the cleaned copies are not known to be "
                f"safe; {VERIFY_NAME} lists them",
            )
    code = EXIT_FINDINGS if review or failed or left else EXIT_OK
    return Outcome(messages=messages, notes=notes, warnings=warnings, code=code)


def _verify(
    report: Any, output: Path, args: argparse.Namespace, *, caller: str
) -> tuple[int, str]:
    """OCR the cleaned copies; write the verify report; return (rows, message)."""
    import pandas as pd

    from deidscope.parallel._write import frame_to_csv
    from deidscope.pixels import verify

    done = report[report["action"] == "cleaned"]
    pairs = dict(zip(done["output"], done["file"], strict=True))
    columns = ["file", "original", "frame", "box", "text", "header_match", "error"]
    if pairs:
        found = verify(
            list(pairs),
            list(dict.fromkeys(pairs.values())),
            pairs=pairs,
            allow=args.allow,
            progress=False,
            errors="ignore",
        )
        rows = found.assign(
            box=[",".join(map(str, b)) for b in found["box"]], error=""
        )[[*columns[:-1], "error"]]
        failed = found.attrs["errors"]
        if len(failed):
            rows = pd.concat(
                [
                    rows,
                    pd.DataFrame({"file": failed["file"], "error": failed["error"]}),
                ],
                ignore_index=True,
            )
    else:
        rows = pd.DataFrame(columns=columns)
    path = output / VERIFY_NAME
    with output_file(path, force=True, caller=caller) as tmp:
        frame_to_csv(rows.astype(object).fillna(""), tmp)
    n_text = int((rows["error"].astype(str) == "").sum()) if len(rows) else 0
    message = (
        f"verify: {len(pairs)} cleaned cop{'y' if len(pairs) == 1 else 'ies'} "
        f"read, {n_text} unsafe text(s) left; report: {os.fspath(path)}"
    )
    return len(rows), message
