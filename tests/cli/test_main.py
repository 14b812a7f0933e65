"""deidscope.cli.main: parsing, help, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import importlib
import logging
import warnings

import pytest

import deidscope.cli._identifiers as identifiers_cmd
from deidscope import __version__
from deidscope.cli import SUBCOMMANDS, build_parser, main
from deidscope.cli._common import (
    EXIT_DEPENDENCY,
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Outcome,
    positive_int,
)
from deidscope.errors import InputError, MissingDependencyError, ReadError


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == f"deidscope {__version__}"


def test_help_lists_every_subcommand(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"    {name} " in out
    assert "exit codes" in out
    description, commands = out.split("\ncommands:\n")
    lines = commands.splitlines()
    for name in SUBCOMMANDS:
        assert f"({name})" in " ".join(description.split())
        [row] = [i for i, line in enumerate(lines) if line.startswith(f"    {name} ")]
        assert not lines[row + 1].startswith("     "), f"{name}'s help wraps"


@pytest.mark.parametrize("name", SUBCOMMANDS, ids=SUBCOMMANDS)
def test_subcommand_help_explains_it(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([name, "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"usage: deidscope {name} ")
    # verify reads two paths and writes an optional page
    options = ("--output", "--force", "--workers", "--progress", "PATH")
    if name == "verify":
        options = ("ORIGINAL OUTPUT", "--html", "--force", "--workers", "--progress")
    for option in options:
        assert option in out
    assert "examples:" in out


#: The shortest command line each subcommand accepts.
MINIMAL = {
    "identifiers": ["-o", "x.csv"],
    "audit": ["-o", "x.html"],
    "apply": ["-r", "r.deid", "-o", "x"],
    "clean": ["-o", "x"],
    "verify": ["original", "output"],
}


def test_minimal_covers_every_subcommand() -> None:
    assert sorted(MINIMAL) == sorted(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS, ids=SUBCOMMANDS)
def test_subcommand_modules_follow_the_protocol(name: str) -> None:
    module = importlib.import_module(f"deidscope.cli._{name}")
    assert callable(module.register)
    assert callable(module.run)
    args = build_parser().parse_args([name, *MINIMAL[name]])
    assert args.command == name
    assert args.run is module.run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["identifiers"], "the following arguments are required: -o/--output"),
        (["identifiers", "-o", "x.csv", "--workers", "0"], "positive whole number"),
        (["identifiers", "-o", "x.csv", "--nope"], "unrecognized arguments: --nope"),
    ],
    ids=["no-command", "unknown-command", "no-output", "zero-workers", "bad-option"],
)
def test_usage_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert lines[0].startswith("deidscope")
    assert "--help" in lines[0]


BAD_COMMAND_LINES = {
    "apply-no-recipe": (["apply", "-o", "o"], "required: -r/--recipe"),
    "apply-no-output": (["apply", "-r", "r.deid"], "required: -o/--output"),
    "apply-leaks-suffix": (
        ["apply", "-r", "r.deid", "-o", "o", "--leaks", "leaks.txt"],
        "argument --leaks: expected an output ending in .csv, but got 'leaks.txt'",
    ),
    "apply-var": (["apply", "-r", "r.deid", "-o", "o", "--var", "x"], "NAME=VALUE"),
    "audit-no-output": (["audit"], "required: -o/--output"),
    "audit-suffix": (
        ["audit", "-o", "audit.pdf"],
        "argument -o/--output: expected an output ending in .html or .htm",
    ),
    "clean-no-output": (["clean"], "required: -o/--output"),
    "clean-workers": (["clean", "-o", "o", "-w", "two"], "positive whole number"),
    "identifiers-suffix": (
        ["identifiers", "-o", "ids.json"],
        "argument -o/--output: expected an output ending in .csv or .parquet or .pq",
    ),
    "identifiers-row-group": (
        ["identifiers", "-o", "x.csv", "--files-per-row-group", "0"],
        "positive whole number",
    ),
    **{
        f"{name}-unknown-option": ([name, *MINIMAL[name], "--nope"], "--nope")
        for name in MINIMAL
    },
}


@pytest.mark.parametrize(
    ("argv", "message"), list(BAD_COMMAND_LINES.values()), ids=list(BAD_COMMAND_LINES)
)
def test_every_bad_command_line_is_exit_2_before_any_work(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"deidscope.cli._{name}")
        monkeypatch.setattr(module, "run", _raiser(AssertionError("work started")))
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    # argparse finds an unknown option after the subcommand's parser is done
    prog = "deidscope" if message == "--nope" else f"deidscope {argv[0]}"
    assert line.startswith(f"{prog}: error: ")
    assert message in line
    assert line.endswith(f"(see '{prog} --help')")


def _raiser(exc: BaseException):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> Outcome:
        raise exc

    return run


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (InputError("deidscope identifiers: bad\nthing"), EXIT_INPUT, "bad thing"),
        (ReadError("a.dcm", "truncated"), EXIT_INPUT, "a.dcm: truncated"),
        (
            FileNotFoundError(2, "no such file or folder", "/x/y"),
            EXIT_INPUT,
            "no such file or folder: /x/y",
        ),
        (PermissionError(13, "Permission denied", "/root/z"), EXIT_INPUT, "/root/z"),
        (
            MissingDependencyError("dask", extra="dask", feature="f"),
            EXIT_DEPENDENCY,
            "pip install 'deidscope[dask]'",
        ),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted"),
        (RuntimeError("boom"), EXIT_INTERNAL, "unexpected RuntimeError: boom"),
    ],
    ids=["input", "read", "not-found", "permission", "dependency", "ctrl-c", "bug"],
)
def test_errors_become_one_line_and_an_exit_code(
    exc: BaseException,
    code: int,
    text: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(identifiers_cmd, "run", _raiser(exc))
    assert main(["identifiers", "-o", "x.csv"]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("deidscope identifiers: ")
    assert text in lines[0]
    assert "deidscope identifiers: deidscope identifiers" not in lines[0]


def test_traceback_reraises_unexpected_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identifiers_cmd, "run", _raiser(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        main(["--traceback", "identifiers", "-o", "x.csv"])


def test_outcome_is_printed_and_its_code_returned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: argparse.Namespace) -> Outcome:
        warnings.warn("careful\nnow", UserWarning, stacklevel=1)
        return Outcome(
            messages=("done",), notes=("a note",), warnings=("odd",), code=EXIT_FINDINGS
        )

    monkeypatch.setattr(identifiers_cmd, "run", run)
    assert main(["identifiers", "-o", "x.csv"]) == EXIT_FINDINGS
    captured = capsys.readouterr()
    assert captured.out == "done\n"
    assert captured.err.splitlines() == [
        "deidscope identifiers: warning: careful now",
        "deidscope identifiers: a note",
        "deidscope identifiers: warning: odd",
    ]


def test_verbose_logs_to_stderr_and_restores_the_logger(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = logging.getLogger("deidscope")
    before = (logger.level, list(logger.handlers))

    def run(args: argparse.Namespace) -> Outcome:
        logging.getLogger("deidscope.cli").info("hello from the log")
        logging.getLogger("deidscope.cli").debug("debug detail")
        return Outcome()

    monkeypatch.setattr(identifiers_cmd, "run", run)
    assert main(["-v", "identifiers", "-o", "x.csv"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "deidscope.cli: INFO: hello from the log" in err
    assert "debug detail" not in err
    assert (logger.level, list(logger.handlers)) == before
    assert main(["-vv", "identifiers", "-o", "x.csv"]) == EXIT_OK
    assert "debug detail" in capsys.readouterr().err
    assert main(["identifiers", "-o", "x.csv"]) == EXIT_OK
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("text", ["0", "-3", "two", "1.5"], ids=str)
def test_positive_int_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="positive whole number"):
        positive_int(text)
