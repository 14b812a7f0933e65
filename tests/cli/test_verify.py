"""deidscope verify: the scorecard and the byte-level leak check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deidscope.cli import main
from deidscope.cli._common import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    OPTION_NAMES,
)
from deidscope.dicom import replace_identifiers
from deidscope.ps315 import OPTIONS
from deidscope.recipe import Recipe

WEAK = "FORMAT dicom\n%header\nREPLACE PatientName ANONYMOUS\n"


@pytest.fixture
def original(tmp_path: Path, cookie_files: list[str]) -> Path:
    folder = tmp_path / "original"
    for i, source in enumerate(cookie_files):
        target = folder / f"s{i % 2}" / Path(source).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return folder


def _deidentify(original: Path, out: Path, recipe: object) -> Path:
    files = sorted(str(p) for p in original.rglob("*.dcm"))
    replace_identifiers(
        files, deid=recipe, save=True, output_folder=out, progress=False
    )
    return out


def test_the_profile_scores_100(
    original: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _deidentify(original, tmp_path / "out", Recipe.from_profile())
    page = tmp_path / "score.html"
    argv = ["verify", str(original), str(out), "--html", str(page)]
    assert main(argv) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scorecard: 100.00 % (")
    assert lines[0].endswith("over 7 files")
    assert "  text_removed: 100.00 %" in "\n".join(lines)
    assert "leak check: no identifying value of the originals survives" in lines
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_a_weak_recipe_fails_and_min_lowers_the_bar(
    original: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _deidentify(original, tmp_path / "out", WEAK)
    assert main(["verify", str(original), str(out)]) == EXIT_FINDINGS
    captured = capsys.readouterr()
    assert "<- FAILED" in captured.out
    assert "failed text_removed: " in captured.out
    assert "the score is below 100 %" in captured.err
    assert "identifying values survive" in captured.out
    argv = ["verify", str(original), str(out), "--min", "0", "--allow-leaks"]
    assert main(argv) == EXIT_OK
    # kept by an option: the score changes with it
    argv = ["verify", str(original), str(out), "--option", "retain_uids", "--min", "0"]
    assert main(argv) == EXIT_FINDINGS  # leaks remain


def test_the_page_escapes_header_values(
    original: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "FORMAT dicom\n%header\nREPLACE ConversionType <script>alert(1)</script>\n"
    out = _deidentify(original, tmp_path / "out", evil)
    page = tmp_path / "score.html"
    argv = ["verify", str(original), str(out), "--html", str(page), "--min", "0"]
    assert main(argv) == EXIT_FINDINGS
    text = page.read_text()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # an existing page needs --force
    assert main(argv) == EXIT_INPUT
    assert main([*argv, "--force", "--allow-leaks"]) == EXIT_OK


@pytest.mark.parametrize(
    "extra",
    [
        ["--min", "101"],
        ["--min", "x"],
        ["--option", "retain_everything"],
        ["--html", "a.txt"],
    ],
)
def test_bad_command_lines_exit_2(
    original: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(original), str(original), *extra]) == EXIT_USAGE
    assert "deidscope verify: error:" in capsys.readouterr().err


def test_a_missing_path_exits_3(
    original: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(original), str(tmp_path / "nope")]) == EXIT_INPUT


def test_the_option_names_are_the_standards() -> None:
    assert OPTION_NAMES == OPTIONS
