"""``deidscope identifiers PATH... -o out.csv|out.parquet``."""

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
    positive_int,
    show_progress,
)

__all__ = ["register", "run"]

NAME = "identifiers"
SUFFIXES = (".csv", ".parquet", ".pq")

_DESCRIPTION = """\
Write every field of every DICOM file (one row per element, sequences
expanded) to a CSV or Parquet file: the columns of deidscope's long frame,
file, uid, name, VR, value, tag, keyword, private_creator, depth and
is_filemeta. Files are read in batches and written as they are read, so
memory stays flat for any number of files. Pixel data is never read.

Files that cannot be read are listed, with the reason, in OUT.errors.csv
(always written; header only when every file was read); the command still
succeeds (with --strict it stops at the first, exit 3). Read the Parquet
back with deidscope.parallel.read_identifiers_parquet(OUT).

Header values are untrusted: in the CSV files (OUT.csv and OUT.errors.csv)
a cell that starts with =, +, -, @, a tab or a carriage return gets a
single quote in front ('=..., '-1.5), so that a spreadsheet shows it as
text instead of running it as a formula. The Parquet file keeps every
value as it is. Outputs are created with the usual permissions (the
process umask), like any Unix tool's.
"""

_EPILOG = """\
examples:
  deidscope identifiers -o cookies.csv                 (the bundled sample)
  deidscope identifiers scans/ -o ids.parquet --workers 4
"""


def register(subparsers: Subparsers) -> None:
    """Add the ``identifiers`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    """
    parser = add_command(
        subparsers,
        NAME,
        help="write every header field of DICOM files to CSV or Parquet",
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    add_output(
        parser,
        help="the output file, .csv or .parquet (.pq); its folder must exist",
        suffixes=SUFFIXES,
    )
    add_run_options(parser)
    add_strict(parser)
    parser.add_argument(
        "--files-per-row-group",
        type=positive_int,
        default=None,
        metavar="N",
        help="files read per batch, one Parquet row group each (default 500)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    """Write the identifiers; see the module documentation.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    Outcome
        Where the rows and errors went.
    """
    from deidscope.parallel import errors_path, write_identifiers
    from deidscope.parallel._write import FILES_PER_ROW_GROUP

    caller = f"deidscope {NAME}"
    paths, notes = input_paths(args.paths, caller=caller)
    check_output_file(
        args.output,
        force=args.force,
        caller=caller,
        also=(errors_path(args.output),),
        inputs=paths,
    )
    written = write_identifiers(
        paths,
        args.output,
        workers=args.workers,
        files_per_row_group=args.files_per_row_group or FILES_PER_ROW_GROUP,
        progress=show_progress(args),
        errors=errors_option(args),
        overwrite=args.force,
    )
    message = (
        f"{written.n_rows:,} rows of {written.n_files:,} files "
        f"written to {os.fspath(written.path)}"
    )
    warnings: tuple[str, ...] = ()
    if written.n_errors:
        warnings = (
            f"{written.n_errors:,} of {written.n_files:,} files could not be read "
            f"(or only in part); {os.fspath(written.errors_path)} lists them with "
            "the reason",
        )
    return Outcome(messages=(message,), notes=notes, warnings=warnings)
