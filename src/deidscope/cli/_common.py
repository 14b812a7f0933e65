"""Helpers shared by the subcommands: arguments, output checks, results.

A subcommand module uses these so that every subcommand spells its options
the same way and treats its output the same way:

- :func:`add_command` adds a subcommand's parser with its ``PATH...``;
  :func:`add_output`, :func:`add_run_options` and :func:`add_strict` add
  the other common arguments (``-o/--output`` with ``--force``,
  ``--workers``, ``--progress/--no-progress``, ``--strict``); an output
  with the wrong suffix is a usage error (:func:`output_path`), like any
  other mistake argparse sees;
- :func:`input_paths` turns ``PATH...`` into paths (the bundled sample when
  none is given) and checks that they exist; :func:`read_inputs` reads
  them into the identifier frame as ``--workers`` and ``--progress`` say,
  and :func:`errors_option` turns ``--strict`` into ``errors=``;
- :func:`check_output_file` and :func:`check_output_folder` refuse, before
  any work, an output in a folder that does not exist and an output that
  exists (without ``--force``); :func:`check_outside_inputs` refuses an
  output folder that is an input folder or lies inside one;
- :func:`output_file` hands out a temporary name beside the output and
  renames it into place only when the work succeeded;
- a subcommand's ``run(args)`` returns an :class:`Outcome`; only
  :func:`deidscope.cli.main` prints it and turns it into an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from deidscope.errors import InputError

# deidscope.files (pydicom) is imported inside the functions that use it, so
# that building the parser (``deidscope --help``) imports nothing heavy

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXIT_DEPENDENCY",
    "EXIT_FINDINGS",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "OPTION_NAMES",
    "SAMPLE_DATASET",
    "Outcome",
    "add_command",
    "add_options",
    "add_output",
    "add_paths",
    "add_run_options",
    "add_strict",
    "check_output_file",
    "check_output_folder",
    "check_outside_inputs",
    "errors_option",
    "input_paths",
    "output_file",
    "output_path",
    "positive_int",
    "read_inputs",
    "show_progress",
]

#: The command ran and found nothing that needs attention.
EXIT_OK = 0
#: The command ran, but its result needs attention (e.g. ``apply`` found
#: identifying values that survived).
EXIT_FINDINGS = 1
#: The command line is wrong: an unknown option, a missing argument or
#: required option, a value an option does not accept (an output with the
#: wrong suffix).
EXIT_USAGE = 2
#: An input or output problem: a missing path, an output that exists or
#: whose folder does not, an output folder inside an input folder, a bad
#: recipe, and with ``--strict`` what is otherwise a warning (a file that
#: cannot be read, a recipe line that cannot be resolved).
EXIT_INPUT = 3
#: An optional dependency the command needs is not installed.
EXIT_DEPENDENCY = 4
#: An unexpected error (a bug): please report it; ``--traceback`` shows it.
EXIT_INTERNAL = 70
#: Interrupted (Ctrl-C).
EXIT_INTERRUPTED = 130

#: The deid-data sample read when no PATH is given.
SAMPLE_DATASET: Final = "dicom-cookies"

Run = Callable[[argparse.Namespace], "Outcome"]
#: The type of ``parser.add_subparsers()``, as ``register`` receives it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a subcommand reports back to :func:`deidscope.cli.main`.

    Parameters
    ----------
    messages : tuple of str
        Lines for standard output (what was done, where it was written).
    notes : tuple of str
        Lines for standard error, before the messages (which sample is
        read, ...).
    warnings : tuple of str
        Lines for standard error (files that could not be read, ...).
    code : int
        The exit code; :data:`EXIT_OK` or :data:`EXIT_FINDINGS`. Errors are
        raised, not returned.
    """

    messages: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    code: int = EXIT_OK


def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    help: str,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """Add a subcommand's parser, with its ``PATH...`` argument.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``deidscope`` parser's subcommands.
    name : str
        The subcommand.
    help : str
        One line for ``deidscope --help`` (``%`` written ``%%``).
    description, epilog : str
        Text before and after the options in ``deidscope NAME --help``,
        shown as written.

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser, to add its other arguments to.
    """
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_paths(parser)
    return parser


def add_paths(parser: argparse.ArgumentParser) -> None:
    """Add the ``PATH...`` positional argument (none: the bundled sample).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    """
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=(
            "DICOM files and folders (searched recursively); without PATH, the "
            f"bundled {SAMPLE_DATASET} sample"
        ),
    )


def output_path(suffixes: Iterable[str]) -> Callable[[str], Path]:
    """Return an argparse ``type`` that accepts a path with one of `suffixes`.

    A wrong suffix is a mistake in the command line (exit 2, with the usage
    hint), found before anything is read.

    Parameters
    ----------
    suffixes : iterable of str
        The accepted endings (``".csv"``), compared case-insensitively.

    Returns
    -------
    callable
        ``type(text) -> pathlib.Path``, raising
        :class:`argparse.ArgumentTypeError` for another ending.

    Examples
    --------
    >>> output_path([".csv"])("ids.CSV").name
    'ids.CSV'
    >>> output_path([".csv"])("ids.json")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an output ending in .csv, but got 'ids.json'
    """
    accepted = tuple(s.lower() for s in suffixes)

    def parse(text: str) -> Path:
        if not text.lower().endswith(accepted):
            raise argparse.ArgumentTypeError(
                f"expected an output ending in {' or '.join(accepted)}, "
                f"but got {text!r}"
            )
        return Path(text)

    return parse


def add_output(
    parser: argparse.ArgumentParser,
    *,
    help: str,
    metavar: str = "OUT",
    suffixes: Iterable[str] | None = None,
) -> None:
    """Add the required ``-o/--output`` option and ``--force``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    help : str
        What the output is, for ``--help``.
    metavar : str, optional
        How ``--help`` names the value.
    suffixes : iterable of str or None, optional
        The endings the output may have (a usage error otherwise); None
        accepts any (a folder).
    """
    kind = Path if suffixes is None else output_path(suffixes)
    parser.add_argument(
        "-o", "--output", required=True, metavar=metavar, type=kind, help=help
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the output if it exists (never an input file)",
    )


def positive_int(text: str) -> int:
    """Parse a positive whole number (an argparse ``type``).

    Parameters
    ----------
    text : str
        The argument as typed.

    Returns
    -------
    int
        The number, at least 1.

    Raises
    ------
    argparse.ArgumentTypeError
        If `text` is not a positive whole number.

    Examples
    --------
    >>> positive_int("4")
    4
    """
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive whole number, but got {text!r}"
        )
    return number


#: PS3.15's options (deidscope.ps315.OPTIONS, which imports pandas: --help
#: stays light; a test checks the two agree).
OPTION_NAMES: tuple[str, ...] = (
    "retain_safe_private",
    "retain_uids",
    "retain_device_identity",
    "retain_institution_identity",
    "retain_patient_characteristics",
    "retain_long_full_dates",
    "retain_long_modified_dates",
    "clean_descriptors",
    "clean_structured_content",
    "clean_graphics",
)


def _option(text: str) -> str:
    if text not in OPTION_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown option {text!r}; choose from {', '.join(OPTION_NAMES)}"
        )
    return text


def add_options(parser: argparse.ArgumentParser, *, help: str) -> None:
    """Add ``--option NAME`` (repeatable; ``args.option``, a list of names).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    help : str
        What the option means for the subcommand, for ``--help`` (the names
        and "repeat for several" are added).
    """
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        type=_option,
        metavar="NAME",
        help=f"{help} (repeat for several): " + ", ".join(OPTION_NAMES),
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers`` and ``--progress/--no-progress``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    """
    parser.add_argument(
        "-w",
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="read with N processes (default 1); the output is the same for any N",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on standard error (default: only on a terminal)",
    )


def add_strict(
    parser: argparse.ArgumentParser,
    *,
    help: str = "stop with an error (exit 3) at the first file that cannot be read",
) -> None:
    """Add ``--strict`` (read by :func:`errors_option`).

    Every subcommand gives ``--strict`` the same meaning: what is otherwise
    a warning about the inputs (a file that cannot be read; for ``apply``
    also a recipe line that cannot be resolved) becomes an error, exit 3.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    help : str, optional
        What stops the command, for ``--help``.
    """
    parser.add_argument("--strict", action="store_true", help=help)


def errors_option(args: argparse.Namespace) -> Literal["raise", "ignore"]:
    """Return the ``errors=`` that ``--strict`` asks for (else ``"ignore"``).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments with a ``strict`` attribute.

    Returns
    -------
    {"raise", "ignore"}
        What to pass as ``errors`` to deidscope's readers and writers.

    Examples
    --------
    >>> errors_option(argparse.Namespace(strict=True))
    'raise'
    """
    return "raise" if args.strict else "ignore"


def read_inputs(
    paths: list[str],
    args: argparse.Namespace,
    *,
    errors: Literal["raise", "ignore"] = "ignore",
) -> pd.DataFrame:
    """Read `paths` into the identifier frame with ``--workers`` and ``--progress``.

    Parameters
    ----------
    paths : list of str
        Files and folders, as :func:`input_paths` returns them.
    args : argparse.Namespace
        Parsed arguments with ``workers`` and ``progress`` attributes.
    errors : {"ignore", "raise"}, optional
        What to do with a file that cannot be read (see
        :func:`deidscope.frame.read_identifiers`).

    Returns
    -------
    pandas.DataFrame
        The frame, unreadable files in ``attrs["errors"]``.
    """
    from deidscope.frame import read_identifiers

    return read_identifiers(
        paths, workers=args.workers, progress=show_progress(args), errors=errors
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to show a progress bar: as asked, else when stderr is a terminal.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments with a ``progress`` attribute (True, False or None).

    Returns
    -------
    bool
        True or False, never None.
    """
    progress: bool | None = getattr(args, "progress", None)
    if progress is not None:
        return progress
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def input_paths(
    paths: Iterable[str], *, caller: str
) -> tuple[list[str], tuple[str, ...]]:
    """Return the input paths, checked, and notes for the user.

    Parameters
    ----------
    paths : iterable of str
        ``PATH...`` as given; empty means the bundled sample.
    caller : str
        The subcommand, for messages (``"deidscope identifiers"``).

    Returns
    -------
    paths : list of str
        The paths to read.
    notes : tuple of str
        Lines for standard error (which sample is used, if any).

    Raises
    ------
    FileNotFoundError
        Naming the first path that does not exist.
    """
    from deidscope.data import get_dataset
    from deidscope.files import check_paths

    items = list(paths)
    if not items:
        sample = get_dataset(SAMPLE_DATASET)
        return [sample], (f"no PATH given: reading the {SAMPLE_DATASET} sample",)
    return [os.fspath(p) for p in check_paths(items, caller=caller)], ()


def check_output_file(
    path: Path,
    *,
    force: bool,
    caller: str,
    suffixes: Iterable[str] | None = None,
    also: Iterable[Path] = (),
    inputs: Iterable[str] = (),
) -> None:
    """Refuse an output file before any work is done.

    :func:`deidscope.files.check_output`, with ``--force`` as the option
    that replaces an existing output.

    Parameters
    ----------
    path : pathlib.Path
        The output file.
    force : bool
        Whether an existing output may be replaced.
    caller : str
        The subcommand, for messages.
    suffixes : iterable of str or None, optional
        The accepted suffixes (``".csv"``); None accepts any.
    also : iterable of pathlib.Path, optional
        Files written next to the output (an errors sidecar).
    inputs : iterable of str, optional
        The input paths: an output that is one of them is refused even with
        `force`.

    Raises
    ------
    InputError, FileNotFoundError, NotADirectoryError, FileExistsError
        As :func:`deidscope.files.check_output`.
    """
    from deidscope.files import check_output

    check_output(
        path,
        overwrite=force,
        caller=caller,
        suffixes=suffixes,
        also=also,
        inputs=inputs,
        option="--force",
    )


def check_outside_inputs(output: Path, paths: Iterable[str], *, caller: str) -> None:
    """Refuse an output folder that is an input folder or lies inside one.

    Outputs written inside an input folder become inputs of the next run
    (``apply`` into the bundled sample doubled it). Links are followed;
    the output need not exist yet. Input files are not folders: their
    folder may hold the output (each output file is checked against the
    inputs separately).

    Parameters
    ----------
    output : pathlib.Path
        The output folder.
    paths : iterable of str
        ``PATH...`` as :func:`input_paths` returns them.
    caller : str
        The subcommand, for messages.

    Raises
    ------
    InputError
        Naming the output and the input folder it is or lies in.

    Examples
    --------
    >>> import tempfile
    >>> scans = tempfile.mkdtemp()
    >>> check_outside_inputs(Path(scans) / "out", [scans], caller="demo")
    Traceback (most recent call last):
    ...
    deidscope.errors.InputError: demo: the output folder ... lies inside the input ...
    """
    real = Path(os.path.realpath(output))
    for path in paths:
        if not os.path.isdir(path):
            continue
        folder = Path(os.path.realpath(path))
        if real == folder:
            where = "is the input folder"
        elif folder in real.parents:
            where = "lies inside the input folder"
        else:
            continue
        raise InputError(
            f"{caller}: the output folder {os.fspath(output)} {where} {path} "
            "(the next run would read the outputs as inputs); choose an output "
            "folder outside the inputs"
        )


def check_output_folder(path: Path, *, force: bool, caller: str) -> None:
    """Refuse an output folder before any work is done.

    :func:`deidscope.files.check_output_folder`, with ``--force`` as the
    option that writes into a folder that holds files.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, FileExistsError
        As :func:`deidscope.files.check_output_folder`.
    """
    from deidscope.files import check_output_folder as check_folder

    check_folder(path, overwrite=force, caller=caller, option="--force")


@contextlib.contextmanager
def output_file(path: Path, *, force: bool, caller: str) -> Iterator[Path]:
    """Yield a temporary name beside `path`; rename it to `path` on success.

    The temporary file keeps the suffix of `path` (a writer that looks at
    the suffix sees the right one) and is removed if the block raises.

    Parameters
    ----------
    path : pathlib.Path
        The final output file.
    force : bool
        Whether an existing `path` may be replaced (checked again before the
        rename, in case it appeared meanwhile).
    caller : str
        The subcommand, for messages.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    FileExistsError
        If `path` appeared while the work ran and `force` is false.
    """
    from deidscope.files import atomic_output

    try:
        with atomic_output(path, overwrite=force, caller=caller) as tmp:
            yield tmp
    except FileExistsError:
        raise FileExistsError(
            17,
            f"{caller}: the output appeared while working "
            f"(pass --force to replace it): {path}",
        ) from None
