"""deidscope apply: de-identify from the command line, then the leak check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from _recipe_helpers import DEID_DATA

from deidscope.cli import main
from deidscope.cli._common import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_USAGE

DEID_DICOM = str(DEID_DATA / "deid.dicom")


@pytest.fixture
def inputs(tmp_path: Path, cookie_files: list[str]) -> Path:
    folder = tmp_path / "in"
    for i, source in enumerate(cookie_files):
        target = folder / f"s{i % 2}" / Path(source).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return folder


def test_clean_recipe_exits_0_and_keeps_the_tree(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    before = sorted(p.relative_to(inputs) for p in inputs.rglob("*.dcm"))
    assert (
        main(["apply", "--recipe", DEID_DICOM, str(inputs), "-o", str(out)]) == EXIT_OK
    )
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"7 of 7 files de-identified into {out}",
        "leak check: no identifying value of the originals survives",
    ]
    assert sorted(p.relative_to(out) for p in out.rglob("*.dcm")) == before
    written = pydicom.dcmread(next(out.rglob("*.dcm")))
    assert "PatientName" not in written
    assert written.PatientIdentityRemoved == "YES"


def test_leaks_exit_1_unless_allowed(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "weak.deid"
    recipe.write_text("FORMAT dicom\n%header\nREMOVE PatientID\n")
    out = tmp_path / "out"
    leaks = tmp_path / "leaks.csv"
    code = main(
        ["apply", "-r", str(recipe), str(inputs), "-o", str(out), "--leaks", str(leaks)]
    )
    assert code == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert "identifying values survive in 7 files" in err
    assert "person_name" in err
    assert "nameless waterfall" not in err  # values are not printed
    text = leaks.read_text()
    assert text.startswith("file,uid,name,value,")
    assert "nameless waterfall" in text.lower() or "person_name" in text
    again = ["apply", "-r", str(recipe), str(inputs), "-o", str(out), "--force"]
    assert main([*again, "--allow-leaks"]) == EXIT_OK


def test_recipes_combine_and_vars(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.deid"
    base.write_text("FORMAT dicom\n%header\nREPLACE PatientID var:id\n")
    out = tmp_path / "out"
    args = ["apply", "-r", str(base), "-r", DEID_DICOM, str(inputs), "-o", str(out)]
    assert main([*args, "--var", "id=ANON", "--allow-leaks"]) == EXIT_OK
    written = pydicom.dcmread(next(out.rglob("*.dcm")))
    # deid.dicom removes PatientID later, but REPLACE protects it
    assert written.PatientID == "ANON"


@pytest.mark.parametrize(
    ("extra", "message", "code"),
    [
        (["--var", "novalue"], "expected NAME=VALUE", EXIT_USAGE),
        (["--leaks", "x.txt"], "expected an output ending in .csv", EXIT_INPUT),
    ],
    ids=["var", "leaks-suffix"],
)
def test_bad_options(
    inputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
    code: int,
) -> None:
    args = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(tmp_path / "o"), *extra]
    assert main(args) == code
    assert message in capsys.readouterr().err


def test_a_recipe_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "-o", str(tmp_path / "o")]) == EXIT_INPUT
    assert "a recipe is required: --recipe RECIPE" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_bad_recipe_names_its_line(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "bad.deid"
    recipe.write_text("FORMAT dicom\n%header\nkeep PatientID\n")
    out = tmp_path / "out"
    assert main(["apply", "-r", str(recipe), str(inputs), "-o", str(out)]) == EXIT_INPUT
    assert "bad.deid, line 3" in capsys.readouterr().err
    assert not out.exists()


def test_output_rules(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("x")
    args = ["apply", "-r", DEID_DICOM, str(inputs), "-o", str(out)]
    assert main(args) == EXIT_INPUT
    assert "pass --force" in capsys.readouterr().err
    assert (
        main(["apply", "-r", DEID_DICOM, str(inputs), "-o", str(inputs)]) == EXIT_INPUT
    )
    assert "the output folder is an input" in capsys.readouterr().err


def test_a_file_that_fails_is_reported(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inputs / "s0" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    out = tmp_path / "out"
    code = main(["apply", "-r", DEID_DICOM, str(inputs), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == EXIT_OK
    assert "7 of 8 files de-identified" in captured.out
    assert "broken.dcm" in captured.err
    assert (
        main(
            [
                "apply",
                "-r",
                DEID_DICOM,
                str(inputs),
                "-o",
                str(tmp_path / "o2"),
                "--strict",
            ]
        )
        == EXIT_INPUT
    )


def test_help_lists_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "--help"]) == EXIT_OK
    assert "--allow-leaks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "layout",
    [["s1/image1.dcm"], ["image1.dcm", "s1/image1.dcm"]],
    ids=["out-is-the-files-folder", "out-holds-another-input"],
)
def test_force_never_replaces_inputs(
    tmp_path: Path,
    cookie_files: list[str],
    capsys: pytest.CaptureFixture[str],
    layout: list[str],
) -> None:
    scans = tmp_path / "scans"
    for name, source in zip(layout, cookie_files, strict=False):
        (scans / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, scans / name)
    before = {p: p.read_bytes() for p in scans.rglob("*.dcm")}
    out = scans / "s1"
    args = ["apply", "-r", DEID_DICOM, str(scans), "-o", str(out), "--force"]
    assert main([*args, "--allow-leaks"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"the output folder {out} would write over the inputs" in err
    assert "image1.dcm is that file itself" in err
    assert {p: p.read_bytes() for p in scans.rglob("*.dcm")} == before
    assert sorted(scans.rglob("*")) == sorted([*before, out])
