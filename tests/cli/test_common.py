"""The helpers subcommands share: output checks and the temporary output name."""

from __future__ import annotations

from pathlib import Path

import pytest

from deidscope.cli import main
from deidscope.cli._common import (
    EXIT_INPUT,
    EXIT_USAGE,
    check_output_file,
    check_output_folder,
    input_paths,
    output_file,
)
from deidscope.data import get_dataset

CALLER = "deidscope test"


def test_output_file_renames_on_success(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    with output_file(out, force=False, caller=CALLER) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".html"
        assert tmp.name.startswith(".report.")
        tmp.write_text("done")
    assert out.read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_output_file_removes_the_temporary_on_error(tmp_path: Path) -> None:
    out = tmp_path / "report.html"

    def work() -> None:
        with output_file(out, force=False, caller=CALLER) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        work()
    assert list(tmp_path.iterdir()) == []


def test_output_file_does_not_replace_a_file_that_appeared(tmp_path: Path) -> None:
    out = tmp_path / "report.html"

    def work() -> None:
        with output_file(out, force=False, caller=CALLER) as tmp:
            tmp.write_text("new")
            out.write_text("someone else's")

    with pytest.raises(FileExistsError, match="appeared while working"):
        work()
    assert out.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with output_file(out, force=True, caller=CALLER) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new"


def test_output_file_needs_something_written(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="nothing was written"),
        output_file(tmp_path / "x.csv", force=False, caller=CALLER),
    ):
        pass


def test_check_output_file_also_checks_sidecars(tmp_path: Path) -> None:
    out = tmp_path / "ids.csv"
    side = tmp_path / "ids.csv.errors.csv"
    side.write_text("old")
    with pytest.raises(FileExistsError, match=r"pass --force .*ids\.csv\.errors\.csv"):
        check_output_file(out, force=False, caller=CALLER, also=[side])
    check_output_file(out, force=True, caller=CALLER, also=[side])


@pytest.mark.parametrize(
    ("setup", "exc", "match"),
    [
        (
            "missing-parent",
            FileNotFoundError,
            "the folder of the output does not exist",
        ),
        ("is-file", NotADirectoryError, "exists and is not a folder"),
        ("not-empty", FileExistsError, "not empty .pass --force"),
    ],
    ids=["missing-parent", "is-file", "not-empty"],
)
def test_check_output_folder_refuses(
    setup: str, exc: type[Exception], match: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    if setup == "missing-parent":
        out = tmp_path / "no" / "out"
    elif setup == "is-file":
        out.write_text("x")
    else:
        out.mkdir()
        (out / "old.dcm").write_text("x")
    with pytest.raises(exc, match=match):
        check_output_folder(out, force=False, caller=CALLER)


def test_check_output_folder_accepts(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new", force=False, caller=CALLER)
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty", force=False, caller=CALLER)
    (tmp_path / "empty" / "f").write_text("x")
    check_output_folder(tmp_path / "empty", force=True, caller=CALLER)
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_input_paths(tmp_path: Path) -> None:
    assert input_paths([], caller=CALLER) == (
        [get_dataset("dicom-cookies")],
        ("no PATH given: reading the dicom-cookies sample",),
    )
    assert input_paths([str(tmp_path)], caller=CALLER) == ([str(tmp_path)], ())
    with pytest.raises(FileNotFoundError, match="deidscope test: no such file"):
        input_paths([str(tmp_path / "x")], caller=CALLER)


@pytest.mark.parametrize(
    ("command", "output", "message", "code"),
    [
        (
            "audit",
            "missing/audit.html",
            "the folder of the output does not exist",
            EXIT_INPUT,
        ),
        (
            "audit",
            "audit.pdf",
            "argument -o/--output: expected an output ending in .html or .htm",
            EXIT_USAGE,
        ),
        ("audit", "dir.html", "the output is a folder", EXIT_INPUT),
        (
            "identifiers",
            "missing/ids.csv",
            "the folder of the output does not exist",
            EXIT_INPUT,
        ),
        (
            "identifiers",
            "ids.json",
            "argument -o/--output: expected an output ending in .csv or .parquet "
            "or .pq",
            EXIT_USAGE,
        ),
        ("identifiers", "dir.csv", "the output is a folder", EXIT_INPUT),
    ],
    ids=[
        "audit-no-folder",
        "audit-suffix",
        "audit-folder",
        "identifiers-no-folder",
        "identifiers-suffix",
        "identifiers-folder",
    ],
)
@pytest.mark.usefixtures("cli_no_work")
def test_bad_output_fails_before_any_work(
    command: str,
    output: str,
    message: str,
    code: int,
    cookie_files: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    made = [output] if output.startswith("dir.") else []
    for name in made:
        (tmp_path / name).mkdir()
    assert main([command, *cookie_files, "-o", output]) == code
    err = capsys.readouterr().err
    assert err.startswith(f"deidscope {command}: error: ")
    assert message in err
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == made
