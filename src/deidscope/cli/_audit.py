"""``deidscope audit PATH... -o report.html``."""

from __future__ import annotations

import argparse
import os

from deidscope.cli._common import (
    Outcome,
    Subparsers,
    add_command,
    add_output,
    add_run_options,
    add_strict,
    check_output_file,
    errors_option,
    input_paths,
    read_inputs,
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
no network to open. Pixel data is never read. The report holds header
values: it is created with the usual permissions (the process umask), like
any other output, so set a umask (umask 077) or put it in a private folder
if others share the machine.
"""

_EPILOG = """\
examples:
  deidscope audit -o cookies.html                      (the bundled sample)
  deidscope audit scans/ -o audit.html --workers 4
"""


def register(subparsers: Subparsers) -> None:
    """Add the ``audit`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    """
    parser = add_command(
        subparsers,
        NAME,
        help="write an HTML report of the identifiers in DICOM headers",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_output(
        parser, help="the report, .html; its folder must exist", suffixes=SUFFIXES
    )
    add_run_options(parser)
    add_strict(parser)
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

    caller = f"deidscope {NAME}"
    paths, notes = input_paths(args.paths, caller=caller)
    check_output_file(args.output, force=args.force, caller=caller, inputs=paths)
    df = read_inputs(paths, args, errors=errors_option(args))
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
