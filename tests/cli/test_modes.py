"""Every output of the command line follows the process umask, like any Unix tool."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from deidscope.cli import main
from deidscope.cli._common import EXIT_FINDINGS, EXIT_OK
from pixels_helpers import deid_recipe_path


@pytest.fixture(params=[0o027, 0o002], ids=["umask027", "umask002"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Set the process umask for the test; restore the old one after."""
    old = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(old)


def _modes(folder: Path) -> dict[str, int]:
    return {
        os.fspath(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
    }


def _expected(folder: Path, umask: int) -> dict[str, int]:
    return {
        os.fspath(p.relative_to(folder)): (0o777 if p.is_dir() else 0o666) & ~umask
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize(
    ("argv", "code", "written"),
    [
        (
            ["identifiers", "-o", "ids.csv"],
            EXIT_OK,
            ["ids.csv", "ids.csv.errors.csv"],
        ),
        (
            ["identifiers", "-o", "ids.parquet"],
            EXIT_OK,
            ["ids.parquet", "ids.parquet.errors.csv"],
        ),
        (["audit", "-o", "audit.html"], EXIT_OK, ["audit.html"]),
        (
            ["apply", "-r", "weak.deid", "-o", "out", "--leaks", "leaks.csv"],
            EXIT_FINDINGS,
            ["leaks.csv", "out", *(f"out/image{i}.dcm" for i in range(1, 8))],
        ),
        (
            ["clean", "-r", "ultrasound.deid", "-o", "out"],
            EXIT_OK,
            [
                "out",
                "out/clean-report.csv",
                *(f"out/image{i}.dcm" for i in range(1, 8)),
            ],
        ),
    ],
    ids=["identifiers-csv", "identifiers-parquet", "audit", "apply", "clean"],
)
def test_outputs_follow_the_umask(
    argv: list[str],
    code: int,
    written: list[str],
    umask: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "weak.deid").write_text("FORMAT dicom\n%header\nREMOVE PatientID\n")
    (recipes / "ultrasound.deid").write_text(
        Path(deid_recipe_path("deid.dicom.ultrasound")).read_text()
    )
    argv = [str(recipes / a) if a.endswith(".deid") else a for a in argv]
    monkeypatch.chdir(work)
    assert main(argv) == code, capsys.readouterr().err
    modes = _modes(work)
    assert sorted(modes) == sorted(written)
    assert modes == _expected(work, umask)
