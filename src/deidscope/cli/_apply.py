"""``deidscope apply --recipe R PATH... -o OUT``: de-identify, then check."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from deidscope.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Outcome,
    Subparsers,
    add_command,
    add_output,
    add_run_options,
    add_strict,
    check_output_file,
    check_output_folder,
    errors_option,
    input_paths,
    output_file,
    read_inputs,
    show_progress,
)
from deidscope.errors import InputError

__all__ = ["register", "run"]

NAME = "apply"

_DESCRIPTION = """\
Apply a deid recipe's %header to DICOM files and write the results to OUT,
keeping the input folder structure. Inputs are never changed, not even with
--force: an OUT that would put an output onto an input is refused. Then read
the results back and look for identifying values of the originals (names,
IDs, dates, accession numbers, UIDs) that survive anywhere, nested or
private, also inside other values. Leaks are counted by kind on standard
error (their values are not shown; --leaks writes them to a CSV file) and
make the exit code 1, unless --allow-leaks. Recipe text is data: func:
names are never resolved from the command line; --var gives var: values.
"""

_EPILOG = """\
examples:
  deidscope apply --recipe deid.dicom scans/ -o clean/
  deidscope apply --recipe base.deid --recipe site.deid scans/ -o clean/ \\
      --var id=ANON --leaks leaks.csv
"""


def _var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, but got {text!r}")
    return name, value


def register(subparsers: Subparsers) -> None:
    """Add the ``apply`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    """
    parser = add_command(
        subparsers,
        NAME,
        help="de-identify with a deid recipe, then check for leaks",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "-r",
        "--recipe",
        action="append",
        type=Path,
        metavar="RECIPE",
        help=(
            "a deid recipe file (required); give several to combine them in order, "
            "as deid does"
        ),
    )
    add_output(parser, help="the output folder (created; its parent must exist)")
    parser.add_argument(
        "--var",
        action="append",
        type=_var,
        default=[],
        metavar="NAME=VALUE",
        help="a value for var:NAME in the recipe (repeatable)",
    )
    parser.add_argument(
        "--allow-leaks",
        action="store_true",
        help="exit 0 even when identifying values survive",
    )
    parser.add_argument(
        "--leaks",
        type=Path,
        metavar="CSV",
        help="write the surviving values, with where they are, to this CSV file",
    )
    add_strict(
        parser, help="stop with an error at the first file that cannot be de-identified"
    )
    add_run_options(parser)
    parser.set_defaults(run=run)


def _inputs_files(paths: list[str]) -> list[str]:
    from deidscope.files import iter_dicom_files

    return list(iter_dicom_files(paths))


def run(args: argparse.Namespace) -> Outcome:
    """De-identify the files, then check for leaks; see the module documentation.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    Outcome
        What was written, files that failed, and the leak summary; the code
        is 1 when leaks remain (and are not allowed).
    """
    from deidscope.audit import leaks
    from deidscope.recipe import Recipe
    from deidscope.recipe._apply import (
        inputs_written_over,
        output_targets,
        replace_identifiers,
    )

    caller = f"deidscope {NAME}"
    if not args.recipe:
        raise InputError(f"{caller}: a recipe is required: --recipe RECIPE")
    paths, notes = input_paths(args.paths, caller=caller)
    output = Path(args.output)
    real_inputs = {os.path.realpath(p) for p in paths}
    if os.path.realpath(output) in real_inputs:
        raise InputError(f"{caller}: the output folder is an input: {output}")
    check_output_folder(output, force=args.force, caller=caller)
    if args.leaks is not None:
        check_output_file(
            args.leaks, force=args.force, caller=caller, suffixes=(".csv",)
        )
    recipe = Recipe.combine(args.recipe)
    files = _inputs_files(paths)
    if not files:
        raise InputError(f"{caller}: no DICOM files in {', '.join(paths)}")
    # --force replaces earlier outputs, never an input (whatever OUT is)
    clashes = inputs_written_over(files, output_targets(files, output))
    if clashes:
        more = f" and {len(clashes) - 1:,} more" if len(clashes) > 1 else ""
        raise InputError(
            f"{caller}: the output folder {output} would write over the inputs "
            f"(the output for {clashes[0][1]} is that file itself{more}); "
            "choose an output folder outside the inputs' folders"
        )
    output.mkdir(exist_ok=True)
    result = replace_identifiers(
        files,
        deid=recipe,
        save=True,
        output_folder=output,
        overwrite=args.force,
        lookup=dict(args.var),
        errors=errors_option(args),
        progress=show_progress(args),
    )
    written = {
        str(path): source for path, source in zip(result, files, strict=True) if path
    }
    warnings: list[str] = [
        f"{file}: {error}"
        for file, error in zip(result.errors.file, result.errors.error, strict=True)
    ]
    messages = [f"{len(written):,} of {len(files):,} files de-identified into {output}"]
    code = EXIT_OK
    if written:
        before = read_inputs(list(written.values()), args)
        after = read_inputs(list(written), args)
        found = leaks(before, after, pairs=written)
        if args.leaks is not None:
            with output_file(args.leaks, force=args.force, caller=caller) as temp:
                found.to_csv(temp, index=False)
            messages.append(f"leaks written to {os.fspath(args.leaks)}")
        if len(found):
            kinds = found["kind"].astype(str).value_counts()
            summary = ", ".join(f"{n:,} {kind}" for kind, n in kinds.items())
            n_files = found["file"].nunique()
            warnings.append(
                f"{len(found):,} identifying values survive in {n_files:,} files "
                f"({summary})" + ("" if args.leaks else "; --leaks FILE.csv lists them")
            )
            if not args.allow_leaks:
                code = EXIT_FINDINGS
        else:
            messages.append(
                "leak check: no identifying value of the originals survives"
            )
    return Outcome(
        messages=tuple(messages), notes=notes, warnings=tuple(warnings), code=code
    )
