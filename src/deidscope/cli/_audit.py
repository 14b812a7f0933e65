"""``deidscope audit PATH... -o report.html``."""

from __future__ import annotations

import argparse
import os

from deidscope.cli._common import (
    Outcome,
    add_output,
    add_paths,
    add_run_options,
    check_output_file,
    input_paths,
    show_progress,
)

__all__ = ["register", "run"]

NAME = "audit"
SUFFIXES = (".html", ".htm")

_DESCRIPTION = """\
Audit the identifying information in DICOM headers and write a
self-contained HTML report: a profile of every field (files, distinct and
common values, the PS3.15 Basic Profile action), counts by modality,
manufacturer and model, the values that look identifying and why, and the
files that could not be read. Header values are escaped; the report needs
no network to open. Pixel data is never read.
"""

_EPILOG = """\
examples:
  deidscope audit -o cookies.html                      (the bundled sample)
  deidscope audit scans/ -o audit.html --workers 4
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    """
    parser = subparsers.add_parser(
        NAME,
        help="write an HTML audit report of the identifiers in DICOM headers",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_paths(parser)
    add_output(parser, help="the report, .html; its folder must exist")
    add_run_options(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop with an error at the first file that cannot be read",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    """Write the audit report; see the module documentation.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    Outcome
        Where the report went and how many files could not be read.
    """
    from deidscope.audit import report
    from deidscope.frame import read_identifiers

    caller = f"deidscope {NAME}"
    paths, notes = input_paths(args.paths, caller=caller)
    check_output_file(
        args.output, force=args.force, caller=caller, suffixes=SUFFIXES, inputs=paths
    )
    df = read_identifiers(
        paths,
        workers=args.workers,
        progress=show_progress(args),
        errors="raise" if args.strict else "ignore",
    )
    report(df, args.output, overwrite=args.force)  # a temporary name, renamed
    errors = df.attrs["errors"]
    n_errors = len(errors)
    n_files = len(set(df["file"].unique().tolist()) | set(errors["file"].tolist()))
    message = (
        f"audit of {len(df):,} fields in {n_files:,} files "
        f"written to {os.fspath(args.output)}"
    )
    warnings: tuple[str, ...] = ()
    if n_errors:
        warnings = (
            f"{n_errors:,} {'file' if n_errors == 1 else 'files'} could not be read "
            "(or only in part); "
            "the report lists them with the reason",
        )
    return Outcome(messages=(message,), notes=notes, warnings=warnings)
