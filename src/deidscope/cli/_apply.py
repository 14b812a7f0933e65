"""``deidscope apply --recipe R PATH... -o OUT``: de-identify, then check."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from deidscope.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Outcome,
    Subparsers,
    add_command,
    add_options,
    add_output,
    add_run_options,
    add_strict,
    check_output_file,
    check_output_folder,
    check_outside_inputs,
    errors_option,
    input_paths,
    output_file,
    output_path,
    read_inputs,
    show_progress,
)
from deidscope.errors import InputError

if TYPE_CHECKING:
    from deidscope.audit import Scorecard
    from deidscope.recipe import Recipe

__all__ = ["register", "run"]

NAME = "apply"
#: The environment variable that may hold the key (instead of --key-file).
KEY_ENV = "DEIDSCOPE_KEY"

_DESCRIPTION = """\
Apply a deid recipe's %header to DICOM files and write the results to OUT,
keeping the input folder structure. Inputs are never changed, not even with
--force: an OUT that is an input folder or lies inside one is refused
(the next run would read the outputs as inputs), and so is an OUT that
would put an output onto an input. Then read the results back and look for
identifying values of the originals (names, IDs, dates, accession numbers,
UIDs) that survive anywhere, nested or private, also inside other values.
Leaks are counted by kind on standard error (their values are not shown;
--leaks writes them to a CSV file) and make the exit code 1, unless
--allow-leaks.

Recipe text is data: func: names are never resolved from the command line,
and --var NAME=VALUE gives var:NAME its value. A line whose func: or var:
name is not resolved is skipped, as deid skips it: a warning names each
such line (file, line number, text) and the summary counts them; with
--strict they are an error instead (exit 3, nothing written).

In the --leaks CSV a cell that starts with =, +, -, @, a tab or a carriage
return gets a single quote in front ('=...), so that a spreadsheet shows
it as text instead of running it as a formula. Outputs are created with
the usual permissions (the process umask).

Keyed pseudonyms: --key-file FILE (or the DEIDSCOPE_KEY environment
variable; never the key itself on the command line) makes UIDs, a profile
recipe's PatientID, AccessionNumber and StudyID, and the dates of its
Retain Longitudinal Modified Dates Option keyed: the same key gives the
same values in every run. --crosswalk CSV (needs a key) writes the
old-to-new table (owner-only), never inside OUT.

The leak check and the scorecard at the end judge the output against the
PS3.15 Basic Profile with the options the recipe was made with: --option
NAME (repeatable) names them; without it, a recipe written by
Recipe.from_profile says its own (its "# options:" comment).
"""

_EPILOG = """\
examples:
  deidscope apply --recipe deid.dicom scans/ -o clean/
  deidscope apply --recipe base.deid --recipe site.deid scans/ -o clean/ \\
      --var id=ANON --leaks leaks.csv
  deidscope apply --recipe profile.deid scans/ -o clean/ \\
      --key-file /secure/key --crosswalk /secure/crosswalk.csv

exit codes: 0 done, no leaks (or --allow-leaks); 1 done, leaks remain;
2 bad command line (no --recipe, ...); 3 input/output problem, a bad
recipe, or with --strict an unresolved func:/var: line (before anything is
written) or a file that cannot be de-identified.
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
        required=True,
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
        type=output_path([".csv"]),
        metavar="CSV",
        help="write the surviving values, with where they are, to this CSV file",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="FILE",
        help=(
            f"a file holding the secret key for keyed pseudonyms (or set {KEY_ENV}); "
            "the same key gives the same pseudonyms in every run"
        ),
    )
    parser.add_argument(
        "--crosswalk",
        type=output_path([".csv"]),
        metavar="CSV",
        help=(
            "write the old-to-new table (patient, study, series, instance, date "
            "offset) to this CSV file, outside OUT; needs a key"
        ),
    )
    add_options(
        parser,
        help=(
            "a PS3.15 option the recipe applies, for the leak check and the "
            "scorecard (default: the options a profile recipe names in its "
            "'# options:' comment)"
        ),
    )
    add_strict(
        parser,
        help=(
            "make a func:/var: line that cannot be resolved an error (exit 3, "
            "before anything is written), and stop with an error at the first "
            "file that cannot be de-identified"
        ),
    )
    add_run_options(parser)
    parser.set_defaults(run=run)


def _unresolved(recipes: list[Recipe], lookup: dict[str, str]) -> list[str]:
    """One line per recipe line whose ``var:``/``func:`` name is unresolved.

    ``Recipe.lint``'s ``missing-name`` findings, in the command line's
    words: ``--var`` gives ``var:`` values, ``func:`` never resolves here.
    """
    lines: list[str] = []
    for recipe in recipes:
        found = recipe.lint(lookup=lookup)
        found = found[found["code"] == "missing-name"]
        actions = {action.lineno: action for action in recipe.header}
        for lineno, text, message in zip(
            found["line"].astype(object),
            found["text"],
            found["message"],
            strict=True,
        ):
            try:
                number: int | None = int(lineno)
            except (TypeError, ValueError):  # <NA>: no line number
                number = None
            action = actions.get(number) if number is not None else None
            value = (action.value or "") if action is not None else ""
            kind, _, name = value.partition(":")
            if kind == "var":
                why = f"no --var {name}=VALUE gives var:{name}"
            elif kind == "func":
                why = "func: names are never resolved from the command line"
            else:
                why = message
            where = f"{recipe.path or 'recipe'}, line {number or '?'}"
            lines.append(f"{where}: {text}: skipped, as deid skips it ({why})")
    return lines


def _recipe_options(recipes: list[Recipe]) -> list[str]:
    """Return the PS3.15 options the profile recipes among `recipes` name.

    A recipe written by ``Recipe.from_profile`` says its options in a
    comment before ``FORMAT`` (``# options: retain_uids, ...``), which
    ``replace_identifiers`` also reads for the method codes it writes.
    """
    from deidscope.recipe._finish import profile_options

    found: list[str] = []
    for recipe in recipes:
        found += profile_options(recipe.comments) or ()
    return list(dict.fromkeys(found))


def _key(args: argparse.Namespace, *, caller: str) -> bytes | None:
    """Return the key of --key-file, else of the environment, else None."""
    from deidscope.recipe._keyed import read_key_file

    if args.key_file is not None:
        return read_key_file(args.key_file, caller=caller)
    text = os.environ.get(KEY_ENV)
    return text.encode("utf-8") if text else None


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
        What was written, files that failed, recipe lines skipped and the
        leak summary; the code is 1 when leaks remain (and are not allowed).

    Raises
    ------
    InputError
        Before anything is written: if the output folder is an input folder
        or lies inside one, if an output would replace an input, if there is
        no DICOM file, and with ``--strict`` if a ``func:``/``var:`` line of
        the recipe cannot be resolved.
    """
    from deidscope.audit import leaks, scorecard
    from deidscope.dicom import replace_identifiers
    from deidscope.files import inputs_written_over, output_targets
    from deidscope.parallel._write import frame_to_csv
    from deidscope.recipe import Recipe

    caller = f"deidscope {NAME}"
    paths, notes = input_paths(args.paths, caller=caller)
    output = Path(args.output)
    check_outside_inputs(output, paths, caller=caller)
    check_output_folder(output, force=args.force, caller=caller)
    if args.leaks is not None:
        check_output_file(args.leaks, force=args.force, caller=caller, inputs=paths)
    key = _key(args, caller=caller)
    if args.crosswalk is not None:
        if key is None:
            raise InputError(
                f"{caller}: --crosswalk needs a key (--key-file FILE or "
                f"{KEY_ENV}): without one there is nothing to re-link"
            )
        check_output_file(args.crosswalk, force=args.force, caller=caller, inputs=paths)
    recipes = [Recipe.from_file(path) for path in args.recipe]
    lookup = dict(args.var)
    # a key gives each file its patient's date offset
    skipped = _unresolved(recipes, lookup if key is None else {"jitter": "0", **lookup})
    if skipped and args.strict:
        more = (
            f"; {len(skipped) - 1:,} more (without --strict, a warning names each)"
            if len(skipped) > 1
            else ""
        )
        raise InputError(
            f"{caller}: --strict: {len(skipped):,} recipe "
            f"{'line is' if len(skipped) == 1 else 'lines are'} not resolved, "
            f"nothing written: {skipped[0]}{more}"
        )
    options = list(dict.fromkeys(args.option)) or _recipe_options(recipes)
    recipe = Recipe.combine(recipes)
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
        lookup=lookup,
        errors=errors_option(args),
        progress=show_progress(args),
        key=key,
        crosswalk=args.crosswalk,
    )
    written = {
        str(path): source for path, source in zip(result, files, strict=True) if path
    }
    warnings: list[str] = [
        *skipped,
        *(
            f"{file}: {error}"
            for file, error in zip(result.errors.file, result.errors.error, strict=True)
        ),
    ]
    messages = [f"{len(written):,} of {len(files):,} files de-identified into {output}"]
    if args.crosswalk is not None:
        messages.append(f"crosswalk written to {os.fspath(args.crosswalk)}")
    if skipped:
        messages.append(
            f"{len(skipped):,} recipe {'line' if len(skipped) == 1 else 'lines'} "
            "skipped: func:/var: names not resolved (the warnings name them; "
            "--strict makes this an error)"
        )
    code = EXIT_OK
    if written:
        before = read_inputs(list(written.values()), args)
        after = read_inputs(list(written), args)
        found = leaks(
            before, after, options=options, pairs=written, scan_bytes=list(written)
        )
        if args.leaks is not None:
            with output_file(args.leaks, force=args.force, caller=caller) as temp:
                frame_to_csv(found, temp)
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
        card = scorecard(before, after, options=options, pairs=written)
        messages.append(_score_line(card, options))
    return Outcome(
        messages=tuple(messages), notes=notes, warnings=tuple(warnings), code=code
    )


def _score_line(card: Scorecard, options: list[str]) -> str:
    """One line for the scorecard (audit.scorecard, as deidscope verify shows it)."""
    failed = [
        str(check)
        for check, passed, total in zip(
            card.summary["check"],
            card.summary["passed"],
            card.summary["total"],
            strict=True,
        )
        if passed < total
    ]
    named = f"options: {', '.join(options)}" if options else "no options"
    line = (
        f"scorecard (PS3.15 Basic Profile, {named}): {100 * card.rate:.2f} % "
        f"({card.passed:,} of {card.total:,} checks passed)"
    )
    if failed:
        again = "".join(f" --option {o}" for o in options)
        line += (
            f"; below 100 %: {', '.join(failed)} "
            f"(deidscope verify INPUT OUTPUT{again} lists them)"
        )
    return line
