"""``deidscope verify ORIGINAL OUTPUT [--min PCT] [--html FILE]``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from deidscope.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Outcome,
    Subparsers,
    add_options,
    add_run_options,
    add_strict,
    check_output_file,
    errors_option,
    output_path,
    read_inputs,
)

__all__ = ["register", "run"]

NAME = "verify"

_DESCRIPTION = """\
Score a de-identification: pair each file of OUTPUT with its original in
ORIGINAL (same path under each folder, else same file name) and run the
checks of the MIDI-B challenge, per file and overall: elements kept where
they must be, text not empty where it must not be, text kept where an
option cleans it, text removed where PS3.15 removes it, dates shifted by
one offset per patient, UIDs changed, UIDs and patient IDs consistent
across files, pixels unchanged. Then search every written file, byte by
byte (preamble, file meta, long binary values, pixel data), for the
identifying values of its original. Prints the pass rate of each check and
the failures; --html writes them all as one escaped HTML page.
"""

_EPILOG = """\
exit codes: 0 every check passed (at least --min) and no leak; 1 the score
is below --min, or leaks remain (unless --allow-leaks); 2 bad command line;
3 input/output problem.

examples:
  deidscope verify scans/ clean/
  deidscope verify scans/ clean/ --option retain_uids --html score.html
  deidscope verify scans/ clean/ --min 99.5 --allow-leaks
"""


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 0 to 100, got {text}")
    return value


def register(subparsers: Subparsers) -> None:
    """Add the ``verify`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    """
    parser = subparsers.add_parser(
        NAME,
        help="score a de-identification against its originals",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("original", metavar="ORIGINAL", help="the original files")
    parser.add_argument(
        "output", metavar="OUTPUT", help="their de-identified copies (file or folder)"
    )
    parser.add_argument(
        "--min",
        type=_percent,
        default=100.0,
        metavar="PCT",
        help="the lowest overall pass rate, in percent, that exits 0 (default 100)",
    )
    add_options(parser, help="a PS3.15 option the de-identification used")
    parser.add_argument(
        "--html",
        type=output_path((".html", ".htm")),
        metavar="FILE",
        help="also write the scorecard as an HTML page; its folder must exist",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the --html page if it exists"
    )
    parser.add_argument(
        "--allow-leaks",
        action="store_true",
        help="exit 0 even if identifying values survive (they are still reported)",
    )
    parser.add_argument(
        "--no-pixels",
        dest="pixels",
        action="store_false",
        help="leave out the pixel check (it reads the pixel data of both sides)",
    )
    add_run_options(parser)
    add_strict(parser)
    parser.set_defaults(run=run, command=NAME)


def run(args: argparse.Namespace) -> Outcome:
    """Score OUTPUT against ORIGINAL; see the module documentation.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    Outcome
        The pass rate per check, the failures, the leak check; code 1 below
        ``--min`` or with leaks.
    """
    from deidscope.audit import leaks, scorecard
    from deidscope.files import check_paths

    caller = f"deidscope {NAME}"
    original, output = (
        os.fspath(p) for p in check_paths([args.original, args.output], caller=caller)
    )
    if args.html is not None:
        check_output_file(
            args.html, force=args.force, caller=caller, inputs=[original, output]
        )
    errors = errors_option(args)
    before = read_inputs([original], args, errors=errors)
    after = read_inputs([output], args, errors=errors)
    warnings: list[str] = []
    for side, frame in (("ORIGINAL", before), ("OUTPUT", after)):
        n = len(frame.attrs["errors"])
        if n:
            warnings.append(
                f"{n:,} {'file' if n == 1 else 'files'} of {side} could not be read"
            )
    card = scorecard(before, after, options=args.option, pixels=args.pixels)
    found = leaks(before, after, options=args.option, scan_bytes=True)
    messages = [
        f"scorecard: {100 * card.rate:.2f} % ({card.passed:,} of {card.total:,} "
        f"checks passed) over {card.files['file'].nunique():,} files"
    ]
    for check, passed, total in zip(
        card.summary["check"],
        card.summary["passed"],
        card.summary["total"],
        strict=True,
    ):
        if total:
            mark = "" if passed == total else "  <- FAILED"
            messages.append(
                f"  {check}: {100 * passed / total:.2f} % ({passed:,} of {total:,})"
                + mark
            )
    for row in card.failures.head(10).to_dict("records"):
        messages.append(
            f"  failed {row['check']}: {row['file'] or row['source_file']}: "
            f"{row['name']}: {row['reason']}"
        )
    if len(card.failures) > 10:
        messages.append(f"  ... {len(card.failures) - 10:,} more failures")
    if len(card.unpaired):
        warnings.append(
            f"{len(card.unpaired):,} files have no counterpart on the other side"
        )
    if len(found):
        kinds = found["kind"].astype(str).value_counts()
        summary = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        messages.append(
            f"leak check: {len(found):,} identifying values survive in "
            f"{found['file'].nunique():,} files ({summary})"
        )
    else:
        messages.append("leak check: no identifying value of the originals survives")
    if args.html is not None:
        card.to_html(Path(args.html), overwrite=args.force)
        messages.append(f"scorecard written to {os.fspath(args.html)}")
    below = 100 * card.rate < args.min
    code = EXIT_FINDINGS if below or (len(found) and not args.allow_leaks) else EXIT_OK
    if below:
        warnings.append(f"the score is below {args.min:g} %")
    return Outcome(messages=tuple(messages), warnings=tuple(warnings), code=code)
