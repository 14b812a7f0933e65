"""The ``deidscope`` command: ``deidscope identifiers|audit|... PATH...``.

:func:`main` is the entry point (``deidscope`` and ``python -m deidscope``)
and the only place in deidscope that prints or exits: a subcommand raises
errors and returns an :class:`~deidscope.cli._common.Outcome`; ``main``
turns both into text and an exit code.

Exit codes
----------
====  ==================================================================
0     done (``clean``: also when the recipe flags no file, which standard
      error says)
1     done, but the result needs attention (``apply``: leaks remain;
      ``clean``: a file flagged without boxes, or one that failed;
      ``verify``: the score is below ``--min``, or leaks remain)
2     the command line is wrong (unknown option, missing argument or
      required option such as ``apply``'s ``--recipe``, an output with the
      wrong suffix); argparse's message, on one line
3     an input or output problem: a missing path, an output that exists
      (without ``--force``) or whose folder does not exist, an output
      folder that is an input folder or lies inside one, a bad recipe;
      with ``--strict``, what is otherwise a warning (an unreadable file,
      ``apply``'s unresolved ``func:``/``var:`` lines)
4     an optional dependency is not installed (the message names the extra)
70    an unexpected error, a bug (``--traceback`` shows where)
130   interrupted (Ctrl-C)
====  ==================================================================

Every error is one line on standard error, ``deidscope COMMAND: error:
...``; warnings are one line each, ``deidscope COMMAND: warning: ...``.

Outputs are created with the permissions the process umask gives (no
output is more private or more open than the rest), and a CSV cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
``'`` in front, so that a spreadsheet does not run a header value as a
formula (:func:`deidscope.parallel._write.escape_cell`).

Adding a subcommand
-------------------
Write ``src/deidscope/cli/_<name>.py`` with two functions::

    def register(subparsers):          # add the parser, set run=
        parser = add_command(          # helpers in deidscope.cli._common
            subparsers, "<name>", help=..., description=..., epilog=...
        )                              # (adds PATH...)
        add_output(parser, help=...)
        add_run_options(parser)
        parser.set_defaults(run=run)

    def run(args) -> Outcome:          # do the work; raise on error
        ...

then add ``"<name>"`` to :data:`SUBCOMMANDS` (one line) and a few words to
``_DESCRIPTION``; keep ``help`` short enough that ``deidscope --help``
shows it on one line. ``run`` never prints: it returns an ``Outcome``
with the lines to show and the exit code, checks its output with
``check_output_file``/``check_output_folder`` (and, for an output folder,
``check_outside_inputs``) before any work, writes CSV through
``deidscope.parallel._write.escape_formulas``, reads with
``read_inputs`` and writes through ``output_file`` (a temporary name,
renamed on success). Keep heavy imports inside ``run`` so ``--help`` stays
quick.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import NoReturn

from deidscope._version import __version__
from deidscope.cli._common import (
    EXIT_DEPENDENCY,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Outcome,
)
from deidscope.errors import DeidscopeError, MissingDependencyError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: The subcommands, in the order ``--help`` lists them; each is the module
#: ``deidscope.cli._<name>`` with ``register(subparsers)`` and ``run(args)``.
SUBCOMMANDS: tuple[str, ...] = (
    "identifiers",
    "audit",
    "apply",
    "clean",
    "verify",
)

_DESCRIPTION = """\
Look at the identifiers in DICOM files, and remove them: list every header
field of every file (identifiers), audit a dataset in an HTML report
(audit), de-identify copies with a deid recipe and check them for leaks
(apply), blank burned-in text in flagged images (clean), score a
de-identification against its originals (verify). Run 'deidscope
COMMAND --help' for the options of a command. Without PATH, commands read
the bundled dicom-cookies sample.
"""

_EPILOG = """\
exit codes: 0 done; 1 done, result needs attention; 2 bad command line;
3 input/output problem (with --strict, also what is otherwise a warning);
4 optional dependency missing; 70 unexpected error; 130 interrupted.

Outputs follow the umask. In CSV outputs a cell that starts with =, +, -,
@, a tab or a carriage return gets a single quote in front, so that a
spreadsheet shows it as text instead of running it as a formula.
"""


class _UsageError(Exception):
    """A command-line mistake, raised instead of argparse's exit."""

    def __init__(self, prog: str, message: str) -> None:
        self.prog = prog
        self.message = message
        super().__init__(message)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises on mistakes instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``deidscope`` parser with every subcommand registered.

    Returns
    -------
    argparse.ArgumentParser
        The parser; its subcommands set ``run`` (the function to call) and
        ``command`` (their name).
    """
    parser = _Parser(
        prog="deidscope",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"deidscope {__version__}"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what happens on standard error (-vv for more)",
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an unexpected error, show the Python traceback",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"deidscope.cli._{name}")
        module.register(subparsers)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(verbosity: int) -> Iterator[None]:
    """Send deidscope's log to stderr while the command runs (``-v``)."""
    if verbosity <= 0:
        yield
        return
    logger = logging.getLogger("deidscope")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)


def _one_line(exc: BaseException, prog: str = "") -> str:
    """Return the message of `exc` on one line, without a leading `prog`."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename is not None:
            text += f": {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    text = " ".join(text.splitlines())
    return text.removeprefix(f"{prog}: ") if prog else text


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``deidscope`` command.

    Parameters
    ----------
    argv : sequence of str or None, optional
        The arguments after the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        The exit code (see the module documentation): 0 when done.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    deidscope ...
    0
    """
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except _UsageError as exc:
        _err(f"{exc.prog}: error: {exc.message} (see '{exc.prog} --help')")
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version print, then exit(0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE

    prog = f"deidscope {args.command}"
    outcome: Outcome
    with (
        _logging_to_stderr(args.verbose),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("default")
        try:
            outcome = args.run(args)
        except KeyboardInterrupt:
            _err(f"{prog}: interrupted")
            return EXIT_INTERRUPTED
        except MissingDependencyError as exc:
            _err(f"{prog}: error: {_one_line(exc, prog)}")
            return EXIT_DEPENDENCY
        except (DeidscopeError, OSError) as exc:
            _err(f"{prog}: error: {_one_line(exc, prog)}")
            return EXIT_INPUT
        except Exception as exc:
            if args.traceback:
                raise
            _err(
                f"{prog}: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
                "(a bug: rerun with --traceback and report it)"
            )
            return EXIT_INTERNAL
        finally:
            for warning in caught:
                text = _one_line(Exception(str(warning.message)), prog)
                _err(f"{prog}: warning: {text}")
    for line in outcome.notes:
        _err(f"{prog}: {line}")
    for line in outcome.warnings:
        _err(f"{prog}: warning: {line}")
    for line in outcome.messages:
        print(line)
    return outcome.code
